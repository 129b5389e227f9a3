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

import copy
import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np

from galaxyfit.errors import ModelError
from galaxyfit.galaxy import DatasetModel, Galaxy
from galaxyfit.model.defaults import default_prior
from galaxyfit.model.instance import ModelInstance
from galaxyfit.model.priors import Prior, prior_from_dict
from galaxyfit.numbers import real_vector
from galaxyfit.profiles import light, linear, operated, parameterised
from galaxyfit.profiles.basis import Basis
from galaxyfit.pixelization.image_mesh import IMAGE_MESHES
from galaxyfit.pixelization.mesh import MESHES, Mesh
from galaxyfit.pixelization.pixelization import Pixelization
from galaxyfit.regularization import REGULARIZATIONS, Regularization

#: Classes a model may be made of, by the name used in model files.
CLASSES = {**light.PROFILES, **operated.PROFILES, **{f"linear.{k}": v for k, v in linear.PROFILES.items()},
           **parameterised.PROFILES,
           **{f"reg.{k}": v for k, v in REGULARIZATIONS.items()}, "Basis": Basis, "Galaxy": Galaxy, "DatasetModel": DatasetModel,
           "Pixelization": Pixelization, **{f"mesh.{k}": v for k, v in MESHES.items()},
           **{f"image_mesh.{k}": v for k, v in IMAGE_MESHES.items()}}
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
    if isinstance(value, (tuple, list)):  # a list: a Basis' profile_list
        return tuple(_as_component(v) for v in value)
    if value is None:
        return None  # an optional component left out (a Basis without regularization)
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu":
        return float(value)  # e.g. a 0-d (possibly big-endian) value sliced from a FITS table
    if dataclasses.is_dataclass(value) or isinstance(value, (Galaxy, Basis)):
        return value  # a fixed profile, basis, regularization, galaxy or dataset model
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
        value = _as_component(value)
        self._check_attribute(name, value)
        self._attributes[name] = value

    def copy(self):
        """A deep copy whose priors keep their ids, so a FactorGraphModel counts them as this model's (PyAutoFit's
        ``model.copy()``): assign a new prior to an attribute of the copy to free it in that copy alone."""
        return copy.deepcopy(self)

    def _check_attribute(self, name, value):
        """Raises ModelError for a value that would make the model contain itself (it would recurse forever)."""
        if _contains(value, self):
            raise ModelError(f"{type(self).__name__}.{name}: a model cannot contain itself")

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
        """The model of a ``to_dict`` dict; attributes it leaves out get their defaults, as in ``Model(cls)``.

        Raises ModelError naming the entry for anything ``Model`` and the priors refuse, unknown classes and
        references to priors the dict does not hold."""
        if not isinstance(d, dict) or not isinstance(d.get("model"), dict) or not isinstance(d.get("priors"), dict):
            raise ModelError("expected {'model': {...}, 'priors': {...}} as Model.to_dict writes it")
        priors = {}
        for key, value in d["priors"].items():
            try:
                priors[key] = prior_from_dict(value)
            except ModelError as exc:
                raise ModelError(f"priors.{key}: {exc}") from None
        return _decode(d["model"], priors, "model")

    @staticmethod
    def from_json(text: str):
        """The model of ``to_json`` text. Raises ModelError as ``from_dict`` does, and for text that is not JSON."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"not valid JSON ({exc})") from None
        return _Node.from_dict(d)


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
                entry = path[:-1] + (f"{name}_{i}",)
                if isinstance(v, _Node):
                    yield from _walk_all(v, entry)
                else:
                    yield entry, v
        else:
            yield path, value


def _contains(value, node) -> bool:
    if value is node:
        return True
    if isinstance(value, tuple):
        return any(_contains(v, node) for v in value)
    return isinstance(value, _Node) and any(_contains(v, node) for v in value._attributes.values())


def _resolve(value, values):
    if isinstance(value, Prior):
        return values[id(value)]
    if isinstance(value, _Node):
        return value._build(values)
    if isinstance(value, tuple):
        return tuple(_resolve(v, values) for v in value)
    return value


def _describe(value) -> str:
    if isinstance(value, tuple):
        return f"{len(value)} entries"
    if isinstance(value, _Node):
        return f"a whole component, {value!r}"
    return repr(value)


def fixed_value_problem(cls, name: str, value) -> str | None:
    """Why ``value`` (as ``_as_component`` leaves it) cannot be ``cls``'s parameter ``name`` (None if it can).

    A pair (centre, ell_comps) needs a tuple of two numbers or priors, any other parameter one; a fixed number must
    be finite, and positive for a size or index. A galaxy's redshift is a number >= 0 or a prior that stays >= 0, its
    other attributes are profiles. Caught when the model is built, not as a stacking or index error, a RecursionError
    or a -1e99 likelihood at every point of the search."""
    if cls is Galaxy:
        return _galaxy_problem(name, value)
    if cls is Basis:
        return _basis_problem(name, value)
    if cls is Pixelization:
        return _pixelization_problem(name, value)
    default = next((f.default for f in dataclasses.fields(cls) if f.name == name), None)
    if isinstance(default, tuple):
        if not isinstance(value, tuple):
            return f"needs {len(default)} entries (a pair of numbers or priors), got {_describe(value)}"
        if len(value) != len(default):
            return f"needs {len(default)} entries, got {len(value)}"
    elif isinstance(value, tuple):
        return f"needs one number or prior, got {_describe(value)}"
    for entry in value if isinstance(value, tuple) else (value,):
        if isinstance(entry, Prior):
            continue
        if not isinstance(entry, float):
            return f"needs a number or a prior, got {_describe(entry)}"
        if not math.isfinite(entry):
            return f"must be a finite number, got {entry}"
        if name in getattr(cls, "positive_parameters", ()) and not entry > 0:
            return f"must be positive, got {entry:g}"
    return None


def _galaxy_problem(name: str, value) -> str | None:
    if name == "redshift":
        # a negative redshift has no distance: every size in kpc in the results would be null
        if isinstance(value, Prior):
            return None if value.limits[0] >= 0 else f"a redshift prior must not reach below 0, got {value!r}"
        if value is None or (isinstance(value, float) and math.isfinite(value) and value >= 0):
            return None
        return f"must be a finite number >= 0, a prior, or None (not given), got {_describe(value)}"
    if isinstance(value, Model) and value.cls not in (Galaxy, DatasetModel):
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, DatasetModel):
        return None
    return f"a galaxy component must be a profile (a class, a Model or a profile object), got {_describe(value)}"


def _is_profile_like(value, kinds) -> bool:
    if isinstance(value, Model):
        return issubclass(value.cls, kinds)
    return isinstance(value, kinds)


def _basis_problem(name: str, value) -> str | None:
    if name == "profile_list":
        if not isinstance(value, tuple) or not value:
            return f"needs a non-empty list of light profiles, got {_describe(value)}"
        for i, entry in enumerate(value):
            if not _is_profile_like(entry, (light.LightProfile, linear.LinearLightProfile)):
                return f"entry {i} must be a light profile (a class, a Model or a profile object), got {_describe(entry)}"
        return None
    if name == "regularization":
        if value is None or _is_profile_like(value, Regularization):
            return None
        return f"must be None or a regularization scheme (galaxyfit.reg), got {_describe(value)}"
    return f"Basis has no parameter {name!r} (it has profile_list, regularization)"


def _pixelization_problem(name: str, value) -> str | None:
    if name == "mesh":
        return None if isinstance(value, Mesh) else f"must be a mesh object (galaxyfit.mesh, e.g. RectangularUniform((30, 30))), got {_describe(value)}"
    if name == "regularization":
        return None if _is_profile_like(value, Regularization) else f"must be a regularization scheme (galaxyfit.reg), got {_describe(value)}"
    if name == "image_mesh":
        return None if value is None or type(value).__name__ in IMAGE_MESHES else f"must be an image mesh (galaxyfit.image_mesh) or None, got {_describe(value)}"
    return f"Pixelization has no parameter {name!r} (it has mesh, regularization, image_mesh)"


def check_parameter(cls, name: str, value, where: str | None = None) -> None:
    """Raises ModelError unless ``value`` (as ``_as_component`` leaves it) may be ``cls``'s parameter ``name``,
    naming ``where`` (an entry's path in a model file) or else ``Class.name``."""
    if cls is not Galaxy:
        names = [f.name for f in dataclasses.fields(cls)]
        if name not in names:
            raise ModelError(f"{where + ': ' if where else ''}{cls.__name__} has no parameter {name!r} (it has {', '.join(names)})")
    problem = fixed_value_problem(cls, name, value)
    if problem is not None:
        raise ModelError(f"{where or cls.__name__ + '.' + name}: {problem}")


class Model(_Node):
    """A class (light profile, ``Galaxy``, ``DatasetModel``) whose constructor arguments are priors or values.

    Light profiles and ``DatasetModel``: every field starts with its default prior (``galaxyfit.model.defaults``) or,
    where PyAutoGalaxy fixes it, its default value. ``Galaxy``: ``redshift`` (fixed unless given a prior) and any
    number of named components (classes, models or fixed profiles). Keyword arguments override: a number fixes, a
    prior frees, a tuple does either per component. Raises ModelError for unknown parameters and for values
    ``fixed_value_problem`` refuses (a pair for a number, a negative size or redshift ...).
    """

    def __init__(self, cls, **kwargs):
        super().__init__()
        object.__setattr__(self, "cls", cls)
        name = class_name(cls)
        if cls is Galaxy:
            kwargs = {"redshift": None, **kwargs}  # not given: no sizes in kpc (Galaxy)
        else:
            for field in dataclasses.fields(cls):
                if field.name in kwargs:
                    continue
                default = field.default
                if default is None or (isinstance(default, tuple) and not default):
                    self._attributes[field.name] = default  # an optional component or an empty list
                elif isinstance(default, tuple):
                    self._attributes[field.name] = tuple(default_prior(name, field.name) or d for d in default)
                else:
                    prior = default_prior(name, field.name)
                    self._attributes[field.name] = prior if prior is not None else float(default)
        for key, value in kwargs.items():
            setattr(self, key, value)
        if cls is not Galaxy:  # keep the class's field order whatever the keyword order
            order = [f.name for f in dataclasses.fields(cls)]
            object.__setattr__(self, "_attributes", {k: self._attributes[k] for k in order})

    def _check_attribute(self, name, value):
        check_parameter(self.cls, name, value)

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
    if value is None:
        return {"none": True}
    if dataclasses.is_dataclass(value):
        fields = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"fixed": class_name(type(value)), "fields": fields}
    raise ModelError(f"cannot serialise {value!r}")


def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return float(v)


def _decoded_class(name, where: str):
    if not isinstance(name, str) or name not in CLASSES:
        raise ModelError(f"{where}: unknown class {name!r} (known: {', '.join(CLASSES)})")
    return CLASSES[name]


def _decode(d, priors, where: str):
    """The model entry ``d`` at path ``where``, checked as ``Model`` and ``Collection`` check their attributes."""
    if isinstance(d, dict) and "prior" in d:
        if not isinstance(d["prior"], str) or d["prior"] not in priors:
            raise ModelError(f"{where}: prior {d['prior']!r} is not among the 'priors' ({', '.join(priors) or 'none'})")
        return priors[d["prior"]]
    if isinstance(d, dict) and "value" in d:
        value = d["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ModelError(f"{where}: 'value' must be a number, got {value!r}")
        return float(value)
    if isinstance(d, dict) and d.get("none") is True:
        return None
    if isinstance(d, dict) and isinstance(d.get("tuple"), list):
        return tuple(_decode(v, priors, f"{where}_{i}") for i, v in enumerate(d["tuple"]))
    if isinstance(d, dict) and "fixed" in d and isinstance(d.get("fields"), dict):
        cls = _decoded_class(d["fixed"], where)
        try:
            return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d["fields"].items()})
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{where}: cannot make a fixed {d['fixed']} of {d['fields']} ({exc})") from None
    if isinstance(d, dict) and d.get("type") in ("model", "collection") and isinstance(d.get("attributes"), dict):
        attributes = {k: _decode(v, priors, f"{where}.{k}") for k, v in d["attributes"].items()}
        if d["type"] == "collection":
            return Collection(**attributes)
        cls = _decoded_class(d.get("class"), where)
        for k, v in attributes.items():
            check_parameter(cls, k, v, f"{where}.{k}")
        return Model(cls, **attributes)
    raise ModelError(f"{where}: expected {{'prior': key}}, {{'value': number}}, {{'tuple': [...]}}, {{'fixed': class, 'fields': {{...}}}} "
                     f"or {{'type': 'model' or 'collection', 'attributes': {{...}}}}, got {d!r}")
