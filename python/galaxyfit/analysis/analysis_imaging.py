"""``AnalysisImaging``: turns a model instance into a log likelihood for an imaging dataset (PyAutoGalaxy's
``autogalaxy.AnalysisImaging`` job and signature)."""

from __future__ import annotations

import jax.numpy as jnp

from galaxyfit.dataset.imaging import Imaging
from galaxyfit.fit.fit_imaging import FitImaging
from galaxyfit.fit.plan import ImagePlan
from galaxyfit.galaxy import DatasetModel, Galaxies, Galaxy
from galaxyfit.profiles.validate import sanitized
from galaxyfit.settings import Settings

#: The log likelihood of a model that cannot be evaluated; searches treat it as "reject".
INVALID_LOG_LIKELIHOOD = -1e99


def default_cosmology():
    """astropy's Planck15 (Planck Collaboration 2016, A&A 594, A13), PyAutoGalaxy's default."""
    from astropy.cosmology import Planck15

    return Planck15


def galaxies_from(container) -> Galaxies:
    """Galaxies from ``Galaxies``, a sequence of ``Galaxy``, or a mapping/instance whose values are galaxies."""
    if isinstance(container, Galaxies):
        return container
    if isinstance(container, Galaxy):
        return Galaxies([container])
    values = container.values() if isinstance(container, dict) else container
    galaxies = list(values)
    for g in galaxies:
        if not isinstance(g, Galaxy):
            raise TypeError(f"instance.galaxies must hold Galaxy objects, got {type(g).__name__}")
    return Galaxies(galaxies)


def _sanitized_galaxies(galaxies: Galaxies):
    valid = jnp.asarray(True)
    safe = []
    for galaxy in galaxies:
        components = {}
        for name, component in galaxy.components.items():
            if hasattr(component, "positive_parameters"):
                component, ok = sanitized(component)
                valid = valid & ok
            components[name] = component
        safe.append(Galaxy(galaxy.redshift, **components))
    return Galaxies(safe), valid


class AnalysisImaging:
    """Log likelihood of model instances for ``dataset``.

    Parameters
    ----------
    dataset : Imaging
        The (masked) dataset.
    adapt_images : None
        Adapt images steer pixelized reconstructions, which galaxyfit does not have yet: anything but None raises
        NotImplementedError.
    cosmology : astropy cosmology or None
        For derived quantities in physical units (kpc); defaults to astropy's Planck15.
    settings : Settings or None
        Pixel integration and convolution choices.
    title_prefix : str or None
        Prefix for figure titles.

    ``log_likelihood_function(instance)`` is a pure JAX function of the instance (``instance.galaxies`` and optionally
    ``instance.dataset_model``): jit it, vmap it over a batch of instances, differentiate it. A model that cannot be
    evaluated (|ell_comps| >= 1, a non-positive size, NaN) returns ``INVALID_LOG_LIKELIHOOD`` (-1e99) with finite
    (zero) gradients instead of raising.
    """

    def __init__(self, dataset: Imaging, adapt_images=None, cosmology=None, settings: Settings | None = None, title_prefix: str | None = None):
        if adapt_images is not None:
            raise NotImplementedError(
                "adapt_images (adapt images for pixelized source reconstructions and adaptive regularization) are not "
                "implemented in galaxyfit yet: pass adapt_images=None"
            )
        if not isinstance(dataset, Imaging):
            raise TypeError(f"dataset must be an Imaging, got {type(dataset).__name__}")
        self.dataset = dataset
        self.adapt_images = None
        self.cosmology = cosmology if cosmology is not None else default_cosmology()
        self.settings = settings if settings is not None else Settings()
        self.title_prefix = title_prefix
        self.plan = ImagePlan(dataset, self.settings)

    # ---- instance -> parts -------------------------------------------------------------------------------------------

    def galaxies_via_instance_from(self, instance) -> Galaxies:
        return galaxies_from(instance.galaxies)

    def dataset_model_via_instance_from(self, instance) -> DatasetModel | None:
        return getattr(instance, "dataset_model", None) if _has(instance, "dataset_model") else None

    # ---- fits and likelihoods ------------------------------------------------------------------------------------------

    def fit_from(self, instance, n_free_parameters: int | None = None) -> FitImaging:
        return FitImaging(
            self.dataset,
            self.galaxies_via_instance_from(instance),
            self.dataset_model_via_instance_from(instance),
            plan=self.plan,
            n_free_parameters=n_free_parameters,
        )

    def log_likelihood_function(self, instance):
        """ln L = -(chi^2 + sum ln 2 pi sigma^2) / 2 of the instance, or -1e99 if it cannot be evaluated."""
        galaxies, valid = _sanitized_galaxies(self.galaxies_via_instance_from(instance))
        dataset_model = self.dataset_model_via_instance_from(instance)
        if dataset_model is not None:
            sky = jnp.asarray(dataset_model.background_sky_level, dtype=jnp.float64)
            valid = valid & jnp.isfinite(sky)
            dataset_model = DatasetModel(jnp.where(jnp.isfinite(sky), sky, 0.0))
        fit = FitImaging(self.dataset, galaxies, dataset_model, plan=self.plan)
        log_likelihood = fit.log_likelihood
        ok = valid & jnp.isfinite(log_likelihood)
        return jnp.where(ok, log_likelihood, INVALID_LOG_LIKELIHOOD)


def _has(instance, name: str) -> bool:
    try:
        getattr(instance, name)
        return True
    except AttributeError:
        return False
