"""The fit statistics as small functions of slim (unmasked-pixel) vectors.

For data ``d``, model ``m`` and noise ``sigma`` (Gaussian, independent pixels):

    residual r = d - m,   normalized residual r / sigma,   chi^2 = sum (r / sigma)^2,
    noise normalization = sum ln(2 pi sigma^2),   ln L = -(chi^2 + noise normalization) / 2,

as PyAutoGalaxy's ``autoarray/fit/fit_util.py`` defines them. ``FitImaging`` computes r / sigma with the plan's
precomputed 1 / sigma, chi^2 in the C++ kernel (``kernels/statistics.py``), and the noise normalization once per
dataset (``ImagePlan``).
"""

def residuals(data, model):
    return data - model


def log_likelihood(chi2, noise_norm):
    return -0.5 * (chi2 + noise_norm)
