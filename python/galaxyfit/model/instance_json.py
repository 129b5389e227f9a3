"""Model instances (galaxies of profiles at fixed values) as JSON, and back: ``files/galaxies.json`` of a fit.

The encoding names classes as model files do (``galaxyfit.model.model.CLASSES``: "Sersic", "linear.Sersic",
"reg.Constant", "mesh.RectangularUniform", ...) and writes numbers as plain JSON numbers (floats round-trip
exactly through Python's ``repr``), so a fit rebuilt from the file is the fit that was saved.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from galaxyfit.errors import ModelError
from galaxyfit.galaxy import Galaxies, Galaxy
from galaxyfit.model.instance import ModelInstance


def _number(value):
    array = np.asarray(value)
    if array.ndim == 0:
        item = array.item()
        return item if isinstance(item, (bool, int, str)) else float(item)
    return array.tolist()


def _encode(value):
    from galaxyfit.model.model import _NAMES

    if isinstance(value, ModelInstance):
        return {"type": "instance", "attributes": {k: _encode(v) for k, v in value.items()}}
    if isinstance(value, Galaxies):
        return {"type": "galaxies", "list": [_encode(g) for g in value]}
    if isinstance(value, Galaxy):
        return {"type": "galaxy", "redshift": None if value.redshift is None else _number(value.redshift),
                "components": {k: _encode(v) for k, v in value.components.items()}}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = _NAMES.get(type(value))
        if name is None:
            raise ModelError(f"cannot write {type(value).__name__} to JSON: not a class model files know")
        return {"class": name, "fields": {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, (list, tuple)):
        return {"tuple" if isinstance(value, tuple) else "list": [_encode(v) for v in value]}
    if value is None or isinstance(value, (str, bool)):
        return value
    return _number(value)


def _decode(d, where: str):
    from galaxyfit.model.model import CLASSES

    if isinstance(d, dict):
        kind = d.get("type")
        if kind == "instance":
            return ModelInstance(**{k: _decode(v, f"{where}.{k}") for k, v in d["attributes"].items()})
        if kind == "galaxies":
            return Galaxies([_decode(v, f"{where}[{i}]") for i, v in enumerate(d["list"])])
        if kind == "galaxy":
            return Galaxy(None if d["redshift"] is None else float(d["redshift"]), **{k: _decode(v, f"{where}.{k}") for k, v in d["components"].items()})
        if "class" in d:
            cls = CLASSES.get(d["class"])
            if cls is None:
                raise ModelError(f"{where}: unknown class {d['class']!r}")
            try:
                return cls(**{k: _decode(v, f"{where}.{k}") for k, v in d["fields"].items()})
            except (TypeError, ValueError) as exc:
                raise ModelError(f"{where}: cannot make a {d['class']} of {d['fields']} ({exc})") from None
        if "tuple" in d:
            return tuple(_decode(v, f"{where}_{i}") for i, v in enumerate(d["tuple"]))
        if "list" in d:
            return [_decode(v, f"{where}_{i}") for i, v in enumerate(d["list"])]
        raise ModelError(f"{where}: unrecognised entry {d!r}")
    if isinstance(d, list):  # a plain array
        return np.asarray(d, dtype=float)
    return d


def instance_to_dict(instance) -> dict:
    """A JSON-able dict of a model instance, ``Galaxies`` or ``Galaxy``."""
    return _encode(instance)


def instance_from_dict(d: dict):
    """The instance of an ``instance_to_dict`` dict. Raises ModelError naming the entry it cannot rebuild."""
    return _decode(d, "instance")


def instance_to_json(instance) -> str:
    return json.dumps(instance_to_dict(instance), indent=1)


def instance_from_json(text: str):
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"not valid JSON ({exc})") from None
    return instance_from_dict(d)
