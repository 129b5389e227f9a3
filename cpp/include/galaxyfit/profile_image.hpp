/// \file galaxyfit/profile_image.hpp
/// \brief Pixel-integrated images of elliptical light profiles on a rectangular box of pixels, with their exact
///        Jacobian. Plain C++17; no Python, no XLA.
///
/// **Geometry.** A profile is a law I(s) of the squared elliptical radius s = A_yy dy^2 + A_xx dx^2 + 2 A_xy dy dx,
/// (dy, dx) = (y - c_y, x - c_x), about the centre (c_y, c_x). A = [[A_yy, A_xy], [A_xy, A_xx]] should be symmetric
/// positive definite; galaxyfit's Python side builds it from ellipticity components with det A = 1, so that s is the
/// circularised radius squared (python/galaxyfit/profiles/geometry.py, `circular_quadratic_form`): for the axis ratio
/// q = b/a and the major axis at angle phi counter-clockwise from +x, with f = (1 - q) / (1 + q),
/// e_y = f sin 2phi and e_x = f cos 2phi (PyAutoGalaxy's ell_comps),
///   A_yy = (1 + f^2 + 2 e_x) / (1 - f^2),  A_xx = (1 + f^2 - 2 e_x) / (1 - f^2),  A_xy = -2 e_y / (1 - f^2),
/// i.e. s = q x'^2 + y'^2 / q in the frame rotated by phi (x' along the major axis). Positions,
/// pixel sizes and radii share one length unit, the caller's (galaxyfit uses arcsec); A is dimensionless in that
/// use. Box pixel (r, c) has its centre at (y0 + r hy, x0 + c hx) (RenderConfig): rows go along y, columns along x.
///
/// **Parameters** `params = [c_y, c_x, A_yy, A_xx, A_xy, law parameters...]` (5 + law_parameter_count(law) values),
/// with, per law (R = sqrt(s)):
///
/// \verbatim
///   kSersic      [I_e, R_e, n]                    I_e exp(-b_n ((s / R_e^2)^(1/(2n)) - 1)),  b_n: Ciotti & Bertin 1999
///                                                  (A&A 352, 447, eq. 18, the series to n^-4, for every n):
///                                                  b_n = 2n - 1/3 + 4/(405 n) + 46/(25515 n^2)
///                                                        + 131/(1148175 n^3) - 2194697/(30690717750 n^4)
///   kSersicCore  [I_b, R_e, n, r_b, gamma, alpha]  Graham et al. 2003 (AJ 125, 2951) core-Sersic:
///                                                  I' (1 + (r_b/R)^alpha)^(gamma/alpha) exp(-b_n ((R^alpha + r_b^alpha)
///                                                  / R_e^alpha)^(1/(alpha n))), I' = I_b 2^(-gamma/alpha)
///                                                  exp(b_n (2^(1/alpha) r_b / R_e)^(1/n)) (I_b: brightness at the break
///                                                  radius; PyAutoGalaxy's SersicCore)
///   kGaussian    [I_0, c]                         I_0 exp(-c s)                     (c = 1 / (2 sigma^2))
///   kPowerCore   [I_0, c, beta]                   I_0 (1 + c s)^(-beta)             (Moffat, Elson-Fall-Freeman)
///   kChameleon   [A, a_0, a_1]                    A ((s + a_0)^(-1/2) - (s + a_1)^(-1/2))
///   kExponential [I_e, R_e]                       kSersic with n = 1 (a square root instead of log and exp)
///   kDevVaucouleurs [I_e, R_e]                    kSersic with n = 4 (three square roots)
/// \endverbatim
///
/// Intensities (I_e, I_b, I_0, A) set the image's unit: an image pixel is the **mean** of I over the pixel (a
/// surface brightness, e.g. counts per arcsec^2 when I is), so the flux in a pixel is its value times hy hx.
/// R_e, r_b in the length unit; c in 1 / length^2; a_0, a_1 in length^2.
///
/// **Pixel means** follow python/galaxyfit/integration.py (the reference implementation, which documents and
/// derives the rules; tests/test_profile_kernel.py checks the two agree to ~1e-14 relative):
///  1. every pixel: a sixth-order stencil on pixel-centre values, (-17, 308, 5178, 308, -17) / 5760 along each axis
///     (Hildebrand, Introduction to Numerical Analysis, 2nd ed., sec. 5.3);
///  2. a patch of (2R+2) x (2R+2) pixels around the pixel corner nearest the centre, R = the last ring distance:
///     tensor Gauss-Legendre quadrature, ring_order[k]^2 nodes in the pixels at Chebyshev distance <= ring_distance[k]
///     from the central 2 x 2 pixels;
///  3. for laws with a cusp (law_has_cusp), the central 2 x 2 pixels by the exact-geometry cusp rule: each pixel as
///     the signed sum over its edges of triangles with apex at the centre, integrated with graded Gauss-Legendre
///     rules (cusp_radial x cusp_tangential nodes per triangle).
/// The patch is placed by the integer part of the centre; a centre outside the box moves it to the box's edge
/// (clamped into a frame one patch wide around the box), where the cusp rule is not used. A non-finite centre gives
/// no patch (an invalid model; the rows are still rendered).
///
/// Every kernel is compiled for x86-64 baseline, v3 and v4 and the best one for this CPU is picked when the
/// library is loaded (kernel_instruction_set()); results may differ in the last bits between them.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace galaxyfit {

/// \brief The light-profile laws (formulas in this file's description). The numeric values are part of the API:
///        Python passes them through the FFI (`N_LAW_PARAMETERS` in python/galaxyfit/kernels/profile_image.py).
enum class Law : int32_t {
  kSersic = 0,          ///< [I_e, R_e, n]
  kSersicCore = 1,      ///< [I_b, R_e, n, r_b, gamma, alpha]
  kGaussian = 2,        ///< [I_0, c]
  kPowerCore = 3,       ///< [I_0, c, beta]
  kChameleon = 4,       ///< [A, a_0, a_1]
  kExponential = 5,     ///< [I_e, R_e]
  kDevVaucouleurs = 6   ///< [I_e, R_e]
};

/// \brief Number of geometry parameters at the start of every parameter vector: c_y, c_x, A_yy, A_xx, A_xy.
constexpr int kGeometryParameters = 5;
/// \brief Most patch rings a RenderConfig may have.
constexpr int kMaxRings = 8;

/// \brief The instruction set the kernels run on here: "baseline", "x86-64-v3" or "x86-64-v4" (chosen at load
///        time from the CPU's features; always "baseline" when the library was built without
///        GALAXYFIT_MULTIVERSION or for another architecture). \return a static string.
const char* kernel_instruction_set();

/// \brief The kernels' vector exp (function 0), log (1) or log1p (2, and any other value) on n values, for
///        accuracy tests of the polynomial approximations in cpp/src/simd_math.hpp (a few ulp;
///        tests/test_profile_kernel.py compares them with numpy).
/// \param function 0: exp, 1: log, anything else: log1p.
/// \param x n inputs.
/// \param y n outputs.
/// \param n count.
void simd_math(int function, const double* x, double* y, int64_t n);

/// \brief Number of law parameters (after the 5 geometry parameters).
/// \param law the law.
/// \return 3, 6, 2, 3, 3, 2, 2 for the laws in enum order.
/// \throws std::invalid_argument for a value that is not a Law.
int law_parameter_count(Law law);
/// \brief Whether the law is not smooth at its centre and gets the cusp rule.
/// \param law the law.
/// \return true for all laws but kGaussian and kPowerCore.
/// \throws std::invalid_argument for a value that is not a Law.
bool law_has_cusp(Law law);

/// \brief The box of pixels and the integration rules. There is no usable default: set height, width and at least
///        one patch ring. galaxyfit's default (python/galaxyfit/integration.py, `OverSampling`) is two rings,
///        {distance 1, order 6} and {distance 3, order 4}, with cusp_radial = cusp_tangential = 8.
struct RenderConfig {
  double y0 = 0.0;       ///< y of the centre of box pixel [0, 0] (length unit, e.g. arcsec)
  double x0 = 0.0;       ///< x of the centre of box pixel [0, 0]
  double hy = 1.0;       ///< pixel size along y (between rows), > 0, same unit
  double hx = 1.0;       ///< pixel size along x (between columns), > 0, same unit
  int64_t height = 0;    ///< box rows, > 0
  int64_t width = 0;     ///< box columns, > 0
  int32_t n_rings = 0;  ///< patch rings, 1..kMaxRings: pixels at Chebyshev distance <= ring_distance[k] from the
                        ///< central 2 x 2 get ring k's rule (the first ring whose distance is large enough)
  int32_t ring_distance[kMaxRings] = {};  ///< strictly increasing, >= 1; the last one >= 2 (it is R, the patch radius)
  int32_t ring_order[kMaxRings] = {};  ///< Gauss-Legendre nodes per axis and pixel, 1..64
  int32_t cusp_radial = 8;      ///< cusp rule: nodes per triangle towards the apex (the centre), 1..64
  int32_t cusp_tangential = 8;  ///< cusp rule: nodes per triangle along the pixel edge, 1..64
  /// Optional column spans: when both are set, row r is rendered only in columns [span_begin[r], span_end[r]) and is
  /// zero elsewhere (the patch is rendered whole). Used to skip box pixels that no output pixel needs. The arrays
  /// (height entries each) are borrowed, not owned.
  const int32_t* span_begin = nullptr;
  const int32_t* span_end = nullptr;  ///< see span_begin
};

/// \brief Validates a RenderConfig. The render functions do not call it (they run per likelihood evaluation):
///        call it once per configuration.
/// \param config the configuration.
/// \throws std::invalid_argument describing the first inconsistency: an empty box, a pixel size that is not > 0,
///         n_rings outside 1..kMaxRings, a ring order outside 1..64, ring distances not increasing from 1, a last
///         ring distance below 2 (the stencil reaches two pixels, so the patch must cover that far around a cusp),
///         cusp node counts outside 1..64, only one of span_begin / span_end, or a row's span outside
///         0 <= begin <= end <= width.
void check_render_config(const RenderConfig& config);

/// \brief Pixel means of rows [row_begin, row_end) by the sixth-order stencil rule; the patch pixels are left zero
///        (render_patch fills them).
/// \param law    the law.
/// \param params 5 + law_parameter_count(law) values (file description).
/// \param config a configuration accepted by check_render_config (not checked here).
/// \param row_begin,row_end rows to write, 0 <= row_begin <= row_end <= config.height (not checked). Callers may
///        split the rows between threads.
/// \param image  the whole box, height x width row-major; every pixel of the given rows is written (zero outside
///               the spans and at the patch), other rows are untouched.
/// \throws std::invalid_argument for a value that is not a Law.
void render_rows(Law law, const double* params, const RenderConfig& config, int64_t row_begin, int64_t row_end,
                 double* image);
/// \brief Overwrite the patch pixels that lie inside the box with the refined rules (2 and 3 of the file
///        description), in an image whose rows were rendered; other pixels are untouched.
/// \param law    the law.
/// \param params 5 + law_parameter_count(law) values (file description).
/// \param config a configuration accepted by check_render_config (not checked here).
/// \param image  the whole box, height x width row-major.
/// \throws std::invalid_argument for a value that is not a Law.
void render_patch(Law law, const double* params, const RenderConfig& config, double* image);
/// \brief Both render_rows and render_patch: the whole box.
/// \param law    the law.
/// \param params 5 + law_parameter_count(law) values (file description).
/// \param config a configuration accepted by check_render_config (not checked here).
/// \param image  output, height x width row-major, overwritten.
/// \throws std::invalid_argument for a value that is not a Law.
void render(Law law, const double* params, const RenderConfig& config, double* image);

/// \brief Sums of profiles in one pass: adds this profile's stencil means to rows [row_begin, row_end) of `image`,
///        except at this profile's patch pixels and outside the spans (left as they are); apply_patch (with
///        compute_patch) then adds each profile's patch there.
/// \param law    the law.
/// \param params 5 + law_parameter_count(law) values (file description).
/// \param config a configuration accepted by check_render_config (not checked here).
/// \param row_begin,row_end rows to add to, 0 <= row_begin <= row_end <= config.height (not checked).
/// \param image  the whole box, height x width row-major, added to.
/// \throws std::invalid_argument for a value that is not a Law.
void render_rows_accumulate(Law law, const double* params, const RenderConfig& config, int64_t row_begin,
                            int64_t row_end, double* image);

/// \brief Marks "no patch" in compute_patch's origin: the centre was not finite.
constexpr int64_t kNoPatch = INT64_MIN;
/// \brief Side of the patch in pixels.
/// \param config the configuration (n_rings >= 1).
/// \return 2 ring_distance[n_rings - 1] + 2.
int patch_size(const RenderConfig& config);
/// \brief The patch apart from the image, so that it can be computed beside the rows.
/// \param law    the law.
/// \param params 5 + law_parameter_count(law) values (file description).
/// \param config a configuration accepted by check_render_config (not checked here).
/// \param values output, patch_size(config)^2 values, row-major: the pixel means of the patch pixels (all of them,
///               also those outside the box).
/// \param origin output, 2 values: box row and column of patch pixel [0, 0] (may be negative or beyond the box),
///               or kNoPatch in both if the centre is not finite (values then untouched).
/// \throws std::invalid_argument for a value that is not a Law.
void compute_patch(Law law, const double* params, const RenderConfig& config, double* values, int64_t* origin);
/// \brief Adds compute_patch's values to the image pixels they cover inside the box (height x width row-major);
///        does nothing for origin kNoPatch.
/// \param config the configuration the patch was computed with.
/// \param values compute_patch's patch_size(config)^2 values.
/// \param origin compute_patch's origin (2 values).
/// \param image  the whole box, height x width row-major, added to.
void apply_patch(const RenderConfig& config, const double* values, const int64_t* origin, double* image);

/// \brief render_rows, also writing d(image)/d(params) by forward-mode automatic differentiation (exact to
///        rounding, the derivative of the same rules).
/// \param jacobian 5 + law_parameter_count(law) planes of height x width, plane-major:
///        jacobian[k * height * width + r * width + c] = d image[r, c] / d params[k]; written where the image is.
/// \param law    the law.
/// \param params 5 + law_parameter_count(law) values (file description).
/// \param config a configuration accepted by check_render_config (not checked here).
/// \param row_begin,row_end rows to write, 0 <= row_begin <= row_end <= config.height (not checked).
/// \param image  the whole box, height x width row-major (rows written as render_rows).
/// \throws std::invalid_argument for a value that is not a Law.
void render_rows_jacobian(Law law, const double* params, const RenderConfig& config, int64_t row_begin,
                          int64_t row_end, double* image, double* jacobian);
/// \brief render_patch with the Jacobian of the patch pixels.
/// \param law    the law.
/// \param params 5 + law_parameter_count(law) values (file description).
/// \param config a configuration accepted by check_render_config (not checked here).
/// \param image    the whole box, height x width row-major (patch pixels overwritten).
/// \param jacobian 5 + law_parameter_count(law) planes of height x width (layout as render_rows_jacobian).
/// \throws std::invalid_argument for a value that is not a Law.
void render_patch_jacobian(Law law, const double* params, const RenderConfig& config, double* image,
                           double* jacobian);
/// \brief render with the Jacobian of the whole box.
/// \param law    the law.
/// \param params 5 + law_parameter_count(law) values (file description).
/// \param config a configuration accepted by check_render_config (not checked here).
/// \param image    output, height x width row-major.
/// \param jacobian output, 5 + law_parameter_count(law) planes of height x width (layout as render_rows_jacobian).
/// \throws std::invalid_argument for a value that is not a Law.
void render_jacobian(Law law, const double* params, const RenderConfig& config, double* image, double* jacobian);

}  // namespace galaxyfit
