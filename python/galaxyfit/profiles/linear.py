"""Linear light profiles (PyAutoGalaxy's ``lp_linear``): every standard profile without its ``intensity``, which is
solved for at each likelihood call by the linear inversion (``galaxyfit.inversion``), plus a linear ``Sky`` and
the slopes ``SkySlopeY`` / ``SkySlopeX`` of a linear sky plane.

``gf.lp_linear.Sersic(centre, ell_comps, effective_radius, sersic_index)`` has the parameters of ``gf.lp.Sersic``
except ``intensity``. Its column of the inversion is the image of the standard profile at ``intensity = 1``
(``unit_profile()``), and ``lp_instance_from(intensity)`` is the standard profile at a solved intensity, so results,
fluxes and saved galaxies report ordinary profiles. The classes are made from the standard ones (same laws, same
parameter definitions, same validity rules), so the two can never drift apart.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from galaxyfit._precision import float64_api
from galaxyfit.profiles import light
from galaxyfit.profiles.light import LightProfile


@float64_api
class LinearLightProfile:
    """A light profile whose intensity is a linear parameter of the inversion (not a model parameter)."""

    #: The standard profile class this one solves the intensity of.
    standard_class: ClassVar[type] = None
    operated: ClassVar[bool] = False

    @property
    def intensity(self) -> float:
        """1: the column of the inversion is the profile's image at unit intensity."""
        return 1.0

    def unit_profile(self) -> LightProfile:
        """The standard profile with these parameters and ``intensity = 1``."""
        return self.lp_instance_from(1.0)

    def lp_instance_from(self, intensity) -> LightProfile:
        """The standard profile with these parameters and ``intensity`` (e.g. the solved one)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return self.standard_class(intensity=intensity, **values)


def _linear_class(standard: type) -> type:
    """The linear version of a standard profile class: its fields but ``intensity``, its methods, and
    ``intensity`` as the constant 1."""
    namespace = {"__module__": __name__, "__qualname__": standard.__name__, "standard_class": standard,
                 "__doc__": f"Linear :class:`galaxyfit.lp.{standard.__name__}`: its parameters without ``intensity``, "
                            "which the inversion solves for (PyAutoGalaxy ``lp_linear." + standard.__name__ + "``)."}
    # Methods and class attributes of the standard class and its bases, LightProfile's included (so that anything
    # light.py adds there reaches the linear classes too), though a linear profile is not a LightProfile: the
    # parametric model must not render it.
    for klass in reversed(standard.__mro__):
        if klass is object or klass.__module__ != light.__name__:
            continue
        for name, value in vars(klass).items():
            if name.startswith("__") or name in ("intensity",) or isinstance(value, dataclasses.Field):
                continue
            namespace[name] = value
    fields = [f for f in dataclasses.fields(standard) if f.name != "intensity"]
    namespace["__annotations__"] = {f.name: f.type for f in fields}
    for f in fields:
        namespace[f.name] = f.default
    namespace.pop("intensity", None)
    bases = (LinearLightProfile,) + tuple(b for b in standard.__bases__ if b is not LightProfile and b.__module__ == light.__name__)
    cls = type(standard.__name__, bases, namespace)
    cls.intensity = LinearLightProfile.intensity
    return light.light_profile(cls)


@light.light_profile
@float64_api
class SkyLevel:
    """A solved sky level: ``intensity`` (data units per pixel) added to the model at every pixel, after the PSF.
    What a :class:`Sky` becomes in results (``Sky.lp_instance_from``)."""

    intensity: float = 0.0

    positive_parameters: ClassVar[tuple] = ()

    def total_flux(self, pixel_scales=None):
        return float("nan")  # a background has no total flux


@light.light_profile
class Sky(LinearLightProfile):
    """A constant background level over the image (data units per pixel), solved linearly with either sign (it is
    exempt from the positive-only constraint: one column, not a +- pair, which would make the curvature matrix
    singular). Not PSF-convolved: a constant stays constant."""

    free_sign: ClassVar[bool] = True
    positive_parameters: ClassVar[tuple] = ()

    def lp_instance_from(self, intensity) -> SkyLevel:
        return SkyLevel(intensity=intensity)

    def total_flux(self, pixel_scales=None):
        return float("nan")  # a background has no total flux


@light.light_profile
class SkyLevelSlopeY(SkyLevel):
    """A solved sky slope along y: ``intensity`` (data units per pixel per arcsec) times the pixel centre's y (arcsec
    from the image centre, ``DESIGN.md``) added to the model after the PSF. What a :class:`SkySlopeY` becomes in
    results."""

    axis: ClassVar[int] = 0


@light.light_profile
class SkyLevelSlopeX(SkyLevel):
    """A solved sky slope along x (as :class:`SkyLevelSlopeY`, with the pixel centre's x)."""

    axis: ClassVar[int] = 1


def sky_values(component, y, x):
    """The model values (data units per pixel) of a solved sky component (``SkyLevel`` or a slope) at pixel centres
    ``y``, ``x`` (arcsec from the image centre; arrays of one shape)."""
    axis = getattr(type(component), "axis", None)
    if axis is None:
        return component.intensity + 0.0 * y
    return component.intensity * (y if axis == 0 else x)


@light.light_profile
class SkySlopeY(Sky):
    """The y slope of a linear sky plane: a column equal to each pixel centre's y (arcsec from the image centre),
    solved with either sign (data units per pixel per arcsec), not PSF-convolved. With :class:`Sky` and
    :class:`SkySlopeX` in one galaxy it makes the plane ``a + b_y y + b_x x`` solved exactly by the inversion
    (``sky_plane_components``)."""

    axis: ClassVar[int] = 0

    def lp_instance_from(self, intensity) -> SkyLevel:
        return SkyLevelSlopeY(intensity=intensity)


@light.light_profile
class SkySlopeX(Sky):
    """The x slope of a linear sky plane (as :class:`SkySlopeY`, with each pixel centre's x)."""

    axis: ClassVar[int] = 1

    def lp_instance_from(self, intensity) -> SkyLevel:
        return SkyLevelSlopeX(intensity=intensity)


def sky_column(profile, y, x):
    """The unit column of a linear sky (``Sky``: ones; ``SkySlopeY`` / ``SkySlopeX``: the pixel centres' y / x in
    arcsec) at pixel centres ``y``, ``x``."""
    axis = getattr(type(profile), "axis", None)
    if axis is None:
        return 1.0 + 0.0 * y
    return y if axis == 0 else x


def sky_plane_components(prefix: str = "sky") -> dict:
    """``{prefix: Sky(), prefix_slope_y: SkySlopeY(), prefix_slope_x: SkySlopeX()}``: the three columns of a linear
    sky plane, to pass to ``Galaxy(..., **sky_plane_components())`` (or ``Model(Galaxy, ...)``)."""
    return {prefix: Sky(), f"{prefix}_slope_y": SkySlopeY(), f"{prefix}_slope_x": SkySlopeX()}


_STANDARD = list(light.PROFILES.values())

#: The linear classes, by name (model files refer to them as ``linear.<name>``).
PROFILES = {cls.__name__: _linear_class(cls) for cls in _STANDARD}
PROFILES["Sky"] = Sky
PROFILES["SkySlopeY"] = SkySlopeY
PROFILES["SkySlopeX"] = SkySlopeX
globals().update(PROFILES)

__all__ = ["LinearLightProfile", "SkyLevel", "SkyLevelSlopeY", "SkyLevelSlopeX", "sky_plane_components", *PROFILES]


def is_linear(component) -> bool:
    return isinstance(component, LinearLightProfile)

