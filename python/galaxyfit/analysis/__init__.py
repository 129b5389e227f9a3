"""Analyses: model instance -> fit -> log likelihood, and their lifecycle around a search."""

from galaxyfit import _jax_config  # noqa: F401  (float64 before any galaxyfit array exists)
from galaxyfit.analysis.analysis_imaging import INVALID_LOG_LIKELIHOOD, AnalysisImaging

__all__ = ["AnalysisImaging", "INVALID_LOG_LIKELIHOOD"]
