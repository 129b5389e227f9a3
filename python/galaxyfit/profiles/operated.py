"""Operated light profiles: already convolved with the PSF, so they are added to the model image *after* the PSF
convolution (PyAutoGalaxy's ``lp_operated``), e.g. to model a point-like nucleus or AGN with a PSF-like law."""

from __future__ import annotations

from typing import ClassVar

from galaxyfit.profiles import light
from galaxyfit.profiles.light import light_profile


@light_profile
class Gaussian(light.Gaussian):
    """:class:`galaxyfit.profiles.light.Gaussian` that is not convolved with the PSF."""

    operated: ClassVar[bool] = True


@light_profile
class GaussianSph(light.GaussianSph):
    """Spherical operated Gaussian."""

    operated: ClassVar[bool] = True


@light_profile
class Moffat(light.Moffat):
    """:class:`galaxyfit.profiles.light.Moffat` that is not convolved with the PSF."""

    operated: ClassVar[bool] = True


@light_profile
class MoffatSph(light.MoffatSph):
    """Spherical operated Moffat."""

    operated: ClassVar[bool] = True


PROFILES = {f"operated.{cls.__name__}": cls for cls in [Gaussian, GaussianSph, Moffat, MoffatSph]}
