#include "galaxyfit/mapping.hpp"

#include <algorithm>
#include <cmath>

namespace galaxyfit {
namespace {

// Twice the area of triangle (c0, c1, c2), unsigned, with PyAutoArray's operations in its order (triangle_area_xp):
// which weights come out exactly 0 for points on an edge, and so which mappings an adapt signal counts, depends on
// the rounding of these very operations.
double area2(const double* c0, const double* c1, const double* c2) {
  const double v0y = c1[0] - c0[0], v0x = c1[1] - c0[1];
  const double v1y = c2[0] - c0[0], v1x = c2[1] - c0[1];
  return std::fabs(v0y * v1x - v0x * v1y);
}

// Accumulates one sparse row: a dense scratch vector of the row's length and the list of touched columns.
class RowAccumulator {
 public:
  explicit RowAccumulator(int64_t columns) : value_(static_cast<size_t>(columns), 0.0), seen_(static_cast<size_t>(columns), 0) {}

  void add(int32_t column, double v) {
    if (!seen_[column]) {
      seen_[column] = 1;
      touched_.push_back(column);
    }
    value_[column] += v;
  }

  // Appends the row (ascending columns, entries with |v| <= threshold dropped) to `out` and resets.
  void flush(SparseRows& out, double threshold) {
    std::sort(touched_.begin(), touched_.end());
    for (int32_t c : touched_) {
      const double v = value_[c];
      if (std::fabs(v) > threshold) {
        out.column.push_back(c);
        out.value.push_back(v);
      }
      value_[c] = 0.0;
      seen_[c] = 0;
    }
    touched_.clear();
    out.row_start.push_back(static_cast<int64_t>(out.column.size()));
  }

 private:
  std::vector<double> value_;
  std::vector<char> seen_;
  std::vector<int32_t> touched_;
};

}  // namespace

void rectangular_bilinear_stencils(const double* points, int64_t m, int64_t ny, int64_t nx, double y_first,
                                   double x_first, double dy, double dx, int32_t* index, double* weight) {
  if (ny < 2 || nx < 2) throw MappingError("a bilinear lattice needs at least 2 x 2 nodes");
  if (!(dy != 0.0) || !(dx != 0.0)) throw MappingError("lattice spacings must be non-zero");
  for (int64_t k = 0; k < m; ++k) {
    const double fy = (points[2 * k] - y_first) / dy;
    const double fx = (points[2 * k + 1] - x_first) / dx;
    const int64_t iy = std::clamp<int64_t>(static_cast<int64_t>(std::floor(fy)), 0, ny - 2);
    const int64_t ix = std::clamp<int64_t>(static_cast<int64_t>(std::floor(fx)), 0, nx - 2);
    const double ty = fy - static_cast<double>(iy), tx = fx - static_cast<double>(ix);
    int32_t* id = index + 4 * k;
    double* w = weight + 4 * k;
    id[0] = static_cast<int32_t>(iy * nx + ix);
    id[1] = static_cast<int32_t>(iy * nx + ix + 1);
    id[2] = static_cast<int32_t>((iy + 1) * nx + ix);
    id[3] = static_cast<int32_t>((iy + 1) * nx + ix + 1);
    w[0] = (1.0 - tx) * (1.0 - ty);
    w[1] = tx * (1.0 - ty);
    w[2] = (1.0 - tx) * ty;
    w[3] = tx * ty;
  }
}

void delaunay_barycentric_stencils(const double* points, int64_t m, const double* vertices, int64_t n_vertices,
                                   const int32_t* simplices, int64_t n_simplices, const int32_t* simplex_of_point,
                                   const int32_t* nearest_vertex, int32_t* index, double* weight) {
  for (int64_t k = 0; k < m; ++k) {
    int32_t* id = index + 3 * k;
    double* w = weight + 3 * k;
    const int32_t t = simplex_of_point[k];
    if (t >= n_simplices) throw MappingError("a simplex index is out of range");
    if (t < 0) {
      const int32_t v = nearest_vertex[k];
      if (v < 0 || v >= n_vertices) throw MappingError("a nearest-vertex index is out of range");
      id[0] = v;
      id[1] = id[2] = 0;
      w[0] = 1.0;
      w[1] = w[2] = 0.0;
      continue;
    }
    for (int c = 0; c < 3; ++c) {
      id[c] = simplices[3 * t + c];
      if (id[c] < 0 || id[c] >= n_vertices) throw MappingError("a simplex vertex index is out of range");
    }
    const double* p0 = vertices + 2 * id[0];
    const double* p1 = vertices + 2 * id[1];
    const double* p2 = vertices + 2 * id[2];
    const double* q = points + 2 * k;
    const double a0 = area2(p1, p2, q), a1 = area2(p0, p2, q), a2 = area2(p0, p1, q);
    const double total = a0 + a1 + a2;
    if (std::fabs(total) <= 1e-12) {
      w[0] = w[1] = w[2] = 0.0;
    } else {
      w[0] = a0 / total;
      w[1] = a1 / total;
      w[2] = a2 / total;
    }
  }
}

SparseRows mapping_matrix_from_stencils(const int32_t* index, const double* weight, int64_t n_pixels,
                                        int64_t points_per_pixel, int64_t width, int64_t n_columns) {
  if (n_pixels < 0 || points_per_pixel < 1 || width < 1 || n_columns < 1)
    throw MappingError("mapping matrix: sizes must be positive");
  SparseRows out;
  out.rows = n_pixels;
  out.columns = n_columns;
  out.row_start.reserve(static_cast<size_t>(n_pixels + 1));
  out.row_start.push_back(0);
  RowAccumulator row(n_columns);
  const double fraction = 1.0 / static_cast<double>(points_per_pixel);
  for (int64_t i = 0; i < n_pixels; ++i) {
    for (int64_t k = i * points_per_pixel; k < (i + 1) * points_per_pixel; ++k)
      for (int64_t b = 0; b < width; ++b) {
        const int32_t j = index[k * width + b];
        const double w = weight[k * width + b];
        if (w == 0.0) continue;
        if (j < 0 || j >= n_columns) throw MappingError("mapping matrix: a mesh index is out of range");
        row.add(j, w * fraction);
      }
    row.flush(out, 0.0);
  }
  return out;
}

SparseRows blurred_mapping_matrix(const SparseRows& mapping, const int32_t* slim_of_pixel, int64_t ny, int64_t nx,
                                  const double* kernel, int64_t ky, int64_t kx, double drop_below) {
  if (ky % 2 == 0 || kx % 2 == 0 || ky < 1 || kx < 1) throw MappingError("the PSF must have odd dimensions");
  // The image pixel of each row of f (= row of M), in slim order.
  std::vector<int64_t> pixel_of_slim(static_cast<size_t>(mapping.rows), -1);
  for (int64_t p = 0; p < ny * nx; ++p) {
    const int32_t s = slim_of_pixel[p];
    if (s < 0) continue;
    if (s >= mapping.rows) throw MappingError("slim_of_pixel holds an index beyond the mapping matrix's rows");
    pixel_of_slim[s] = p;
  }
  for (int64_t s = 0; s < mapping.rows; ++s)
    if (pixel_of_slim[s] < 0) throw MappingError("a row of the mapping matrix has no unmasked pixel");
  SparseRows out;
  out.rows = mapping.rows;
  out.columns = mapping.columns;
  out.row_start.push_back(0);
  RowAccumulator row(mapping.columns);
  const int64_t hy = ky / 2, hx = kx / 2;
  double largest = 0.0;
  for (int64_t s = 0; s < mapping.rows; ++s) {
    const int64_t r = pixel_of_slim[s] / nx, c = pixel_of_slim[s] % nx;
    // out[r, c] = sum_{i, j} K[i, j] M[r + hy - i, c + hx - j]  (convolution.hpp)
    for (int64_t i = 0; i < ky; ++i) {
      const int64_t rr = r + hy - i;
      if (rr < 0 || rr >= ny) continue;
      for (int64_t j = 0; j < kx; ++j) {
        const int64_t cc = c + hx - j;
        if (cc < 0 || cc >= nx) continue;
        const int32_t source = slim_of_pixel[rr * nx + cc];
        const double k = kernel[i * kx + j];
        if (source < 0 || k == 0.0) continue;
        for (int64_t e = mapping.row_start[source]; e < mapping.row_start[source + 1]; ++e)
          row.add(mapping.column[e], k * mapping.value[e]);
      }
    }
    row.flush(out, 0.0);
  }
  if (drop_below > 0.0) {  // a second pass drops entries relative to the largest one
    for (double v : out.value) largest = std::max(largest, std::fabs(v));
    const double threshold = drop_below * largest;
    SparseRows kept;
    kept.rows = out.rows;
    kept.columns = out.columns;
    kept.row_start.push_back(0);
    for (int64_t s = 0; s < out.rows; ++s) {
      for (int64_t e = out.row_start[s]; e < out.row_start[s + 1]; ++e)
        if (std::fabs(out.value[e]) > threshold) {
          kept.column.push_back(out.column[e]);
          kept.value.push_back(out.value[e]);
        }
      kept.row_start.push_back(static_cast<int64_t>(kept.column.size()));
    }
    return kept;
  }
  return out;
}

void sparse_curvature_matrix(const SparseRows& f, const double* inverse_variance, double* curvature) {
  const int64_t s = f.columns;
  std::fill(curvature, curvature + s * s, 0.0);
  for (int64_t r = 0; r < f.rows; ++r) {
    const double w = inverse_variance[r];
    const int64_t begin = f.row_start[r], end = f.row_start[r + 1];
    for (int64_t a = begin; a < end; ++a) {
      const double va = w * f.value[a];
      double* out_row = curvature + static_cast<int64_t>(f.column[a]) * s;
      for (int64_t b = a; b < end; ++b) out_row[f.column[b]] += va * f.value[b];  // columns ascending: upper triangle
    }
  }
  for (int64_t i = 0; i < s; ++i)
    for (int64_t j = i + 1; j < s; ++j) curvature[j * s + i] = curvature[i * s + j];
}

void sparse_data_vector(const SparseRows& f, const double* inverse_variance, const double* data, double* data_vector) {
  std::fill(data_vector, data_vector + f.columns, 0.0);
  for (int64_t r = 0; r < f.rows; ++r) {
    const double wd = inverse_variance[r] * data[r];
    for (int64_t e = f.row_start[r]; e < f.row_start[r + 1]; ++e) data_vector[f.column[e]] += f.value[e] * wd;
  }
}

}  // namespace galaxyfit
