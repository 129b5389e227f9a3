"""Fitting a model to a dataset: the static plan, model images and the fit statistics."""

from galaxyfit.fit.fit_imaging import FitImaging
from galaxyfit.fit.plan import ImagePlan

__all__ = ["FitImaging", "ImagePlan"]
