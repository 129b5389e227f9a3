// Pixelization mapping: from a mesh's interpolation stencils to the sparse mapping matrix, its PSF-blurred version and
// the curvature matrix of the inversion. Plain C++17, no Python, no XLA.
//
// Notation as galaxyfit/inversion.hpp and PyAutoArray (Warren & Dye 2003, ApJ 590, 673):
//
//   mapping matrix          M[i, j] = sum over the sub-points k of image pixel i of  w_kj / (sub-points of i)
//                           (w_kj: the weight of mesh pixel j in point k's interpolation stencil)
//   blurred mapping matrix  f = C M   (C: the PSF convolution of galaxyfit/convolution.hpp, read out at the unmasked
//                           pixels; a mesh pixel is only reached through unmasked image pixels, so no light comes
//                           from beyond the mask, as in PyAutoArray's Convolver.convolved_mapping_matrix_from)
//   curvature matrix        F = f^T W f,  W = diag(1 / sigma^2)
//
// Every matrix but F is sparse: M has at most (stencil width x sub-points) entries per row, f adds the PSF footprint.
// For a galaxy (not lens) model the mesh does not move during a search, so all of this is computed once per dataset
// and mesh; the per-call work is the data vector D = f^T W (d - parametric model) and the solve.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace galaxyfit {

/// Raised for inconsistent shapes or indices.
class MappingError : public std::invalid_argument {
 public:
  explicit MappingError(const std::string& what) : std::invalid_argument(what) {}
};

/// A sparse matrix in compressed-row form: row r holds column[row_start[r] .. row_start[r + 1]) (ascending) and the
/// matching values.
struct SparseRows {
  int64_t rows = 0;
  int64_t columns = 0;
  std::vector<int64_t> row_start;  // rows + 1 entries
  std::vector<int32_t> column;
  std::vector<double> value;
};

/// Bilinear stencils on a uniform rectangular lattice of ny x nx nodes, node (a, b) at (y_first + a dy, x_first + b dx),
/// index a nx + b (dy, dx may be negative). PyAutoArray's rule (rectangular_mappings_weights_via_interpolation_from):
/// fy = (y - y_first) / dy, iy = clip(floor fy, 0, ny - 2), ty = fy - iy (likewise x), so a point beyond the outer
/// nodes is extrapolated from the outermost cell; weights (1-tx)(1-ty), tx(1-ty), (1-tx)ty, tx ty at nodes
/// (iy, ix), (iy, ix+1), (iy+1, ix), (iy+1, ix+1).
/// points: m x 2 (y, x); index, weight: m x 4 outputs. Throws MappingError unless ny, nx >= 2.
void rectangular_bilinear_stencils(const double* points, int64_t m, int64_t ny, int64_t nx, double y_first,
                                   double x_first, double dy, double dx, int32_t* index, double* weight);

/// Barycentric stencils in a triangulation (PyAutoArray's pixel_weights_delaunay_from): for a point inside simplex t
/// (simplex_of_point[k] = t >= 0, vertices simplices[3 t .. 3 t + 3)), weights proportional to the areas of the
/// sub-triangles opposite each vertex, normalised to sum 1 (all 0 for a degenerate triangle, sum of doubled areas
/// <= 1e-12, as there);
/// outside the hull (simplex_of_point[k] < 0) weight 1 on nearest_vertex[k].
/// points: m x 2; vertices: v x 2; simplices: t x 3; index, weight: m x 3 outputs (unused slots: index 0, weight 0).
void delaunay_barycentric_stencils(const double* points, int64_t m, const double* vertices, int64_t n_vertices,
                                   const int32_t* simplices, int64_t n_simplices, const int32_t* simplex_of_point,
                                   const int32_t* nearest_vertex, int32_t* index, double* weight);

/// The mapping matrix (n_pixels x n_columns) from stencils: image pixel i owns points [i p, (i + 1) p), each with
/// `width` (index, weight) pairs; entries of one pixel that share a column are summed, weights are divided by p.
/// Throws MappingError for an index outside [0, n_columns).
SparseRows mapping_matrix_from_stencils(const int32_t* index, const double* weight, int64_t n_pixels,
                                        int64_t points_per_pixel, int64_t width, int64_t n_columns);

/// The PSF-blurred mapping matrix f = C M at the unmasked pixels. slim_of_pixel: ny x nx, the row of M (= row of f)
/// of each image pixel, -1 where masked; kernel: ky x kx (odd) in galaxyfit/convolution.hpp's convention.
/// Entries below `drop_below` x (the largest |entry| of f) are dropped (0 keeps every non-zero). Throws MappingError.
SparseRows blurred_mapping_matrix(const SparseRows& mapping, const int32_t* slim_of_pixel, int64_t ny, int64_t nx,
                                  const double* kernel, int64_t ky, int64_t kx, double drop_below = 0.0);

/// F = f^T diag(inverse_variance) f, dense columns x columns, row-major (both triangles written), summed row by row
/// as outer products of the sparse rows (O(sum of squared row lengths)).
void sparse_curvature_matrix(const SparseRows& f, const double* inverse_variance, double* curvature);

/// D = f^T (inverse_variance * data) (columns entries).
void sparse_data_vector(const SparseRows& f, const double* inverse_variance, const double* data, double* data_vector);

}  // namespace galaxyfit
