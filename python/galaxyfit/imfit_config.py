"""Reading Imfit configuration files (the model, its starting values and limits, and image characteristics) into
galaxyfit galaxies. Format: Imfit's documentation, "Configuration files" (Erwin 2015, ApJ 799, 226)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from galaxyfit.errors import ModelError
from galaxyfit.galaxy import Galaxy
from galaxyfit.profiles import convert

_IMAGE_KEYS = {"GAIN": "gain", "READNOISE": "read_noise", "ORIGINAL_SKY": "original_sky", "EXPTIME": "exposure_time", "NCOMBINED": "n_combined"}


@dataclass
class ImfitParameter:
    value: float
    limits: tuple[float, float] | None = None
    fixed: bool = False


@dataclass
class ImfitFunction:
    name: str
    parameters: dict[str, ImfitParameter] = field(default_factory=dict)


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

    def galaxies(self, shape, pixel_scales, redshift: float = 0.5) -> list[Galaxy]:
        """One galaxy per function set with the starting values; components named by function and index
        (``sersic_0``, ``exponential_1``, ...). Raises ModelError for functions without a galaxyfit equivalent."""
        galaxies = []
        for fset in self.function_sets:
            components = {}
            for k, function in enumerate(fset.functions):
                components[f"{function.name.lower()}_{k}"] = profile_from_imfit(function, fset.x0.value, fset.y0.value, shape, pixel_scales)
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
                raise ModelError("fixing only one of X0 and Y0 is not supported; fix both or neither")
            components, centre = {}, None
            for (name, profile), function in zip(galaxy.components.items(), fset.functions):
                for key, parameter in function.parameters.items():
                    if parameter.fixed and not (key == "n" and function.name == "Sersic"):
                        raise ModelError(f"fixed Imfit parameter {function.name}.{key} has no galaxyfit equivalent (only n, or X0 and Y0 together)")
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


def _parameter(tokens: list[str], where: str) -> ImfitParameter:
    try:
        value = float(tokens[1])
    except (IndexError, ValueError):
        raise ModelError(f"{where}: expected 'NAME value [lo,hi | fixed]'") from None
    if len(tokens) < 3:
        return ImfitParameter(value)
    if tokens[2].lower() == "fixed":
        return ImfitParameter(value, fixed=True)
    try:
        lo, hi = (float(v) for v in tokens[2].split(","))
    except ValueError:
        raise ModelError(f"{where}: limits must be 'lo,hi' or 'fixed', got {tokens[2]!r}") from None
    return ImfitParameter(value, (lo, hi))


def read_imfit_config(path) -> ImfitConfig:
    """Parse an Imfit configuration file. Raises ModelError naming the file and line for malformed content."""
    path = Path(path)
    image: dict[str, float] = {}
    sets: list[ImfitFunctionSet] = []
    pending_x0 = None
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        tokens = line.split()
        key = tokens[0]
        where = f"{path}:{number}"
        if key in _IMAGE_KEYS:
            image[_IMAGE_KEYS[key]] = float(tokens[1])
        elif key == "X0":
            pending_x0 = _parameter(tokens, where)
        elif key == "Y0":
            if pending_x0 is None:
                raise ModelError(f"{where}: Y0 without a preceding X0")
            sets.append(ImfitFunctionSet(pending_x0, _parameter(tokens, where)))
            pending_x0 = None
        elif key == "FUNCTION":
            if not sets:
                raise ModelError(f"{where}: FUNCTION before any X0/Y0")
            sets[-1].functions.append(ImfitFunction(tokens[1]))
        else:
            if not sets or not sets[-1].functions:
                raise ModelError(f"{where}: parameter {key} outside a FUNCTION block")
            sets[-1].functions[-1].parameters[key] = _parameter(tokens, where)
    if not sets:
        raise ModelError(f"{path}: no function sets found")
    return ImfitConfig(image, sets)
