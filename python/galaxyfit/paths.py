"""Where a fit's outputs live: ``<output_path>/<path_prefix>/<name>/<identifier>/``.

The identifier is a hash of everything that makes one fit differ from another -- the model (priors renumbered by
first appearance, since prior ids differ between equal models), the search settings, the analysis settings, the
adapt images and the dataset's content as canonical bytes (little-endian float64 data, noise map and PSF, a boolean
mask, shapes and pixel scales, so a big-endian FITS file hashes as its little-endian copy does). Re-running the same
fit therefore resumes it, or returns the finished result, and anything different gets its own folder: PyAutoFit's
identifier leaves the data out, so a second galaxy fitted with the same model silently "resumed" the first
(``../shared/reference/outputs_notes.md``, section 1.2). ``.identifier`` in the folder holds the hashed description
as JSON (arrays by their SHA-256), so two runs can be diffed line by line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from galaxyfit.errors import OutputError

#: Search settings that do not change a fit's samples: how a run is reported or where its helper code runs.
COSMETIC_SEARCH_SETTINGS = ("progress", "compiled_bounds", "pool", "filepath")


def canonical_model(model) -> dict:
    """The model's ``to_dict`` with its priors renumbered by first appearance."""
    d = model.to_dict()
    renumbered, priors = {}, {}

    def walk(node):
        if isinstance(node, dict):
            if "prior" in node and len(node) == 1:
                key = renumbered.setdefault(node["prior"], str(len(renumbered)))
                priors[key] = d["priors"][node["prior"]]
                return {"prior": key}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return {"model": walk(d["model"]), "priors": priors}


def array_digest(array, dtype: str = "<f8") -> str:
    """SHA-256 of an array's shape and content as ``dtype`` (C order): the same numbers hash the same whatever their
    byte order or memory layout."""
    array = np.ascontiguousarray(np.asarray(array).astype(dtype, copy=False))
    digest = hashlib.sha256(repr((array.shape, np.dtype(dtype).str)).encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def dataset_identity(dataset) -> dict:
    """What identifies an imaging dataset: content digests of data, noise map, PSF (float64) and mask (bool), the
    shape, the pixel scales (arcsec), and how the noise map and PSF were made (not the files' names)."""
    identity = {
        "shape": list(dataset.shape),
        "pixel_scales": [float(s) for s in dataset.pixel_scales],
        "data": array_digest(dataset.data),
        "noise_map": array_digest(dataset.noise_map),
        "psf": array_digest(dataset.psf),
        "mask": array_digest(dataset.mask.array, "|b1"),
        "psf_normalized": bool(getattr(dataset, "psf_normalized", True)),
        # how the noise map was made, without the names of the files it came from: the same data read from another
        # folder is the same fit (its content is hashed above)
        "noise_model": {k: v for k, v in (getattr(dataset, "noise_model", None) or {}).items() if not str(k).endswith("file")},
    }
    if getattr(dataset, "psf_oversampled", None) is not None:  # (absent: identifiers of earlier fits unchanged)
        identity["psf_oversampled"] = {
            "psf": array_digest(dataset.psf_oversampled), "oversampling": int(dataset.psf_oversampling),
            "region": None if dataset.psf_oversampled_region is None else [int(v) for v in dataset.psf_oversampled_region]}
    return identity


def _plain(value):
    """JSON-able form of settings values (dataclasses, tuples, numpy scalars)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"class": type(value).__name__, **{f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return array_digest(value)
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def cosmology_identity(cosmology) -> dict:
    """An astropy cosmology as a dict: its class, name and parameters (astropy's ``to_format("mapping")``)."""
    if cosmology is None:
        return {}
    try:
        mapping = cosmology.to_format("mapping")
    except Exception:  # noqa: BLE001 - a non-astropy object: its repr identifies it
        return {"repr": repr(cosmology)}
    out = {}
    for key, value in mapping.items():
        if key == "cosmology":
            value = getattr(value, "__name__", str(value))
        elif hasattr(value, "unit") and hasattr(value, "value"):
            value = {"value": _plain(np.asarray(value.value).tolist()), "unit": str(value.unit)}
        out[key] = _plain(value)
    return out


def adapt_images_identity(adapt_images) -> dict | None:
    if adapt_images is None:
        return None
    images = adapt_images.galaxy_name_image_dict or {}
    grids = adapt_images.galaxy_name_image_plane_mesh_grid_dict or {}
    return {"images": {str(k): array_digest(v) for k, v in images.items()},
            "mesh_grids": {str(k): array_digest(v) for k, v in grids.items()}}


def analysis_identity(analysis) -> dict:
    """The analysis' part of a fit's identity: dataset content, settings, adapt images and cosmology. Which latent
    variables and figures are made is left out: they do not change the samples."""
    dataset = getattr(analysis, "dataset", None)
    return {
        "class": type(getattr(analysis, "analysis", analysis)).__name__,
        "dataset": None if dataset is None else dataset_identity(dataset),
        "settings": _plain(getattr(analysis, "settings", None)),
        "adapt_images": adapt_images_identity(getattr(analysis, "adapt_images", None)),
        "cosmology": cosmology_identity(getattr(analysis, "cosmology", None)),
    }


def fit_identity(model, search_settings: dict, analysis, unique_tag: str | None = None) -> dict:
    """Everything that makes a fit this fit (see the module docstring)."""
    search = {k: _plain(v) for k, v in search_settings.items() if k not in COSMETIC_SEARCH_SETTINGS}
    identity = {"model": canonical_model(model), "search": search, "analysis": analysis_identity(analysis)}
    if unique_tag is not None:
        identity["unique_tag"] = str(unique_tag)
    return identity


def identity_text(identity: dict) -> str:
    return json.dumps(identity, sort_keys=True, indent=1, default=repr)


def identifier_from(identity: dict) -> str:
    """32 hex characters of the SHA-256 of the identity's canonical JSON."""
    return hashlib.sha256(identity_text(identity).encode()).hexdigest()[:32]


def _checked_segment(value, what: str) -> str:
    value = "" if value is None else str(value)
    if value.startswith("/") or ".." in Path(value).parts or "\x00" in value:
        raise OutputError(f"{what} {value!r} must be a relative folder name without '..'")
    return value


class OutputPaths:
    """The folder of one fit and the names of what goes in it (``../shared`` layout notes; ``README.md``).

    ``folder`` = ``output_path / path_prefix / name / identifier``; ``files`` (JSON, CSV), ``image`` (FITS, PNG),
    ``files/search_internal`` (the sampler's checkpoint), ``files/latent``. ``.completed`` is written last, so its
    presence means every other file is complete.
    """

    def __init__(self, output_path, name: str, identifier: str, path_prefix: str = "", identity: dict | None = None):
        self.output_path = Path(output_path)
        self.name = _checked_segment(name, "name")
        if not self.name:
            raise OutputError("a search that writes outputs needs a name (Nautilus(name='...'))")
        self.path_prefix = _checked_segment(path_prefix, "path_prefix")
        self.identifier = identifier
        self.identity = identity

    @classmethod
    def for_fit(cls, output_path, name: str, model, search_settings: dict, analysis, path_prefix: str = "",
                unique_tag: str | None = None) -> "OutputPaths":
        identity = fit_identity(model, search_settings, analysis, unique_tag)
        return cls(output_path, name, identifier_from(identity), path_prefix, identity)

    @property
    def folder(self) -> Path:
        return self.output_path / self.path_prefix / self.name / self.identifier

    @property
    def files(self) -> Path:
        return self.folder / "files"

    @property
    def image(self) -> Path:
        return self.folder / "image"

    @property
    def search_internal(self) -> Path:
        return self.files / "search_internal"

    @property
    def latent(self) -> Path:
        return self.files / "latent"

    @property
    def completed_marker(self) -> Path:
        return self.folder / ".completed"

    @property
    def is_complete(self) -> bool:
        return self.completed_marker.is_file()

    def make_folders(self) -> None:
        """Create the folder tree; OutputError naming the folder when it cannot be created or written."""
        for folder in (self.folder, self.files, self.image):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"cannot create the output folder {folder}: {exc.strerror or exc}") from exc
        if not os.access(self.folder, os.W_OK) or not os.access(self.files, os.W_OK):
            raise OutputError(f"the output folder {self.folder} is not writable")

    def save_identifier(self) -> None:
        from galaxyfit.output import write_text_atomic

        if self.identity is not None:
            write_text_atomic(self.folder / ".identifier", identity_text(self.identity))

    def mark_completed(self) -> None:
        from galaxyfit.output import write_text_atomic

        write_text_atomic(self.completed_marker, "")

    def __repr__(self) -> str:
        return f"OutputPaths({str(self.folder)!r})"
