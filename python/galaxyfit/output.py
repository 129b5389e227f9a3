"""Writing results: every file is written to a temporary name in its folder and renamed into place, so an
interrupted run never leaves a truncated file where a complete one stood."""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_destination(path, suffix: str = ".tmp"):
    """Yield a temporary file name beside ``path`` to write to; on success it is renamed onto ``path`` (with the
    permissions of any other new file: mkstemp makes it owner-only), on failure it is removed."""
    from galaxyfit.errors import OutputError

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc} (is {path.parent} writable?)") from exc
    os.close(fd)
    try:
        try:
            yield tmp
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        except OutputError:
            raise
        except OSError as exc:  # a full disk, a quota: the file that stood at ``path`` (if any) is untouched
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}; the previous {path.name}, if any, is "
                              "unchanged") from exc
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text_atomic(path, text: str) -> None:
    with atomic_destination(path) as tmp, open(tmp, "w") as f:
        f.write(text)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.floating, np.integer)):
        return _jsonable(value.item())
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None  # strict JSON has no NaN or Infinity (jq and most parsers reject them)
    return value


def write_json_atomic(path, data) -> None:
    write_text_atomic(path, json.dumps(_jsonable(data), indent=1, allow_nan=False))


def write_figure_atomic(figure, path, **kwargs) -> None:
    with atomic_destination(path, suffix=Path(path).suffix) as tmp:  # matplotlib picks the format by the suffix
        figure.savefig(tmp, **kwargs)
