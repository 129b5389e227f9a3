"""Fitting a model to a dataset: the static plan, model images and the fit statistics."""

from galaxyfit import _jax_config  # noqa: F401  (float64 before any galaxyfit array exists)
from galaxyfit.fit.fit_imaging import FitImaging
from galaxyfit.fit.plan import ImagePlan

__all__ = ["FitImaging", "ImagePlan"]
