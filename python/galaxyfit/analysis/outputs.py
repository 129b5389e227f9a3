"""What an imaging analysis writes into a fit's output folder (``galaxyfit.paths.OutputPaths``), before and after
its search. The layout follows PyAutoFit's (``../shared/reference/outputs_notes.md``, section 1.1) with the
identifier hashing the data too; every file is written atomically, and ``.completed`` last (by the search)."""

from __future__ import annotations

import dataclasses
import json
import time
import warnings

import numpy as np

from galaxyfit.output import write_json_atomic, write_text_atomic
from galaxyfit.search.fit_statistics import component_table, component_text, fit_statistics, statistics_text


def metadata(paths, search_kind: str, dataset_name: str | None = None) -> dict:
    from galaxyfit import __version__

    return {"identifier": paths.identifier, "name": paths.name, "path_prefix": paths.path_prefix, "search": search_kind,
            "dataset_name": dataset_name, "galaxyfit_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def settings_dict(settings) -> dict:
    return dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else {"repr": repr(settings)}


def settings_from_dict(d: dict):
    """The ``Settings`` of ``settings_dict`` (over-sampling included)."""
    from galaxyfit.integration import OverSampling
    from galaxyfit.settings import Settings

    d = dict(d)
    over = d.pop("over_sampling", None)
    if isinstance(over, dict):
        over = OverSampling(**{k: (tuple(tuple(x) for x in v) if k == "patch_rings" else v) for k, v in over.items()})
        d["over_sampling"] = over
    return Settings(**d)


def write_dataset_fits(dataset, path) -> None:
    """``dataset.fits``: the mask in the primary HDU (uint8, 1 = masked) with the pixel scales (arcsec) in its header
    (PIXSCALY, PIXSCALX), then DATA, NOISE_MAP and PSF image HDUs (float64); PSFNORM says whether the PSF was
    normalised when the dataset was made (it is stored as used). An oversampled PSF is a PSF_OVERSAMPLED HDU with
    OVERSAMP (the factor) and, for a region, REGY0, REGY1, REGX0, REGX1 (0-based, half-open)."""
    from astropy.io import fits

    from galaxyfit.dataset.fits_io import write_fits_atomic

    header = fits.Header()
    header["PIXSCALY"] = (float(dataset.pixel_scales[0]), "arcsec per pixel (y)")
    header["PIXSCALX"] = (float(dataset.pixel_scales[1]), "arcsec per pixel (x)")
    header["PSFNORM"] = (bool(getattr(dataset, "psf_normalized", True)), "PSF normalised to unit sum")
    header["EXTNAME"] = "MASK"
    hdus = [fits.PrimaryHDU(dataset.mask.array.astype(np.uint8), header=header)]
    for name, array in (("DATA", dataset.data), ("NOISE_MAP", dataset.noise_map), ("PSF", dataset.psf)):
        hdus.append(fits.ImageHDU(np.asarray(array, dtype=np.float64), name=name))
    if getattr(dataset, "psf_oversampled", None) is not None:
        fine = fits.ImageHDU(np.asarray(dataset.psf_oversampled, dtype=np.float64), name="PSF_OVERSAMPLED")
        fine.header["OVERSAMP"] = (int(dataset.psf_oversampling), "PSF pixels per data pixel along each axis")
        if dataset.psf_oversampled_region is not None:
            for key, value in zip(("REGY0", "REGY1", "REGX0", "REGX1"), dataset.psf_oversampled_region):
                fine.header[key] = (int(value), "oversampled region, 0-based half-open rows/columns")
        hdus.append(fine)
    write_fits_atomic(path, hdus)


def read_dataset_fits(path):
    """The ``Imaging`` of a ``dataset.fits`` written by ``write_dataset_fits``. Raises OutputError naming the file."""
    from astropy.io import fits

    from galaxyfit.dataset.imaging import Imaging
    from galaxyfit.errors import OutputError

    try:
        with fits.open(path) as hdul:
            header = hdul[0].header
            mask = np.asarray(hdul[0].data, dtype=bool)
            data, noise, psf = (np.asarray(hdul[name].data, dtype=np.float64) for name in ("DATA", "NOISE_MAP", "PSF"))
            scales = (float(header["PIXSCALY"]), float(header["PIXSCALX"]))
            normalized = bool(header.get("PSFNORM", True))
            oversampled = {}
            if "PSF_OVERSAMPLED" in hdul:
                fine = hdul["PSF_OVERSAMPLED"]
                region = None
                if "REGY0" in fine.header:
                    region = tuple(int(fine.header[k]) for k in ("REGY0", "REGY1", "REGX0", "REGX1"))
                oversampled = dict(psf_oversampled=np.asarray(fine.data, dtype=np.float64),
                                   psf_oversampling=int(fine.header["OVERSAMP"]), psf_oversampled_region=region)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise OutputError(f"{path}: not a readable galaxyfit dataset.fits ({exc})") from exc
    dataset = Imaging(data, noise, psf, scales, mask, normalize_psf=False, **oversampled)
    dataset.psf_normalized = normalized
    return dataset


def write_fit_fits(fit, path, galaxy_names=None) -> None:
    """``fit.fits``: HDUs MODEL_IMAGE (PSF-convolved model), RESIDUAL_MAP, NORMALIZED_RESIDUAL_MAP, CHI_SQUARED_MAP
    (0 at masked pixels) and MODEL_<galaxy> for each galaxy (its PSF-convolved model, linear profiles at their solved
    intensities), GALFIT's data / model / residual convention extended."""
    from astropy.io import fits

    from galaxyfit.dataset.fits_io import write_fits_atomic

    hdus = [fits.PrimaryHDU()]
    for name, array in (("MODEL_IMAGE", fit.blurred_image), ("RESIDUAL_MAP", fit.residual_map),
                        ("NORMALIZED_RESIDUAL_MAP", fit.normalized_residual_map), ("CHI_SQUARED_MAP", fit.chi_squared_map)):
        hdus.append(fits.ImageHDU(np.asarray(array, dtype=np.float64), name=name))
    images = list(fit.galaxy_model_image_dict.values())
    names = galaxy_names or [str(i) for i in range(len(images))]
    for name, image in zip(names, images):
        hdus.append(fits.ImageHDU(np.asarray(image, dtype=np.float64), name=f"MODEL_{name}"[:68]))
    write_fits_atomic(path, hdus)


def save_search_attributes(paths, model, search_settings: dict, dataset_name: str | None = None) -> None:
    """``.identifier``, ``metadata.json``, ``model.info``, ``files/model.json`` and ``files/search.json``."""
    paths.save_identifier()
    write_json_atomic(paths.folder / "metadata.json", metadata(paths, search_settings.get("name", "search"), dataset_name))
    write_text_atomic(paths.folder / "model.info", model.info)
    write_text_atomic(paths.files / "model.json", model.to_json())
    write_json_atomic(paths.files / "search.json", search_settings)


def save_attributes(analysis, paths) -> None:
    """``files/settings.json``, ``files/cosmology.json``, ``image/dataset.fits`` (written once: the identifier hashes
    its content) and ``image/dataset.png``."""
    from galaxyfit.paths import cosmology_identity

    write_json_atomic(paths.files / "settings.json", settings_dict(analysis.settings))
    write_json_atomic(paths.files / "cosmology.json", cosmology_identity(analysis.cosmology))
    if not (paths.image / "dataset.fits").is_file():
        write_dataset_fits(analysis.dataset, paths.image / "dataset.fits")
    from galaxyfit.analysis.visualizer import VisualizerImaging

    VisualizerImaging.visualize_before_fit(analysis, paths)


def samples_summary(result) -> dict:
    """``files/samples_summary.json``: best fit, medians, 1- and 3-sigma errors, evidence, chi^2."""
    fit = result.max_log_likelihood_fit
    return {
        "parameter_names": list(result.model.parameter_names),
        "log_evidence": result.log_evidence,
        "log_evidence_error": result.log_evidence_error,
        "max_log_likelihood": result.log_likelihood,
        "max_log_likelihood_vector": [float(v) for v in result.max_log_likelihood_vector],
        "median_pdf_vector": [float(v) for v in result.median_pdf_vector],
        "parameters": result.parameter_summary(),
        "chi_squared": float(fit.chi_squared),
        "n_free_parameters": int(result.model.prior_count),
        "pixels_in_mask": int(fit.pixels_in_mask),
        "fit_statistics": fit_statistics(result),
        "trusted": result.trusted,
    }


def posterior_covariance(result) -> np.ndarray:
    """(n_free, n_free): the search's own covariance when it has one (Levenberg-Marquardt's), else the weighted
    sample covariance."""
    if result.covariance is not None:
        return np.atleast_2d(np.asarray(result.covariance, dtype=np.float64))
    samples = result.samples
    if len(samples.weights) < 2:
        return np.full((samples.parameters.shape[1],) * 2, np.nan)
    return np.atleast_2d(np.cov(samples.parameters.T, aweights=samples.weights))


def write_covariance_csv(path, names, covariance) -> None:
    rows = [",".join(names)] + [",".join(repr(float(v)) for v in row) for row in covariance]
    write_text_atomic(path, "\n".join(rows) + "\n")


def model_results_text(result) -> str:
    """``model.results``: the best fit and the posterior (median, 1- and 3-sigma bounds) per parameter, readable."""
    lines = [f"Maximum Log Likelihood {result.log_likelihood:.6f}"]
    if result.log_evidence is not None:
        lines.append(f"Log Evidence {result.log_evidence:.6f}"
                     + (f" +- {result.log_evidence_error:.6f}" if result.log_evidence_error is not None else ""))
    lines.append(statistics_text(fit_statistics(result)))
    lines.append(result.check_text())
    lines += ["", "Maximum Log Likelihood Model:", ""]
    width = max((len(n) for n in result.model.parameter_names), default=10) + 2
    for name, value in zip(result.model.parameter_names, result.max_log_likelihood_vector):
        lines.append(f"{name:{width}s}{value:.6g}")
    for sigma in (3.0, 1.0):
        lower, upper = result.samples.values_at_sigma(sigma)
        lines += ["", f"Summary (median, {sigma:g} sigma limits):", ""]
        for name, med, lo, hi in zip(result.model.parameter_names, result.median_pdf_vector, lower, upper):
            lines.append(f"{name:{width}s}{med:.6g} ({lo:.6g}, {hi:.6g})")
    intensities = result.linear_light_profile_intensities
    if intensities:
        lines += ["", "Linear light profile intensities (solved at the best fit, 1 sigma of the linear solve):", ""]
        for path, v in intensities.items():
            lines.append(f"{path:{width}s}{v['intensity']:.6g} +- {v['error']:.3g}")
    zero_point = getattr(getattr(result.analysis, "latent_config", None), "magnitude_zero_point", None)
    lines += ["", "Components (best fit) in PyAutoGalaxy's, Imfit's and GALFIT's conventions:", "",
              component_text(component_table(result, zero_point))]
    return "\n".join(lines) + "\n"


def search_summary_text(result) -> str:
    """``search.summary``: what the search did and what it cost."""
    timing = result.timing
    lines = [f"Search: {result.search.get('name', 'search')}",
             f"Total likelihood calls: {timing.get('likelihood_calls', 'unknown')}",
             f"Time: {timing.get('total_s', float('nan')):.2f} s in all, compile {timing.get('compile_s', float('nan')):.2f} s, "
             f"sampling {timing.get('run_s', float('nan')):.2f} s, in likelihoods {timing.get('likelihood_s', float('nan')):.2f} s"]
    calls = timing.get("likelihood_calls")
    if calls:
        lines.append(f"Time per likelihood: {1e3 * timing.get('likelihood_s', 0.0) / calls:.4f} ms")
    if timing.get("rejected"):
        lines.append("Rejected likelihoods: " + ", ".join(f"{k}: {v}" for k, v in timing["rejected"].items()))
    if result.log_evidence is not None:
        lines.append(f"Log evidence: {result.log_evidence:.6f}")
    if "resumed" in result.search:
        lines.append(f"Resumed from a {result.search['resumed']}: the calls and times above are this run's only")
    settings = {k: v for k, v in result.search.items() if k not in ("check", "name")}
    lines.append("Settings: " + json.dumps(settings, default=repr))
    return "\n".join(lines) + "\n"


def latent_config_path(paths):
    return paths.latent / "config.json"


def save_latents(analysis, paths, result) -> None:
    """``files/latent/`` (samples, summary, and the ``LatentConfig`` that made them) and ``latent.results`` of
    ``result.latent_samples``; nothing when no latent is enabled. A failure is a warning (``Result.latent_samples``):
    derived quantities must never lose the fit."""
    latent = result.latent_samples  # computed once, shared with result.json's "latent"
    if latent is None:
        return  # none enabled, or they failed (warned)
    from galaxyfit.latent import write_latent_files

    write_latent_files(paths.folder, latent, result.latent)  # files/latent/ and latent.results
    write_json_atomic(latent_config_path(paths), analysis.latent_config.to_dict())


def refresh_latents(analysis, paths, result) -> bool:
    """For a completed fit run again: when the analysis asks for other latent variables than those stored (another
    zero point, other kinds -- they are not part of the identifier, since the samples do not depend on them),
    compute and write them again. Returns whether it did; a folder that cannot be written is a warning."""
    from galaxyfit.errors import OutputError

    stored = None
    if latent_config_path(paths).is_file():
        try:
            stored = json.loads(latent_config_path(paths).read_text())
        except (OSError, ValueError):
            stored = None
    if stored == json.loads(json.dumps(analysis.latent_config.to_dict())):
        return False
    try:
        save_latents(analysis, paths, result)
    except OutputError as exc:
        warnings.warn(f"the latent variables asked for differ from those stored, but {exc}", stacklevel=3)
        return False
    return True


def save_results(analysis, paths, result) -> None:
    """Everything after a search: ``files/`` samples (CSV and summary), covariance, galaxies at the best fit with
    linear profiles solved, ``result.json``; latent variables (``files/latent/``, ``latent.results``);
    ``model.results``, ``search.summary``; ``image/fit.fits`` and the figures. A latent or figure that fails is a
    warning and never loses the rest."""
    from galaxyfit.model.instance_json import instance_to_dict

    result.samples.to_csv(paths.files / "samples.csv")
    write_json_atomic(paths.files / "samples_summary.json", samples_summary(result))
    write_covariance_csv(paths.files / "covariance.csv", result.model.parameter_names, posterior_covariance(result))
    write_json_atomic(paths.files / "galaxies.json", instance_to_dict(result.max_log_likelihood_instance_solved.galaxies))
    save_latents(analysis, paths, result)
    write_json_atomic(paths.files / "result.json", result.summary())
    write_text_atomic(paths.folder / "model.results", model_results_text(result))
    write_text_atomic(paths.folder / "search.summary", search_summary_text(result))
    fit = result.max_log_likelihood_fit
    names = getattr(fit, "galaxy_names", None)
    write_fit_fits(fit, paths.image / "fit.fits", names)
    if analysis.visualize:
        try:
            from galaxyfit.plot import save_fit_figures

            save_fit_figures(fit, paths.image, samples=result.samples, galaxy_names=names, title_prefix=analysis.title_prefix)
        except Exception as exc:  # noqa: BLE001
            warnings.warn(f"the fit's figures were not drawn: {type(exc).__name__}: {exc}", stacklevel=2)
