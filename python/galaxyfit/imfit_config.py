"""Reading Imfit configuration files (the model, its starting values and limits, and image characteristics) into
galaxyfit galaxies. Format: Imfit's documentation, "Configuration files" (Erwin 2015, ApJ 799, 226).

Every value is checked as the file is read, so a bad one is reported as ``file:line: ...`` (a ModelError) rather
than as a NaN in a start vector or an arithmetic error deep in a conversion: numbers must be finite, limits
``lo,hi`` finite with ``lo <= hi`` and holding the value, and the parameters of the functions galaxyfit converts
(Sersic, Exponential, Gaussian, Moffat) must lie in their domain (``ell`` in [0, 1), sizes and ``beta`` > 0, ``n`` at
least galaxyfit's smallest valid Sersic index); the image keys as imfit_noise_map needs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from galaxyfit.errors import ModelError
from galaxyfit.galaxy import Galaxy
from galaxyfit.profiles import convert
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

    def galaxies(self, shape, pixel_scales, redshift: float = 0.5) -> list[Galaxy]:
        """One galaxy per function set with the starting values; components named by function and index
        (``sersic_0``, ``exponential_1``, ...). Raises ModelError for functions without a galaxyfit equivalent."""
        convert._square_pixel(pixel_scales)  # (checked first: errors below are about the file's content)
        convert._shape(shape)
        galaxies = []
        for fset in self.function_sets:
            components = {}
            for k, function in enumerate(fset.functions):
                try:
                    profile = profile_from_imfit(function, fset.x0.value, fset.y0.value, shape, pixel_scales)
                except ModelError as error:
                    if self.path is None or function.line is None:
                        raise
                    raise ModelError(f"{self._where(function.line)}: {error}") from None
                components[f"{function.name.lower()}_{k}"] = profile
            galaxies.append(Galaxy(redshift, **components))
        return galaxies

    def model(self, shape, pixel_scales, redshift: float = 0.5):
        """(model, start vector): a galaxyfit model of this configuration and its starting point.

        One ``Galaxy`` model per function set, components named as in ``galaxies``, every parameter with galaxyfit's
        default prior; the functions of a set share one centre (linked), as in Imfit. A fixed Sersic ``n`` stays
        fixed, and so does a centre whose X0 and Y0 are both fixed. Imfit's limits are not carried over (they are box
        limits on PA and ell, which are not boxes in ell_comps). Raises ModelError for other fixed parameters.
        """
        from galaxyfit.model import Collection, Model, ModelInstance

        galaxies = self.galaxies(shape, pixel_scales, redshift)
        models = {}
        for g, (fset, galaxy) in enumerate(zip(self.function_sets, galaxies)):
            if fset.x0.fixed != fset.y0.fixed:
                raise ModelError(f"{self._where(fset.x0.line)}: fixing only one of X0 and Y0 is not supported; fix both or neither")
            components, centre = {}, None
            for (name, profile), function in zip(galaxy.components.items(), fset.functions):
                for key, parameter in function.parameters.items():
                    if parameter.fixed and not (key == "n" and function.name == "Sersic"):
                        raise ModelError(f"{self._where(parameter.line)}: fixed Imfit parameter {function.name}.{key} has no galaxyfit "
                                         "equivalent (only n, or X0 and Y0 together)")
                fixed = {"sersic_index": profile.sersic_index} if function.parameters.get("n", ImfitParameter(0)).fixed else {}
                if fset.x0.fixed:
                    fixed["centre"] = profile.centre
                component = Model(type(profile), **fixed)
                if centre is None:
                    centre = component.centre
                else:
                    component.centre = centre
                components[name] = component
            models[f"galaxy_{g}" if len(galaxies) > 1 else "galaxy"] = Model(Galaxy, redshift=redshift, **components)
        model = Collection(galaxies=Collection(**models))
        instance = ModelInstance(galaxies=ModelInstance(**dict(zip(models, galaxies))))
        return model, model.vector_from_instance(instance)


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


def _lines(path: Path):
    """(number, text) of the file's lines with comments removed. Raises ModelError naming the file (and line) for a
    file that cannot be read or is not text; undecodable bytes are allowed in comments."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelError(f"{path}: cannot read the Imfit configuration file ({error.strerror or error})") from None
    for number, raw in enumerate(data.decode("utf-8", errors="surrogateescape").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        bad = next((c for c in line if "\udc80" <= c <= "\udcff" or (c < " " and c != "\t")), None)
        if bad is not None:
            raise ModelError(f"{path}:{number}: not text (byte {ascii(bad)}); expected an Imfit configuration file")
        if line:
            yield number, line


def read_imfit_config(path) -> ImfitConfig:
    """Parse an Imfit configuration file. Raises ModelError naming the file and line for malformed content (module
    docstring), and naming the file for one that cannot be read."""
    path = Path(path)
    image: dict[str, float] = {}
    sets: list[ImfitFunctionSet] = []
    pending_x0 = None
    for number, line in _lines(path):
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
