"""Model composition: ``Model`` (a class whose parameters carry priors) and ``Collection`` (named sub-models).

    bulge = Model(Sersic)                      # every parameter free, with PyAutoGalaxy's default priors
    disk = Model(Exponential)
    disk.centre = bulge.centre                 # linked: one pair of parameters
    bulge.sersic_index = UniformPrior(1.0, 6.0)
    disk.effective_radius = 1.2                # fixed
    model = Collection(galaxies=Collection(galaxy=Model(Galaxy, redshift=0.5, bulge=bulge, disk=disk)))

The free parameters are the distinct prior objects, ordered by first appearance in a depth-first walk of the
attributes (in the order they were given); ``model.paths`` names them. ``instance_from_vector`` builds the instance
(profiles, galaxies, ``ModelInstance`` collections) from a parameter vector and is JAX-traceable, so the likelihood
of a vector is one compiled, vmappable function.
"""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np

from galaxyfit.errors import ModelError
from galaxyfit.galaxy import DatasetModel, Galaxy
from galaxyfit.model.defaults import default_prior
from galaxyfit.model.instance import ModelInstance
from galaxyfit.model.priors import Prior, prior_from_dict
from galaxyfit.numbers import real_vector
from galaxyfit.profiles import light, operated

#: Classes a model may be made of, by the name used in model files.
CLASSES = {**light.PROFILES, **operated.PROFILES, "Galaxy": Galaxy, "DatasetModel": DatasetModel}
_NAMES = {cls: name for name, cls in CLASSES.items()}


def class_name(cls) -> str:
    try:
        return _NAMES[cls]
    except KeyError:
        raise ModelError(f"{cls!r} cannot be part of a model (known: {', '.join(CLASSES)})") from None


def _as_component(value):
    """Normalise what may be assigned to an attribute."""
    if isinstance(value, (Prior, Model, Collection)):
        return value
    if isinstance(value, type):
        return Model(value)
    if isinstance(value, tuple):
        return tuple(_as_component(v) for v in value)
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu":
        return float(value)  # e.g. a 0-d (possibly big-endian) value sliced from a FITS table
    if dataclasses.is_dataclass(value) or isinstance(value, Galaxy):
        return value  # a fixed profile, galaxy or dataset model
    raise ModelError(f"cannot use {value!r} ({type(value).__name__}) as a model attribute")


class _Node:
    """Shared machinery of Model and Collection: attributes, walking, building."""

    def __init__(self):
        object.__setattr__(self, "_attributes", {})

    def __getattr__(self, name):
        attributes = self.__dict__.get("_attributes", {})
        if name in attributes:
            return attributes[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r} (it has {', '.join(attributes) or 'none'})")

    def __setattr__(self, name, value):
        self._check_attribute(name, value)
        self._attributes[name] = _as_component(value)

    def _check_attribute(self, name, value):  # overridden by Model
        pass

    # ---- walking ------------------------------------------------------------------------------------------------------

    def _walk(self, prefix=()):
        """Yield (path, prior) for every occurrence of a prior below this node."""
        for name, value in self._attributes.items():
            yield from _walk_value(value, prefix + (name,))

    def _first_occurrences(self) -> list[tuple[tuple[str, ...], Prior]]:
        """(path, prior) of each distinct prior at its first appearance (linked parameters count once)."""
        seen, found = set(), []
        for path, prior in self._walk():
            if id(prior) not in seen:
                seen.add(id(prior))
                found.append((path, prior))
        return found

    @property
    def priors(self) -> list[Prior]:
        """The distinct priors (free parameters) in order of first appearance."""
        return [prior for _, prior in self._first_occurrences()]

    @property
    def paths(self) -> list[tuple[str, ...]]:
        """Path (attribute names) of each free parameter, at its first appearance."""
        return [path for path, _ in self._first_occurrences()]

    @property
    def parameter_names(self) -> list[str]:
        return [".".join(p) for p in self.paths]

    @property
    def prior_count(self) -> int:
        return len(self.priors)

    @property
    def parameter_limits(self) -> list[tuple[float, float]]:
        return [p.limits for p in self.priors]

    def interior_limits(self, fraction: float) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) arrays of the priors' limits moved inwards by ``fraction`` of each finite width (by
        ``fraction`` itself where a limit is infinite): bounds that keep a point strictly inside every prior, e.g.
        off a radius prior's 0."""
        limits = np.array(self.parameter_limits, dtype=float).reshape(-1, 2)
        lower, upper = limits[:, 0], limits[:, 1]
        margin = fraction * np.where(np.isfinite(upper - lower), upper - lower, 1.0)
        return lower + margin, upper - margin

    # ---- vectors <-> instances -------------------------------------------------------------------------------------------

    def instance_from_vector(self, vector):
        """The instance for a parameter vector (length ``prior_count``; numpy or JAX, traceable)."""
        n = self.prior_count
        vector = real_vector(vector)
        if np.shape(vector)[-1:] != (n,):
            raise ModelError(f"vector must have {n} entries (the model's free parameters), got shape {np.shape(vector)}")
        values = {id(p): vector[i] for i, p in enumerate(self.priors)}
        return self._build(values)

    def vector_from_unit_cube(self, unit):
        """Physical parameters for a point of the unit hypercube (each prior's inverse CDF); traceable."""
        unit = real_vector(unit, "unit")
        values = [p.value_for(unit[i]) for i, p in enumerate(self.priors)]
        return jnp.stack(values) if isinstance(unit, jax.Array) else np.array(values, dtype=np.float64)

    def instance_from_unit_vector(self, unit):
        return self.instance_from_vector(self.vector_from_unit_cube(unit))

    def log_prior(self, vector):
        """Sum of the priors' log densities at ``vector`` (-inf outside bounded priors); traceable."""
        vector = real_vector(vector)
        return sum(p.log_prior(vector[i]) for i, p in enumerate(self.priors))

    @property
    def prior_medians(self) -> np.ndarray:
        return np.array([p.median for p in self.priors])

    def instance_from_prior_medians(self):
        return self.instance_from_vector(self.prior_medians)

    def vector_from_instance(self, instance) -> np.ndarray:
        """The free parameters' values in an instance built like this model (e.g. to start a search there)."""
        out = []
        for path in self.paths:
            value = instance
            for name in path:
                try:
                    value = getattr(value, name)
                except AttributeError:
                    # tuple components are named like "centre_0"
                    base, _, index = name.rpartition("_")
                    value = getattr(value, base)[int(index)]
            out.append(float(value))
        return np.array(out)

    # ---- description and serialisation ------------------------------------------------------------------------------

    @property
    def info(self) -> str:
        """One line per parameter: path, prior or fixed value, and links."""
        lines, first = [], {}
        for path, value in _walk_all(self):
            name = ".".join(path)
            if isinstance(value, Prior):
                if id(value) in first:
                    lines.append(f"{name:60s} -> {first[id(value)]}")
                else:
                    first[id(value)] = name
                    lines.append(f"{name:60s} {value!r}")
            else:
                lines.append(f"{name:60s} {value!r} (fixed)")
        return f"Total free parameters = {self.prior_count}\n\n" + "\n".join(lines)

    def to_dict(self) -> dict:
        priors = {}
        tree = _encode(self, priors)
        return {"model": tree, "priors": priors}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @staticmethod
    def from_dict(d: dict):
        priors = {key: prior_from_dict(value) for key, value in d["priors"].items()}
        return _decode(d["model"], priors)

    @staticmethod
    def from_json(text: str):
        return _Node.from_dict(json.loads(text))


def _walk_value(value, path):
    if isinstance(value, Prior):
        yield path, value
    elif isinstance(value, _Node):
        yield from value._walk(path)
    elif isinstance(value, tuple):
        for i, v in enumerate(value):
            yield from _walk_value(v, path[:-1] + (f"{path[-1]}_{i}",))


def _walk_all(node, prefix=()):
    """(path, leaf) for every prior or fixed number below a node, for ``info``."""
    for name, value in node._attributes.items():
        path = prefix + (name,)
        if isinstance(value, _Node):
            yield from _walk_all(value, path)
        elif isinstance(value, tuple):
            for i, v in enumerate(value):
                yield path[:-1] + (f"{name}_{i}",), v
        else:
            yield path, value


def _resolve(value, values):
    if isinstance(value, Prior):
        return values[id(value)]
    if isinstance(value, _Node):
        return value._build(values)
    if isinstance(value, tuple):
        return tuple(_resolve(v, values) for v in value)
    return value


def fixed_value_problem(cls, name: str, value) -> str | None:
    """Why ``value`` cannot be given to ``cls``'s parameter ``name`` (None if it can): a pair (centre, ell_comps)
    needs two entries, and a fixed size or index must be positive. Caught when the model is built, not as an index
    error or a -1e99 likelihood at every point of the search."""
    default = getattr(cls, name, None)
    if isinstance(default, tuple) and isinstance(value, (tuple, list)) and len(value) != len(default):
        return f"needs {len(default)} entries, got {len(value)}"
    fixed = isinstance(value, (int, float)) and not isinstance(value, bool)
    if fixed and name in getattr(cls, "positive_parameters", ()) and not value > 0:
        return f"must be positive, got {value:g}"
    return None


class Model(_Node):
    """A class (light profile, ``Galaxy``, ``DatasetModel``) whose constructor arguments are priors or values.

    Light profiles and ``DatasetModel``: every field starts with its default prior (``galaxyfit.model.defaults``) or,
    where PyAutoGalaxy fixes it, its default value. ``Galaxy``: ``redshift`` (fixed unless given a prior) and any
    number of named components (classes, models or fixed profiles). Keyword arguments override: a number fixes, a
    prior frees, a tuple does either per component. Raises ModelError for unknown parameters.
    """

    def __init__(self, cls, **kwargs):
        super().__init__()
        object.__setattr__(self, "cls", cls)
        name = class_name(cls)
        if cls is Galaxy:
            redshift = kwargs.pop("redshift", 0.5)
            self._attributes["redshift"] = _as_component(redshift)
            for key, value in kwargs.items():
                self._attributes[key] = _as_component(value)
            return
        for field in dataclasses.fields(cls):
            if field.name in kwargs:
                continue
            default = field.default
            if isinstance(default, tuple):
                self._attributes[field.name] = tuple(default_prior(name, field.name) or d for d in default)
            else:
                prior = default_prior(name, field.name)
                self._attributes[field.name] = prior if prior is not None else float(default)
        for key, value in kwargs.items():
            self._check_attribute(key, value)
            self._attributes[key] = _as_component(value)
        # keep the class's field order whatever the keyword order
        order = [f.name for f in dataclasses.fields(cls)]
        object.__setattr__(self, "_attributes", {k: self._attributes[k] for k in order})

    def _check_attribute(self, name, value):
        if self.cls is Galaxy:
            return
        names = [f.name for f in dataclasses.fields(self.cls)]
        if name not in names:
            raise ModelError(f"{self.cls.__name__} has no parameter {name!r} (it has {', '.join(names)})")
        problem = fixed_value_problem(self.cls, name, value)
        if problem is not None:
            raise ModelError(f"{self.cls.__name__}.{name}: {problem}")

    def _build(self, values):
        resolved = {k: _resolve(v, values) for k, v in self._attributes.items()}
        if self.cls is Galaxy:
            redshift = resolved.pop("redshift")
            return Galaxy(redshift, **resolved)
        return self.cls(**resolved)

    def __repr__(self) -> str:
        return f"Model({self.cls.__name__}, {self.prior_count} free parameters)"


class Collection(_Node):
    """Named sub-models (or fixed objects); builds a ``ModelInstance``."""

    def __init__(self, **kwargs):
        super().__init__()
        for key, value in kwargs.items():
            self._attributes[key] = _as_component(value)

    def _build(self, values):
        return ModelInstance(**{k: _resolve(v, values) for k, v in self._attributes.items()})

    def __repr__(self) -> str:
        return f"Collection({', '.join(self._attributes)}; {self.prior_count} free parameters)"


# ---- JSON encoding -----------------------------------------------------------------------------------------------------


def _encode(value, priors):
    if isinstance(value, Prior):
        key = str(value.id)
        priors.setdefault(key, value.to_dict())
        return {"prior": key}
    if isinstance(value, Model):
        return {"type": "model", "class": class_name(value.cls), "attributes": {k: _encode(v, priors) for k, v in value._attributes.items()}}
    if isinstance(value, Collection):
        return {"type": "collection", "attributes": {k: _encode(v, priors) for k, v in value._attributes.items()}}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, priors) for v in value]}
    if isinstance(value, float):
        return {"value": value}
    if dataclasses.is_dataclass(value):
        fields = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"fixed": class_name(type(value)), "fields": fields}
    raise ModelError(f"cannot serialise {value!r}")


def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return float(v)


def _decode(d, priors):
    if "prior" in d:
        return priors[d["prior"]]
    if "value" in d:
        return float(d["value"])
    if "tuple" in d:
        return tuple(_decode(v, priors) for v in d["tuple"])
    if "fixed" in d:
        cls = CLASSES[d["fixed"]]
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d["fields"].items()})
    if d.get("type") == "collection":
        node = Collection()
        for k, v in d["attributes"].items():
            node._attributes[k] = _decode(v, priors)
        return node
    if d.get("type") == "model":
        cls = CLASSES[d["class"]]
        node = Model(cls) if cls is not Galaxy else Model(Galaxy)
        node._attributes.clear()
        for k, v in d["attributes"].items():
            node._attributes[k] = _decode(v, priors)
        return node
    raise ModelError(f"cannot decode model entry {d!r}")
