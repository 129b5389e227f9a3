"""Models from text: YAML/JSON model files for the command line, and the ``sersic+exponential`` shorthand.

A model file describes galaxies (and optionally the sky background) by name::

    galaxies:
      galaxy:
        redshift: 0.5
        bulge:
          type: Sersic                       # any galaxyfit.lp class
          sersic_index: {type: UniformPrior, lower_limit: 1.0, upper_limit: 6.0}
        disk:
          type: Exponential
          centre: bulge.centre               # a link: the same parameters as the bulge's centre
          effective_radius: 1.6              # a number fixes a parameter (arcsec)
    dataset_model:
      background_sky_level: {type: GaussianPrior, mean: 0.0, sigma: 0.01}

Parameters not named keep their default priors (``galaxyfit.model.defaults``). A link is a dotted path to another
parameter: within the same galaxy (``bulge.centre``) or from the top (``galaxies.galaxy.bulge.centre``). Prior types
and fields: ``UniformPrior(lower_limit, upper_limit)``, ``LogUniformPrior(lower_limit, upper_limit)``,
``GaussianPrior(mean, sigma)``, ``TruncatedGaussianPrior(mean, sigma, lower_limit, upper_limit)``. Tuples (``centre``,
``ell_comps``) take a list of two entries, each a number or a prior. A JSON file written by ``Model.to_json`` loads too.
"""

from __future__ import annotations

import json
from pathlib import Path

from galaxyfit.errors import ModelError
from galaxyfit.galaxy import DatasetModel, Galaxy
from galaxyfit.model.model import CLASSES, Collection, Model, _Node, fixed_value_problem
from galaxyfit.model.priors import PRIORS

def _shorthand() -> dict[str, tuple[str, str]]:
    from galaxyfit.profiles.light import PROFILES

    names = {"Sersic": "bulge", "DevVaucouleurs": "bulge", "SersicCore": "bulge", "Exponential": "disk",
             "ExponentialCore": "disk", "PointSource": "point_source", "ElsonFreeFall": "elson_free_fall"}
    table = {}
    for cls_name in PROFILES:
        base = cls_name[:-3] if cls_name.endswith("Sph") else cls_name
        table[cls_name.lower()] = (cls_name, names.get(base, base.lower()))
    return table


#: Shorthand names for ``--model a+b``: every light profile by its class name in lower case (``sersic``,
#: ``sersicsph``, ``exponentialcore``, ``pointsource`` ...), mapped to (class, component name). Sersic-like
#: components are named ``bulge``, exponential ones ``disk``, the rest after their profile.
SHORTHAND = _shorthand()


def model_from_shorthand(text: str, redshift: float = 0.5, shared_centre: bool = False, sky: bool = False):
    """A one-galaxy model from ``"sersic+exponential"``-style text: components named ``bulge``/``disk`` (or by
    profile, numbered when repeated), default priors; ``shared_centre`` links every component's centre to the first;
    ``sky`` adds a free background level (Gaussian prior, mean 0, sigma 1 data unit). Raises ModelError for unknown
    names."""
    components: dict[str, Model] = {}
    for raw in text.lower().replace(" ", "").split("+"):
        if raw not in SHORTHAND:
            raise ModelError(f"unknown profile {raw!r} in --model {text!r} (known: {', '.join(SHORTHAND)})")
        cls_name, name = SHORTHAND[raw]
        if name in components:
            k = 2
            while f"{name}_{k}" in components:
                k += 1
            name = f"{name}_{k}"
        components[name] = Model(CLASSES[cls_name])
    if shared_centre:
        first = next(iter(components.values()))
        for component in list(components.values())[1:]:
            component.centre = first.centre
    model = Collection(galaxies=Collection(galaxy=Model(Galaxy, redshift=redshift, **components)))
    if sky:
        from galaxyfit.model.priors import GaussianPrior

        model.dataset_model = Model(DatasetModel, background_sky_level=GaussianPrior(0.0, 1.0))
    return model


def load_model(path) -> _Node:
    """A model from a YAML model file (format above) or a JSON file written by ``Model.to_json``.

    Raises ModelError naming the file and entry for unknown classes, parameters, prior types or links.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
    if path.suffix.lower() == ".json":
        data = json.loads(text)
        if "model" in data and "priors" in data:
            return Model.from_dict(data)
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ModelError(f"{path}: not valid YAML ({exc})") from None
    try:
        return model_from_dict(data)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None


def model_from_dict(data: dict) -> Collection:
    """The model of a parsed model file (see the module docstring)."""
    if not isinstance(data, dict) or "galaxies" not in data:
        raise ModelError("a model file needs a 'galaxies' section")
    unknown = set(data) - {"galaxies", "dataset_model"}
    if unknown:
        raise ModelError(f"unknown top-level entries {sorted(unknown)} (allowed: galaxies, dataset_model)")
    links: list[tuple[Model, str, str, str]] = []
    galaxies = Collection()
    for galaxy_name, spec in (data["galaxies"] or {}).items():
        spec = dict(spec or {})
        redshift = _value(spec.pop("redshift", 0.5), f"galaxies.{galaxy_name}.redshift")
        components = {}
        for name, component in spec.items():
            where = f"galaxies.{galaxy_name}.{name}"
            if not isinstance(component, dict) or "type" not in component:
                raise ModelError(f"{where} needs a 'type' (one of {', '.join(CLASSES)})")
            component = dict(component)
            type_name = component.pop("type")
            if type_name not in CLASSES or CLASSES[type_name] in (Galaxy, DatasetModel):
                raise ModelError(f"{where}: unknown profile type {type_name!r}")
            model = Model(CLASSES[type_name])
            for parameter, value in component.items():
                if isinstance(value, str):
                    links.append((model, parameter, value, f"galaxies.{galaxy_name}"))
                else:
                    value = _value(value, f"{where}.{parameter}")
                    problem = fixed_value_problem(CLASSES[type_name], parameter, value)  # named by its path in the file
                    if problem is not None:
                        raise ModelError(f"{where}.{parameter}: {problem}")
                    setattr(model, parameter, value)
            components[name] = model
        setattr(galaxies, galaxy_name, Model(Galaxy, redshift=redshift, **components))
    model = Collection(galaxies=galaxies)
    if "dataset_model" in data:
        dataset_model = Model(DatasetModel)
        for parameter, value in (data["dataset_model"] or {}).items():
            setattr(dataset_model, parameter, _value(value, f"dataset_model.{parameter}"))
        model.dataset_model = dataset_model
    for target, parameter, link, galaxy_path in links:
        setattr(target, parameter, _resolve_link(model, link, galaxy_path))
    return model


def _value(value, where: str):
    if isinstance(value, bool):
        raise ModelError(f"{where}: expected a number, a prior or a list, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return tuple(_value(v, where) for v in value)
    if isinstance(value, dict):
        kind = value.get("type")
        if kind not in PRIORS:
            raise ModelError(f"{where}: unknown prior type {kind!r} (known: {', '.join(PRIORS)})")
        fields = set(value) - {"type"}
        expected = set(PRIORS[kind].fields)
        if not fields <= expected:
            raise ModelError(f"{where}: {kind} takes {', '.join(PRIORS[kind].fields)}, got {', '.join(sorted(fields))}")
        return PRIORS[kind](**{k: float(v) for k, v in value.items() if k != "type"})
    raise ModelError(f"{where}: expected a number, a prior or a list, got {value!r}")


def _resolve_link(model: Collection, link: str, galaxy_path: str):
    for root in (galaxy_path, ""):
        node = model
        try:
            for name in (f"{root}.{link}" if root else link).split("."):
                node = getattr(node, name)
        except AttributeError:
            continue
        return node
    raise ModelError(f"link {link!r} names no parameter (write e.g. 'bulge.centre' or 'galaxies.galaxy.bulge.centre')")

