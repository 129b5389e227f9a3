// Pixel-integrated images of elliptical light profiles on a rectangular box of pixels, with their exact Jacobian.
// Plain C++17; no Python, no XLA.
//
// A profile is a law I(s) of the squared radius s = A_yy dy^2 + A_xx dx^2 + 2 A_xy dy dx about the centre (c_y, c_x).
// Parameters: params = [c_y, c_x, A_yy, A_xx, A_xy, law parameters...] with, per law,
//
//   kSersic      [I_e, R_e, n]                    I_e exp(-b_n ((s / R_e^2)^(1/(2n)) - 1)),  b_n: Ciotti & Bertin 1999
//   kSersicCore  [I_b, R_e, n, r_b, gamma, alpha]  Graham et al. 2003 core-Sersic (I_b: brightness at the break radius)
//   kGaussian    [I_0, c]                         I_0 exp(-c s)
//   kPowerCore   [I_0, c, beta]                   I_0 (1 + c s)^(-beta)             (Moffat, Elson-Fall-Freeman)
//   kChameleon   [A, a_0, a_1]                    A ((s + a_0)^(-1/2) - (s + a_1)^(-1/2))
//   kExponential [I_e, R_e]                       kSersic with n = 1 (a square root instead of log and exp)
//   kDevVaucouleurs [I_e, R_e]                    kSersic with n = 4 (three square roots)
//
// Pixel means follow python/galaxyfit/integration.py (which is the reference implementation and documents the
// rules): a sixth-order stencil on pixel-centre values everywhere, Gauss-Legendre rings in a patch placed at the centre, and the
// exact-geometry cusp rule on the central 2 x 2 pixels for laws with a cusp.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace galaxyfit {

enum class Law : int32_t {
  kSersic = 0,
  kSersicCore = 1,
  kGaussian = 2,
  kPowerCore = 3,
  kChameleon = 4,
  kExponential = 5,
  kDevVaucouleurs = 6
};

constexpr int kGeometryParameters = 5;
constexpr int kMaxRings = 8;

/// The instruction set the kernels run on here: "baseline", "x86-64-v3" or "x86-64-v4" (chosen at load time).
const char* kernel_instruction_set();

/// The kernels' vector exp (function 0), log (1) or log1p (2) on n values, for accuracy tests.
void simd_math(int function, const double* x, double* y, int64_t n);

/// Number of law parameters (after the 5 geometry parameters); throws std::invalid_argument for an unknown law.
int law_parameter_count(Law law);
/// Whether the law is not smooth at its centre and gets the cusp rule.
bool law_has_cusp(Law law);

struct RenderConfig {
  double y0 = 0.0, x0 = 0.0;  // centre of box pixel [0, 0]
  double hy = 1.0, hx = 1.0;  // pixel size
  int64_t height = 0, width = 0;
  int32_t n_rings = 0;  // patch rings: pixels at Chebyshev distance <= ring_distance[k] from the central 2 x 2
  int32_t ring_distance[kMaxRings] = {};
  int32_t ring_order[kMaxRings] = {};  // Gauss-Legendre nodes per axis
  int32_t cusp_radial = 8, cusp_tangential = 8;
  // Optional column spans: when both are set, row r is rendered only in columns [span_begin[r], span_end[r]) and is
  // zero elsewhere (the patch is rendered whole). Used to skip box pixels that no output pixel needs. The arrays
  // (height entries each) are borrowed, not owned.
  const int32_t* span_begin = nullptr;
  const int32_t* span_end = nullptr;
};

/// Throws std::invalid_argument describing the first inconsistency.
void check_render_config(const RenderConfig& config);

/// Pixel means of rows [row_begin, row_end) by the sixth-order stencil rule (image: height x width, row-major). The
/// pixels of the patch are left zero: render_patch fills them.
void render_rows(Law law, const double* params, const RenderConfig& config, int64_t row_begin, int64_t row_end,
                 double* image);
/// Overwrite the patch pixels (the refined rules) of an image whose rows were rendered.
void render_patch(Law law, const double* params, const RenderConfig& config, double* image);
/// Both: the whole box.
void render(Law law, const double* params, const RenderConfig& config, double* image);

/// Sums of profiles in one pass: render_rows_accumulate adds rows to the image, except at this profile's patch
/// pixels (render_rows leaves those zero), and apply_patch then adds each profile's patch there.
void render_rows_accumulate(Law law, const double* params, const RenderConfig& config, int64_t row_begin,
                            int64_t row_end, double* image);

/// The patch apart from the image, so that it can be computed beside the rows: compute_patch writes
/// patch_size(config)^2 values (row-major) and the box row and column of patch pixel [0, 0] to origin[0], origin[1]
/// (kNoPatch if the centre is not finite); apply_patch adds them to the image pixels they cover inside the box.
constexpr int64_t kNoPatch = INT64_MIN;
int patch_size(const RenderConfig& config);
void compute_patch(Law law, const double* params, const RenderConfig& config, double* values, int64_t* origin);
void apply_patch(const RenderConfig& config, const double* values, const int64_t* origin, double* image);

/// render_rows, render_patch and render, also writing d(image)/d(params): jacobian holds 5 + law_parameter_count(law) planes of height x width.
void render_rows_jacobian(Law law, const double* params, const RenderConfig& config, int64_t row_begin,
                          int64_t row_end, double* image, double* jacobian);
void render_patch_jacobian(Law law, const double* params, const RenderConfig& config, double* image,
                           double* jacobian);
void render_jacobian(Law law, const double* params, const RenderConfig& config, double* image, double* jacobian);

}  // namespace galaxyfit
