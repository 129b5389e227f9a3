"""Checkpoints belong to one fit: a fingerprint of the model, the data and the search settings is kept beside each
checkpoint file, and a checkpoint whose fingerprint differs is refused rather than resumed (resuming it would
silently return another fit's samples under this model's parameter names)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from galaxyfit.errors import SearchError
from galaxyfit.output import write_json_atomic


def fingerprint(problem, search_settings: dict) -> str:
    """SHA-256 (hex) of the fit's identity (``galaxyfit.paths.fit_identity``: model, search settings, analysis
    settings, adapt images and the dataset's content) of a :class:`~galaxyfit.search.problem.FitProblem`."""
    from galaxyfit.paths import fit_identity, identity_text

    identity = fit_identity(problem.model, search_settings, problem.analysis)
    return hashlib.sha256(identity_text(identity).encode()).hexdigest()


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
