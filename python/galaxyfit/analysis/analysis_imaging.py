"""``AnalysisImaging``: turns a model instance into a log likelihood for an imaging dataset (PyAutoGalaxy's
``autogalaxy.AnalysisImaging`` job and signature)."""

from __future__ import annotations

import copy
import warnings

import jax
import jax.numpy as jnp

from galaxyfit import _precision as precision
from galaxyfit.analysis.guard import guarded
from galaxyfit.dataset.imaging import Imaging
from galaxyfit.fit.fit_imaging import FitImaging
from galaxyfit.fit.plan import ImagePlan
from galaxyfit.galaxy import DatasetModel, Galaxies, Galaxy
from galaxyfit.pixelization import Pixelization
from galaxyfit.profiles.basis import Basis
from galaxyfit.profiles.validate import sanitized
from galaxyfit.regularization import sanitized_regularization
from galaxyfit.settings import Settings
from galaxyfit._precision import float64_api, require_float64

#: The log likelihood of a model that cannot be evaluated; searches treat it as "reject".
INVALID_LOG_LIKELIHOOD = -1e99

#: Why a likelihood was rejected (``AnalysisImaging.log_likelihood_and_rejection``): parameters outside the
#: profiles' or regularizations' valid ranges, an inversion that failed (10 + its status, ``STATUS_TEXT``), or a
#: figure of merit that is not finite.
REJECTED_PARAMETERS, REJECTED_NOT_FINITE, REJECTED_INVERSION = 1, 2, 10


def _rejection_reasons() -> dict:
    from galaxyfit.kernels.inversion import STATUS_TEXT

    reasons = {REJECTED_PARAMETERS: "parameters outside their valid ranges",
               REJECTED_NOT_FINITE: "log likelihood not finite"}
    reasons.update({REJECTED_INVERSION + status: f"linear inversion failed: {text}"
                    for status, text in STATUS_TEXT.items() if status})
    return reasons


REJECTION_REASONS = _rejection_reasons()


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


def galaxy_names_from(container) -> list | None:
    """The galaxies' names when ``container`` names them (a mapping or a model instance), else None."""
    if isinstance(container, dict):
        return [str(k) for k in container]
    if hasattr(container, "items") and not isinstance(container, (Galaxies, Galaxy)):
        return [str(k) for k, _ in container.items()]
    return None


def _sanitized_component(component):
    """(safe component, validity) for a profile, a linear profile, a basis (members and regularization) or another
    component (kept)."""
    if isinstance(component, Basis):
        valid = jnp.asarray(True)
        members = []
        for member in component.profile_list:
            member, ok = _sanitized_component(member)
            members.append(member)
            valid = valid & ok
        regularization = component.regularization
        if regularization is not None:
            regularization, ok = sanitized_regularization(regularization)
            valid = valid & ok
        return Basis(members, regularization), valid
    if isinstance(component, Pixelization):
        regularization, ok = sanitized_regularization(component.regularization)
        return Pixelization(component.mesh, regularization, component.image_mesh), ok
    if hasattr(component, "positive_parameters"):
        return sanitized(component)
    return component, jnp.asarray(True)


def _sanitized_galaxies(galaxies: Galaxies):
    valid = jnp.asarray(True)
    safe = []
    for galaxy in galaxies:
        components = {}
        for name, component in galaxy.components.items():
            component, ok = _sanitized_component(component)
            valid = valid & ok
            components[name] = component
        safe.append(Galaxy(galaxy.redshift, **components))
    return Galaxies(safe), valid


@float64_api
class AnalysisImaging:
    """Log likelihood of model instances for ``dataset``.

    Parameters
    ----------
    dataset : Imaging
        The (masked) dataset.
    adapt_images : AdaptImages or None
        Per-galaxy adapt images and fixed image-plane mesh grids of pixelized galaxies, by galaxy name
        (``galaxyfit.AdaptImages``).
    cosmology : astropy cosmology or None
        For derived quantities in physical units (kpc); defaults to astropy's Planck15.
    settings : Settings or None
        Pixel integration and convolution choices.
    title_prefix : str or None
        Prefix for figure titles.
    latent_config : galaxyfit.latent.LatentConfig, dict or None
        Which derived quantities (latent variables) a fit computes and writes, over the package's defaults
        (``galaxyfit/latent.yaml``); a dict is ``{kind: True/False}`` overrides.
    visualize : bool
        Draw figures into a fit's ``image/`` folder (False: FITS, JSON and CSV only -- e.g. on a cluster).
    dataset_name : str or None
        Recorded in a fit's ``metadata.json`` and the results database.

    ``log_likelihood_function(instance)`` is a pure JAX function of the instance (``instance.galaxies`` and optionally
    ``instance.dataset_model``): jit it, vmap it over a batch of instances, differentiate it. A model that cannot be
    evaluated (|ell_comps| >= 1, a non-positive size, NaN, a parameter beyond float64's workable range, or any model
    whose image or chi^2 overflows) returns ``INVALID_LOG_LIKELIHOOD`` (-1e99) with exactly zero derivatives in every
    mode (``analysis/guard.py``) instead of raising.
    """

    #: The result class ``make_result`` returns.
    Result = None  # ResultImaging, set below the class (its module imports the search package, which imports this one)
    #: How ``compute_latent_samples`` batches posterior draws: one jit-compiled vmap (a lax.map, one draw after
    #: another, for models with linear objects, as the likelihood is batched).
    LATENT_BATCH_MODE = "vmap"
    #: Quick updates are drawn on a background thread from numpy arrays (``analysis/quick_update.py``).
    supports_background_update = True
    #: Figures are drawn by matplotlib from numpy arrays, not traced by JAX.
    supports_jax_visualization = False

    def __init__(self, dataset: Imaging, adapt_images=None, cosmology=None, settings: Settings | None = None,
                 title_prefix: str | None = None, latent_config=None, visualize: bool = True, dataset_name: str | None = None):
        from galaxyfit.adapt_images import AdaptImages

        if adapt_images is not None and not isinstance(adapt_images, AdaptImages):
            raise TypeError(f"adapt_images must be a galaxyfit.AdaptImages or None, got {type(adapt_images).__name__}")
        if not isinstance(dataset, Imaging):
            raise TypeError(f"dataset must be an Imaging, got {type(dataset).__name__}")
        self.dataset = dataset
        self.adapt_images = adapt_images
        self._cosmology = cosmology
        self.settings = settings if settings is not None else Settings()
        self.title_prefix = title_prefix
        self.plan = ImagePlan(dataset, self.settings)
        self._latent_config_given = latent_config
        self._latent_config = None
        self.visualize = bool(visualize)
        self.dataset_name = dataset_name
        self._latent_model = None
        self._compiled_parts_function = None

    @property
    def latent_config(self):
        """Which latent variables fits compute (``galaxyfit.latent.LatentConfig``), resolved when first needed."""
        if self._latent_config is None:
            self._latent_config = _latent_config(self._latent_config_given)
        return self._latent_config

    @property
    def imaging(self) -> Imaging:
        """The dataset (PyAutoGalaxy's name for it on an imaging analysis)."""
        return self.dataset

    @property
    def Visualizer(self):
        """The figures this analysis draws (``galaxyfit.analysis.visualizer.VisualizerImaging``)."""
        from galaxyfit.analysis.visualizer import VisualizerImaging

        return VisualizerImaging

    @property
    def cosmology(self):
        """The cosmology for physical sizes (astropy; Planck15 unless given), loaded when first needed."""
        if self._cosmology is None:
            self._cosmology = default_cosmology()
        return self._cosmology

    # ---- lifecycle around a search (PyAutoFit's names) ---------------------------------------------------------------

    def with_model(self, model) -> "ModelAnalysis":
        """This analysis bound to ``model``: a search given it fits that model whatever model it is passed."""
        return ModelAnalysis(self, model)

    def modify_model(self, model):
        """Hook to change the model before a search (identity here)."""
        return model

    def modify_before_fit(self, model) -> "AnalysisImaging":
        """Checks and caching before sampling: the static plan exists (built at construction); the model yields
        galaxies and its prior medians give a finite log likelihood, so a mistake shows now and not hours into a run.
        Raises ModelError otherwise."""
        from galaxyfit.errors import ModelError

        instance = model.instance_from_prior_medians()
        self._latent_model = model
        try:
            galaxies = self.galaxies_via_instance_from(instance)
        except (AttributeError, TypeError) as exc:
            raise ModelError(f"the model's instances need .galaxies holding Galaxy objects: {exc}") from exc
        if len(galaxies) == 0:
            raise ModelError("the model has no galaxies")
        if model.prior_count >= self.plan.pixels_in_mask:
            warnings.warn(f"the model has {model.prior_count} free parameters but the mask leaves "
                          f"{self.plan.pixels_in_mask} pixels: the data cannot constrain them, and errors, reduced "
                          "chi^2 and evidence mean nothing; use a larger image or mask, or fewer free parameters",
                          stacklevel=3)
        return self

    def make_result(self, samples, model, search: dict, timing: dict | None = None, covariance=None):
        """The ``ResultImaging`` of a search (``galaxyfit.analysis.result_imaging``)."""
        return self.Result(model, self, samples, search, timing=timing, covariance=covariance)

    def modify_after_fit(self, result) -> "AnalysisImaging":
        """Hook after a search (nothing here: outputs are written by ``save_results`` before it)."""
        return self

    # ---- outputs (galaxyfit.paths, analysis/outputs.py) ------------------------------------------------------------

    def save_attributes(self, paths) -> None:
        """Before a search: ``files/settings.json``, ``files/cosmology.json``, ``image/dataset.fits`` (mask in the
        primary HDU, pixel scales in its header) and ``image/dataset.png``. Raises OutputError naming a path that
        cannot be written."""
        from galaxyfit.analysis.outputs import save_attributes

        save_attributes(self, paths)

    def save_results(self, paths, result) -> None:
        """After a search: samples, their summary and covariance, the best-fit galaxies (linear profiles solved),
        latent variables, ``model.results``, ``search.summary``, ``image/fit.fits`` and the figures."""
        from galaxyfit.analysis.outputs import save_results

        save_results(self, paths, result)

    def refresh_latents(self, paths, result) -> bool:
        """A completed fit run again with other latent variables asked for (``latent_config``): compute and write
        them (``analysis/outputs.py``)."""
        from galaxyfit.analysis.outputs import refresh_latents

        return refresh_latents(self, paths, result)

    def save_results_combined(self, paths, result) -> None:
        """PyAutoFit calls this on the first analysis of a sum of analyses (several datasets fitted together) for
        outputs that span them; one imaging dataset has none beyond ``save_results``, so it writes nothing."""
        return None

    def fit_for_visualization(self, instance) -> FitImaging:
        """The FitImaging of ``instance`` for figures, its images computed by one cached jit-compiled function (the
        first call compiles; later calls of the same model's instances reuse it)."""
        return self.fit_from(instance, compiled=True)

    def perform_quick_update(self, paths, instance, log_likelihood=None, vector=None, model=None) -> None:
        """During a search: redraw ``image/fit.png`` for ``instance`` (the best fit so far) and write its parameters
        to ``model.results`` (marked as in progress). Runs on ``QuickUpdater``'s background thread."""
        from galaxyfit.output import write_text_atomic

        if self.visualize:
            from galaxyfit.plot import save_fit_figure

            save_fit_figure(self.fit_for_visualization(instance), paths.image / "fit.png", title=self.title_prefix)
        if vector is not None and model is not None:
            lines = ["Search in progress: best fit so far", f"Maximum Log Likelihood {log_likelihood:.6f}", ""]
            width = max(len(n) for n in model.parameter_names) + 2
            lines += [f"{name:{width}s}{value:.6g}" for name, value in zip(model.parameter_names, vector)]
            write_text_atomic(paths.folder / "model.results", "\n".join(lines) + "\n")

    # ---- latent variables (galaxyfit.latent) -------------------------------------------------------------------------

    @property
    def LATENT_KEYS(self) -> list[str]:
        """The names of the enabled latent variables of the model this analysis last prepared for a search
        (``modify_before_fit``); empty before that."""
        if self._latent_model is None:
            return []
        from galaxyfit.latent import latent_keys

        return latent_keys(self, self._latent_model)

    def compute_latent_variables(self, parameters, model) -> tuple:
        """The latent variables of one parameter vector, aligned with ``latent_keys(self, model)`` (NaN where one
        cannot be computed). Raises NotImplementedError when none is enabled (PyAutoFit's contract)."""
        from galaxyfit.latent import compute_latent_variables

        return compute_latent_variables(self, parameters, model)

    def compute_latent_samples(self, samples, model):
        """Latent variables over ``latent_config.draws`` weighted posterior draws, in jit-compiled batches
        (``galaxyfit.latent.LatentSamples``). Raises NotImplementedError when none is enabled."""
        from galaxyfit.latent import compute_latent_samples

        return compute_latent_samples(self, samples, model, self.latent_config)

    def print_vram_use(self, model, batch_size: int, gradient: bool = False) -> int:
        """Print and return the bytes a batch of ``batch_size`` likelihoods (with ``gradient``: values and gradients)
        needs: XLA's compiled memory analysis (outputs + temporaries) plus the scratch galaxyfit's C++ handlers
        allocate themselves, which XLA cannot see (``analysis/memory.py``). Compiles, does not run. On CPU the
        figure is host memory."""
        from galaxyfit.analysis.memory import batched_memory_bytes

        report = batched_memory_bytes(self, model, batch_size, gradient)
        device = report["device"]
        what = "likelihood + gradient" if gradient else "likelihood only"
        print(f"{'VRAM' if device != 'cpu' else 'MEMORY'} USE = {report['total_bytes'] / 1e9:.3f} GB ({what}, "
              f"batch_size={batch_size}, device={device}: XLA {report['xla_bytes'] / 1e9:.3f} GB + galaxyfit FFI scratch "
              f"{report['ffi_scratch_bytes'] / 1e9:.3f} GB)")
        return int(report["total_bytes"])

    def batch_chunk_size(self, model) -> int | None:
        """How many parameter vectors a batched likelihood evaluates together, or None for one vmap over the whole
        batch. A model with linear objects is evaluated one vector after another (``jax.lax.map``): a vmap of an
        MGE-20 likelihood over 256 vectors materialised 256 x 20 model boxes and ran at 2.48 ms per likelihood
        against 1.25 ms in turn, and compiled in 6.8 s against 3.7 s (chunks of 10: 1.19 ms, but 11.2 s to compile;
        bench/README.md). A parametric model, a few boxes per vector, vmaps whole."""
        from galaxyfit.fit.linear_objects import linear_profiles

        try:
            galaxies = self.galaxies_via_instance_from(model.instance_from_prior_medians())
        except Exception:  # noqa: BLE001 - a model this cannot judge is batched the ordinary way
            return None
        return 1 if linear_profiles(galaxies) else None

    # ---- one compiled likelihood for the datasets of one geometry (galaxyfit.search.compiled_cache) ------------------

    def shared_likelihood_key(self, model) -> tuple | None:
        """What fixes the traced likelihood of ``model``'s instances on this analysis apart from the dataset's numbers
        (``likelihood_arrays``): the plan's ``geometry_key``. Analyses with equal keys can share one compiled
        likelihood of ``(vector, arrays)``. None when they cannot: a subclass (it may compute with more of its own
        state), adapt images (per-dataset images), or a model with a pixelization (its mappers precompute with the
        noise map and PSF as numpy) -- such fits compile their own functions, as before."""
        try:
            galaxies = self.galaxies_via_instance_from(model.instance_from_prior_medians())
        except Exception:  # noqa: BLE001 - a model this cannot judge keeps its own compiled functions
            return None
        return self._shared_key_of(galaxies)

    def _shared_key_of(self, galaxies) -> tuple | None:
        from galaxyfit.fit.pixelized import has_pixelization

        if type(self) is not AnalysisImaging or self.adapt_images is not None or has_pixelization(galaxies):
            return None
        return self.plan.geometry_key()

    def likelihood_arrays(self) -> dict:
        """The dataset's numbers the likelihood computes with, a pytree of numpy arrays (``ImagePlan.data_arrays``:
        data, noise, 1 / noise and the noise normalization at the unmasked pixels, the PSF and its convolvers'
        forms of it)."""
        return self.plan.data_arrays()

    def with_likelihood_arrays(self, arrays) -> "AnalysisImaging":
        """A shallow copy of this analysis that computes with ``arrays`` (``likelihood_arrays``' structure; JAX arrays
        or tracers) in place of its dataset's numbers; its ``dataset`` is the plan's ``DatasetGeometry``. A likelihood
        traced on it inside ``jax.jit`` with ``arrays`` as an argument is a function of them, valid for every analysis
        of equal ``shared_likelihood_key``."""
        out = copy.copy(self)
        out.plan = self.plan.with_data_arrays(arrays)
        out.dataset = out.plan.dataset
        out._compiled_parts_function = None
        return out

    # ---- instance -> parts -------------------------------------------------------------------------------------------

    def galaxies_via_instance_from(self, instance) -> Galaxies:
        return galaxies_from(instance.galaxies)

    def dataset_model_via_instance_from(self, instance) -> DatasetModel | None:
        return getattr(instance, "dataset_model", None) if _has(instance, "dataset_model") else None

    # ---- fits and likelihoods ------------------------------------------------------------------------------------------

    def fit_from(self, instance, n_free_parameters: int | None = None, compiled: bool = False) -> FitImaging:
        """The FitImaging of an instance. ``compiled=True`` computes its model images and the inversion's columns in
        one jit-compiled call first (for a fit read outside jit: evaluated operation by operation, a model of tens of
        profiles -- an MGE -- took ~10 s)."""
        fit = FitImaging(
            self.dataset,
            self.galaxies_via_instance_from(instance),
            self.dataset_model_via_instance_from(instance),
            plan=self.plan,
            n_free_parameters=n_free_parameters,
            adapt_images=self.adapt_images,
            galaxy_names=galaxy_names_from(instance.galaxies),
        )
        if compiled:
            fit.precompute(self._compiled_parts(instance))
        return fit

    def figure_of_merit_is_evidence(self, instance) -> bool:
        """Whether the instance's figure of merit is a log evidence with a regularization (a pixelization or a
        regularized basis): then chi^2 alone is not what a search should maximise, and least squares does not apply."""
        from galaxyfit.fit.linear_objects import column_flags
        from galaxyfit.fit.pixelized import has_pixelization
        from galaxyfit.kernels.inversion import REGULARIZED

        galaxies = self.galaxies_via_instance_from(instance)
        return has_pixelization(galaxies) or any(f & REGULARIZED for f in column_flags(galaxies))

    def adapt_images_via_instance_from(self, instance, use_model_images: bool = False):
        """AdaptImages from this analysis' fit of ``instance`` (each galaxy's subtracted signal-to-noise map, or its
        model image), keeping this analysis' fixed mesh grids (PyAutoGalaxy's name)."""
        from galaxyfit.adapt_images import AdaptImages, galaxy_name_image_dict_via_fit_from

        names = galaxy_names_from(instance.galaxies) or [str(i) for i in range(len(self.galaxies_via_instance_from(instance)))]
        images = galaxy_name_image_dict_via_fit_from(self.fit_from(instance, compiled=True), names, use_model_images)
        grids = self.adapt_images.galaxy_name_image_plane_mesh_grid_dict if self.adapt_images is not None else None
        return AdaptImages(images, grids)

    def _compiled_parts(self, instance):
        """(parametric image slim, inversion columns or None) of ``instance``, by a jit-compiled function: one shared by
        the analyses of this geometry where they can share (``shared_likelihood_key``), else one kept here (a new
        jax.jit per call compiled again every time, seconds for an MGE, which quick updates and latents would pay at
        each call)."""
        from galaxyfit.search import compiled_cache

        try:
            key = self._shared_key_of(self.galaxies_via_instance_from(instance)) if compiled_cache.ENABLED else None
        except Exception:  # noqa: BLE001 - judged (and raised) by the fit itself below
            key = None
        if key is not None:
            from galaxyfit.search.compiled_cache import CACHE, arrays_signature

            arrays = self.likelihood_arrays()
            signature = arrays_signature(arrays)

            def make():
                template = self.with_likelihood_arrays(arrays)

                def parts(instance, leaves):
                    bound = template.with_likelihood_arrays(jax.tree_util.tree_unflatten(signature[0], list(leaves)))
                    return _fit_parts(bound, instance)

                return precision.jit(parts)

            function, _ = CACHE.get_or_make(("fit parts", key, signature), make)
            return function(instance, tuple(jax.tree_util.tree_leaves(arrays)))
        if self._compiled_parts_function is None:
            self._compiled_parts_function = precision.jit(lambda instance: _fit_parts(self, instance))
        return self._compiled_parts_function(instance)

    def _sanitized_fit(self, parts, names=None):
        """(FitImaging of (galaxies, dataset model) with invalid parameters replaced by safe ones, validity flag)."""
        galaxies, dataset_model = parts
        galaxies, valid = _sanitized_galaxies(galaxies)
        if dataset_model is not None:
            dataset_model, finite = dataset_model.sanitized()  # (sky level, slopes and grid offset)
            valid = valid & finite
        return FitImaging(self.dataset, galaxies, dataset_model, plan=self.plan, adapt_images=self.adapt_images,
                          galaxy_names=names), valid

    def _parts(self, instance):
        require_float64(instance, "AnalysisImaging")
        return self.galaxies_via_instance_from(instance), self.dataset_model_via_instance_from(instance)

    def _log_likelihood_and_validity(self, parts, names=None):
        fit, valid = self._sanitized_fit(parts, names)
        figure_of_merit = fit.figure_of_merit  # the log evidence when linear objects are solved for
        finite = jnp.isfinite(figure_of_merit)
        # Why a model is rejected, as a float that rides along with the value (REJECTION_REASONS): the first reason
        # that applies.
        status = 0.0 if fit.inversion is None else jnp.asarray(fit.inversion.status, dtype=jnp.float64)
        code = jnp.where(~valid, REJECTED_PARAMETERS,
                         jnp.where(status != 0, REJECTED_INVERSION + status, jnp.where(finite, 0.0, REJECTED_NOT_FINITE)))
        return (figure_of_merit, code), valid & fit.valid & finite

    def _residuals_and_validity(self, parts, names=None):
        fit, valid = self._sanitized_fit(parts, names)
        residuals = fit.normalized_residual_slim
        return residuals, valid & fit.valid & jnp.all(jnp.isfinite(residuals))

    def log_likelihood_function(self, instance):
        """The fit's figure of merit: ln L = -(chi^2 + sum ln 2 pi sigma^2) / 2, or the log evidence of the linear
        inversion when the instance has linear light profiles or bases (``FitImaging.log_evidence``); -1e99 (with
        zero derivatives) if it cannot be evaluated or the inversion fails."""
        return self.log_likelihood_and_rejection(instance)[0]

    def log_likelihood_and_rejection(self, instance):
        """(``log_likelihood_function(instance)``, why it was rejected: an int32 code, 0 when it was not; the codes
        are the keys of ``REJECTION_REASONS``). Searches count the codes (``result.timing["rejected"]``)."""
        names = galaxy_names_from(instance.galaxies)
        (log_likelihood, code), ok = guarded(lambda parts: self._log_likelihood_and_validity(parts, names), self._parts(instance))
        # -1e99 is also the floor: a valid but absurd model (intensity 1e49) must not rank below a rejected one.
        value = jnp.where(ok, jnp.maximum(log_likelihood, INVALID_LOG_LIKELIHOOD), INVALID_LOG_LIKELIHOOD)
        return value, jax.lax.stop_gradient(code).astype(jnp.int32)

    def normalized_residuals_function(self, instance):
        """((data - model) / noise over the unmasked pixels, shape (pixels_in_mask,); validity flag) -- the
        residuals a least-squares search minimises; the flag is False where the instance cannot be evaluated, and
        the residuals and their derivatives are then meaningless (unlike ``log_likelihood_function``, no guard: it
        would cost a Levenberg-Marquardt fit ~0.1 s of compiling and ~15 % per Jacobian, and the optimiser never
        uses a Jacobian at a point it rejected)."""
        return self._residuals_and_validity(self._parts(instance), galaxy_names_from(instance.galaxies))


def _fit_parts(analysis, instance):
    """(parametric image slim (N,), inversion columns (k, N) or None) of ``instance`` on ``analysis`` (to be
    jit-compiled: ``AnalysisImaging._compiled_parts``)."""
    fit = FitImaging(analysis.dataset, analysis.galaxies_via_instance_from(instance),
                     analysis.dataset_model_via_instance_from(instance), plan=analysis.plan,
                     adapt_images=analysis.adapt_images, galaxy_names=galaxy_names_from(instance.galaxies))
    return fit.parametric_image_slim, (None if fit.inversion is None else fit.inversion.columns)


def _latent_config(value):
    """A LatentConfig from None (the package defaults), a dict of overrides, or a LatentConfig."""
    from galaxyfit.latent import LatentConfig

    if value is None:
        return LatentConfig()
    if isinstance(value, dict):
        return LatentConfig(enabled=value)
    if isinstance(value, LatentConfig):
        return value
    raise TypeError(f"latent_config must be a galaxyfit.latent.LatentConfig, a dict or None, got {type(value).__name__}")


class ModelAnalysis:
    """An analysis bound to a model (``AnalysisImaging.with_model``): ``modify_model`` returns that model; everything
    else is the analysis'."""

    def __init__(self, analysis: AnalysisImaging, model):
        self.analysis = analysis
        self.model = model

    def modify_model(self, model):
        return self.analysis.modify_model(self.model)

    def __getattr__(self, name):
        return getattr(self.analysis, name)


def _has(instance, name: str) -> bool:
    try:
        getattr(instance, name)
        return True
    except AttributeError:
        return False


from galaxyfit.analysis.result_imaging import ResultImaging as _ResultImaging  # noqa: E402

AnalysisImaging.Result = _ResultImaging
