// The pybind11 module galaxyfit._core: numpy entry points to the C++ kernels and the XLA FFI capsules.
// Functions release the GIL and run single-threaded; parallelism is the caller's (or XLA's, via the FFI).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "ffi_handlers.hpp"
#include "galaxyfit/convolution.hpp"
#include "galaxyfit/inversion.hpp"
#include "galaxyfit/profile_image.hpp"

namespace py = pybind11;
using galaxyfit::PixelRun;

void register_nested_support(py::module_& m);  // nested_support_bindings.cpp
void register_mapping(py::module_& m);         // mapping_bindings.cpp

namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;
using Mask = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;

void require_2d(const py::array& a, const char* name) {
  if (a.ndim() != 2)
    throw py::value_error(std::string(name) + " must be 2-dimensional, got " + std::to_string(a.ndim()) +
                          " dimensions");
}

galaxyfit::ConvolutionMethod parse_method(const std::string& method) {
  if (method == "auto") return galaxyfit::ConvolutionMethod::kAuto;
  if (method == "direct") return galaxyfit::ConvolutionMethod::kDirect;
  if (method == "fft") return galaxyfit::ConvolutionMethod::kFFT;
  throw py::value_error("method must be 'auto', 'direct' or 'fft', got '" + method + "'");
}

std::vector<PixelRun> runs_for(const py::object& mask, int64_t ny, int64_t nx) {
  if (mask.is_none()) return galaxyfit::runs_full(ny, nx);
  Mask m = mask.cast<Mask>();
  require_2d(m, "mask");
  if (m.shape(0) != ny || m.shape(1) != nx)
    throw py::value_error("mask shape (" + std::to_string(m.shape(0)) + ", " + std::to_string(m.shape(1)) +
                          ") differs from image shape (" + std::to_string(ny) + ", " + std::to_string(nx) + ")");
  return galaxyfit::runs_from_mask(m.data(), ny, nx);
}

// Convolution at the unmasked pixels (row-major "slim" order), or of the whole image when mask is None.
py::array convolve(const Array& image, const Array& kernel, const py::object& mask, const std::string& method) {
  require_2d(image, "image");
  require_2d(kernel, "kernel");
  const int64_t ny = image.shape(0), nx = image.shape(1), ky = kernel.shape(0), kx = kernel.shape(1);
  const std::vector<PixelRun> runs = runs_for(mask, ny, nx);
  const auto how = parse_method(method);
  const int64_t n_out = galaxyfit::run_pixel_count(runs.data(), static_cast<int64_t>(runs.size()));
  Array out(mask.is_none() ? std::vector<py::ssize_t>{ny, nx} : std::vector<py::ssize_t>{n_out});
  double* dst = out.mutable_data();
  const double* src = image.data();
  const double* ker = kernel.data();
  try {
    py::gil_scoped_release release;
    galaxyfit::convolve(src, ny, nx, ker, ky, kx, runs.data(), static_cast<int64_t>(runs.size()), dst, how);
  } catch (const galaxyfit::ConvolutionError& e) {
    throw py::value_error(e.what());
  }
  return out;
}

// Adjoint of convolve(image, kernel, mask, "direct"): values at the unmasked pixels -> full image.
py::array convolve_adjoint(const Array& values, const Array& kernel, const Mask& mask) {
  require_2d(kernel, "kernel");
  require_2d(mask, "mask");
  const int64_t ny = mask.shape(0), nx = mask.shape(1), ky = kernel.shape(0), kx = kernel.shape(1);
  const std::vector<PixelRun> runs = galaxyfit::runs_from_mask(mask.data(), ny, nx);
  const int64_t n_runs = static_cast<int64_t>(runs.size());
  if (values.ndim() != 1 || values.shape(0) != galaxyfit::run_pixel_count(runs.data(), n_runs))
    throw py::value_error("values must be 1-dimensional with one entry per unmasked pixel");
  Array out(std::vector<py::ssize_t>{ny, nx});
  double* dst = out.mutable_data();
  const double* src = values.data();
  const double* ker = kernel.data();
  try {
    galaxyfit::check_convolution_arguments(ny, nx, ky, kx, runs.data(), n_runs);
    py::gil_scoped_release release;
    galaxyfit::convolve_direct_adjoint(src, runs.data(), n_runs, ker, ky, kx, ny, nx, dst);
  } catch (const galaxyfit::ConvolutionError& e) {
    throw py::value_error(e.what());
  }
  return out;
}

py::array runs_from_mask(const Mask& mask) {
  require_2d(mask, "mask");
  const std::vector<PixelRun> runs = galaxyfit::runs_from_mask(mask.data(), mask.shape(0), mask.shape(1));
  py::array_t<int32_t> out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(runs.size()), 3});
  if (!runs.empty()) std::memcpy(out.mutable_data(), runs.data(), runs.size() * sizeof(PixelRun));
  return out;
}

galaxyfit::RenderConfig render_config(double y0, double x0, double hy, double hx, int64_t height, int64_t width,
                                      const std::vector<std::pair<int, int>>& rings, int cusp_radial, int cusp_tangential) {
  galaxyfit::RenderConfig c;
  c.y0 = y0;
  c.x0 = x0;
  c.hy = hy;
  c.hx = hx;
  c.height = height;
  c.width = width;
  if (rings.size() > static_cast<size_t>(galaxyfit::kMaxRings))
    throw py::value_error("at most " + std::to_string(galaxyfit::kMaxRings) + " patch rings");
  c.n_rings = static_cast<int32_t>(rings.size());
  for (size_t k = 0; k < rings.size(); ++k) {
    c.ring_distance[k] = rings[k].first;
    c.ring_order[k] = rings[k].second;
  }
  c.cusp_radial = cusp_radial;
  c.cusp_tangential = cusp_tangential;
  try {
    galaxyfit::check_render_config(c);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
  return c;
}

// Pixel means of one profile over a box (and optionally the Jacobian w.r.t. params), see profile_image.hpp.
py::object render_profile(int law, const Array& params, double y0, double x0, double hy, double hx, int64_t height,
                          int64_t width, const std::vector<std::pair<int, int>>& rings, int cusp_radial,
                          int cusp_tangential, bool jacobian, const std::optional<std::vector<int32_t>>& span_begin,
                          const std::optional<std::vector<int32_t>>& span_end) {
  const auto l = static_cast<galaxyfit::Law>(law);
  int n_law = 0;
  try {
    n_law = galaxyfit::law_parameter_count(l);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
  const int n = galaxyfit::kGeometryParameters + n_law;
  if (params.ndim() != 1 || params.shape(0) != n)
    throw py::value_error("params must have shape (" + std::to_string(n) + ",) for this law");
  auto c = render_config(y0, x0, hy, hx, height, width, rings, cusp_radial, cusp_tangential);
  if (span_begin.has_value() != span_end.has_value()) throw py::value_error("give both span_begin and span_end, or neither");
  if (span_begin) {
    if (span_begin->size() != static_cast<size_t>(height) || span_end->size() != static_cast<size_t>(height))
      throw py::value_error("span_begin and span_end need one entry per box row");
    c.span_begin = span_begin->data();
    c.span_end = span_end->data();
    try {
      galaxyfit::check_render_config(c);
    } catch (const std::invalid_argument& e) {
      throw py::value_error(e.what());
    }
  }
  Array image(std::vector<py::ssize_t>{height, width});
  double* img = image.mutable_data();
  const double* p = params.data();
  if (!jacobian) {
    py::gil_scoped_release release;
    galaxyfit::render(l, p, c, img);
    return std::move(image);
  }
  Array jac(std::vector<py::ssize_t>{n, height, width});
  double* j = jac.mutable_data();
  {
    py::gil_scoped_release release;
    galaxyfit::render_jacobian(l, p, c, img, j);
  }
  return py::make_tuple(image, jac);
}

// The inversion of one system (numpy), for tests and small scripts: columns (k, n), data (n,), regularization (k, k)
// or None, flags (k,) -> dict of reconstruction, adjoint, chi_squared, regularization_term, log_det_curvature_reg,
// log_det_regularization, iterations, status (galaxyfit/inversion.hpp); with gradient=True also the gradient
// matrices grad_columns (k, n), grad_data (n,), grad_regularization (k, k) of chi^2 + s^T H s + ln det A_RR - ln
// det H_RR.
py::dict invert(const Array& columns, const Array& data, const py::object& regularization,
                const py::array_t<int32_t, py::array::c_style | py::array::forcecast>& flags, bool positive_only,
                double diag_value, int64_t max_iterations, bool gradient) {
  require_2d(columns, "columns");
  const int64_t k = columns.shape(0), n = columns.shape(1);
  if (data.ndim() != 1 || data.shape(0) != n) throw py::value_error("data must be (n,) with n = columns.shape[1]");
  if (flags.ndim() != 1 || flags.shape(0) != k) throw py::value_error("flags must be (k,) with k = columns.shape[0]");
  std::optional<Array> h;
  if (!regularization.is_none()) {
    h = regularization.cast<Array>();
    if (h->ndim() != 2 || h->shape(0) != k || h->shape(1) != k) throw py::value_error("regularization must be (k, k)");
  }
  galaxyfit::InversionSettings settings;
  settings.positive_only = positive_only;
  settings.no_regularization_add_to_curvature_diag_value = diag_value;
  settings.max_iterations = max_iterations;
  Array s(std::vector<py::ssize_t>{k}), a(std::vector<py::ssize_t>{k});
  galaxyfit::InversionTerms terms;
  const double* hp = h ? h->data() : nullptr;
  {
    py::gil_scoped_release release;
    terms = galaxyfit::invert(columns.data(), data.data(), n, k, hp, flags.data(), settings, s.mutable_data(),
                              a.mutable_data());
  }
  py::dict out;
  out["reconstruction"] = s;
  out["adjoint"] = a;
  out["chi_squared"] = terms.chi_squared;
  out["regularization_term"] = terms.regularization_term;
  out["log_det_curvature_reg"] = terms.log_det_curvature_reg;
  out["log_det_regularization"] = terms.log_det_regularization;
  out["iterations"] = terms.iterations;
  out["status"] = static_cast<int>(terms.status);
  if (gradient) {
    Array gc(std::vector<py::ssize_t>{k, n}), gd(std::vector<py::ssize_t>{n}), gh(std::vector<py::ssize_t>{k, k});
    galaxyfit::InversionStatus status;
    {
      py::gil_scoped_release release;
      status = galaxyfit::inversion_gradient(columns.data(), data.data(), n, k, hp, flags.data(), settings, s.data(),
                                             a.data(), gc.mutable_data(), gd.mutable_data(),
                                             hp ? gh.mutable_data() : nullptr);
    }
    if (!hp) std::fill(gh.mutable_data(), gh.mutable_data() + k * k, 0.0);
    out["grad_columns"] = gc;
    out["grad_data"] = gd;
    out["grad_regularization"] = gh;
    out["gradient_status"] = static_cast<int>(status);
  }
  return out;
}

template <typename T>
py::capsule capsule(T* fn) {
  static_assert(std::is_invocable_r_v<XLA_FFI_Error*, T, XLA_FFI_CallFrame*>, "not an XLA FFI handler");
  return py::capsule(reinterpret_cast<void*>(fn));
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  static_assert(sizeof(PixelRun) == 3 * sizeof(int32_t), "PixelRun must be three packed int32");
  m.doc() = "galaxyfit C++ kernels (PSF convolution) and their XLA FFI handlers";
  m.def("convolve", &convolve, py::arg("image"), py::arg("kernel"), py::arg("mask") = py::none(),
        py::arg("method") = "auto",
        "Convolve image (ny, nx) with an odd-sized kernel (ky, kx) as scipy.signal.convolve(mode='same'). "
        "With a mask (ny, nx; non-zero = masked) return the values at the unmasked pixels in row-major order "
        "(shape (n_unmasked,)); otherwise the whole (ny, nx) image. method: 'auto', 'direct' or 'fft'.");
  m.def("convolve_adjoint", &convolve_adjoint, py::arg("values"), py::arg("kernel"), py::arg("mask"),
        "Adjoint (transpose) of convolve(image, kernel, mask): values (n_unmasked,) -> image (ny, nx).");
  m.def("runs_from_mask", &runs_from_mask, py::arg("mask"),
        "Horizontal runs (row, col_begin, col_end) of the unmasked pixels, shape (n_runs, 3) int32.");
  m.def("next_fast_length", &galaxyfit::next_fast_length, py::arg("n"));
  m.def("direct_cost", &galaxyfit::direct_cost, py::arg("n_out"), py::arg("ky"), py::arg("kx"));
  m.def("fft_cost", &galaxyfit::fft_cost, py::arg("fft_ny"), py::arg("fft_nx"));
  m.def("render_profile", &render_profile, py::arg("law"), py::arg("params"), py::arg("y0"), py::arg("x0"),
        py::arg("hy"), py::arg("hx"), py::arg("height"), py::arg("width"), py::arg("rings"), py::arg("cusp_radial"),
        py::arg("cusp_tangential"), py::arg("jacobian") = false, py::arg("span_begin") = py::none(),
        py::arg("span_end") = py::none(),
        "Pixel means (height, width) of one light-profile law over a box; with jacobian=True also "
        "d(image)/d(params), shape (len(params), height, width). With span_begin/span_end (one int per row) only "
        "those columns of each row are rendered (zero elsewhere; the patch is whole). See galaxyfit/profile_image.hpp.");
  m.def("kernel_instruction_set", &galaxyfit::kernel_instruction_set,
        "Instruction set the C++ kernels were dispatched to on this CPU.");
  m.def(
      "simd_math",
      [](int function, const Array& x) {
        Array y(std::vector<py::ssize_t>{x.size()});
        galaxyfit::simd_math(function, x.data(), y.mutable_data(), x.size());
        return y;
      },
      py::arg("function"), py::arg("x"), "The kernels' vector exp (0), log (1) or log1p (2) of a 1-D array (tests).");
  m.def("invert", &invert, py::arg("columns"), py::arg("data"), py::arg("regularization") = py::none(),
        py::arg("flags"), py::arg("positive_only") = true, py::arg("diag_value") = 1e-3,
        py::arg("max_iterations") = 0, py::arg("gradient") = false,
        "The linear inversion of weighted columns (k, n) against weighted data (n,) (galaxyfit/inversion.hpp).");
  register_nested_support(m);
  register_mapping(m);
  m.def("registrations", []() {
    py::dict d;
    d["galaxyfit_psf_convolve_f64"] = capsule(GalaxyfitPsfConvolve);
    d["galaxyfit_psf_convolve_adjoint_f64"] = capsule(GalaxyfitPsfConvolveAdjoint);
    d["galaxyfit_render_profile_f64"] = capsule(GalaxyfitRenderProfile);
    d["galaxyfit_render_profile_jacobian_f64"] = capsule(GalaxyfitRenderProfileJacobian);
    d["galaxyfit_render_profiles_f64"] = capsule(GalaxyfitRenderProfiles);
    d["galaxyfit_chi_squared_f64"] = capsule(GalaxyfitChiSquared);
    d["galaxyfit_inversion_f64"] = capsule(GalaxyfitInversion);
    d["galaxyfit_inversion_gradient_f64"] = capsule(GalaxyfitInversionGradient);
    d["galaxyfit_inversion_gram_f64"] = capsule(GalaxyfitInversionGram);
    return d;
  });
}
