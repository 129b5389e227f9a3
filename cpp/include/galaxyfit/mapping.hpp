/// \file galaxyfit/mapping.hpp
/// \brief Pixelization mapping: from a mesh's interpolation stencils to the sparse mapping matrix, its PSF-blurred
///        version and the curvature matrix of the inversion. Plain C++17, no Python, no XLA.
///
/// Notation as galaxyfit/inversion.hpp and PyAutoArray (Warren & Dye 2003, ApJ 590, 673):
///
///     mapping matrix          M[i, j] = sum over the sub-points k of image pixel i of  w_kj / (sub-points of i)
///                             (w_kj: the weight of mesh pixel j in point k's interpolation stencil)
///     blurred mapping matrix  f = C M   (C: the PSF convolution of galaxyfit/convolution.hpp, read out at the
///                             unmasked pixels; a mesh pixel is only reached through unmasked image pixels, so no
///                             light comes from beyond the mask, as in PyAutoArray's
///                             Convolver.convolved_mapping_matrix_from)
///     curvature matrix        F = f^T W f,  W = diag(1 / sigma^2)
///
/// Every matrix but F is sparse: M has at most (stencil width x sub-points) entries per row, f adds the PSF
/// footprint. For a galaxy (not lens) model the mesh does not move during a search, so all of this is computed once
/// per dataset and mesh; the per-call work is the data vector D = f^T W (d - parametric model) and the solve
/// (galaxyfit/inversion.hpp, invert_gram).
///
/// Positions (points, vertices, lattice origin and spacing) share one length unit, the caller's (galaxyfit: arcsec).
/// Stencil weights and M are dimensionless (each image pixel's row of M sums to 1 when its stencils' weights do);
/// f has the PSF's unit (1 for a normalised PSF).
///
/// Python reference: python/galaxyfit/pixelization/mesh.py (stencils) and python/galaxyfit/pixelization/mapper.py
/// (the matrices), which call these functions through the extension module.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace galaxyfit {

/// \brief Raised for inconsistent shapes or indices.
class MappingError : public std::invalid_argument {
 public:
  /// \brief Constructs the error. \param what the message.
  explicit MappingError(const std::string& what) : std::invalid_argument(what) {}
};

/// \brief A sparse matrix in compressed-row form: row r holds column[row_start[r] .. row_start[r + 1]) (ascending)
///        and the matching values. The functions below store no explicit zeros.
struct SparseRows {
  int64_t rows = 0;                ///< number of rows
  int64_t columns = 0;             ///< number of columns
  std::vector<int64_t> row_start;  ///< rows + 1 entries, row_start[0] = 0
  std::vector<int32_t> column;     ///< column index of each entry
  std::vector<double> value;       ///< value of each entry
};

/// \brief Bilinear stencils on a uniform rectangular lattice of ny x nx nodes.
///
/// Node (a, b) is at (y_first + a dy, x_first + b dx) and has index a nx + b (dy, dx may be negative). PyAutoArray's
/// rule (rectangular_mappings_weights_via_interpolation_from): fy = (y - y_first) / dy,
/// iy = clip(floor fy, 0, ny - 2), ty = fy - iy (likewise x), so a point beyond the outer nodes is extrapolated from
/// the outermost cell (its weights then fall outside [0, 1]); weights (1-tx)(1-ty), tx(1-ty), (1-tx)ty, tx ty at
/// nodes (iy, ix), (iy, ix+1), (iy+1, ix), (iy+1, ix+1). The four weights sum to 1 to rounding.
///
/// \param points m x 2 row-major, (y, x) per point.
/// \param m      number of points.
/// \param ny, nx lattice nodes along y and x (>= 2 each).
/// \param y_first, x_first position of node (0, 0).
/// \param dy, dx node spacing (non-zero).
/// \param index  output, m x 4 row-major node indices.
/// \param weight output, m x 4 row-major weights.
/// \throws MappingError unless ny, nx >= 2 and dy, dx are non-zero.
void rectangular_bilinear_stencils(const double* points, int64_t m, int64_t ny, int64_t nx, double y_first,
                                   double x_first, double dy, double dx, int32_t* index, double* weight);

/// \brief Barycentric stencils in a triangulation (PyAutoArray's pixel_weights_delaunay_from).
///
/// For a point inside simplex t (simplex_of_point[k] = t >= 0, vertices simplices[3 t .. 3 t + 3)): weights
/// proportional to the areas of the sub-triangles opposite each vertex, normalised to sum 1 (all 0 for a degenerate
/// triangle, sum of doubled areas <= 1e-12, as there). Outside the hull (simplex_of_point[k] < 0): weight 1 on
/// nearest_vertex[k]. The triangulation itself (e.g. scipy.spatial.Delaunay's simplices and find_simplex) is the
/// caller's.
///
/// \param points           m x 2 row-major (y, x).
/// \param m                number of points.
/// \param vertices         n_vertices x 2 row-major (y, x).
/// \param n_vertices       number of vertices.
/// \param simplices        n_simplices x 3 row-major vertex indices.
/// \param n_simplices      number of simplices.
/// \param simplex_of_point m entries: the simplex containing each point, or < 0 outside the hull.
/// \param nearest_vertex   m entries: each point's nearest vertex (read only for points outside the hull).
/// \param index, weight    outputs, m x 3 row-major (unused slots: index 0, weight 0).
/// \throws MappingError for a simplex index >= n_simplices, or a vertex index (of a used simplex or a used nearest
///         vertex) outside [0, n_vertices). Points before the offending one have already been written.
void delaunay_barycentric_stencils(const double* points, int64_t m, const double* vertices, int64_t n_vertices,
                                   const int32_t* simplices, int64_t n_simplices, const int32_t* simplex_of_point,
                                   const int32_t* nearest_vertex, int32_t* index, double* weight);

/// \brief The mapping matrix M (n_pixels x n_columns) from stencils.
///
/// Image pixel i owns points [i p, (i + 1) p), p = points_per_pixel, each with `width` (index, weight) pairs;
/// entries of one pixel that share a column are summed and divided by p; zero weights are skipped (their index is
/// not read) and entries that sum to exactly 0 are not stored.
///
/// \param index, weight (n_pixels p) x width row-major: the stencils of the points, pixel by pixel.
/// \param n_pixels      rows of M (>= 0; e.g. the unmasked pixels in slim order).
/// \param points_per_pixel p (>= 1), e.g. sub_size^2.
/// \param width         stencil width (>= 1): 4 for bilinear, 3 for barycentric stencils.
/// \param n_columns     mesh pixels (>= 1).
/// \return M in compressed-row form.
/// \throws MappingError for n_pixels < 0, points_per_pixel, width or n_columns < 1, or an index with non-zero
///         weight outside [0, n_columns).
SparseRows mapping_matrix_from_stencils(const int32_t* index, const double* weight, int64_t n_pixels,
                                        int64_t points_per_pixel, int64_t width, int64_t n_columns);

/// \brief The PSF-blurred mapping matrix f = C M at the unmasked pixels.
///
/// f[s, :] = sum_{i, j} kernel[i, j] M[slim(r + ky/2 - i, c + kx/2 - j), :] for the unmasked pixel (r, c) of row s,
/// over the unmasked pixels that exist (galaxyfit/convolution.hpp's convention).
///
/// \param mapping       M (rows = unmasked pixels).
/// \param slim_of_pixel ny x nx row-major: the row of M (= row of f) of each image pixel, -1 where masked; every row
///                      of M must appear.
/// \param ny, nx        image shape in pixels.
/// \param kernel        the PSF, ky x kx row-major (odd sizes).
/// \param ky,kx         PSF shape in pixels.
/// \param drop_below    entries with |value| <= drop_below x (the largest |entry| of f) are dropped (0 keeps every
///                      non-zero).
/// \return f, mapping.rows x mapping.columns.
/// \throws MappingError for an even or non-positive PSF size, an index of slim_of_pixel >= mapping.rows, or a row of
///         M that no pixel maps to.
SparseRows blurred_mapping_matrix(const SparseRows& mapping, const int32_t* slim_of_pixel, int64_t ny, int64_t nx,
                                  const double* kernel, int64_t ky, int64_t kx, double drop_below = 0.0);

/// \brief F = f^T diag(inverse_variance) f, summed row by row as outer products of the sparse rows
///        (O(sum of squared row lengths)).
/// \param f                the blurred mapping matrix (columns ascending within rows, as produced above).
/// \param inverse_variance f.rows values of 1 / sigma^2.
/// \param curvature        output, f.columns x f.columns row-major, both triangles written (overwritten).
/// Nothing is checked.
void sparse_curvature_matrix(const SparseRows& f, const double* inverse_variance, double* curvature);

/// \brief D = f^T (inverse_variance * data).
/// \param f the blurred mapping matrix; \param inverse_variance f.rows values of 1 / sigma^2;
/// \param data f.rows values (the data minus any parametric model); \param data_vector output, f.columns values.
/// Nothing is checked.
void sparse_data_vector(const SparseRows& f, const double* inverse_variance, const double* data, double* data_vector);

}  // namespace galaxyfit
