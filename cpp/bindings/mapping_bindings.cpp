// pybind11 faces of the pixelization mapping kernels (galaxyfit/mapping.hpp), used by galaxyfit.pixelization.mapper
// when a mesh meets a dataset (once per dataset and mesh, outside the likelihood). Sparse matrices cross as
// (row_start int64, column int32, value float64) triples. They release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>
#include <string>

#include "galaxyfit/mapping.hpp"

namespace py = pybind11;

namespace {

using Doubles = py::array_t<double, py::array::c_style | py::array::forcecast>;
using Ints = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using Longs = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

void require(bool ok, const std::string& what) {
  if (!ok) throw py::value_error(what);
}

int64_t points_of(const Doubles& points, const char* name) {
  require(points.ndim() == 2 && points.shape(1) == 2, std::string(name) + " must be (m, 2) (y, x) coordinates");
  return points.shape(0);
}

galaxyfit::SparseRows sparse_from(const Longs& row_start, const Ints& column, const Doubles& value, int64_t n_columns) {
  require(row_start.ndim() == 1 && row_start.shape(0) >= 1, "row_start must be 1-dimensional with rows + 1 entries");
  require(column.ndim() == 1 && value.ndim() == 1 && column.shape(0) == value.shape(0),
          "column and value must be 1-dimensional and of equal length");
  galaxyfit::SparseRows m;
  m.rows = row_start.shape(0) - 1;
  m.columns = n_columns;
  m.row_start.assign(row_start.data(), row_start.data() + row_start.shape(0));
  m.column.assign(column.data(), column.data() + column.shape(0));
  m.value.assign(value.data(), value.data() + value.shape(0));
  require(m.row_start.front() == 0 && m.row_start.back() == static_cast<int64_t>(m.column.size()),
          "row_start must run from 0 to the number of entries");
  for (int64_t r = 0; r < m.rows; ++r) require(m.row_start[r] <= m.row_start[r + 1], "row_start must not decrease");
  for (int32_t c : m.column) require(c >= 0 && c < n_columns, "a column index is out of range");
  return m;
}

py::tuple sparse_to(const galaxyfit::SparseRows& m) {
  Longs row_start(static_cast<py::ssize_t>(m.row_start.size()));
  Ints column(static_cast<py::ssize_t>(m.column.size()));
  Doubles value(static_cast<py::ssize_t>(m.value.size()));
  std::memcpy(row_start.mutable_data(), m.row_start.data(), m.row_start.size() * sizeof(int64_t));
  std::memcpy(column.mutable_data(), m.column.data(), m.column.size() * sizeof(int32_t));
  std::memcpy(value.mutable_data(), m.value.data(), m.value.size() * sizeof(double));
  return py::make_tuple(row_start, column, value);
}

py::tuple rectangular_stencils(const Doubles& points, int64_t ny, int64_t nx, double y_first, double x_first, double dy,
                               double dx) {
  const int64_t m = points_of(points, "points");
  Ints index(std::vector<py::ssize_t>{m, 4});
  Doubles weight(std::vector<py::ssize_t>{m, 4});
  try {
    py::gil_scoped_release release;
    galaxyfit::rectangular_bilinear_stencils(points.data(), m, ny, nx, y_first, x_first, dy, dx, index.mutable_data(),
                                             weight.mutable_data());
  } catch (const galaxyfit::MappingError& e) {
    throw py::value_error(e.what());
  }
  return py::make_tuple(index, weight);
}

py::tuple delaunay_stencils(const Doubles& points, const Doubles& vertices, const Ints& simplices,
                            const Ints& simplex_of_point, const Ints& nearest_vertex) {
  const int64_t m = points_of(points, "points");
  const int64_t v = points_of(vertices, "vertices");
  require(simplices.ndim() == 2 && simplices.shape(1) == 3, "simplices must be (t, 3)");
  require(simplex_of_point.ndim() == 1 && simplex_of_point.shape(0) == m, "simplex_of_point must be (m,)");
  require(nearest_vertex.ndim() == 1 && nearest_vertex.shape(0) == m, "nearest_vertex must be (m,)");
  Ints index(std::vector<py::ssize_t>{m, 3});
  Doubles weight(std::vector<py::ssize_t>{m, 3});
  try {
    py::gil_scoped_release release;
    galaxyfit::delaunay_barycentric_stencils(points.data(), m, vertices.data(), v, simplices.data(), simplices.shape(0),
                                             simplex_of_point.data(), nearest_vertex.data(), index.mutable_data(),
                                             weight.mutable_data());
  } catch (const galaxyfit::MappingError& e) {
    throw py::value_error(e.what());
  }
  return py::make_tuple(index, weight);
}

py::tuple mapping_matrix(const Ints& index, const Doubles& weight, int64_t points_per_pixel, int64_t n_columns) {
  require(index.ndim() == 2 && weight.ndim() == 2 && index.shape(0) == weight.shape(0) &&
              index.shape(1) == weight.shape(1),
          "index and weight must be (m, width) arrays of equal shape");
  require(points_per_pixel >= 1 && index.shape(0) % points_per_pixel == 0,
          "the number of points must be a multiple of points_per_pixel");
  galaxyfit::SparseRows out;
  try {
    py::gil_scoped_release release;
    out = galaxyfit::mapping_matrix_from_stencils(index.data(), weight.data(), index.shape(0) / points_per_pixel,
                                                  points_per_pixel, index.shape(1), n_columns);
  } catch (const galaxyfit::MappingError& e) {
    throw py::value_error(e.what());
  }
  return sparse_to(out);
}

py::tuple blurred_mapping_matrix(const Longs& row_start, const Ints& column, const Doubles& value, int64_t n_columns,
                                 const Ints& slim_of_pixel, const Doubles& kernel, double drop_below) {
  const auto m = sparse_from(row_start, column, value, n_columns);
  require(slim_of_pixel.ndim() == 2, "slim_of_pixel must be (ny, nx)");
  require(kernel.ndim() == 2, "kernel must be (ky, kx)");
  galaxyfit::SparseRows out;
  try {
    py::gil_scoped_release release;
    out = galaxyfit::blurred_mapping_matrix(m, slim_of_pixel.data(), slim_of_pixel.shape(0), slim_of_pixel.shape(1),
                                            kernel.data(), kernel.shape(0), kernel.shape(1), drop_below);
  } catch (const galaxyfit::MappingError& e) {
    throw py::value_error(e.what());
  }
  return sparse_to(out);
}

Doubles curvature_matrix(const Longs& row_start, const Ints& column, const Doubles& value, int64_t n_columns,
                         const Doubles& inverse_variance) {
  const auto f = sparse_from(row_start, column, value, n_columns);
  require(inverse_variance.ndim() == 1 && inverse_variance.shape(0) == f.rows, "inverse_variance must be (rows,)");
  Doubles out(std::vector<py::ssize_t>{n_columns, n_columns});
  {
    py::gil_scoped_release release;
    galaxyfit::sparse_curvature_matrix(f, inverse_variance.data(), out.mutable_data());
  }
  return out;
}

Doubles data_vector(const Longs& row_start, const Ints& column, const Doubles& value, int64_t n_columns,
                    const Doubles& inverse_variance, const Doubles& data) {
  const auto f = sparse_from(row_start, column, value, n_columns);
  require(inverse_variance.ndim() == 1 && inverse_variance.shape(0) == f.rows, "inverse_variance must be (rows,)");
  require(data.ndim() == 1 && data.shape(0) == f.rows, "data must be (rows,)");
  Doubles out(n_columns);
  {
    py::gil_scoped_release release;
    galaxyfit::sparse_data_vector(f, inverse_variance.data(), data.data(), out.mutable_data());
  }
  return out;
}

}  // namespace

void register_mapping(py::module_& m) {
  m.def("rectangular_bilinear_stencils", &rectangular_stencils, py::arg("points"), py::arg("ny"), py::arg("nx"),
        py::arg("y_first"), py::arg("x_first"), py::arg("dy"), py::arg("dx"),
        "Bilinear (index (m, 4) int32, weight (m, 4)) of points (m, 2) on a uniform lattice (galaxyfit/mapping.hpp).");
  m.def("delaunay_barycentric_stencils", &delaunay_stencils, py::arg("points"), py::arg("vertices"),
        py::arg("simplices"), py::arg("simplex_of_point"), py::arg("nearest_vertex"),
        "Barycentric (index (m, 3) int32, weight (m, 3)) in a triangulation; nearest vertex outside its hull.");
  m.def("mapping_matrix", &mapping_matrix, py::arg("index"), py::arg("weight"), py::arg("points_per_pixel"),
        py::arg("n_columns"), "The sparse mapping matrix (row_start, column, value) from stencils.");
  m.def("blurred_mapping_matrix", &blurred_mapping_matrix, py::arg("row_start"), py::arg("column"), py::arg("value"),
        py::arg("n_columns"), py::arg("slim_of_pixel"), py::arg("kernel"), py::arg("drop_below") = 0.0,
        "The PSF-blurred mapping matrix (row_start, column, value) at the unmasked pixels.");
  m.def("sparse_curvature_matrix", &curvature_matrix, py::arg("row_start"), py::arg("column"), py::arg("value"),
        py::arg("n_columns"), py::arg("inverse_variance"), "F = f^T diag(inverse_variance) f, dense (S, S).");
  m.def("sparse_data_vector", &data_vector, py::arg("row_start"), py::arg("column"), py::arg("value"),
        py::arg("n_columns"), py::arg("inverse_variance"), py::arg("data"), "D = f^T (inverse_variance * data).");
}
