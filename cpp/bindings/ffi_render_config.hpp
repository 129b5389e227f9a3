// The RenderConfig of the profile-image FFI handlers (CPU and CUDA) from their attributes, validated.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "galaxyfit/profile_image.hpp"
#include "xla/ffi/api/ffi.h"

namespace galaxyfit {

// Fills *c from the attributes (spans borrowed from the attribute memory) and *n_params with 5 + the law's parameter
// count; an InvalidArgument error names what is wrong.
inline xla::ffi::Error make_config(int32_t law, double y0, double x0, double hy, double hx,
                                   xla::ffi::Span<const int32_t> distance, xla::ffi::Span<const int32_t> order,
                                   int32_t cusp_radial, int32_t cusp_tangential,
                                   xla::ffi::Span<const int32_t> span_begin, xla::ffi::Span<const int32_t> span_end,
                                   int64_t height, int64_t width, RenderConfig* c, int* n_params) {
  try {
    *n_params = kGeometryParameters + law_parameter_count(static_cast<Law>(law));
    if (distance.size() != order.size() || distance.size() > static_cast<size_t>(kMaxRings))
      return xla::ffi::Error::InvalidArgument("render_profile: ring_distance and ring_order must match (<= 8 rings)");
    c->y0 = y0;
    c->x0 = x0;
    c->hy = hy;
    c->hx = hx;
    c->height = height;
    c->width = width;
    c->n_rings = static_cast<int32_t>(distance.size());
    for (size_t k = 0; k < distance.size(); ++k) {
      c->ring_distance[k] = distance[k];
      c->ring_order[k] = order[k];
    }
    c->cusp_radial = cusp_radial;
    c->cusp_tangential = cusp_tangential;
    if (span_begin.size() != 0 || span_end.size() != 0) {  // no spans: whole rows
      if (span_begin.size() != static_cast<size_t>(height) || span_end.size() != static_cast<size_t>(height))
        return xla::ffi::Error::InvalidArgument("render_profile: span_begin and span_end need one entry per box row");
      c->span_begin = span_begin.begin();
      c->span_end = span_end.begin();
    }
    check_render_config(*c);
  } catch (const std::invalid_argument& e) {
    return xla::ffi::Error::InvalidArgument(std::string("render_profile: ") + e.what());
  }
  return xla::ffi::Error::Success();
}

}  // namespace galaxyfit
