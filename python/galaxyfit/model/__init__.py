"""Model composition: priors, models and the instances they produce."""

from galaxyfit.model.instance import ModelInstance
from galaxyfit.model.model import Collection, Model
from galaxyfit.model.priors import GaussianPrior, LogUniformPrior, Prior, TruncatedGaussianPrior, UniformPrior

__all__ = [
    "Collection",
    "GaussianPrior",
    "LogUniformPrior",
    "Model",
    "ModelInstance",
    "Prior",
    "TruncatedGaussianPrior",
    "UniformPrior",
]
