// pybind11 faces of the nested sampler's bound kernels (galaxyfit/nested_support.hpp), used by
// galaxyfit.search.nautilus_kernels. They release the GIL and run on the calling thread.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "galaxyfit/nested_support.hpp"

namespace py = pybind11;

namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

const double* rows_of(const Array& a, const char* name, int64_t& n, int& d) {
  if (a.ndim() != 2) throw py::value_error(std::string(name) + " must be 2-dimensional (n_samples, n_features)");
  n = a.shape(0);
  d = static_cast<int>(a.shape(1));
  return a.data();
}

py::tuple train(const Array& x, const Array& y, const std::vector<int>& hidden_layer_sizes, double alpha,
                double learning_rate, int batch_size, int max_iter, int n_iter_no_change, double tol, double beta_1,
                double beta_2, double epsilon, uint64_t seed) {
  int64_t n;
  int d;
  const double* px = rows_of(x, "x", n, d);
  if (y.ndim() != 1 || y.shape(0) != n)
    throw py::value_error("y must be 1-dimensional with one value per row of x (" + std::to_string(n) + ")");
  galaxyfit::MlpSettings s{hidden_layer_sizes, alpha, learning_rate, batch_size, max_iter, n_iter_no_change, tol,
                           beta_1, beta_2, epsilon, seed};
  galaxyfit::Mlp net;
  {
    py::gil_scoped_release release;
    try {
      net = galaxyfit::train_mlp_regressor(px, y.data(), n, d, s);
    } catch (const std::invalid_argument& e) {
      throw py::value_error(e.what());  // a C++ exception: translated once the GIL is back
    }
  }
  py::list weights, biases;
  for (size_t k = 0; k < net.weights.size(); ++k) {
    Array w(std::vector<py::ssize_t>{net.layer_sizes[k], net.layer_sizes[k + 1]});
    std::copy(net.weights[k].begin(), net.weights[k].end(), w.mutable_data());
    Array b(std::vector<py::ssize_t>{net.layer_sizes[k + 1]});
    std::copy(net.biases[k].begin(), net.biases[k].end(), b.mutable_data());
    weights.append(w);
    biases.append(b);
  }
  return py::make_tuple(weights, biases, net.n_iter, net.loss);
}

Array predict(const std::vector<Array>& weights, const std::vector<Array>& biases, const Array& x) {
  if (weights.empty() || weights.size() != biases.size())
    throw py::value_error("weights and biases must be non-empty lists of equal length");
  galaxyfit::Mlp net;
  for (size_t k = 0; k < weights.size(); ++k) {
    const Array& w = weights[k];
    if (w.ndim() != 2 || biases[k].ndim() != 1 || biases[k].shape(0) != w.shape(1) ||
        (k > 0 && w.shape(0) != net.layer_sizes.back()))
      throw py::value_error("layer " + std::to_string(k) + ": weights (fan_in, fan_out) and biases (fan_out,) disagree");
    if (k == 0) net.layer_sizes.push_back(static_cast<int>(w.shape(0)));
    net.layer_sizes.push_back(static_cast<int>(w.shape(1)));
    net.weights.emplace_back(w.data(), w.data() + w.size());
    net.biases.emplace_back(biases[k].data(), biases[k].data() + biases[k].size());
  }
  if (net.layer_sizes.back() != 1) throw py::value_error("the last layer must have one output");
  int64_t n;
  int d;
  const double* px = rows_of(x, "x", n, d);
  if (d != net.layer_sizes[0])
    throw py::value_error("x has " + std::to_string(d) + " features, the network " + std::to_string(net.layer_sizes[0]));
  Array out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(n)});
  {
    py::gil_scoped_release release;
    galaxyfit::mlp_predict(net, px, n, out.mutable_data());
  }
  return out;
}

Array mvee(const Array& points, int n_max, int n_batch) {
  int64_t n;
  int d;
  const double* p = rows_of(points, "points", n, d);
  Array u(std::vector<py::ssize_t>{static_cast<py::ssize_t>(n)});
  double* pu = u.mutable_data();
  {
    py::gil_scoped_release release;
    try {
      galaxyfit::mvee_weights(p, n, d, n_max, n_batch, pu);
    } catch (const std::invalid_argument& e) {
      throw py::value_error(e.what());  // as in train; a failed factorisation's runtime_error becomes RuntimeError
    }
  }
  return u;
}

}  // namespace

void register_nested_support(py::module_& m) {
  m.def("train_mlp_regressor", &train, py::arg("x"), py::arg("y"), py::arg("hidden_layer_sizes"), py::arg("alpha"),
        py::arg("learning_rate"), py::arg("batch_size"), py::arg("max_iter"), py::arg("n_iter_no_change"),
        py::arg("tol"), py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::arg("seed"),
        "Train an MLP regressor (ReLU, Adam) on x (n, d) and y (n,) as scikit-learn's MLPRegressor does. Returns "
        "(weights [(fan_in, fan_out)], biases [(fan_out,)], epochs, last epoch's loss). See "
        "galaxyfit/nested_support.hpp.");
  m.def("mlp_predict", &predict, py::arg("weights"), py::arg("biases"), py::arg("x"),
        "Output (n,) of the ReLU network with the given layers for x (n, d).");
  m.def("mvee_weights", &mvee, py::arg("points"), py::arg("n_max") = 100, py::arg("n_batch") = 20,
        "Khachiyan weights (n,) of the minimum-volume enclosing ellipsoid of points (n, d), nautilus' variant.");
}
