"""Model composition: priors, models and the instances they produce."""

from galaxyfit.model.instance import ModelInstance

__all__ = ["ModelInstance"]
