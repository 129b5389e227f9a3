// Mapping: stencil weights (sum to 1, reproduce linear functions), the mapping matrix's rows, the blurred mapping
// matrix against convolving each dense column with a double loop, F and D against dense products, and errors.
#include <galaxyfit/mapping.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "check.hpp"

namespace {

void bilinear() {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> y_dist(-1.5, 2.7), x_dist(-0.8, 3.9);  // also beyond the outer nodes
  const int64_t m = 200, ny = 4, nx = 5;
  const double y_first = 2.0, x_first = -0.5, dy = -0.6, dx = 0.9;  // a negative spacing: rows run downwards
  std::vector<double> points(2 * m);
  for (int64_t k = 0; k < m; ++k) {
    points[2 * k] = y_dist(rng);
    points[2 * k + 1] = x_dist(rng);
  }
  std::vector<int32_t> index(4 * m);
  std::vector<double> weight(4 * m);
  galaxyfit::rectangular_bilinear_stencils(points.data(), m, ny, nx, y_first, x_first, dy, dx, index.data(),
                                           weight.data());
  for (int64_t k = 0; k < m; ++k) {
    double sum = 0.0, y = 0.0, x = 0.0;
    for (int c = 0; c < 4; ++c) {
      const int32_t node = index[4 * k + c];
      CHECK(node >= 0 && node < ny * nx);
      sum += weight[4 * k + c];
      y += weight[4 * k + c] * (y_first + (node / nx) * dy);
      x += weight[4 * k + c] * (x_first + (node % nx) * dx);
    }
    CHECK_CLOSE(sum, 1.0, 1e-14, 0.0);
    // Bilinear interpolation (and its extrapolation from the outer cell) is exact for linear functions.
    CHECK_CLOSE(y, points[2 * k], 1e-13, 0.0);
    CHECK_CLOSE(x, points[2 * k + 1], 1e-13, 0.0);
  }
  CHECK_THROWS(galaxyfit::MappingError, "at least 2 x 2 nodes",
               galaxyfit::rectangular_bilinear_stencils(points.data(), m, 1, nx, 0, 0, 1, 1, index.data(), weight.data()));
  CHECK_THROWS(galaxyfit::MappingError, "spacings must be non-zero",
               galaxyfit::rectangular_bilinear_stencils(points.data(), m, 2, 2, 0, 0, 0, 1, index.data(), weight.data()));
}

void barycentric() {
  // The unit square split into two triangles; three points inside, one outside.
  const std::vector<double> vertices = {0, 0, 0, 1, 1, 0, 1, 1};  // (y, x)
  const std::vector<int32_t> simplices = {0, 1, 2, 1, 3, 2};
  const std::vector<double> points = {0.2, 0.3, 0.7, 0.6, 0.5, 0.5, 3.0, 3.0};
  const std::vector<int32_t> simplex_of_point = {0, 1, 0, -1}, nearest = {0, 0, 0, 3};
  std::vector<int32_t> index(12);
  std::vector<double> weight(12);
  galaxyfit::delaunay_barycentric_stencils(points.data(), 4, vertices.data(), 4, simplices.data(), 2,
                                           simplex_of_point.data(), nearest.data(), index.data(), weight.data());
  for (int k = 0; k < 3; ++k) {
    double sum = 0.0, y = 0.0, x = 0.0;
    for (int c = 0; c < 3; ++c) {
      sum += weight[3 * k + c];
      y += weight[3 * k + c] * vertices[2 * index[3 * k + c]];
      x += weight[3 * k + c] * vertices[2 * index[3 * k + c] + 1];
    }
    CHECK_CLOSE(sum, 1.0, 1e-15, 0.0);
    CHECK_CLOSE(y, points[2 * k], 1e-15, 0.0);  // barycentric coordinates reproduce the point
    CHECK_CLOSE(x, points[2 * k + 1], 1e-15, 0.0);
  }
  CHECK(index[9] == 3 && weight[9] == 1.0 && weight[10] == 0.0 && weight[11] == 0.0);
  std::vector<int32_t> bad = {2, 0, 0, -1};
  CHECK_THROWS(galaxyfit::MappingError, "simplex index is out of range",
               galaxyfit::delaunay_barycentric_stencils(points.data(), 4, vertices.data(), 4, simplices.data(), 2,
                                                        bad.data(), nearest.data(), index.data(), weight.data()));
  std::vector<int32_t> far = {0, 0, 0, 9};
  CHECK_THROWS(galaxyfit::MappingError, "nearest-vertex index is out of range",
               galaxyfit::delaunay_barycentric_stencils(points.data(), 4, vertices.data(), 4, simplices.data(), 2,
                                                        simplex_of_point.data(), far.data(), index.data(), weight.data()));
}

void matrices() {
  // A 9 x 10 image with a masked corner and a hole; 4 sub-points per pixel on a 3 x 3 bilinear mesh.
  const int64_t ny = 9, nx = 10, sub = 2, p = sub * sub;
  std::vector<int32_t> slim(ny * nx, -1);
  int64_t rows = 0;
  for (int64_t r = 0; r < ny; ++r)
    for (int64_t c = 0; c < nx; ++c)
      if (!((r < 2 && c < 3) || (r == 5 && c == 5))) slim[r * nx + c] = static_cast<int32_t>(rows++);
  std::vector<double> points;
  for (int64_t r = 0; r < ny; ++r)
    for (int64_t c = 0; c < nx; ++c)
      if (slim[r * nx + c] >= 0)
        for (int64_t a = 0; a < sub; ++a)
          for (int64_t b = 0; b < sub; ++b) {
            points.push_back(r + (a + 0.5) / sub - 0.5);
            points.push_back(c + (b + 0.5) / sub - 0.5);
          }
  const int64_t m = static_cast<int64_t>(points.size() / 2), mesh = 9;
  std::vector<int32_t> index(4 * m);
  std::vector<double> weight(4 * m);
  galaxyfit::rectangular_bilinear_stencils(points.data(), m, 3, 3, 0.0, 0.0, 4.0, 4.5, index.data(), weight.data());
  const galaxyfit::SparseRows mm = galaxyfit::mapping_matrix_from_stencils(index.data(), weight.data(), rows, p, 4, mesh);
  CHECK(mm.rows == rows && mm.columns == mesh && static_cast<int64_t>(mm.row_start.size()) == rows + 1);
  std::vector<double> dense(rows * mesh, 0.0);  // M, dense
  for (int64_t s = 0; s < rows; ++s) {
    double sum = 0.0;
    for (int64_t e = mm.row_start[s]; e < mm.row_start[s + 1]; ++e) {
      if (e > mm.row_start[s]) CHECK(mm.column[e] > mm.column[e - 1]);
      sum += mm.value[e];
      dense[s * mesh + mm.column[e]] = mm.value[e];
    }
    CHECK_CLOSE(sum, 1.0, 1e-14, 0.0);  // each pixel's weights sum to 1
  }
  // Pixel 0's row by hand: the mean over its sub-points of their stencils.
  for (int64_t j = 0; j < mesh; ++j) {
    double expected = 0.0;
    for (int64_t k = 0; k < p; ++k)
      for (int c = 0; c < 4; ++c)
        if (index[4 * k + c] == j) expected += weight[4 * k + c] / p;
    CHECK_CLOSE(dense[j], expected, 1e-15, 0.0);
  }

  const int64_t ky = 3, kx = 5;
  std::vector<double> kernel(ky * kx);
  for (int64_t i = 0; i < ky * kx; ++i) kernel[i] = 0.02 + 0.01 * ((i * 7) % 5);
  const galaxyfit::SparseRows f = galaxyfit::blurred_mapping_matrix(mm, slim.data(), ny, nx, kernel.data(), ky, kx);
  // Column j of f: M's column j on the image (zero at masked pixels), convolved, read at the unmasked pixels.
  std::vector<double> f_dense(rows * mesh, 0.0);
  for (int64_t s = 0; s < rows; ++s)
    for (int64_t e = f.row_start[s]; e < f.row_start[s + 1]; ++e) f_dense[s * mesh + f.column[e]] = f.value[e];
  double worst = 0.0;
  for (int64_t r = 0; r < ny; ++r)
    for (int64_t c = 0; c < nx; ++c) {
      const int32_t s = slim[r * nx + c];
      if (s < 0) continue;
      for (int64_t j = 0; j < mesh; ++j) {
        double expected = 0.0;
        for (int64_t i = 0; i < ky; ++i)
          for (int64_t q = 0; q < kx; ++q) {
            const int64_t y = r + ky / 2 - i, x = c + kx / 2 - q;
            if (y < 0 || y >= ny || x < 0 || x >= nx || slim[y * nx + x] < 0) continue;
            expected += kernel[i * kx + q] * dense[slim[y * nx + x] * mesh + j];
          }
        worst = std::fmax(worst, std::fabs(f_dense[s * mesh + j] - expected));
      }
    }
  CHECK_CLOSE(worst, 0.0, 1e-15, 0.0);

  // F = f^T W f and D = f^T W d against dense sums.
  std::vector<double> inverse_variance(rows), data(rows), curvature(mesh * mesh), data_vector(mesh);
  for (int64_t s = 0; s < rows; ++s) {
    inverse_variance[s] = 1.0 / (1.0 + 0.1 * (s % 7));
    data[s] = std::sin(0.3 * s);
  }
  galaxyfit::sparse_curvature_matrix(f, inverse_variance.data(), curvature.data());
  galaxyfit::sparse_data_vector(f, inverse_variance.data(), data.data(), data_vector.data());
  for (int64_t a = 0; a < mesh; ++a) {
    double d = 0.0;
    for (int64_t s = 0; s < rows; ++s) d += f_dense[s * mesh + a] * inverse_variance[s] * data[s];
    CHECK_CLOSE(data_vector[a], d, 1e-14, 1e-12);
    for (int64_t b = 0; b < mesh; ++b) {
      double fab = 0.0;
      for (int64_t s = 0; s < rows; ++s) fab += f_dense[s * mesh + a] * inverse_variance[s] * f_dense[s * mesh + b];
      CHECK_CLOSE(curvature[a * mesh + b], fab, 1e-14, 1e-12);
    }
  }

  // drop_below removes the small entries only.
  const galaxyfit::SparseRows thin = galaxyfit::blurred_mapping_matrix(mm, slim.data(), ny, nx, kernel.data(), ky, kx, 0.1);
  double largest = 0.0;
  for (double v : f.value) largest = std::fmax(largest, std::fabs(v));
  size_t kept = 0;
  for (double v : f.value) kept += std::fabs(v) > 0.1 * largest;
  CHECK(thin.value.size() == kept && kept < f.value.size());

  // Errors.
  CHECK_THROWS(galaxyfit::MappingError, "odd dimensions",
               galaxyfit::blurred_mapping_matrix(mm, slim.data(), ny, nx, kernel.data(), 2, 5));
  std::vector<int32_t> short_slim = slim;
  short_slim[ny * nx - 1] = -1;  // the last row of M has no pixel now
  CHECK_THROWS(galaxyfit::MappingError, "has no unmasked pixel",
               galaxyfit::blurred_mapping_matrix(mm, short_slim.data(), ny, nx, kernel.data(), ky, kx));
  index[5] = 9;  // a mesh index beyond the 9 columns (its weight is non-zero)
  weight[5] = 0.5;
  CHECK_THROWS(galaxyfit::MappingError, "mesh index is out of range",
               galaxyfit::mapping_matrix_from_stencils(index.data(), weight.data(), rows, p, 4, mesh));
  CHECK_THROWS(galaxyfit::MappingError, "sizes must be positive",
               galaxyfit::mapping_matrix_from_stencils(index.data(), weight.data(), rows, 0, 4, mesh));
}

}  // namespace

int main() {
  bilinear();
  barycentric();
  matrices();
  return check::finish("test_mapping");
}
