// The laws' parameter counts and the RenderConfig checks of galaxyfit/profile_image.hpp: no kernels here, so the
// CUDA extension links this file alone.
#include <string>

#include "galaxyfit/profile_image.hpp"

namespace galaxyfit {

int law_parameter_count(Law law) {
  switch (law) {
    case Law::kSersic:
      return 3;
    case Law::kSersicCore:
      return 6;
    case Law::kGaussian:
      return 2;
    case Law::kPowerCore:
      return 3;
    case Law::kChameleon:
      return 3;
    case Law::kExponential:
    case Law::kDevVaucouleurs:
      return 2;
  }
  throw std::invalid_argument("unknown light-profile law " + std::to_string(static_cast<int>(law)));
}

bool law_has_cusp(Law law) {
  (void)law_parameter_count(law);  // throws for a value that is not a Law
  return law != Law::kGaussian && law != Law::kPowerCore;
}

void check_render_config(const RenderConfig& c) {
  if (c.height <= 0 || c.width <= 0) throw std::invalid_argument("render: the box is empty");
  if (!(c.hy > 0) || !(c.hx > 0)) throw std::invalid_argument("render: pixel sizes must be positive");
  if (c.n_rings < 1 || c.n_rings > kMaxRings)
    throw std::invalid_argument("render: between 1 and " + std::to_string(kMaxRings) + " patch rings are supported");
  for (int k = 0; k < c.n_rings; ++k) {
    if (c.ring_order[k] < 1 || c.ring_order[k] > 64)
      throw std::invalid_argument("render: ring orders must be in 1..64");
    if (c.ring_distance[k] < 1 || (k > 0 && c.ring_distance[k] <= c.ring_distance[k - 1]))
      throw std::invalid_argument("render: ring distances must increase from 1");
  }
  if (c.ring_distance[c.n_rings - 1] < 2)  // rule 1's stencil reaches two pixels: nearer a cusp, the patch must rule
    throw std::invalid_argument("render: the patch rings must reach at least distance 2");
  if (c.cusp_radial < 1 || c.cusp_radial > 64 || c.cusp_tangential < 1 || c.cusp_tangential > 64)
    throw std::invalid_argument("render: cusp node counts must be in 1..64");
  if ((c.span_begin == nullptr) != (c.span_end == nullptr))
    throw std::invalid_argument("render: give both span_begin and span_end, or neither");
  if (c.span_begin != nullptr)
    for (int64_t r = 0; r < c.height; ++r)
      if (c.span_begin[r] < 0 || c.span_end[r] < c.span_begin[r] || c.span_end[r] > c.width)
        throw std::invalid_argument("render: row " + std::to_string(r) + " has a column span outside 0 <= begin <= end <= width");
}

}  // namespace galaxyfit
