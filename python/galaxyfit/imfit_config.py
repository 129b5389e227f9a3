"""Imfit configuration files in and out: the model (honouring every ``fixed`` flag and every ``lo,hi`` limit), its
starting values and the image characteristics, read into galaxyfit; a fit's values written back as Imfit's best-fit
parameter file. Format: Imfit's documentation, "Configuration files" (Erwin 2015, ApJ 799, 226).

Models are made of the Imfit-parameterised profiles (profiles/parameterised.py), whose arguments are Imfit's
quantities (PA, axis ratio ``1 - ell``, I_e / I_0, major-axis sizes), so Imfit's limits are exactly box priors; they
evaluate as galaxyfit's standard profiles. ``galaxies`` gives the standard profiles of the file's values.

For the command line: ``model_from_imfit_config(path, shape, pixel_scales)`` -> (model, start vector), and
``write_imfit_best_fit(path, result, config)`` writes a search's best fit.

Every value is checked as the file is read, so a bad one is reported as ``file:line: ...`` (a ModelError) rather
than as a NaN in a start vector or an arithmetic error deep in a conversion: numbers must be finite, limits
``lo,hi`` finite with ``lo <= hi`` and holding the value, and the parameters of the functions galaxyfit converts
(Sersic, Exponential, Gaussian, Moffat) must lie in their domain (``ell`` in [0, 1), sizes and ``beta`` > 0, ``n`` at
least galaxyfit's smallest valid Sersic index); the image keys as imfit_noise_map needs them.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from galaxyfit.errors import ModelError
from galaxyfit.galaxy import DatasetModel, Galaxy
from galaxyfit.model.priors import GaussianPrior, LogUniformPrior, UniformPrior
from galaxyfit.profiles import convert, parameterised
from galaxyfit.profiles.light import SERSIC_INDEX_MIN

_IMAGE_KEYS = {"GAIN": "gain", "READNOISE": "read_noise", "ORIGINAL_SKY": "original_sky", "EXPTIME": "exposure_time", "NCOMBINED": "n_combined"}

#: What each image key must be (the conditions of galaxyfit.dataset.imfit_noise_map): (test, description).
_IMAGE_DOMAINS = {
    "GAIN": (lambda v: v > 0, "positive (e-/ADU)"),
    "READNOISE": (lambda v: v >= 0, ">= 0 (e-)"),
    "ORIGINAL_SKY": (lambda v: v >= 0, ">= 0 (the subtracted sky level)"),
    "EXPTIME": (lambda v: v > 0, "positive (s)"),
    "NCOMBINED": (lambda v: v >= 1 and v == int(v), "a positive integer (the number of combined images)"),
}

_POSITIVE = (lambda v: v > 0, "positive (pixels)")
#: Domains of the parameters of the functions galaxyfit converts (convert.py): (test, description).
_PARAMETER_DOMAINS = {
    "ell": (lambda v: 0 <= v < 1, "in [0, 1) (ellipticity 1 - b/a)"),
    "n": (lambda v: v >= SERSIC_INDEX_MIN, f">= {SERSIC_INDEX_MIN} (galaxyfit's smallest valid Sersic index)"),
    "r_e": _POSITIVE,
    "h": _POSITIVE,
    "sigma": _POSITIVE,
    "fwhm": _POSITIVE,
    "beta": (lambda v: v > 0, "positive (the Moffat power index)"),
}
_CONVERTED_FUNCTIONS = ("Sersic", "Exponential", "Gaussian", "Moffat")



@dataclass
class ImfitParameter:
    value: float
    limits: tuple[float, float] | None = None
    fixed: bool = False
    #: Line of the configuration file that set it (None if not read from a file).
    line: int | None = None


@dataclass
class ImfitFunction:
    name: str
    parameters: dict[str, ImfitParameter] = field(default_factory=dict)
    line: int | None = None


@dataclass
class ImfitFunctionSet:
    """Functions sharing one centre (X0, Y0)."""

    x0: ImfitParameter
    y0: ImfitParameter
    functions: list[ImfitFunction] = field(default_factory=list)


@dataclass
class ImfitConfig:
    image: dict[str, float]
    function_sets: list[ImfitFunctionSet]
    #: The file it was read from (None if built in code): errors name it with the line.
    path: str | None = None

    def _where(self, line) -> str:
        return f"{self.path or 'Imfit configuration'}:{line}" if line is not None else (self.path or "Imfit configuration")

    def galaxies(self, shape, pixel_scales, redshift: float | None = None) -> list[Galaxy]:
        """One galaxy per function set with the starting values; components named by function and index
        (``sersic_0``, ``exponential_1``, ...). Raises ModelError for functions without a galaxyfit equivalent."""
        convert._square_pixel(pixel_scales)  # (checked first: errors below are about the file's content)
        convert._shape(shape)
        galaxies = []
        for fset in self.function_sets:
            components = {}
            for k, function in enumerate(fset.functions):
                if function.name == "FlatSky":
                    raise ModelError(f"{self._where(function.line)}: FlatSky is a background, not a galaxy component: use "
                                     "ImfitConfig.model() or instance(), whose dataset_model holds it")
                try:
                    profile = profile_from_imfit(function, fset.x0.value, fset.y0.value, shape, pixel_scales)
                except ModelError as error:
                    if self.path is None or function.line is None:
                        raise
                    raise ModelError(f"{self._where(function.line)}: {error}") from None
                components[f"{function.name.lower()}_{k}"] = profile
            galaxies.append(Galaxy(redshift, **components))
        return galaxies

    def model(self, shape, pixel_scales, redshift: float | None = None):
        """(model, start vector): a galaxyfit model of this configuration that honours every fixed flag and every
        limit of the file, and the file's values as a vector of the model's free parameters.

        One ``Galaxy`` model per function set that has galaxy functions (``galaxy``, or ``galaxy_0``, ``galaxy_1``
        ... for several), components named as in ``galaxies`` and made of the Imfit-parameterised classes
        (profiles/parameterised.py: ``ImfitSersic``, ``ImfitExponential``, ``ImfitGaussian``, ``ImfitMoffat``),
        whose arguments are Imfit's quantities, so each limit ``lo,hi`` is a ``UniformPrior`` that is exactly
        Imfit's box (table below); a ``fixed`` parameter is a fixed value. The functions of a set share one centre
        (the same priors), as in Imfit. ``FlatSky`` becomes ``dataset_model.background_sky_level`` (subtracted from
        the data, which is the same as adding it to the model; galaxyfit.galaxy.DatasetModel).

        ======================  =========================  ==============================================================
        Imfit                   parameter                  limits lo,hi (units)  /  no limits (documented default)
        ======================  =========================  ==============================================================
        X0, Y0                  centre[1], centre[0]       (lo - (N+1)/2) ps .. (hi - (N+1)/2) ps  /  GaussianPrior(value, 0.3")
        PA                      position_angle             lo .. hi (degrees)  /  UniformPrior(value - 90, value + 90)
        ell                     axis_ratio = 1 - ell       1 - hi .. 1 - lo  /  UniformPrior(0, 1)
        I_e, I_0                intensity                  lo .. hi  /  LogUniformPrior(min(1e-6, v/100), max(1e6, 100 v))
        r_e, h, sigma, fwhm     major-axis size x ps       lo ps .. hi ps (arcsec)  /  UniformPrior(0, max(30", 10 v))
        n                       sersic_index               lo .. hi  /  UniformPrior(max(0.15, min(0.8, v/2)), max(5, 2 v))
        beta                    beta                       lo .. hi  /  UniformPrior(min(1, v/2), max(5, 2 v))
        I_sky (FlatSky)         background_sky_level       lo .. hi  /  GaussianPrior(v, max(1, |v|))
        ======================  =========================  ==============================================================

        (The defaults are galaxyfit's default priors, PyAutoGalaxy's, moved or widened to hold the file's value.)
        Limits ``lo,hi`` with ``lo == hi`` fix the parameter. Raises ModelError naming the file and line for
        functions without a galaxyfit equivalent, parameters a function does not have, more than one FlatSky, an
        intensity <= 0 without limits (no default prior holds it), and for bad ``shape``/``pixel_scales``.
        """
        from galaxyfit.model import Collection, Model, ModelInstance

        ps = convert._square_pixel(pixel_scales)
        ny, nx = convert._shape(shape)
        models, instances, sky = {}, {}, None
        galaxy_sets = [f for f in self.function_sets if any(fn.name != "FlatSky" for fn in f.functions)]
        for fset in self.function_sets:
            centre_priors, centre_values = None, None
            components, profiles = {}, {}
            for k, function in enumerate(fset.functions):
                name = f"{function.name.lower()}_{k}"
                if function.name == "FlatSky":
                    if sky is not None:
                        raise ModelError(f"{self._where(function.line)}: a second FlatSky; one background level can be fitted")
                    sky = self._sky(function)
                    continue
                if function.name not in _PARAMETERISED:
                    raise ModelError(f"{self._where(function.line)}: Imfit function {function.name!r} has no galaxyfit equivalent "
                                     f"({', '.join(_PARAMETERISED)}, FlatSky)")
                if centre_priors is None:
                    centre_priors = (self._prior(fset.y0, "Y0", "y", ny, ps), self._prior(fset.x0, "X0", "x", nx, ps))
                    centre_values = (_to_field("y", fset.y0.value, ny, ps), _to_field("x", fset.x0.value, nx, ps))
                cls, spec = _PARAMETERISED[function.name]
                missing = [key for key in spec if key not in function.parameters]
                if missing:
                    raise ModelError(f"{self._where(function.line)}: Imfit function {function.name} lacks parameter {', '.join(repr(m) for m in missing)}")
                unknown = [key for key in function.parameters if key not in spec]
                if unknown:
                    where = self._where(function.parameters[unknown[0]].line)
                    raise ModelError(f"{where}: Imfit function {function.name} has no parameter {unknown[0]!r} (it has {', '.join(spec)})")
                priors, values = {"centre": centre_priors}, {"centre": centre_values}
                for key, (field_name, kind) in spec.items():
                    parameter = function.parameters[key]
                    priors[field_name] = self._prior(parameter, f"{function.name} parameter {key}", kind, None, ps)
                    values[field_name] = _to_field(kind, parameter.value, None, ps)
                components[name] = Model(cls, **priors)
                profiles[name] = cls(**values)
            if components:
                key = "galaxy" if len(galaxy_sets) == 1 else f"galaxy_{len(models)}"
                models[key] = Model(Galaxy, redshift=redshift, **components)
                instances[key] = Galaxy(redshift, **profiles)
        if not models and sky is None:
            raise ModelError(f"{self.path or 'Imfit configuration'}: no functions to fit")
        model_parts = {"galaxies": Collection(**models)}
        instance_parts = {"galaxies": ModelInstance(**instances)}
        if sky is not None:
            # other DatasetModel fields (none in Imfit) stay fixed at their defaults
            others = {f.name: f.default for f in dataclasses.fields(DatasetModel) if f.name != "background_sky_level"}
            model_parts["dataset_model"] = Model(DatasetModel, background_sky_level=sky[0], **others)
            instance_parts["dataset_model"] = DatasetModel(sky[1])
        model = Collection(**model_parts)
        return model, model.vector_from_instance(ModelInstance(**instance_parts))

    def _sky(self, function: ImfitFunction):
        """(prior or fixed value, value) of a FlatSky's ``I_sky``."""
        unknown = [key for key in function.parameters if key != "I_sky"]
        if unknown or "I_sky" not in function.parameters:
            where = self._where(function.parameters[unknown[0]].line if unknown else function.line)
            raise ModelError(f"{where}: FlatSky has one parameter, I_sky" + (f" (got {unknown[0]!r})" if unknown else " (missing)"))
        parameter = function.parameters["I_sky"]
        return self._prior(parameter, "FlatSky parameter I_sky", "sky", None, 1.0), parameter.value

    def _prior(self, parameter: ImfitParameter, what: str, kind: str, n_pixels, ps):
        """The prior (or fixed value) in the field's units of one Imfit parameter (table in ``model``)."""
        value = _to_field(kind, parameter.value, n_pixels, ps)
        if parameter.fixed:
            return value
        if parameter.limits is not None:
            lo, hi = sorted(_to_field(kind, v, n_pixels, ps) for v in parameter.limits)
            if lo == hi:
                return value
            return UniformPrior(lo, hi)
        try:
            return _default_prior(kind, value)
        except ModelError as error:
            raise ModelError(f"{self._where(parameter.line)}: {what}: {error}") from None

    def instance(self, shape, pixel_scales, redshift: float | None = None):
        """The model instance of the file's values (``model(...)[0].instance_from_vector(model(...)[1])``)."""
        model, start = self.model(shape, pixel_scales, redshift)
        return model.instance_from_vector(start)


#: Imfit function -> (class, {Imfit parameter: (field, kind)}); kinds as in _to_field.
_PARAMETERISED = {
    "Sersic": (parameterised.ImfitSersic, {"PA": ("position_angle", "angle"), "ell": ("axis_ratio", "ell"), "n": ("sersic_index", "n"),
                                           "I_e": ("intensity", "intensity"), "r_e": ("effective_radius_major", "size")}),
    "Exponential": (parameterised.ImfitExponential, {"PA": ("position_angle", "angle"), "ell": ("axis_ratio", "ell"),
                                                     "I_0": ("intensity", "intensity"), "h": ("scale_length", "size")}),
    "Gaussian": (parameterised.ImfitGaussian, {"PA": ("position_angle", "angle"), "ell": ("axis_ratio", "ell"),
                                               "I_0": ("intensity", "intensity"), "sigma": ("sigma_major", "size")}),
    "Moffat": (parameterised.ImfitMoffat, {"PA": ("position_angle", "angle"), "ell": ("axis_ratio", "ell"), "I_0": ("intensity", "intensity"),
                                           "fwhm": ("fwhm_major", "size"), "beta": ("beta", "beta")}),
}


def _to_field(kind: str, value: float, n_pixels, ps: float) -> float:
    """An Imfit value in the parameterised class's units: pixel positions (1-based) to arcsec from the image
    centre, major-axis sizes in pixels to arcsec, ``ell`` to the axis ratio ``1 - ell``; the rest as they are."""
    if kind in ("x", "y"):
        return (value - (n_pixels + 1) / 2.0) * ps
    if kind == "size":
        return value * ps
    if kind == "ell":
        return 1.0 - value
    return float(value)


def _from_field(kind: str, value: float, n_pixels, ps: float) -> float:
    """Inverse of :func:`_to_field`."""
    if kind in ("x", "y"):
        return value / ps + (n_pixels + 1) / 2.0
    if kind == "size":
        return value / ps
    if kind == "ell":
        return 1.0 - value
    return float(value)


def _default_prior(kind: str, value: float):
    """The prior of a parameter without limits (table in ``ImfitConfig.model``), in the field's units."""
    if kind in ("x", "y"):
        return GaussianPrior(value, 0.3)
    if kind == "angle":
        return UniformPrior(value - 90.0, value + 90.0)
    if kind == "ell":
        return UniformPrior(0.0, 1.0)
    if kind == "intensity":
        if not value > 0:
            raise ModelError(f"value {value:g} <= 0 has no default prior (galaxyfit's is log-uniform); give limits lo,hi")
        return LogUniformPrior(min(1e-6, value / 100.0), max(1e6, value * 100.0))
    if kind == "size":
        return UniformPrior(0.0, max(30.0, 10.0 * value))
    if kind == "n":
        return UniformPrior(max(SERSIC_INDEX_MIN, min(0.8, value / 2.0)), max(5.0, 2.0 * value))
    if kind == "beta":
        return UniformPrior(min(1.0, value / 2.0), max(5.0, 2.0 * value))
    if kind == "sky":
        return GaussianPrior(value, max(1.0, abs(value)))
    raise AssertionError(kind)


def profile_from_imfit(function: ImfitFunction, x0: float, y0: float, shape, pixel_scales):
    p = {k: v.value for k, v in function.parameters.items()}
    try:
        if function.name == "Sersic":
            return convert.sersic_from_imfit(x0, y0, p["PA"], p["ell"], p["n"], p["I_e"], p["r_e"], shape, pixel_scales)
        if function.name == "Exponential":
            return convert.exponential_from_imfit(x0, y0, p["PA"], p["ell"], p["I_0"], p["h"], shape, pixel_scales)
        if function.name == "Gaussian":
            return convert.gaussian_from_imfit(x0, y0, p["PA"], p["ell"], p["I_0"], p["sigma"], shape, pixel_scales)
        if function.name == "Moffat":
            return convert.moffat_from_imfit(x0, y0, p["PA"], p["ell"], p["I_0"], p["fwhm"], p["beta"], shape, pixel_scales)
    except KeyError as missing:
        raise ModelError(f"Imfit function {function.name} lacks parameter {missing}") from None
    raise ModelError(f"Imfit function {function.name!r} has no galaxyfit equivalent (Sersic, Exponential, Gaussian, Moffat)")


def _number(token: str, what: str, where: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise ModelError(f"{where}: {what} must be a number, got {token!r}") from None
    if not math.isfinite(value):
        raise ModelError(f"{where}: {what} must be finite, got {token!r}")
    return value


def _parameter(tokens: list[str], where: str, line: int, function: str | None = None) -> ImfitParameter:
    """``NAME value [lo,hi | fixed]`` of ``function`` (None for X0/Y0), checked (module docstring)."""
    name = tokens[0]
    what = f"{function} parameter {name}" if function else name
    if len(tokens) < 2:
        raise ModelError(f"{where}: {what} has no value; expected '{name} value [lo,hi | fixed]'")
    value = _number(tokens[1], what, where)
    if function in _CONVERTED_FUNCTIONS and name in _PARAMETER_DOMAINS:
        test, description = _PARAMETER_DOMAINS[name]
        if not test(value):
            raise ModelError(f"{where}: {what} must be {description}, got {tokens[1]}")
    if len(tokens) < 3:
        return ImfitParameter(value, line=line)
    if tokens[2].lower() == "fixed":
        return ImfitParameter(value, fixed=True, line=line)
    parts = tokens[2].split(",")
    if len(parts) != 2:
        raise ModelError(f"{where}: limits of {what} must be 'lo,hi' or 'fixed', got {tokens[2]!r}")
    lo, hi = (_number(v, f"a limit of {what}", where) for v in parts)
    if lo > hi:
        raise ModelError(f"{where}: limits of {what} must be 'lo,hi' with lo <= hi, got {tokens[2]!r}")
    if not lo <= value <= hi:
        raise ModelError(f"{where}: {what} = {tokens[1]} lies outside its limits {tokens[2]}")
    return ImfitParameter(value, (lo, hi), line=line)


def text_lines(path: Path, what: str = "Imfit configuration file"):
    """(number, text) of the file's lines with comments (``#`` to the end of the line) removed. Raises ModelError
    naming the file (and line) for a file that cannot be read or is not text (``what`` says what it should be);
    undecodable bytes are allowed in comments. Imfit's and GALFIT's files share this."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelError(f"{path}: cannot read the {what} ({error.strerror or error})") from None
    for number, raw in enumerate(data.decode("utf-8", errors="surrogateescape").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        bad = next((c for c in line if "\udc80" <= c <= "\udcff" or (c < " " and c != "\t")), None)
        if bad is not None:
            raise ModelError(f"{path}:{number}: not text (byte {ascii(bad)}); expected {'an' if what[0] in 'AEIOU' else 'a'} {what}")
        if line:
            yield number, line


def read_imfit_config(path) -> ImfitConfig:
    """Parse an Imfit configuration file. Raises ModelError naming the file and line for malformed content (module
    docstring), and naming the file for one that cannot be read."""
    path = Path(path)
    image: dict[str, float] = {}
    sets: list[ImfitFunctionSet] = []
    pending_x0 = None
    for number, line in text_lines(path):
        tokens = line.split()
        key = tokens[0]
        where = f"{path}:{number}"
        if pending_x0 is not None and key != "Y0":
            raise ModelError(f"{where}: X0 (line {pending_x0.line}) must be followed by Y0, got {key}")
        if key in _IMAGE_KEYS:
            if len(tokens) < 2:
                raise ModelError(f"{where}: {key} has no value; expected '{key} value'")
            value = _number(tokens[1], key, where)
            test, description = _IMAGE_DOMAINS[key]
            if not test(value):
                raise ModelError(f"{where}: {key} must be {description}, got {tokens[1]}")
            image[_IMAGE_KEYS[key]] = int(value) if key == "NCOMBINED" else value
        elif key == "X0":
            pending_x0 = _parameter(tokens, where, number)
        elif key == "Y0":
            if pending_x0 is None:
                raise ModelError(f"{where}: Y0 without a preceding X0")
            sets.append(ImfitFunctionSet(pending_x0, _parameter(tokens, where, number)))
            pending_x0 = None
        elif key == "FUNCTION":
            if not sets:
                raise ModelError(f"{where}: FUNCTION before any X0/Y0")
            if len(tokens) < 2:
                raise ModelError(f"{where}: FUNCTION has no function name; expected e.g. 'FUNCTION Sersic'")
            sets[-1].functions.append(ImfitFunction(tokens[1], line=number))
        else:
            if not sets or not sets[-1].functions:
                raise ModelError(f"{where}: parameter {key} outside a FUNCTION block")
            function = sets[-1].functions[-1]
            function.parameters[key] = _parameter(tokens, where, number, function.name)
    if pending_x0 is not None:
        raise ModelError(f"{path}:{pending_x0.line}: X0 without a following Y0")
    if not sets:
        raise ModelError(f"{path}: no function sets found")
    return ImfitConfig(image, sets, str(path))


# ---- writing ---------------------------------------------------------------------------------------------------------

#: Parameterised class -> (Imfit function, {field: (Imfit parameter, kind)}), the inverse of _PARAMETERISED.
_IMFIT_OF_CLASS = {cls: (function, {field: (key, kind) for key, (field, kind) in spec.items()})
                   for function, (cls, spec) in _PARAMETERISED.items()}
_IMAGE_KEY_OF = {v: k for k, v in _IMAGE_KEYS.items()}


def _format(value: float) -> str:
    # repr: the shortest text that reads back as the same float64
    return repr(float(value))


def _limits_text(entry, kind: str, value: float, n_pixels, ps: float) -> tuple[float, str]:
    """(value, "" | "lo,hi" | "fixed") of a model entry (a fixed number, a UniformPrior or another prior) in Imfit's
    units. A value that float rounding moved just outside its limits is put back on them (Imfit refuses values outside
    their limits)."""
    imfit_value = _from_field(kind, value, n_pixels, ps)
    if isinstance(entry, (int, float)) and not isinstance(entry, bool):
        return imfit_value, "fixed"
    if isinstance(entry, UniformPrior):
        lo, hi = sorted(_from_field(kind, v, n_pixels, ps) for v in entry.limits)
        if not lo <= imfit_value <= hi:
            tolerance = 1e-9 * max(abs(lo), abs(hi), 1.0)
            if lo - tolerance <= imfit_value <= hi + tolerance:
                imfit_value = min(max(imfit_value, lo), hi)
            else:
                return imfit_value, ""  # (a value outside its prior: write it without limits rather than a bad file)
        return imfit_value, f"{_format(lo)},{_format(hi)}"
    return imfit_value, ""


def _model_attribute(node, name):
    """The entry ``name`` of a Model/Collection, None when absent (no model, or a component the model lacks)."""
    if node is None:
        return None
    try:
        return node._attributes.get(name)
    except AttributeError:
        return None


def _galaxy_items(instance):
    """(name, Galaxy) pairs of a ModelInstance with ``galaxies``, a ModelInstance of galaxies, Galaxies, a list of
    Galaxy or one Galaxy."""
    from galaxyfit.galaxy import Galaxies

    galaxies = getattr(instance, "galaxies", instance) if not isinstance(instance, (Galaxy, Galaxies, list, tuple)) else instance
    if isinstance(galaxies, Galaxy):
        return [("galaxy", galaxies)]
    if hasattr(galaxies, "items"):
        return list(galaxies.items())
    return [(f"galaxy_{i}", g) for i, g in enumerate(galaxies)]


def _standard_entries(profile, entries: dict, shape, ps):
    """Imfit (function, {parameter: (value, limits text)}) of a standard galaxyfit profile (convert.to_imfit), with
    limits where the model's prior maps linearly onto the Imfit parameter (centre, intensity, n, beta) and ``fixed``
    where every galaxyfit parameter it depends on is fixed (a field the class lacks, such as an Sph profile's
    ``ell_comps`` or DevVaucouleurs' index, counts as fixed)."""
    values = convert.to_imfit(profile, shape, ps)
    function = values.pop("function")
    fields = profile.parameter_names

    def is_fixed(name):
        if name not in fields:
            return True
        entry = entries.get(name)
        return isinstance(entry, float) or (isinstance(entry, tuple) and all(isinstance(e, float) for e in entry))

    def linear(name, key, scale=1.0):
        entry = entries.get(name)
        if is_fixed(name) and (entry is not None or name not in fields):
            return values[key], "fixed"
        if isinstance(entry, UniformPrior):
            lo, hi = sorted(v * scale for v in entry.limits)
            return values[key], f"{_format(lo)},{_format(hi)}"
        return values[key], ""

    def derived(key, depends):
        known = entries or any(d not in fields for d in depends)
        return values[key], "fixed" if known and all(is_fixed(d) for d in depends) else ""

    out = {"PA": derived("PA", ["ell_comps"]), "ell": derived("ell", ["ell_comps"])}
    if function == "Sersic":
        out["n"] = linear("sersic_index", "n")
        out["I_e"] = linear("intensity", "I_e")
        out["r_e"] = derived("r_e", ["effective_radius", "ell_comps"])
    elif function == "Exponential":
        out["I_0"] = linear("intensity", "I_0", math.exp(convert._b1()))
        out["h"] = derived("h", ["effective_radius", "ell_comps"])
    elif function == "Gaussian":
        out["I_0"] = linear("intensity", "I_0")
        out["sigma"] = derived("sigma", ["sigma", "ell_comps"])
    else:
        out["I_0"] = linear("intensity", "I_0")
        out["fwhm"] = derived("fwhm", ["alpha", "beta", "ell_comps"])
        out["beta"] = linear("beta", "beta")
    return function, out


def write_imfit_config(path, instance, shape, pixel_scales, model=None, image: dict | None = None, comment: str | None = None) -> Path:
    """Write ``instance`` as an Imfit configuration file in the format of Imfit's best-fit parameter file
    (``imfit --save-params``: ``X0``/``Y0`` lines, ``FUNCTION`` blocks, one ``NAME value [limits | fixed]`` line per
    parameter), usable as the next input of Imfit or of :func:`read_imfit_config`.

    Parameters
    ----------
    path : str or Path
        The file to write.
    instance : ModelInstance, Galaxies, list of Galaxy or Galaxy
        The values, e.g. ``result.max_log_likelihood_instance`` (with ``galaxies`` and, optionally,
        ``dataset_model``, written as a ``FlatSky``). Components: the Imfit-parameterised classes
        (profiles/parameterised.py) and galaxyfit's Sersic, Exponential, DevVaucouleurs, Gaussian, Moffat and their
        Sph variants (convert.to_imfit). Components of a galaxy sharing a centre form one function set.
    shape, pixel_scales
        The image's (N_y, N_x) and pixel scale (arcsec per pixel; square pixels).
    model : Collection, optional
        The model that made ``instance`` (e.g. ``result.model``): its fixed values are written ``fixed`` and its
        ``UniformPrior`` limits as Imfit limits (exactly Imfit's box for the parameterised classes; for standard
        profiles only where the map is linear: X0, Y0, intensities, n, beta). Without it no limits are written.
    image : dict, optional
        Image keys as ``ImfitConfig.image`` holds them (``gain``, ``read_noise``, ``original_sky``,
        ``exposure_time``, ``n_combined``), written first as ``GAIN`` ... lines.
    comment : str, optional
        A first comment line.

    Reading the file back with ``read_imfit_config(path).model(shape, pixel_scales)`` gives the same priors and,
    as start vector, the values of ``instance`` (to float64 rounding of the pixel/arcsec conversions). Returns the
    path. Raises ModelError for components without an Imfit function (convert.to_imfit's message) and bad
    ``shape``/``pixel_scales``.
    """
    ps = convert._square_pixel(pixel_scales)
    ny, nx = convert._shape(shape)
    lines = [f"# {comment}" if comment else "# Best-fit parameters written by galaxyfit (Imfit configuration-file format)"]
    for key, value in (image or {}).items():
        if key not in _IMAGE_KEY_OF:
            raise ModelError(f"image key {key!r} is not one of {', '.join(_IMAGE_KEY_OF)}")
        lines.append(f"{_IMAGE_KEY_OF[key]:<14s}{_format(value)}")
    model_galaxies = _model_attribute(model, "galaxies")
    sets = []  # [(centre, centre entries, [(function, params)])]
    for gname, galaxy in _galaxy_items(instance):
        galaxy_model = _model_attribute(model_galaxies, gname)
        for cname, profile in galaxy.components.items():
            component_model = _model_attribute(galaxy_model, cname)
            entries = dict(component_model._attributes) if hasattr(component_model, "_attributes") else (
                {f: getattr(profile, f) for f in profile.parameter_names} if component_model is not None else {})
            centre = tuple(float(c) for c in profile.centre)
            centre_entries = entries.get("centre", (None, None))
            if type(profile) in _IMFIT_OF_CLASS:
                function, spec = _IMFIT_OF_CLASS[type(profile)]
                params = {}
                for field_name, (key, kind) in spec.items():
                    params[key] = _limits_text(entries.get(field_name), kind, float(getattr(profile, field_name)), None, ps)
            else:
                try:
                    function, params = _standard_entries(profile, entries, (ny, nx), ps)
                except ModelError as error:
                    raise ModelError(f"galaxies.{gname}.{cname}: {error}") from None
            if sets and sets[-1][3] == gname and sets[-1][0] == centre:
                sets[-1][2].append((function, params))
            else:
                sets.append((centre, centre_entries, [(function, params)], gname))
    dataset_model = getattr(instance, "dataset_model", None) if hasattr(instance, "__contains__") and "dataset_model" in instance else None
    sky = None
    if dataset_model is not None:
        sky_entry = _model_attribute(_model_attribute(model, "dataset_model"), "background_sky_level")
        sky = ("FlatSky", {"I_sky": _limits_text(sky_entry, "sky", float(dataset_model.background_sky_level), None, 1.0)})
        if not sets:
            sets.append(((0.0, 0.0), (0.0, 0.0), [], None))
        sets[0][2].append(sky)
    if not sets:
        raise ModelError("write_imfit_config: the instance has no components to write")
    for centre, centre_entries, functions, _ in sets:
        for key, kind, n, index in (("X0", "x", nx, 1), ("Y0", "y", ny, 0)):
            value, text = _limits_text(centre_entries[index], kind, centre[index], n, ps)
            lines.append(f"{key:<10s}{_format(value):<24s}{text}".rstrip())
        for function, params in functions:
            lines.append(f"FUNCTION {function}")
            for key, (value, text) in params.items():
                lines.append(f"{key:<10s}{_format(value):<24s}{text}".rstrip())
        lines.append("")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path


# ---- for the command line ----------------------------------------------------------------------------------------------


def model_from_imfit_config(path, shape, pixel_scales, redshift: float | None = None):
    """(model, start vector, config) of the Imfit configuration file ``path`` for an image of ``shape`` (N_y, N_x)
    with square pixels of ``pixel_scales`` arcsec: ``read_imfit_config(path).model(...)`` and the parsed file (its
    ``image`` keys feed the noise model, and ``write_imfit_best_fit`` takes it back). Raises ModelError as
    ``read_imfit_config`` and ``ImfitConfig.model`` do."""
    config = read_imfit_config(path)
    model, start = config.model(shape, pixel_scales, redshift)
    return model, start, config


def write_imfit_best_fit(path, result, config: ImfitConfig | None = None, instance=None) -> Path:
    """Write a search's best fit as an Imfit configuration file (``write_imfit_config``): the values of ``instance``
    (default ``result.max_log_likelihood_instance``; linear profiles need ``result.max_log_likelihood_instance_solved``
    and have no limits), the fixed flags and limits of ``result.model``, the image keys of ``config``, for the
    shape and pixel scale of ``result.analysis.dataset``. Returns the path."""
    dataset = result.analysis.dataset
    instance = result.max_log_likelihood_instance if instance is None else instance
    return write_imfit_config(path, instance, dataset.shape, dataset.pixel_scales, model=result.model,
                              image=config.image if config is not None else None, comment="Best-fit parameters written by galaxyfit")
