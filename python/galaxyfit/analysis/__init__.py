"""Analyses: model instance -> fit -> log likelihood, and their lifecycle around a search."""

from galaxyfit.analysis.analysis_imaging import INVALID_LOG_LIKELIHOOD, AnalysisImaging

__all__ = ["AnalysisImaging", "INVALID_LOG_LIKELIHOOD"]
