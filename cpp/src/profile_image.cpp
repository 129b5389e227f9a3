#include "galaxyfit/profile_image.hpp"

#include <string>

namespace galaxyfit {
namespace detail {
// Per-instruction-set kernels (profile_<isa>.cpp); jacobian == nullptr selects the value-only path.
using RenderFn = void (*)(int, const double*, const RenderConfig&, int64_t, int64_t, bool, bool, double*, double*);
void render_baseline(int, const double*, const RenderConfig&, int64_t, int64_t, bool, bool, double*, double*);
void render_x86_v3(int, const double*, const RenderConfig&, int64_t, int64_t, bool, bool, double*, double*);
void render_x86_v4(int, const double*, const RenderConfig&, int64_t, int64_t, bool, bool, double*, double*);
using PatchValuesFn = void (*)(int, const double*, const RenderConfig&, double*, int64_t*);
void patch_values_baseline(int, const double*, const RenderConfig&, double*, int64_t*);
void patch_values_x86_v3(int, const double*, const RenderConfig&, double*, int64_t*);
void patch_values_x86_v4(int, const double*, const RenderConfig&, double*, int64_t*);
using SimdMathFn = void (*)(int, const double*, double*, int64_t);
void simd_math_baseline(int, const double*, double*, int64_t);
void simd_math_x86_v3(int, const double*, double*, int64_t);
void simd_math_x86_v4(int, const double*, double*, int64_t);
}  // namespace detail

namespace {

// 0: baseline, 1: x86-64-v3 (AVX2, FMA), 2: x86-64-v4 (AVX-512).
int pick_isa() {
#if defined(GALAXYFIT_X86_DISPATCH)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma"))
    return 2;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
  return 0;
}

const int isa = pick_isa();
#if defined(GALAXYFIT_X86_DISPATCH)
const detail::RenderFn render_kernel =
    isa == 2 ? detail::render_x86_v4 : (isa == 1 ? detail::render_x86_v3 : detail::render_baseline);
const detail::SimdMathFn simd_math_kernel =
    isa == 2 ? detail::simd_math_x86_v4 : (isa == 1 ? detail::simd_math_x86_v3 : detail::simd_math_baseline);
const detail::PatchValuesFn patch_values_kernel =
    isa == 2 ? detail::patch_values_x86_v4 : (isa == 1 ? detail::patch_values_x86_v3 : detail::patch_values_baseline);
#else
const detail::RenderFn render_kernel = detail::render_baseline;
const detail::SimdMathFn simd_math_kernel = detail::simd_math_baseline;
const detail::PatchValuesFn patch_values_kernel = detail::patch_values_baseline;
#endif

void check_law(Law law) { (void)law_parameter_count(law); }

}  // namespace

const char* kernel_instruction_set() {
  static const char* names[] = {"baseline", "x86-64-v3", "x86-64-v4"};
  return names[isa];
}

void simd_math(int function, const double* x, double* y, int64_t n) { simd_math_kernel(function, x, y, n); }

void render_rows(Law law, const double* params, const RenderConfig& config, int64_t row_begin, int64_t row_end,
                 double* image) {
  check_law(law);
  render_kernel(static_cast<int>(law), params, config, row_begin, row_end, false, false, image, nullptr);
}

void render_patch(Law law, const double* params, const RenderConfig& config, double* image) {
  check_law(law);
  render_kernel(static_cast<int>(law), params, config, 0, 0, true, false, image, nullptr);
}

void render(Law law, const double* params, const RenderConfig& config, double* image) {
  check_law(law);
  render_kernel(static_cast<int>(law), params, config, 0, config.height, true, false, image, nullptr);
}

void render_rows_jacobian(Law law, const double* params, const RenderConfig& config, int64_t row_begin,
                          int64_t row_end, double* image, double* jacobian) {
  check_law(law);
  render_kernel(static_cast<int>(law), params, config, row_begin, row_end, false, false, image, jacobian);
}

void render_patch_jacobian(Law law, const double* params, const RenderConfig& config, double* image,
                           double* jacobian) {
  check_law(law);
  render_kernel(static_cast<int>(law), params, config, 0, 0, true, false, image, jacobian);
}

void render_rows_accumulate(Law law, const double* params, const RenderConfig& config, int64_t row_begin,
                            int64_t row_end, double* image) {
  check_law(law);
  render_kernel(static_cast<int>(law), params, config, row_begin, row_end, false, true, image, nullptr);
}

int patch_size(const RenderConfig& config) { return 2 * config.ring_distance[config.n_rings - 1] + 2; }

void compute_patch(Law law, const double* params, const RenderConfig& config, double* values, int64_t* origin) {
  check_law(law);
  patch_values_kernel(static_cast<int>(law), params, config, values, origin);
}

void apply_patch(const RenderConfig& c, const double* values, const int64_t* origin, double* image) {
  if (origin[0] == kNoPatch) return;
  const int size = patch_size(c);
  for (int i = 0; i < size; ++i) {
    const int64_t row = origin[0] + i;
    if (row < 0 || row >= c.height) continue;
    for (int j = 0; j < size; ++j) {
      const int64_t col = origin[1] + j;
      if (col < 0 || col >= c.width) continue;
      image[row * c.width + col] += values[i * size + j];
    }
  }
}

void render_jacobian(Law law, const double* params, const RenderConfig& config, double* image, double* jacobian) {
  check_law(law);
  render_kernel(static_cast<int>(law), params, config, 0, config.height, true, false, image, jacobian);
}

}  // namespace galaxyfit
