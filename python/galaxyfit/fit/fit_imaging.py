"""``FitImaging``: how well galaxies explain an imaging dataset. Every quantity is a JAX expression, so the whole fit
(or just ``log_likelihood``) can be jit-compiled, vmapped over parameter batches and differentiated."""

from __future__ import annotations

from functools import cached_property

import jax.numpy as jnp
import numpy as np

from galaxyfit.dataset.imaging import Imaging
from galaxyfit.fit import formulas
from galaxyfit.fit.inversion import Inversion
from galaxyfit.fit.linear_objects import blurred_columns, column_flags, linear_profiles, regularization_matrix, replace_linear_profiles
from galaxyfit.fit.model_image import blurred_slim, unblurred_box
from galaxyfit.fit.pixelized import has_pixelization, pixelized_inversion
from galaxyfit.fit.plan import ImagePlan
from galaxyfit.errors import ModelError
from galaxyfit.galaxy import DatasetModel, Galaxies, offset_galaxies
from galaxyfit.kernels.statistics import chi_squared
from galaxyfit.settings import Settings
from galaxyfit._precision import float64_api


@float64_api
class FitImaging:
    """Fit of ``galaxies`` to ``dataset``.

    Parameters
    ----------
    dataset : Imaging
    galaxies : Galaxies or sequence of Galaxy
    dataset_model : DatasetModel or None
        Its sky (``background_sky_level`` plus, if given, the plane's slopes) is subtracted from the data; its
        ``grid_offset`` shifts every profile's centre by +offset in the model (PyAutoArray's grid minus offset).
    plan : ImagePlan or None
        Precomputed static plan (AnalysisImaging passes one); built from ``settings`` if None.
    settings : Settings or None
    n_free_parameters : int or None
        For ``reduced_chi_squared_dof``.
    adapt_images : AdaptImages or None
        Mesh grids (and adapt images) of pixelized galaxies, by galaxy name.
    galaxy_names : sequence of str or None
        The galaxies' names in the model instance (to find their adapt images).

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
        adapt_images=None,
        galaxy_names=None,
    ):
        self.dataset = dataset
        self.galaxies = galaxies if isinstance(galaxies, Galaxies) else Galaxies(galaxies)
        self.dataset_model = dataset_model if dataset_model is not None else DatasetModel()
        self.plan = plan if plan is not None else ImagePlan(dataset, settings)
        self.n_free_parameters = n_free_parameters
        self.adapt_images = adapt_images
        self.galaxy_names = list(galaxy_names) if galaxy_names is not None else None
        #: The galaxies as the model images see them: with the dataset model's grid offset applied.
        self.model_galaxies = self.galaxies
        if self.dataset_model.has_grid_offset:
            if has_pixelization(self.galaxies):
                raise ModelError("DatasetModel.grid_offset is not implemented with pixelizations (their mesh would have "
                                 "to move too); fix grid_offset at (0, 0)")
            self.model_galaxies = offset_galaxies(self.galaxies, self.dataset_model.grid_offset)
        if self.plan.psf_oversampled is not None and has_pixelization(self.galaxies):
            raise ModelError("an oversampled PSF (Imaging.psf_oversampled) is not implemented with pixelizations: their "
                             "blurred mapping uses the normal PSF")

    # ---- slim vectors (jittable) --------------------------------------------------------------------------------------

    @cached_property
    def data_slim(self):
        """Data at the unmasked pixels minus the dataset model's sky (level, and plane when it has slopes)."""
        if not self.dataset_model.has_sky_plane:
            return jnp.asarray(self.plan.data_slim) - self.dataset_model.background_sky_level
        return jnp.asarray(self.plan.data_slim) - self.dataset_model.sky_at(jnp.asarray(self.plan.y_slim),
                                                                            jnp.asarray(self.plan.x_slim))

    @property
    def noise_slim(self):
        return jnp.asarray(self.plan.noise_slim)

    @cached_property
    def parametric_image_slim(self):
        """The standard (non-linear) profiles' model at the unmasked pixels (PSF-convolved plus operated ones, plus
        any solved sky level)."""
        return blurred_slim(self.model_galaxies, self.plan)

    def precompute(self, parts) -> None:
        """Take (parametric_image_slim, inversion columns or None), computed elsewhere (e.g. under jit), in place of
        computing them here."""
        parametric, columns = parts
        self.__dict__["parametric_image_slim"] = parametric
        if columns is not None:
            self.__dict__["inversion"] = self._inversion_of(columns)

    def _inversion_of(self, columns) -> Inversion:
        if has_pixelization(self.galaxies):
            return pixelized_inversion(self.galaxies, self.plan, self.data_slim - self.parametric_image_slim, columns,
                                       self.galaxy_names, self.adapt_images, self._static_residual())
        return Inversion(columns, self.data_slim - self.parametric_image_slim, self.plan.inverse_noise_slim,
                         column_flags(self.galaxies), regularization_matrix(self.galaxies, len(self.linear_keys)),
                         self.plan.settings.solver, self.linear_keys)

    def _static_residual(self):
        """The data the linear objects fit, as numpy, when it is a constant of the dataset (no parametric light, a
        known sky level): a pixelization's data vector is then computed once, not in every call. None otherwise."""
        from galaxyfit.integration import known_float

        from galaxyfit.profiles.linear import SkyLevel

        if self.galaxies.light_profiles or any(isinstance(c, SkyLevel) for g in self.galaxies for c in g.components.values()):
            return None
        if self.dataset_model.has_sky_plane:
            return None
        sky = known_float(self.dataset_model.background_sky_level)
        return None if sky is None else self.plan.data_slim - sky

    @cached_property
    def linear_keys(self) -> list:
        """Where each linear amplitude comes from (``LinearColumn``), in the inversion's column order."""
        return [key for key, _ in linear_profiles(self.galaxies)]

    @cached_property
    def inversion(self) -> Inversion | None:
        """The linear inversion of the linear light profiles against the data the parametric model leaves; None
        when the galaxies have no linear objects."""
        if not self.linear_keys:
            return self._inversion_of(None) if has_pixelization(self.galaxies) else None
        return self._inversion_of(blurred_columns(self.model_galaxies, self.plan))

    @cached_property
    def blurred_image_slim(self):
        """The model at the unmasked pixels: PSF-convolved profiles, operated ones, and the linear objects at their
        solved amplitudes."""
        if self.inversion is None:
            return self.parametric_image_slim
        return self.parametric_image_slim + self.inversion.mapped_reconstructed_image_slim

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
        """sum of ``chi_squared_slim``, summed by the C++ kernel (``kernels/statistics.py`` says why); with an
        inversion, the inversion's own chi^2 of the same residuals."""
        if self.inversion is not None:
            return self.inversion.chi_squared
        return chi_squared(self.blurred_image_slim, self.data_slim, jnp.asarray(self.plan.inverse_noise_slim))

    @property
    def noise_normalization(self):
        """sum ln(2 pi sigma^2) over the unmasked pixels (a constant of the dataset, precomputed by the plan)."""
        return self.plan.noise_normalization

    @cached_property
    def log_likelihood(self):
        """-(chi^2 + sum ln(2 pi sigma^2)) / 2."""
        return formulas.log_likelihood(self.chi_squared, self.noise_normalization)

    @cached_property
    def log_evidence(self):
        """-(chi^2 + s^T H s + ln det(F + H) - ln det H + sum ln 2 pi sigma^2) / 2 when there is an inversion (Suyu et
        al. 2006, MNRAS 371, 983, eq. 19, with PyAutoGalaxy's conventions: the two log-determinants cover the
        regularized blocks only, so with nothing regularized it equals ``log_likelihood``); None without one."""
        if self.inversion is None:
            return None
        return -0.5 * (self.inversion.evidence_term + self.noise_normalization)

    @property
    def figure_of_merit(self):
        """``log_evidence`` when there is an inversion, else ``log_likelihood`` (PyAutoGalaxy's choice)."""
        return self.log_likelihood if self.inversion is None else self.log_evidence

    @property
    def valid(self):
        """False when the inversion failed (the sample is then rejected); True without one."""
        return True if self.inversion is None else self.inversion.valid

    # ---- linear light profiles at their solved intensities --------------------------------------------------------

    @property
    def linear_light_profile_intensity_dict(self) -> dict:
        """{linear profile object: solved intensity} (PyAutoGalaxy's name)."""
        if self.inversion is None:
            return {}
        profiles = [p for _, p in linear_profiles(self.galaxies)]
        return {profile: self.inversion.reconstruction[i] for i, profile in enumerate(profiles)}

    def galaxies_linear_light_profiles_to_light_profiles(self) -> Galaxies:
        """The galaxies with every linear profile replaced by its standard profile at the solved intensity (bases
        keep their structure) -- what results report and save (PyAutoGalaxy's
        ``model_obj_linear_light_profiles_to_light_profiles``)."""
        if self.inversion is None:
            return self.galaxies
        return replace_linear_profiles(self.galaxies, self.inversion.reconstruction)

    def _solved_model_galaxies(self) -> Galaxies:
        """``model_galaxies`` with linear profiles at their solved intensities (for images)."""
        if self.inversion is None:
            return self.model_galaxies
        return replace_linear_profiles(self.model_galaxies, self.inversion.reconstruction)

    @property
    def galaxy_model_image_dict(self) -> dict:
        """{galaxy of this fit: (N_y, N_x) its PSF-convolved model at the unmasked pixels, 0 elsewhere} with every
        linear profile at its solved intensity (PyAutoGalaxy's name). The images add up to ``blurred_image``."""
        solved = self._solved_model_galaxies()
        images = [np.asarray(blurred_slim(Galaxies([one]), self.plan)) for one in solved]
        for key, image in self._pixelized_slim_dict(blurred=True).items():
            images[key.galaxy] = images[key.galaxy] + image
        return {galaxy: self.plan.native_from_slim(image) for galaxy, image in zip(self.galaxies, images)}

    def _pixelized_slim_dict(self, blurred: bool) -> dict:
        if self.inversion is None or not hasattr(self.inversion, "reconstructed_slim_dict"):
            return {}
        return self.inversion.reconstructed_slim_dict(blurred=blurred)

    @property
    def reconstructed_image_dict(self) -> dict:
        """{pixelization key (galaxy, component): (N_y, N_x) its reconstruction before the PSF at the unmasked
        pixels, 0 elsewhere} (PyAutoGalaxy's mapped reconstructed image, unblurred)."""
        return {key: self.plan.native_from_slim(v) for key, v in self._pixelized_slim_dict(blurred=False).items()}

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
        """(N_y, N_x) model before PSF convolution (non-operated plus operated components, linear profiles at their
        solved intensities) over the whole image."""
        grid = self.plan.image_grid
        galaxies = self._solved_model_galaxies()
        image = np.asarray(unblurred_box(galaxies, self.plan, grid=grid) + unblurred_box(galaxies, self.plan, operated=True, grid=grid))
        for reconstructed in self.reconstructed_image_dict.values():  # pixelizations: at the unmasked pixels only
            image = image + reconstructed
        return image

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
