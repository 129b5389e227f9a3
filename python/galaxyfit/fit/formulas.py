"""The fit statistics as small functions of slim (unmasked-pixel) vectors.

For data ``d``, model ``m`` and noise ``sigma`` (Gaussian, independent pixels):

    residual r = d - m,   normalized residual r / sigma,   chi^2 = sum (r / sigma)^2,
    noise normalization = sum ln(2 pi sigma^2),   ln L = -(chi^2 + noise normalization) / 2,

as PyAutoGalaxy's ``autoarray/fit/fit_util.py`` defines them.
"""

import jax.numpy as jnp


def residuals(data, model):
    return data - model


def normalized_residuals(data, model, noise):
    return (data - model) / noise


def chi_squared(data, model, noise):
    return jnp.sum(normalized_residuals(data, model, noise) ** 2)


def noise_normalization(noise):
    return jnp.sum(jnp.log(2.0 * jnp.pi * noise**2))


def log_likelihood(chi2, noise_norm):
    return -0.5 * (chi2 + noise_norm)
