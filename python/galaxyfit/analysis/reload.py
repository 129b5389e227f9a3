"""Reading a fit back from its output folder (``galaxyfit.paths``): the dataset, the analysis, the best-fit
``FitImaging`` and the ``Result``, years later and without the script that made them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from galaxyfit import _precision as precision
from galaxyfit.errors import OutputError, SearchError


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise OutputError(f"{path}: missing (the fit's folder is incomplete)") from None
    except (OSError, ValueError) as exc:
        raise OutputError(f"{path}: cannot be read ({exc})") from None


def analysis_from_folder(folder):
    """An ``AnalysisImaging`` of the dataset (``image/dataset.fits``), settings (``files/settings.json``), cosmology
    (``files/cosmology.json``, an astropy cosmology by name when it is one of astropy's) and latent variables
    (``files/latent/config.json``) a fit saved.
    Raises OutputError naming a missing or damaged file."""
    from galaxyfit.analysis.analysis_imaging import AnalysisImaging
    from galaxyfit.analysis.outputs import read_dataset_fits, settings_from_dict

    folder = Path(folder)
    dataset = read_dataset_fits(folder / "image" / "dataset.fits")
    try:
        settings = settings_from_dict(_read_json(folder / "files" / "settings.json"))
    except (TypeError, ValueError) as exc:
        raise OutputError(f"{folder / 'files' / 'settings.json'}: not galaxyfit settings ({exc})") from None
    cosmology = None
    cosmology_path = folder / "files" / "cosmology.json"
    if cosmology_path.is_file():
        name = _read_json(cosmology_path).get("name")
        try:
            from astropy import cosmology as astropy_cosmology

            cosmology = getattr(astropy_cosmology, str(name))
        except AttributeError:
            cosmology = None  # a custom cosmology: the analysis' default stands in, and sizes in kpc may differ
    latent_config = None
    latent_path = folder / "files" / "latent" / "config.json"
    if latent_path.is_file():
        from galaxyfit.latent import LatentConfig

        try:
            latent_config = LatentConfig(**_read_json(latent_path))
        except (TypeError, ValueError) as exc:
            raise OutputError(f"{latent_path}: not a galaxyfit LatentConfig ({exc})") from None
    return AnalysisImaging(dataset, cosmology=cosmology, settings=settings, latent_config=latent_config)


def fit_imaging_from_folder(folder, analysis=None):
    """The best-fit ``FitImaging`` of a saved fit: its galaxies (``files/galaxies.json``, linear profiles at their
    solved intensities) fitted to its dataset under its settings. Raises OutputError naming a missing or damaged
    file."""
    from galaxyfit.analysis.analysis_imaging import galaxy_names_from
    from galaxyfit.errors import ModelError
    from galaxyfit.fit.fit_imaging import FitImaging
    from galaxyfit.model.instance_json import instance_from_dict

    folder = Path(folder)
    analysis = analysis if analysis is not None else analysis_from_folder(folder)
    path = folder / "files" / "galaxies.json"
    try:
        galaxies = instance_from_dict(_read_json(path))
    except ModelError as exc:
        raise OutputError(f"{path}: {exc}") from None
    from galaxyfit.analysis.analysis_imaging import galaxies_from

    return FitImaging(analysis.dataset, galaxies_from(galaxies), None, plan=analysis.plan,
                      galaxy_names=galaxy_names_from(galaxies))


def result_from_folder(folder, analysis=None, model=None):
    """The ``Result`` of a completed fit: model (``files/model.json`` unless given), samples (``files/samples.csv``,
    checked against its record), the search's settings and timing (``files/result.json``) and the analysis
    (rebuilt from the folder unless given). Raises OutputError naming what is missing or damaged."""
    from galaxyfit.model.model import Model
    from galaxyfit.search.samples import Samples, SamplesFileError

    folder = Path(folder)
    if model is None:
        try:
            model = Model.from_json((folder / "files" / "model.json").read_text())
        except OSError as exc:
            raise OutputError(f"{folder / 'files' / 'model.json'}: cannot be read ({exc})") from None
    analysis = analysis if analysis is not None else analysis_from_folder(folder)
    try:
        samples = Samples.from_csv(folder / "files" / "samples.csv")
    except SamplesFileError as exc:
        raise OutputError(str(exc)) from None
    if list(samples.parameter_names) != list(model.parameter_names):
        raise OutputError(f"{folder / 'files' / 'samples.csv'}: its columns are not this model's parameters")
    summary = _read_json(folder / "files" / "result.json")
    covariance = None
    search = dict(summary.get("search") or {})
    if search.get("name") == "lm" and (folder / "files" / "covariance.csv").is_file():
        covariance = np.loadtxt(folder / "files" / "covariance.csv", delimiter=",", skiprows=1, ndmin=2)
    return analysis.make_result(samples, model, search, timing=summary.get("timing") or {}, covariance=covariance)


def verify_stored_best_fit(analysis, model, vector, stored_log_likelihood: float, where) -> float:
    """Evaluate ``vector`` again and raise SearchError unless it gives ``stored_log_likelihood`` (to 1e-6 relative):
    a different value means the data, the settings or galaxyfit's likelihood changed under the same identifier, and
    the stored samples are not this fit's. Returns the value found."""
    value = float(precision.jit(lambda v: analysis.log_likelihood_function(model.instance_from_vector(v)))(np.asarray(vector)))
    if not np.isclose(value, stored_log_likelihood, rtol=1e-6, atol=1e-6):
        raise SearchError(f"{where}: its stored best fit now gives ln L = {value!r}, not the {stored_log_likelihood!r} "
                          "stored: the likelihood changed (another galaxyfit version?) under the same identifier, so the "
                          "stored samples cannot be resumed or reused; delete the folder or give the search another name")
    return value
