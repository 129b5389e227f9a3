// The pybind11 module galaxyfit._cuda (built with -DGALAXYFIT_CUDA=ON): the XLA FFI capsules of the CUDA handlers,
// what was built, and the kernels as functions on CuPy arrays (anything with __cuda_array_interface__, or host
// arrays, which CuPy copies over) returning CuPy arrays, on CuPy's current stream, with no host round trip of
// the images. Imported only by python/galaxyfit/kernels/cuda.py; importing it needs no GPU (the CUDA runtime is
// linked statically and the driver is first asked for a device when a kernel runs).
#include <cuda_runtime_api.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "../cuda/cuda_kernels.hpp"
#include "ffi_cuda_handlers.hpp"
#include "galaxyfit/convolution.hpp"
#include "galaxyfit/profile_image.hpp"

namespace py = pybind11;

namespace {

template <typename T>
py::capsule capsule(T* fn) {
  static_assert(std::is_invocable_r_v<XLA_FFI_Error*, T, XLA_FFI_CallFrame*>, "not an XLA FFI handler");
  return py::capsule(reinterpret_cast<void*>(fn));
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

// A C-contiguous CuPy array of the given dtype ("float64" / "int32"): the argument itself when it already is one.
struct DeviceArray {
  py::object array;
  std::vector<int64_t> shape;
  uintptr_t pointer = 0;
  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

DeviceArray device_array(const py::object& value, const char* dtype, const char* name) {
  py::module_ cupy = py::module_::import("cupy");
  DeviceArray a;
  // cupy.asarray first: ascontiguousarray takes only cupy arrays (numpy arrays, lists and other
  // __cuda_array_interface__ objects go through asarray, on CuPy's current stream).
  a.array = cupy.attr("ascontiguousarray")(cupy.attr("asarray")(value, py::arg("dtype") = dtype));
  py::dict interface = a.array.attr("__cuda_array_interface__");
  for (auto d : interface["shape"].cast<py::tuple>()) a.shape.push_back(d.cast<int64_t>());
  a.pointer = interface["data"].cast<py::tuple>()[0].cast<uintptr_t>();
  if (a.shape.empty()) throw py::value_error(std::string(name) + " must be an array, not a scalar");
  return a;
}

DeviceArray empty(const std::vector<int64_t>& shape, const char* dtype = "float64") {
  py::module_ cupy = py::module_::import("cupy");
  DeviceArray a;
  a.array = cupy.attr("empty")(py::cast(shape), py::arg("dtype") = dtype);
  a.shape = shape;
  a.pointer = a.array.attr("__cuda_array_interface__")["data"].cast<py::tuple>()[0].cast<uintptr_t>();
  return a;
}

cudaStream_t current_stream() {
  py::module_ cupy = py::module_::import("cupy");
  return reinterpret_cast<cudaStream_t>(cupy.attr("cuda").attr("get_current_stream")().attr("ptr").cast<uintptr_t>());
}

template <class T>
T* at(const DeviceArray& a) {
  return reinterpret_cast<T*>(a.pointer);
}

std::vector<int64_t> leading(const std::vector<int64_t>& shape, size_t core) {
  return std::vector<int64_t>(shape.begin(), shape.end() - static_cast<std::ptrdiff_t>(core));
}

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t d : v) p *= d;
  return p;
}

// The runs, checked on the host against the image (they are small: three int32 per run; cupy.asnumpy waits for
// CuPy's current stream), then put on the device.
DeviceArray checked_runs(const py::object& runs, int64_t ny, int64_t nx, int64_t ky, int64_t kx, int64_t* n_out) {
  py::module_ cupy = py::module_::import("cupy"), numpy = py::module_::import("numpy");
  const auto host = numpy.attr("ascontiguousarray")(cupy.attr("asnumpy")(runs), py::arg("dtype") = "int32")
                        .cast<py::array_t<int32_t, py::array::c_style>>();
  if (host.ndim() != 2 || host.shape(1) != 3) throw py::value_error("runs must have shape (n_runs, 3)");
  const auto* pixel_runs = reinterpret_cast<const galaxyfit::PixelRun*>(host.data());
  try {
    galaxyfit::check_convolution_arguments(ny, nx, ky, kx, pixel_runs, host.shape(0));
  } catch (const galaxyfit::ConvolutionError& e) {
    throw py::value_error(e.what());
  }
  *n_out = galaxyfit::run_pixel_count(pixel_runs, host.shape(0));
  return device_array(host, "int32", "runs");
}

int64_t batch_of(const std::vector<int64_t>& a, const std::vector<int64_t>& b, const char* what) {
  if (!a.empty() && !b.empty() && a != b) throw py::value_error(std::string(what) + ": batch shapes differ");
  return product(a.empty() ? b : a);
}

py::object psf_convolve(const py::object& image_in, const py::object& kernel_in, const py::object& runs_in) {
  const DeviceArray image = device_array(image_in, "float64", "image");
  const DeviceArray kernel = device_array(kernel_in, "float64", "kernel");
  if (image.shape.size() < 2 || kernel.shape.size() < 2) throw py::value_error("image and kernel must be 2-D or more");
  const int64_t ny = image.shape[image.shape.size() - 2], nx = image.shape.back();
  const int64_t ky = kernel.shape[kernel.shape.size() - 2], kx = kernel.shape.back();
  int64_t n_out = 0;
  const DeviceArray runs = checked_runs(runs_in, ny, nx, ky, kx, &n_out);
  const auto lead_i = leading(image.shape, 2), lead_k = leading(kernel.shape, 2);
  const int64_t n_batch = batch_of(lead_i, lead_k, "psf_convolve");
  std::vector<int64_t> shape = lead_i.empty() ? lead_k : lead_i;
  shape.push_back(n_out);
  DeviceArray out = empty(shape);
  const DeviceArray offsets = empty({runs.shape[0] + 1}, "int64");
  check(galaxyfit::cuda::psf_convolve(current_stream(), at<double>(image), product(lead_i), ny, nx, at<double>(kernel),
                                      product(lead_k), ky, kx, at<int32_t>(runs), runs.shape[0], n_out, n_batch,
                                      at<int64_t>(offsets), at<double>(out)),
        "psf_convolve");
  return out.array;
}

py::object psf_convolve_adjoint(const py::object& values_in, const py::object& kernel_in, const py::object& runs_in,
                                const std::vector<int64_t>& image_shape) {
  const DeviceArray values = device_array(values_in, "float64", "values");
  const DeviceArray kernel = device_array(kernel_in, "float64", "kernel");
  if (image_shape.size() != 2 || kernel.shape.size() < 2) throw py::value_error("image_shape (ny, nx); kernel 2-D");
  const int64_t ny = image_shape[0], nx = image_shape[1];
  const int64_t ky = kernel.shape[kernel.shape.size() - 2], kx = kernel.shape.back();
  int64_t n_out = 0;
  const DeviceArray runs = checked_runs(runs_in, ny, nx, ky, kx, &n_out);
  if (values.shape.back() != n_out) throw py::value_error("values must end in the runs' pixel count");
  const auto lead_v = leading(values.shape, 1), lead_k = leading(kernel.shape, 2);
  const int64_t n_batch = batch_of(lead_v, lead_k, "psf_convolve_adjoint");
  std::vector<int64_t> shape = lead_v.empty() ? lead_k : lead_v;
  shape.push_back(ny);
  shape.push_back(nx);
  DeviceArray grad = empty(shape);
  const DeviceArray offsets = empty({runs.shape[0] + 1}, "int64"), index = empty({ny * nx}, "int32");
  check(galaxyfit::cuda::psf_convolve_adjoint(current_stream(), at<double>(values), product(lead_v), at<double>(kernel),
                                              product(lead_k), ky, kx, at<int32_t>(runs), runs.shape[0], n_out, ny, nx,
                                              n_batch, at<int64_t>(offsets), at<int32_t>(index), at<double>(grad)),
        "psf_convolve_adjoint");
  return grad.array;
}

py::object chi_squared(const py::object& model_in, const py::object& data_in, const py::object& noise_in) {
  const DeviceArray model = device_array(model_in, "float64", "model"), data = device_array(data_in, "float64", "data");
  const DeviceArray noise = device_array(noise_in, "float64", "inverse_noise");
  const int64_t n = model.shape.back();
  if (data.shape.size() != 1 || noise.shape.size() != 1 || data.shape[0] != n || noise.shape[0] != n)
    throw py::value_error("model (..., n), data (n,) and inverse_noise (n,)");
  const auto lead = leading(model.shape, 1);
  DeviceArray out = empty(lead);
  check(galaxyfit::cuda::chi_squared(current_stream(), at<double>(model), at<double>(data), at<double>(noise), n,
                                     product(lead), at<double>(out)),
        "chi_squared");
  return out.array;
}

py::object render_profile(int law, const py::object& params_in, double y0, double x0, double hy, double hx,
                          int64_t height, int64_t width, const std::vector<std::pair<int, int>>& rings,
                          int cusp_radial, int cusp_tangential, bool jacobian) {
  const DeviceArray params = device_array(params_in, "float64", "params");
  galaxyfit::RenderConfig c;
  c.y0 = y0, c.x0 = x0, c.hy = hy, c.hx = hx, c.height = height, c.width = width;
  if (rings.empty() || rings.size() > static_cast<size_t>(galaxyfit::kMaxRings))
    throw py::value_error("rings: 1 to 8 (distance, order) pairs");
  c.n_rings = static_cast<int32_t>(rings.size());
  for (size_t k = 0; k < rings.size(); ++k) c.ring_distance[k] = rings[k].first, c.ring_order[k] = rings[k].second;
  c.cusp_radial = cusp_radial, c.cusp_tangential = cusp_tangential;
  int n_params = 0;
  try {
    n_params = galaxyfit::kGeometryParameters + galaxyfit::law_parameter_count(static_cast<galaxyfit::Law>(law));
    galaxyfit::check_render_config(c);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
  if (params.shape.back() != n_params)
    throw py::value_error("params must end in " + std::to_string(n_params) + " values for this law");
  cudaError_t error = cudaSuccess;
  const double* table = galaxyfit::cuda::rule_table(&error);
  check(error, "render_profile");
  const galaxyfit::scalar::PixelRules rules =
      galaxyfit::scalar::pixel_rules(c, table, table + galaxyfit::scalar::kRuleTableSize);
  const auto lead = leading(params.shape, 1);
  const int64_t n_batch = product(lead);
  std::vector<int64_t> shape = lead;
  shape.push_back(height);
  shape.push_back(width);
  DeviceArray image = empty(shape);
  const cudaStream_t stream = current_stream();
  if (!jacobian) {
    const int32_t law32 = law, count = n_params;
    const double* p = at<double>(params);
    const int64_t stride = n_params;
    check(galaxyfit::cuda::render_profiles(stream, rules, n_batch, 1, &law32, &p, &count, &stride, at<double>(image)),
          "render_profile");
    return image.array;
  }
  std::vector<int64_t> jshape = lead;
  jshape.insert(jshape.end(), {n_params, height, width});
  DeviceArray jac = empty(jshape);
  check(galaxyfit::cuda::render_profile_jacobian(stream, rules, n_batch, law, n_params, at<double>(params),
                                                 at<double>(image), at<double>(jac)),
        "render_profile_jacobian");
  return py::make_tuple(image.array, jac.array);
}


// The dict the inversion functions return (CuPy arrays).
py::dict inversion_result(const DeviceArray& s, const DeviceArray& lambda, const DeviceArray& terms,
                          const DeviceArray& status) {
  py::dict out;
  out["reconstruction"] = s.array;
  out["adjoint"] = lambda.array;
  out["terms"] = terms.array;  // [chi^2, s^T H s, ln det A_RR, ln det H_RR, iterations]
  out["status"] = status.array;
  return out;
}

// galaxyfit._core.invert on the GPU for a batch: columns (..., k, n), data (n,) or (..., n), regularization None,
// (k, k) or (..., k, k), flags (k,) -> a dict of CuPy arrays.
py::dict invert(const py::object& columns_in, const py::object& data_in, const py::object& regularization_in,
                const py::object& flags_in, bool positive_only, double diag_value, int64_t max_iterations) {
  const DeviceArray columns = device_array(columns_in, "float64", "columns");
  const DeviceArray data = device_array(data_in, "float64", "data");
  const DeviceArray flags = device_array(flags_in, "int32", "flags");
  if (columns.shape.size() < 2) throw py::value_error("columns must be (..., k, n)");
  const int64_t k = columns.shape[columns.shape.size() - 2], n = columns.shape.back();
  if (k < 1 || k > galaxyfit::scalar::kMaxSmallInversion)
    throw py::value_error("the CUDA inversion takes 1 to " + std::to_string(galaxyfit::scalar::kMaxSmallInversion) +
                          " linear parameters, got " + std::to_string(k));
  const auto lead = leading(columns.shape, 2);
  const int64_t batch = product(lead);
  if (data.shape.back() != n || (data.shape.size() > 1 && product(leading(data.shape, 1)) != batch))
    throw py::value_error("data must be (n,) or (..., n) matching the columns");
  if (flags.shape.size() != 1 || flags.shape[0] != k) throw py::value_error("flags must be (k,)");
  galaxyfit::cuda::InversionBatch in{};
  in.k = k, in.n = n, in.batch = batch;
  in.columns = at<double>(columns);
  in.data = at<double>(data);
  in.data_stride = data.shape.size() > 1 ? n : 0;
  in.flags = at<int32_t>(flags);
  DeviceArray h;
  if (!regularization_in.is_none()) {
    h = device_array(regularization_in, "float64", "regularization");
    if (h.shape.size() < 2 || h.shape.back() != k || h.shape[h.shape.size() - 2] != k)
      throw py::value_error("regularization must be (k, k) or (..., k, k)");
    const int64_t h_batch = product(leading(h.shape, 2));
    if (h_batch != 1 && h_batch != batch) throw py::value_error("regularization batch must be 1 or the columns' batch");
    in.regularization = at<double>(h);
    in.h_stride = h_batch == 1 ? 0 : k * k;
  }
  const auto sizes = galaxyfit::cuda::inversion_scratch(k, batch);
  const DeviceArray gram = empty({sizes.gram_doubles}), work = empty({sizes.work_doubles});
  const DeviceArray iwork = empty({sizes.work_ints}, "int32");
  std::vector<int64_t> vshape = lead, tshape = lead;
  vshape.push_back(k);
  tshape.push_back(5);
  DeviceArray s = empty(vshape), lambda = empty(vshape), terms = empty(tshape), status = empty(lead, "int32");
  const galaxyfit::scalar::SmallSettings settings{positive_only, diag_value, max_iterations, true, true};
  check(galaxyfit::cuda::inversion(current_stream(), in, settings, at<double>(gram), at<double>(work),
                                   at<int32_t>(iwork), at<double>(s), at<double>(lambda), at<double>(terms),
                                   at<int32_t>(status)),
        "invert");
  return inversion_result(s, lambda, terms, status);
}

// galaxyfit._core.invert_gram on the GPU for a batch: curvature (..., k, k), data_vector (..., k), data_norm (...),
// regularization None or (..., k, k), flags (k,), guess None or (..., k); every batch shape 1 or the curvature's ->
// a dict of CuPy arrays. k <= kMaxSmallInversion: one thread per batch element; beyond: a thread block.
py::dict invert_gram(const py::object& curvature_in, const py::object& data_vector_in, const py::object& data_norm_in,
                     const py::object& regularization_in, const py::object& flags_in, const py::object& guess_in,
                     bool positive_only, double diag_value, int64_t max_iterations, bool log_det_regularization,
                     bool log_det_curvature_reg) {
  const DeviceArray f = device_array(curvature_in, "float64", "curvature");
  const DeviceArray d = device_array(data_vector_in, "float64", "data_vector");
  const DeviceArray yy = device_array(data_norm_in, "float64", "data_norm");
  const DeviceArray flags = device_array(flags_in, "int32", "flags");
  if (f.shape.size() < 2 || f.shape.back() != f.shape[f.shape.size() - 2])
    throw py::value_error("curvature must be (..., k, k)");
  const int64_t k = f.shape.back();
  if (k < 1 || k > galaxyfit::scalar::kMaxTeamInversion)
    throw py::value_error("the CUDA inversion takes 1 to " + std::to_string(galaxyfit::scalar::kMaxTeamInversion) +
                          " linear parameters in the Gram form, got " + std::to_string(k));
  const auto lead = leading(f.shape, 2);
  const int64_t batch = product(lead);
  auto stride = [&](const DeviceArray& a, size_t trailing, int64_t size, const char* name) -> int64_t {
    if (a.shape.size() < trailing || (trailing > 0 && a.shape.back() != k))
      throw py::value_error(std::string(name) + " does not match the curvature's k");
    const int64_t b = product(leading(a.shape, trailing));
    if (b != 1 && b != batch) throw py::value_error(std::string(name) + "'s batch must be 1 or the curvature's");
    return b == 1 ? 0 : size;
  };
  if (flags.shape.size() != 1 || flags.shape[0] != k) throw py::value_error("flags must be (k,)");
  galaxyfit::cuda::GramBatch in{};
  in.k = k, in.batch = batch;
  in.curvature = at<double>(f), in.f_stride = k * k;
  in.data_vector = at<double>(d), in.d_stride = stride(d, 1, k, "data_vector");
  in.data_norm = at<double>(yy), in.norm_stride = stride(yy, 0, 1, "data_norm");
  in.flags = at<int32_t>(flags);
  DeviceArray h, guess;
  if (!regularization_in.is_none()) {
    h = device_array(regularization_in, "float64", "regularization");
    if (h.shape.size() < 2 || h.shape[h.shape.size() - 2] != k) throw py::value_error("regularization must be (..., k, k)");
    in.regularization = at<double>(h), in.h_stride = stride(h, 2, k * k, "regularization");
  }
  if (!guess_in.is_none()) {
    guess = device_array(guess_in, "float64", "guess");
    in.guess = at<double>(guess), in.guess_stride = stride(guess, 1, k, "guess");
  }
  const bool team = k > galaxyfit::scalar::kMaxSmallInversion;
  const int64_t chunk = team ? galaxyfit::cuda::team_inversion_chunk(k, batch) : batch;
  const int64_t work_doubles = team ? chunk * galaxyfit::scalar::team_work_doubles(k)
                                    : galaxyfit::cuda::inversion_scratch(k, batch).work_doubles;
  const int64_t work_ints = team ? chunk * galaxyfit::scalar::team_work_ints(k)
                                 : galaxyfit::cuda::inversion_scratch(k, batch).work_ints;
  const DeviceArray work = empty({work_doubles}), iwork = empty({work_ints}, "int32");
  std::vector<int64_t> vshape = lead, tshape = lead;
  vshape.push_back(k);
  tshape.push_back(5);
  DeviceArray s = empty(vshape), lambda = empty(vshape), terms = empty(tshape), status = empty(lead, "int32");
  const galaxyfit::scalar::SmallSettings settings{positive_only, diag_value, max_iterations, log_det_regularization,
                                                  log_det_curvature_reg};
  const auto solve = team ? galaxyfit::cuda::inversion_gram_team : galaxyfit::cuda::inversion_gram;
  check(solve(current_stream(), in, settings, at<double>(work), at<int32_t>(iwork), at<double>(s), at<double>(lambda),
              at<double>(terms), at<int32_t>(status)),
        "invert_gram");
  return inversion_result(s, lambda, terms, status);
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "galaxyfit CUDA kernels: XLA FFI handlers (platform CUDA) and functions on CuPy arrays";
  m.def("registrations", []() {
    py::dict d;
    d["galaxyfit_psf_convolve_f64"] = capsule(GalaxyfitPsfConvolveCuda);
    d["galaxyfit_psf_convolve_adjoint_f64"] = capsule(GalaxyfitPsfConvolveAdjointCuda);
    d["galaxyfit_render_profile_f64"] = capsule(GalaxyfitRenderProfileCuda);
    d["galaxyfit_render_profile_jacobian_f64"] = capsule(GalaxyfitRenderProfileJacobianCuda);
    d["galaxyfit_render_profiles_f64"] = capsule(GalaxyfitRenderProfilesCuda);
    d["galaxyfit_chi_squared_f64"] = capsule(GalaxyfitChiSquaredCuda);
    d["galaxyfit_inversion_f64"] = capsule(GalaxyfitInversionCuda);
    d["galaxyfit_inversion_gradient_f64"] = capsule(GalaxyfitInversionGradientCuda);
    d["galaxyfit_inversion_gram_f64"] = capsule(GalaxyfitInversionGramCuda);
    return d;
  }, "FFI target name -> capsule of its CUDA handler (same names as galaxyfit._core.registrations()).");
  m.def("build_info", []() {
    py::dict d;
    d["cuda_runtime_compiled"] = CUDART_VERSION;  // e.g. 13000 for 13.0
    d["architectures"] = GALAXYFIT_CUDA_ARCHITECTURES;
    d["max_inversion_parameters"] = galaxyfit::scalar::kMaxSmallInversion;
    d["max_gram_inversion_parameters"] = galaxyfit::scalar::kMaxTeamInversion;
    return d;
  }, "How this extension was built: the CUDA runtime version it was compiled against, its architectures, and the "
     "most linear parameters its inversion takes in the columns form and in the Gram form.");
  m.def("device_count", []() {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    return py::make_tuple(e == cudaSuccess ? n : 0, e == cudaSuccess ? std::string() : cudaGetErrorString(e));
  }, "(number of CUDA devices, '' or why none could be counted): asks the driver, never raises.");
  m.def("psf_convolve", &psf_convolve, py::arg("image"), py::arg("kernel"), py::arg("runs"),
        "galaxyfit.kernels.psf_convolve on the GPU: image (..., ny, nx), kernel (..., ky, kx; odd), runs (n, 3) int32 "
        "-> CuPy (..., n_out) float64.");
  m.def("psf_convolve_adjoint", &psf_convolve_adjoint, py::arg("values"), py::arg("kernel"), py::arg("runs"),
        py::arg("image_shape"), "Its adjoint: values (..., n_out) -> CuPy (..., ny, nx) float64.");
  m.def("chi_squared", &chi_squared, py::arg("model"), py::arg("data"), py::arg("inverse_noise"),
        "sum(((data - model) * inverse_noise)^2) over the last axis: model (..., n) -> CuPy (...) float64.");
  m.def("render_profile", &render_profile, py::arg("law"), py::arg("params"), py::arg("y0"), py::arg("x0"),
        py::arg("hy"), py::arg("hx"), py::arg("height"), py::arg("width"), py::arg("rings"),
        py::arg("cusp_radial") = 8, py::arg("cusp_tangential") = 8, py::arg("jacobian") = false,
        "Pixel means of one law (galaxyfit/profile_image.hpp): params (..., 5 + n_law) -> CuPy (..., height, width); "
        "with jacobian=True a tuple (image, jacobian (..., 5 + n_law, height, width)).");
  m.def("invert", &invert, py::arg("columns"), py::arg("data"), py::arg("regularization") = py::none(),
        py::arg("flags"), py::arg("positive_only") = true, py::arg("diag_value") = 1e-3,
        py::arg("max_iterations") = 0,
        "The linear inversion (galaxyfit/inversion.hpp) of a batch, k <= 128: columns (..., k, n), data (n,) or "
        "(..., n) -> dict of CuPy arrays: reconstruction and adjoint (..., k), terms (..., 5) [chi^2, s^T H s, "
        "ln det A_RR, ln det H_RR, iterations], status (...) int32.");
  m.def("invert_gram", &invert_gram, py::arg("curvature"), py::arg("data_vector"), py::arg("data_norm"),
        py::arg("regularization") = py::none(), py::arg("flags"), py::arg("guess") = py::none(),
        py::arg("positive_only") = true, py::arg("diag_value") = 1e-3, py::arg("max_iterations") = 0,
        py::arg("log_det_regularization") = true, py::arg("log_det_curvature_reg") = true,
        "The Gram-form inversion (galaxyfit/inversion.hpp's invert_gram) of a batch, k <= 16384 (pixelizations): "
        "curvature F (..., k, k), data_vector D (..., k), data_norm y^T y (...), regularization H None or (..., k, k), "
        "flags (k,), guess None or (..., k) (batch shapes 1 or the curvature's) -> dict of CuPy arrays as invert's.");
}
