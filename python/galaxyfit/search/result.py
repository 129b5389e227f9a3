"""``Result``: what a search found -- best fit, posterior summaries, evidence, derived quantities -- and how to save it."""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path

import numpy as np

from galaxyfit.output import write_json_atomic, write_text_atomic
from galaxyfit.profiles import convert
from galaxyfit.profiles.light import LightProfile
from galaxyfit.search.samples import Samples


def light_profiles_of(instance) -> dict[str, LightProfile]:
    """{"galaxies.galaxy.bulge": profile, ...} for every light profile of an instance."""
    out = {}
    galaxies = instance.galaxies
    items = galaxies.items() if hasattr(galaxies, "items") else ((f"galaxy_{i}", g) for i, g in enumerate(galaxies))
    for name, galaxy in items:
        for component, profile in galaxy.components.items():
            if isinstance(profile, LightProfile):
                out[f"galaxies.{name}.{component}"] = profile
    return out


def _redshifts_of(instance) -> dict[str, float]:
    galaxies = instance.galaxies
    items = galaxies.items() if hasattr(galaxies, "items") else ((f"galaxy_{i}", g) for i, g in enumerate(galaxies))
    return {f"galaxies.{name}": float(g.redshift) for name, g in items}


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
        return self.analysis.fit_from(self.max_log_likelihood_instance, n_free_parameters=self.model.prior_count)

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
        """Analytic total flux (data units, summed over an infinite image) of each light profile."""
        instance = instance if instance is not None else self.max_log_likelihood_instance
        return {path: float(p.total_flux(self.analysis.dataset.pixel_scales)) for path, p in light_profiles_of(instance).items()}

    def imfit_parameters(self, instance=None) -> dict[str, dict]:
        """Imfit's names and conventions (1-based pixels, PA from +y, major-axis sizes in pixels) of each Sersic,
        Exponential, Gaussian or Moffat profile (``galaxyfit.profiles.convert``)."""
        instance = instance if instance is not None else self.max_log_likelihood_instance
        shape, scales = self.analysis.dataset.shape, self.analysis.dataset.pixel_scales
        out = {}
        for path, profile in light_profiles_of(instance).items():
            try:
                out[path] = convert.to_imfit(profile, shape, scales)
            except Exception:  # profiles without an Imfit counterpart are skipped
                continue
        return out

    @cached_property
    def latent(self) -> dict[str, dict]:
        """Derived quantities over the posterior (median and 1-sigma bounds from up to 400 weighted draws):
        total flux of each profile and of each galaxy; effective radius in kpc (proper) of each profile with one,
        at its galaxy's redshift under the analysis' cosmology."""
        rng = np.random.default_rng(0)
        n = min(400, len(self.samples.weights))
        idx = rng.choice(len(self.samples.weights), size=n, p=self.samples.weights)
        values: dict[str, list[float]] = {}
        cosmology = self.analysis.cosmology
        kpc_per_arcsec = {}
        for i in idx:
            instance = self.model.instance_from_vector(self.samples.parameters[i])
            redshifts = _redshifts_of(instance)
            for galaxy, z in redshifts.items():
                if galaxy not in kpc_per_arcsec:
                    kpc_per_arcsec[galaxy] = float(cosmology.kpc_proper_per_arcmin(z).value) / 60.0 if z > 0 else math.nan
            totals: dict[str, float] = {}
            for path, profile in light_profiles_of(instance).items():
                flux = float(profile.total_flux(self.analysis.dataset.pixel_scales))
                values.setdefault(f"{path}.total_flux", []).append(flux)
                galaxy = path.rsplit(".", 1)[0]
                totals[galaxy] = totals.get(galaxy, 0.0) + flux
                if hasattr(profile, "effective_radius"):
                    values.setdefault(f"{path}.effective_radius_kpc", []).append(float(profile.effective_radius) * kpc_per_arcsec[galaxy])
            for galaxy, flux in totals.items():
                values.setdefault(f"{galaxy}.total_flux", []).append(flux)
        out = {}
        for name, vals in values.items():
            lo, med, hi = np.percentile(vals, [15.865, 50.0, 84.135])
            out[name] = {"median": float(med), "lower_1sigma": float(lo), "upper_1sigma": float(hi)}
        return out

    # ---- summaries and output --------------------------------------------------------------------------------------------

    def summary(self) -> dict:
        names = self.model.parameter_names
        minus1, plus1 = self.samples.errors_at_sigma(1.0)
        minus3, plus3 = self.samples.errors_at_sigma(3.0)
        fit = self.max_log_likelihood_fit
        from galaxyfit import __version__

        dataset = self.analysis.dataset
        return {
            "galaxyfit_version": __version__,
            "dataset": dataset.description() if hasattr(dataset, "description") else None,
            "search": self.search,
            "timing": self.timing,
            "n_free_parameters": self.model.prior_count,
            "log_likelihood": self.log_likelihood,
            "chi_squared": float(fit.chi_squared),
            "reduced_chi_squared": float(fit.reduced_chi_squared_dof),
            "log_evidence": self.log_evidence,
            "log_evidence_error": self.log_evidence_error,
            "parameters": {
                name: {
                    "max_log_likelihood": float(ml),
                    "median": float(med),
                    "minus_1sigma": float(m1),
                    "plus_1sigma": float(p1),
                    "minus_3sigma": float(m3),
                    "plus_3sigma": float(p3),
                }
                for name, ml, med, m1, p1, m3, p3 in zip(names, self.max_log_likelihood_vector, self.median_pdf_vector, minus1, plus1, minus3, plus3)
            },
            "total_fluxes": self.total_fluxes(),
            "latent": self.latent,
            "imfit": self.imfit_parameters(),
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
