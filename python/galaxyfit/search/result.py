"""``Result``: what a search found -- best fit, posterior summaries, evidence, derived quantities -- and how to save it."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from galaxyfit.output import write_json_atomic, write_text_atomic
from galaxyfit.profiles import convert
from galaxyfit.profiles.basis import Basis
from galaxyfit.profiles.light import LightProfile
from galaxyfit.profiles.linear import LinearLightProfile, SkyLevel
from galaxyfit.search.samples import Samples
from galaxyfit._precision import float64_api


def _galaxy_items(galaxies):
    return galaxies.items() if hasattr(galaxies, "items") else ((f"galaxy_{i}", g) for i, g in enumerate(galaxies))


def light_profiles_of(instance) -> dict[str, LightProfile]:
    """{"galaxies.galaxy.bulge": profile, ...} for every standard light profile of an instance, those inside bases
    included ("galaxies.galaxy.bulge.profile_list_3"). Linear profiles are not in it: ``Result`` reports them at
    their solved intensities (``max_log_likelihood_instance_solved``)."""
    out = {}
    for name, galaxy in _galaxy_items(instance.galaxies):
        for component, profile in galaxy.components.items():
            if isinstance(profile, LightProfile):
                out[f"galaxies.{name}.{component}"] = profile
            elif isinstance(profile, Basis):
                for i, member in enumerate(profile.profile_list):
                    if isinstance(member, LightProfile):
                        out[f"galaxies.{name}.{component}.profile_list_{i}"] = member
    return out


def linear_profile_paths(instance) -> list[str]:
    """The paths of the linear light profiles of an instance, in the inversion's column order."""
    out = []
    for name, galaxy in _galaxy_items(instance.galaxies):
        for component, profile in galaxy.components.items():
            if isinstance(profile, LinearLightProfile):
                out.append(f"galaxies.{name}.{component}")
            elif isinstance(profile, Basis):
                out.extend(f"galaxies.{name}.{component}.profile_list_{i}" for i, member in enumerate(profile.profile_list)
                           if isinstance(member, LinearLightProfile))
    return out


def with_solved_linear_profiles(instance, reconstruction):
    """The instance with every linear profile replaced by its standard profile at the solved amplitude (column
    order), galaxy names kept (PyAutoGalaxy's ``model_obj_linear_light_profiles_to_light_profiles``)."""
    from galaxyfit.fit.linear_objects import replace_linear_profiles
    from galaxyfit.model.instance import ModelInstance

    items = list(_galaxy_items(instance.galaxies))
    solved = replace_linear_profiles([g for _, g in items], reconstruction)
    attributes = dict(instance.items())
    attributes["galaxies"] = ModelInstance(**{name: galaxy for (name, _), galaxy in zip(items, solved)})
    return ModelInstance(**attributes)


@float64_api
class Result:
    """The outcome of ``search.fit(model, analysis)``.

    Attributes: ``samples`` (weighted posterior samples), ``model``, ``analysis``, ``search`` (name and settings),
    ``timing``. Vectors are ordered as ``model.paths``.
    """

    def __init__(self, model, analysis, samples: Samples, search: dict, timing: dict | None = None, covariance=None):
        self.model = model
        self.analysis = analysis
        self.samples = samples
        self.search = search
        self.timing = timing or {}
        self.covariance = covariance

    # ---- best fit -------------------------------------------------------------------------------------------------------

    @property
    def max_log_likelihood_vector(self) -> np.ndarray:
        return self.samples.max_log_likelihood_vector

    @property
    def log_likelihood(self) -> float:
        return self.samples.max_log_likelihood

    @cached_property
    def max_log_likelihood_instance(self):
        return self.model.instance_from_vector(self.max_log_likelihood_vector)

    @cached_property
    def max_log_likelihood_fit(self):
        """The FitImaging of the best fit (its images and inversion computed under jit)."""
        try:
            return self.analysis.fit_from(self.max_log_likelihood_instance, n_free_parameters=self.model.prior_count,
                                          compiled=True)
        except TypeError:  # an analysis whose fit_from takes no ``compiled``
            return self.analysis.fit_from(self.max_log_likelihood_instance, n_free_parameters=self.model.prior_count)

    @cached_property
    def max_log_likelihood_instance_solved(self):
        """The best-fit instance with linear light profiles replaced by standard profiles at their solved
        intensities (the instance itself when there are none)."""
        inversion = self.max_log_likelihood_fit.inversion
        if inversion is None:
            return self.max_log_likelihood_instance
        return with_solved_linear_profiles(self.max_log_likelihood_instance, np.asarray(inversion.reconstruction))

    @property
    def max_log_likelihood_galaxies(self):
        """The best fit's galaxies, linear profiles at their solved intensities (PyAutoGalaxy's name)."""
        return self.max_log_likelihood_instance_solved.galaxies

    @cached_property
    def linear_light_profile_intensities(self) -> dict[str, dict]:
        """{path: {"intensity", "error"}} of every linear light profile at the best fit; the error is the 1-sigma of
        the linear solve given the best-fit non-linear parameters (NaN where the positive-only solve holds the
        intensity at 0)."""
        inversion = self.max_log_likelihood_fit.inversion
        if inversion is None:
            return {}
        values, errors = np.asarray(inversion.reconstruction), inversion.reconstruction_noise_map
        return {path: {"intensity": float(v), "error": float(e)}
                for path, v, e in zip(linear_profile_paths(self.max_log_likelihood_instance), values, errors)}

    # ---- the search's own check (search/checks.py) ------------------------------------------------------------------------

    @property
    def check(self) -> dict | None:
        """What the search's check found: ``trusted``, ``problems`` (plain sentences), the sampler's best and an
        optimiser's ln L, the optimum's vector; None when the search ran without it."""
        return self.search.get("check")

    @property
    def trusted(self) -> bool | None:
        """False when the result failed the search's check (its posterior and evidence should not be relied on)."""
        trusted = None if self.check is None else self.check.get("trusted")
        return None if trusted is None else bool(trusted)

    def check_text(self) -> str:
        """One plain line on whether the result passed the search's check, with every problem found."""
        if self.check is None:
            return "result not checked (check=False)"
        if self.trusted:
            if self.check.get("optimum_log_likelihood") is None:
                return "check: passed (the best fit's centres lie on the image)"
            return (f"check: passed (an optimiser from the best point and the image moments reached ln L "
                    f"{self.check['optimum_log_likelihood']:.3f}; the best fit's centres lie on the image)")
        head = "check: THIS RESULT CANNOT BE TRUSTED" if self.trusted is False else "check: not completed"
        return head + "".join(f"\n  - {problem}" for problem in self.check.get("problems", []))

    # ---- posterior ------------------------------------------------------------------------------------------------------

    @property
    def median_pdf_vector(self) -> np.ndarray:
        return self.samples.median_pdf_vector

    @cached_property
    def median_pdf_instance(self):
        return self.model.instance_from_vector(self.median_pdf_vector)

    def errors_at_sigma(self, sigma: float = 1.0) -> dict[str, tuple[float, float]]:
        """{parameter: (minus, plus)} of the central credible interval at ``sigma``."""
        minus, plus = self.samples.errors_at_sigma(sigma)
        return {name: (float(m), float(p)) for name, m, p in zip(self.model.parameter_names, minus, plus)}

    @property
    def log_evidence(self) -> float | None:
        return self.samples.log_evidence

    @property
    def log_evidence_error(self) -> float | None:
        return self.samples.log_evidence_error

    # ---- derived quantities ---------------------------------------------------------------------------------------------

    def total_fluxes(self, instance=None) -> dict[str, float]:
        """Analytic total flux (data units, summed over an infinite image) of each light profile; by default at the
        best fit, linear profiles at their solved intensities."""
        instance = instance if instance is not None else self.max_log_likelihood_instance_solved
        return {path: float(p.total_flux(self.analysis.dataset.pixel_scales)) for path, p in light_profiles_of(instance).items()}

    def imfit_parameters(self, instance=None) -> dict[str, dict]:
        """Imfit's names and conventions (1-based pixels, PA from +y, major-axis sizes in pixels) of each Sersic,
        Exponential, Gaussian or Moffat profile (``galaxyfit.profiles.convert``)."""
        instance = instance if instance is not None else self.max_log_likelihood_instance_solved
        shape, scales = self.analysis.dataset.shape, self.analysis.dataset.pixel_scales
        out = {}
        for path, profile in light_profiles_of(instance).items():
            try:
                out[path] = convert.to_imfit(profile, shape, scales)
            except Exception:  # profiles without an Imfit counterpart are skipped
                continue
        return out

    @cached_property
    def latent_samples(self):
        """The latent variables over ``LatentConfig.draws`` (100) seeded posterior draws (``galaxyfit.latent.
        LatentSamples``), as enabled in ``galaxyfit/latent.yaml`` and the analysis' ``latent_config``; None when none
        is enabled (or, with a warning, when they cannot be computed). Computed once: ``latent`` and the saved
        latent files share it."""
        from galaxyfit.latent import compute_latent_samples

        try:
            return compute_latent_samples(self.analysis, self.samples, self.model)
        except NotImplementedError:
            return None
        except Exception as exc:  # noqa: BLE001 - derived quantities never stop a result from being reported
            import warnings

            warnings.warn(f"latent variables not computed ({type(exc).__name__}: {exc})", stacklevel=2)
            return None

    @cached_property
    def latent(self) -> dict[str, dict]:
        """Latent variables over the posterior (``galaxyfit.latent``): {name: {"median", "lower_1sigma",
        "upper_1sigma", "lower_3sigma", "upper_3sigma", "max_log_likelihood"}} of ``latent_samples``, e.g. the total
        flux of each profile and galaxy, magnitudes, axis ratios, position angles, half-light radii in arcsec and
        kpc, bulge-to-total ratios. Linear profiles enter at intensities solved for each draw plus a draw from the
        linear solve's own Gaussian uncertainty (``_solved_amplitudes``), so their flux errors include both. Empty
        when no latent variable is enabled or they cannot be computed."""
        from galaxyfit.latent import latent_summary

        return {} if self.latent_samples is None else latent_summary(self.latent_samples)

    def _solved_amplitudes(self, vectors: np.ndarray, rng) -> np.ndarray | None:
        """(n, k) linear amplitudes for parameter vectors (n, d): each the solve at that vector plus a draw from its
        Gaussian uncertainty N(0, A_PP^-1) on the solved set (clipped at 0 where positivity holds); None without
        linear objects (``galaxyfit.latent.solved_amplitudes``)."""
        from galaxyfit.latent import solved_amplitudes

        return solved_amplitudes(self.analysis, self.model, vectors, rng)

    # ---- summaries and output --------------------------------------------------------------------------------------------

    def parameter_summary(self) -> dict[str, dict]:
        """{parameter: {"max_log_likelihood", "median", "minus_1sigma", "plus_1sigma", "minus_3sigma",
        "plus_3sigma"}}, the errors as distances from the median."""
        minus1, plus1 = self.samples.errors_at_sigma(1.0)
        minus3, plus3 = self.samples.errors_at_sigma(3.0)
        return {name: {"max_log_likelihood": float(ml), "median": float(med), "minus_1sigma": float(m1),
                       "plus_1sigma": float(p1), "minus_3sigma": float(m3), "plus_3sigma": float(p3)}
                for name, ml, med, m1, p1, m3, p3 in zip(self.model.parameter_names, self.max_log_likelihood_vector,
                                                         self.median_pdf_vector, minus1, plus1, minus3, plus3)}

    def summary(self) -> dict:
        from galaxyfit import __version__
        from galaxyfit.search.fit_statistics import component_table, fit_statistics

        statistics = fit_statistics(self)
        dataset = self.analysis.dataset
        return {
            "galaxyfit_version": __version__,
            "dataset": dataset.description() if hasattr(dataset, "description") else None,
            "search": self.search,
            "timing": self.timing,
            "n_free_parameters": self.model.prior_count,
            "log_likelihood": self.log_likelihood,
            "chi_squared": statistics["chi_squared"],
            "reduced_chi_squared": statistics["reduced_chi_squared"],
            "fit_statistics": statistics,
            "log_evidence": self.log_evidence,
            "log_evidence_error": self.log_evidence_error,
            "parameters": self.parameter_summary(),
            "linear_light_profile_intensities": self.linear_light_profile_intensities,
            "total_fluxes": self.total_fluxes(),
            "latent": self.latent,
            "imfit": self.imfit_parameters(),
            "components": component_table(self, getattr(getattr(self.analysis, "latent_config", None), "magnitude_zero_point", None)),
        }

    def __str__(self) -> str:
        lines = [f"{self.search.get('name', 'search')}: max log likelihood {self.log_likelihood:.3f}"]
        if self.log_evidence is not None:
            err = f" +- {self.log_evidence_error:.3f}" if self.log_evidence_error is not None else ""
            kind = " (Laplace approximation at the optimum)" if self.search.get("name") == "lm" else ""
            lines.append(f"log evidence{kind} {self.log_evidence:.3f}{err}")
        lines.append(self.check_text())
        minus, plus = self.samples.errors_at_sigma(1.0)
        lines.append(f"{'parameter':50s} {'max L':>12s} {'median':>12s} {'-1 sigma':>10s} {'+1 sigma':>10s}")
        for name, ml, med, m, p in zip(self.model.parameter_names, self.max_log_likelihood_vector, self.median_pdf_vector, minus, plus):
            lines.append(f"{name:50s} {ml:12.5g} {med:12.5g} {m:10.3g} {p:10.3g}")
        return "\n".join(lines)

    def save(self, folder) -> Path:
        """Write ``model.json``, ``model.info``, ``samples.csv`` with its record ``samples_info.json`` (row count,
        checksum), ``result.json`` (with galaxyfit's version, the noise model and the search's check) and ``fit.png``
        (data, model, residuals) into ``folder`` (each atomically); returns the folder."""
        from galaxyfit.plot import save_fit_figure

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / "model.json", self.model.to_json())
        write_text_atomic(folder / "model.info", self.model.info)
        self.samples.to_csv(folder / "samples.csv")
        write_json_atomic(folder / "result.json", self.summary())
        title = getattr(self.analysis, "title_prefix", None)
        save_fit_figure(self.max_log_likelihood_fit, folder / "fit.png", title=title)
        return folder
