"""Models from text: YAML/JSON model files for the command line, and the ``sersic+exponential`` shorthand.

A model file describes galaxies (and optionally the sky background) by name::

    galaxies:
      galaxy:
        redshift: 0.5                        # optional: without it, no sizes in kpc
        bulge:
          type: Sersic                       # any galaxyfit.lp class
          sersic_index: {type: UniformPrior, lower_limit: 1.0, upper_limit: 6.0}
        disk:
          type: Exponential
          centre: bulge.centre               # a link: the same parameters as the bulge's centre
          effective_radius: 1.6              # a number fixes a parameter (arcsec)
    dataset_model:
      background_sky_level: {type: GaussianPrior, mean: 0.0, sigma: 0.01}

A pixelized galaxy (``galaxyfit.Pixelization``)::

    galaxies:
      galaxy:
        pixelization:
          type: Pixelization
          mesh: {type: mesh.Delaunay, pixels: 699}                 # fixed objects
          image_mesh: {type: image_mesh.Overlay, shape: [30, 30]}
          regularization: {type: reg.Constant}                     # parameters: numbers or priors

Parameters not named keep their default priors (``galaxyfit.model.defaults``). A link is a dotted path to another
parameter: within the same galaxy (``bulge.centre``) or from the top (``galaxies.galaxy.bulge.centre``). Prior types
and fields: ``UniformPrior(lower_limit, upper_limit)``, ``LogUniformPrior(lower_limit, upper_limit)``,
``GaussianPrior(mean, sigma)``, ``TruncatedGaussianPrior(mean, sigma, lower_limit, upper_limit)``. Tuples (``centre``,
``ell_comps``) take a list of two entries, each a number or a prior. Text that reads as a number (PyYAML leaves
``1e-3`` as text) is that number. A JSON file written by ``Model.to_json`` loads too; parameters it leaves out get
their default priors.
"""

from __future__ import annotations

import json
from pathlib import Path

from galaxyfit.errors import ModelError
from galaxyfit.galaxy import DatasetModel, Galaxy
from galaxyfit.model.model import CLASSES, Collection, Model, _Node, check_parameter
from galaxyfit.model.priors import PRIORS
from galaxyfit.pixelization.pixelization import Pixelization

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


def model_from_shorthand(text: str, redshift: float | None = None, shared_centre: bool = False, sky: bool = False,
                         mask_radius: float | None = None, dataset=None):
    """A one-galaxy model from ``"sersic+exponential"``-style text: components named ``bulge``/``disk`` (or by
    profile, numbered when repeated), default priors; ``shared_centre`` links every component's centre to the first;
    ``sky`` adds a free background level (Gaussian prior, mean 0, sigma 1 data unit).

    ``"linear:sersic+exponential"``: the same with linear light profiles (``gf.lp_linear``; intensities solved, not
    sampled). ``"mge:30"`` or ``"mge:30x2"``: a multi-Gaussian expansion (``model_util.mge_model_from``) of 30
    Gaussians in 1 or 2 bases (bulge and disk may then differ in shape), their widths up to ``mask_radius`` arcsec.

    ``dataset`` (an ``Imaging``): priors from the data (``model.data_priors``) instead of PyAutoGalaxy's defaults --
    every centre Gaussian around the light's centroid, effective radii (and Gaussian widths) log-uniform from a tenth
    of a pixel to twice the unmasked image's extent, intensities log-uniform over the data's surface-brightness range,
    the sky level N(0, median noise). An MGE's shared centre gets the same Gaussian prior. Without it, the defaults.

    Raises ModelError for unknown names or malformed counts, or a ``dataset`` that is not an Imaging; DatasetError
    when the dataset has no positive flux to measure."""
    text = text.strip()
    priors = None
    if dataset is not None:
        from galaxyfit.model.data_priors import check_data_priors_input, data_driven_priors

        check_data_priors_input(dataset, "model_from_shorthand")
        priors = data_driven_priors(dataset)
    if text.lower().startswith("mge:"):
        return _mge_shorthand(text, redshift, sky, mask_radius, priors)
    prefix = ""
    if text.lower().startswith("linear:"):
        text, prefix = text[len("linear:"):], "linear."
    components: dict[str, Model] = {}
    for raw in text.lower().replace(" ", "").split("+"):
        if raw not in SHORTHAND:
            raise ModelError(f"unknown profile {raw!r} in --model {text!r} (known: {', '.join(SHORTHAND)}; "
                             "prefix 'linear:' for linear profiles, or 'mge:N' / 'mge:NxK')")
        cls_name, name = SHORTHAND[raw]
        cls_name = prefix + cls_name
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
    if priors is not None:
        from galaxyfit.model.data_priors import apply_data_priors

        apply_data_priors(model, priors)
    if sky:
        from galaxyfit.model.priors import GaussianPrior

        model.dataset_model = Model(DatasetModel, background_sky_level=GaussianPrior(0.0, 1.0 if priors is None else priors.sky_sigma))
    return model


def _mge_shorthand(text: str, redshift: float | None, sky: bool, mask_radius: float | None, priors=None):
    from galaxyfit.model_util import mge_model_from

    spec = text[len("mge:"):].lower().replace(" ", "")
    counts = spec.split("x")
    if len(counts) not in (1, 2) or not all(c.isdigit() and int(c) >= 1 for c in counts):
        raise ModelError(f"--model {text!r}: expected 'mge:N' or 'mge:NxK' with N Gaussians per basis and K bases, "
                         "e.g. mge:30 or mge:30x2")
    if mask_radius is None or not mask_radius > 0:
        raise ModelError(f"--model {text!r} needs the mask radius (the widest Gaussian's sigma): give --mask-radius")
    total, per = int(counts[0]), int(counts[1]) if len(counts) == 2 else 1
    centre = {} if priors is None else dict(centre=priors.centre, centre_prior_is_uniform=False, centre_sigma=priors.centre_sigma)
    model = Collection(galaxies=Collection(galaxy=Model(Galaxy, redshift=redshift,
                                                        bulge=mge_model_from(mask_radius, total_gaussians=total,
                                                                             gaussian_per_basis=per, **centre))))
    if sky:
        from galaxyfit.model.priors import GaussianPrior

        model.dataset_model = Model(DatasetModel, background_sky_level=GaussianPrior(0.0, 1.0 if priors is None else priors.sky_sigma))
    return model


def load_model(path) -> _Node:
    """A model from a YAML model file (format above) or a JSON file written by ``Model.to_json``.

    Raises ModelError naming the file (and the entry, where there is one) for a file that cannot be read or is not
    UTF-8 YAML / JSON, unknown classes, parameters, prior types or links, and values the model refuses.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ModelError(f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})") from None
    try:
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ModelError(f"not valid JSON ({exc})") from None
            if isinstance(data, dict) and "model" in data and "priors" in data:
                return _checked_top(Model.from_dict(data))
        else:
            import yaml

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ModelError(f"not valid YAML ({exc})") from None
        return model_from_dict(data)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    except RecursionError:
        raise ModelError(f"{path}: entries nest too deeply, or contain themselves through YAML anchors") from None


def _checked_top(model: _Node) -> _Node:
    # what the command line needs of a model: galaxy models under 'galaxies'
    galaxies = model._attributes.get("galaxies") if isinstance(model, Collection) else None
    if not isinstance(galaxies, Collection):
        raise ModelError("the model needs a 'galaxies' collection")
    for name, galaxy in galaxies._attributes.items():
        if not (isinstance(galaxy, Model) and galaxy.cls is Galaxy or isinstance(galaxy, Galaxy)):
            raise ModelError(f"model.galaxies.{name} must be a Galaxy model, got {galaxy!r}")
    return model


def _mapping(value, where: str, of: str) -> dict:
    """``value`` (None counting as empty) if it is a mapping with text keys; else ModelError naming ``where``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ModelError(f"{where} must be a mapping of {of}, got {value!r}")
    for key in value:
        if not isinstance(key, str):
            raise ModelError(f"{where}: names must be text, got {key!r}")
    return value


def _number(text: str):
    """``text`` as a float if it is one, else None. PyYAML reads ``1e-3`` (no dot) and ``1.0e3`` (unsigned exponent)
    as text, not numbers (YAML 1.1)."""
    try:
        return float(text)
    except ValueError:
        return None


def model_from_dict(data: dict) -> Collection:
    """The model of a parsed model file (see the module docstring). Raises ModelError naming the entry."""
    if not isinstance(data, dict) or "galaxies" not in data:
        raise ModelError(f"a model file needs a 'galaxies' section, got {data!r}"[:200])
    unknown = set(data) - {"galaxies", "dataset_model"}
    if unknown:
        raise ModelError(f"unknown top-level entries {sorted(unknown, key=str)} (allowed: galaxies, dataset_model)")
    links: list[tuple[Model, str, str, str, str]] = []
    galaxies = Collection()
    for galaxy_name, spec in _mapping(data["galaxies"], "galaxies", "galaxy names to galaxies").items():
        spec = dict(_mapping(spec, f"galaxies.{galaxy_name}", "component names (and redshift) to components"))
        where = f"galaxies.{galaxy_name}.redshift"
        redshift = spec.pop("redshift", None)  # none given: no sizes in kpc (galaxyfit.latent)
        redshift = None if redshift is None else _value(redshift, where)
        check_parameter(Galaxy, "redshift", redshift, where)
        components = {}
        for name, component in spec.items():
            where = f"galaxies.{galaxy_name}.{name}"
            if not isinstance(component, dict) or "type" not in component:
                raise ModelError(f"{where} needs a 'type' (one of {', '.join(CLASSES)})")
            component = dict(component)
            type_name = component.pop("type")
            if not isinstance(type_name, str) or type_name not in CLASSES or CLASSES[type_name] in (Galaxy, DatasetModel):
                raise ModelError(f"{where}: unknown profile type {type_name!r}")
            if CLASSES[type_name] is Pixelization:
                components[name] = _pixelization_model(component, where)
                continue
            model = Model(CLASSES[type_name])
            for parameter, value in component.items():
                if isinstance(value, str) and _number(value) is None:
                    links.append((model, parameter, value, f"galaxies.{galaxy_name}", f"{where}.{parameter}"))
                else:
                    _set(model, parameter, _value(value, f"{where}.{parameter}"), f"{where}.{parameter}")
            components[name] = model
        setattr(galaxies, galaxy_name, Model(Galaxy, redshift=redshift, **components))
    model = Collection(galaxies=galaxies)
    if "dataset_model" in data:
        dataset_model = Model(DatasetModel)
        for parameter, value in _mapping(data["dataset_model"], "dataset_model", "parameters to values").items():
            _set(dataset_model, parameter, _value(value, f"dataset_model.{parameter}"), f"dataset_model.{parameter}")
        model.dataset_model = dataset_model
    for target, parameter, link, galaxy_path, where in links:
        value = _resolve_link(model, link, galaxy_path, where)
        if isinstance(value, _Node):
            raise ModelError(f"{where}: the link {link!r} names a whole component, not a parameter (write e.g. 'bulge.centre')")
        _set(target, parameter, value, where)
    return model


def _pixelization_model(spec: dict, where: str) -> Model:
    """A ``Pixelization`` entry: ``mesh`` and ``image_mesh`` are fixed objects ({type: mesh.RectangularUniform,
    shape: [30, 30]}, {type: image_mesh.Overlay, shape: [30, 30]}); ``regularization`` is a component whose
    parameters take numbers or priors like a profile's ({type: reg.Constant, coefficient: {type: LogUniformPrior,
    ...}}; left out, they keep their default priors)."""
    unknown = set(spec) - {"mesh", "regularization", "image_mesh"}
    if unknown:
        raise ModelError(f"{where}: a Pixelization takes mesh, regularization and image_mesh, got {sorted(map(str, unknown))}")
    arguments = {}
    for field, prefix in (("mesh", "mesh."), ("image_mesh", "image_mesh.")):
        if field not in spec:
            continue
        entry = dict(_mapping(spec[field], f"{where}.{field}", f"a {field} type and its arguments"))
        kind = entry.pop("type", None)
        if not isinstance(kind, str) or not kind.startswith(prefix) or kind not in CLASSES:
            known = ", ".join(k for k in CLASSES if k.startswith(prefix))
            raise ModelError(f"{where}.{field}: unknown type {kind!r} (known: {known})")
        try:
            arguments[field] = CLASSES[kind](**{k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()})
        except TypeError as error:
            raise ModelError(f"{where}.{field}: {error}") from None
    if "regularization" in spec:
        entry = dict(_mapping(spec["regularization"], f"{where}.regularization", "a regularization type and parameters"))
        kind = entry.pop("type", None)
        if not isinstance(kind, str) or not kind.startswith("reg.") or kind not in CLASSES:
            known = ", ".join(k for k in CLASSES if k.startswith("reg."))
            raise ModelError(f"{where}.regularization: unknown type {kind!r} (known: {known})")
        regularization = Model(CLASSES[kind])
        for parameter, value in entry.items():
            _set(regularization, parameter, _value(value, f"{where}.regularization.{parameter}"),
                 f"{where}.regularization.{parameter}")
        arguments["regularization"] = regularization
    if "mesh" not in arguments or "regularization" not in arguments:
        raise ModelError(f"{where}: a Pixelization needs a mesh and a regularization")
    return Model(Pixelization, **arguments)


def _set(model: Model, parameter, value, where: str) -> None:
    check_parameter(model.cls, parameter, value, where)  # so that the error names the entry's path in the file
    setattr(model, parameter, value)


def _value(value, where: str):
    if isinstance(value, str) and _number(value) is not None:
        return _number(value)
    if isinstance(value, bool):
        raise ModelError(f"{where}: expected a number, a prior or a list, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return tuple(_value(v, f"{where}[{i}]") for i, v in enumerate(value))
    if isinstance(value, dict):
        kind = value.get("type")
        if not isinstance(kind, str) or kind not in PRIORS:
            raise ModelError(f"{where}: unknown prior type {kind!r} (known: {', '.join(PRIORS)})")
        fields = set(value) - {"type"}
        expected = set(PRIORS[kind].fields)
        if not fields <= expected:
            raise ModelError(f"{where}: {kind} takes {', '.join(PRIORS[kind].fields)}, got {', '.join(sorted(map(str, fields)))}")
        arguments = {k: _number(v) if isinstance(v, str) and _number(v) is not None else v for k, v in value.items() if k != "type"}
        try:
            return PRIORS[kind](**arguments)
        except ModelError as exc:
            raise ModelError(f"{where}: {exc}") from None
    raise ModelError(f"{where}: expected a number, a prior or a list, got {value!r}")


def _resolve_link(model: Collection, link: str, galaxy_path: str, where: str):
    for root in (galaxy_path, ""):
        node = model
        for name in (f"{root}.{link}" if root else link).split("."):
            # model attributes only: getattr would also find methods and a prior's limits
            node = node._attributes.get(name) if isinstance(node, _Node) else None
        if node is not None:
            return node
    raise ModelError(f"{where}: link {link!r} names no parameter (write e.g. 'bulge.centre' or 'galaxies.galaxy.bulge.centre')")
