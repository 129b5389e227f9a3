"""``FitImaging``: how well galaxies explain an imaging dataset. Every quantity is a JAX expression, so the whole fit
(or just ``log_likelihood``) can be jit-compiled, vmapped over parameter batches and differentiated."""

from __future__ import annotations

from functools import cached_property

import jax.numpy as jnp
import numpy as np

from galaxyfit.dataset.imaging import Imaging
from galaxyfit.fit import formulas
from galaxyfit.fit.model_image import blurred_slim, unblurred_box
from galaxyfit.fit.plan import ImagePlan
from galaxyfit.galaxy import DatasetModel, Galaxies
from galaxyfit.kernels.statistics import chi_squared
from galaxyfit.settings import Settings


class FitImaging:
    """Fit of ``galaxies`` to ``dataset``.

    Parameters
    ----------
    dataset : Imaging
    galaxies : Galaxies or sequence of Galaxy
    dataset_model : DatasetModel or None
        Its ``background_sky_level`` is subtracted from the data.
    plan : ImagePlan or None
        Precomputed static plan (AnalysisImaging passes one); built from ``settings`` if None.
    settings : Settings or None
    n_free_parameters : int or None
        For ``reduced_chi_squared_dof``.

    Slim quantities (``*_slim``) are vectors over the unmasked pixels in row-major order (length
    ``pixels_in_mask``); ``*_map`` are (N_y, N_x) images with zeros at masked pixels.
    """

    def __init__(
        self,
        dataset: Imaging,
        galaxies,
        dataset_model: DatasetModel | None = None,
        plan: ImagePlan | None = None,
        settings: Settings | None = None,
        n_free_parameters: int | None = None,
    ):
        self.dataset = dataset
        self.galaxies = galaxies if isinstance(galaxies, Galaxies) else Galaxies(galaxies)
        self.dataset_model = dataset_model if dataset_model is not None else DatasetModel()
        self.plan = plan if plan is not None else ImagePlan(dataset, settings)
        self.n_free_parameters = n_free_parameters

    # ---- slim vectors (jittable) --------------------------------------------------------------------------------------

    @cached_property
    def data_slim(self):
        """Data at the unmasked pixels minus the dataset model's background sky level."""
        return jnp.asarray(self.plan.data_slim) - self.dataset_model.background_sky_level

    @property
    def noise_slim(self):
        return jnp.asarray(self.plan.noise_slim)

    @cached_property
    def blurred_image_slim(self):
        """The model at the unmasked pixels (PSF-convolved profiles plus operated ones)."""
        return blurred_slim(self.galaxies, self.plan)

    @property
    def model_data_slim(self):
        return self.blurred_image_slim

    @cached_property
    def residual_slim(self):
        return formulas.residuals(self.data_slim, self.blurred_image_slim)

    @cached_property
    def normalized_residual_slim(self):
        """(data - model) / noise at the unmasked pixels: the residual vector for least-squares optimisers."""
        return self.residual_slim * jnp.asarray(self.plan.inverse_noise_slim)

    @cached_property
    def chi_squared_slim(self):
        return self.normalized_residual_slim**2

    # ---- scalars ------------------------------------------------------------------------------------------------------

    @cached_property
    def chi_squared(self):
        """sum of ``chi_squared_slim``, summed by the C++ kernel (``kernels/statistics.py`` says why)."""
        return chi_squared(self.blurred_image_slim, self.data_slim, jnp.asarray(self.plan.inverse_noise_slim))

    @property
    def noise_normalization(self):
        """sum ln(2 pi sigma^2) over the unmasked pixels (a constant of the dataset, precomputed by the plan)."""
        return self.plan.noise_normalization

    @cached_property
    def log_likelihood(self):
        """-(chi^2 + sum ln(2 pi sigma^2)) / 2."""
        return formulas.log_likelihood(self.chi_squared, self.noise_normalization)

    @property
    def figure_of_merit(self):
        return self.log_likelihood

    @property
    def pixels_in_mask(self) -> int:
        return self.plan.pixels_in_mask

    @property
    def reduced_chi_squared(self):
        """chi^2 / N (PyAutoGalaxy's definition)."""
        return self.chi_squared / self.pixels_in_mask

    @property
    def reduced_chi_squared_dof(self):
        """chi^2 / (N - k) with k = ``n_free_parameters`` (Imfit's reduced chi^2); NaN when N <= k (no degrees of
        freedom); raises if k is unknown."""
        if self.n_free_parameters is None:
            raise ValueError("reduced_chi_squared_dof needs n_free_parameters")
        dof = self.pixels_in_mask - self.n_free_parameters
        return self.chi_squared / dof if dof > 0 else float("nan")

    # ---- images for figures and outputs (numpy, not for use under jit) ------------------------------------------------

    @property
    def model_image(self):
        """(N_y, N_x) model before PSF convolution (non-operated plus operated components) over the whole image."""
        grid = self.plan.image_grid
        return np.asarray(unblurred_box(self.galaxies, self.plan, grid=grid) + unblurred_box(self.galaxies, self.plan, operated=True, grid=grid))

    @property
    def blurred_image(self):
        """(N_y, N_x) model after PSF convolution at the unmasked pixels, 0 elsewhere."""
        return self.plan.native_from_slim(self.blurred_image_slim)

    @property
    def residual_map(self):
        return self.plan.native_from_slim(self.residual_slim)

    @property
    def normalized_residual_map(self):
        return self.plan.native_from_slim(self.normalized_residual_slim)

    @property
    def chi_squared_map(self):
        return self.plan.native_from_slim(self.chi_squared_slim)
