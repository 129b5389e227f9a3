"""Checkpoints belong to one fit: a fingerprint of the model, the data and the search settings is kept beside each
checkpoint file, and a checkpoint whose fingerprint differs is refused rather than resumed (resuming it would
silently return another fit's samples under this model's parameter names)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from galaxyfit.errors import SearchError
from galaxyfit.output import write_json_atomic

#: Settings that do not change what a checkpoint holds: how a run is reported, where nautilus' bound kernels run (its
#: checkpoints are read and written the same way with galaxyfit's C++ kernels or its own code), and its process pool.
_COSMETIC = ("progress", "compiled_bounds", "pool")


def _canonical_model(model) -> str:
    """The model's JSON with its priors renumbered by first appearance (prior ids differ between equal models)."""
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

    return json.dumps({"model": walk(d["model"]), "priors": priors}, sort_keys=True)


def fingerprint(problem, search_settings: dict) -> str:
    """SHA-256 (hex) of the model (JSON), the dataset arrays, pixel scales, the analysis settings and the search
    settings of a :class:`~galaxyfit.search.problem.FitProblem`."""
    digest = hashlib.sha256()
    digest.update(_canonical_model(problem.model).encode())
    settings = {k: v for k, v in search_settings.items() if k not in _COSMETIC}
    digest.update(json.dumps(settings, sort_keys=True, default=repr).encode())
    analysis = problem.analysis
    digest.update(repr(getattr(analysis, "settings", None)).encode())
    dataset = getattr(analysis, "dataset", None)
    if dataset is not None:
        digest.update(repr(tuple(dataset.pixel_scales)).encode())
        for array in (dataset.data, dataset.noise_map, dataset.psf, dataset.mask.array):
            array = np.ascontiguousarray(array)
            digest.update(repr((array.shape, array.dtype.str)).encode())
            digest.update(array.tobytes())
    return digest.hexdigest()


def _sidecar(filepath) -> Path:
    filepath = Path(filepath)
    return filepath.with_name(filepath.name + ".fingerprint.json")


def record_stop(filepath, message: str) -> None:
    """Note beside the checkpoint that its run stopped with ``message``: resuming it would stop the same way (same
    state, same random numbers), so ``check_checkpoint`` refuses it with that explanation."""
    sidecar = _sidecar(filepath)
    try:
        record = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return
    write_json_atomic(sidecar, {**record, "stopped": message})


def check_checkpoint(filepath, expected: str) -> bool:
    """Record ``expected`` beside a new checkpoint, or verify an existing one; True when an existing checkpoint will
    be resumed. Raises SearchError naming the file when the checkpoint was written for a different fit (or has no
    fingerprint, so its origin is unknown), or when its run stopped on a failure (``record_stop``) that resuming
    would repeat."""
    filepath = Path(filepath)
    if filepath.is_dir():
        raise SearchError(f"checkpoint path {filepath} is a directory, not a nautilus checkpoint file")
    sidecar = _sidecar(filepath)
    if not filepath.exists():
        write_json_atomic(sidecar, {"fingerprint": expected, "checkpoint": filepath.name})
        return False
    recorded, stopped = None, None
    if sidecar.is_file():
        try:
            record = json.loads(sidecar.read_text())
            recorded, stopped = record.get("fingerprint"), record.get("stopped")
        except (OSError, ValueError, AttributeError):
            recorded = None
    if recorded != expected:
        raise SearchError(
            f"checkpoint {filepath} was written by a different fit (model, data or search settings differ, or its "
            f"fingerprint {sidecar.name} is missing); delete it or write to another output folder"
        )
    if stopped:
        raise SearchError(f"checkpoint {filepath} is from a run of this same fit that stopped, and resuming it would stop "
                          f"the same way. It stopped because: {stopped} Changing that makes a new fit: delete the "
                          f"checkpoint (and {sidecar.name}) or write to another output folder.")
    return True
