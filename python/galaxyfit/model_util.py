"""Model builders PyAutoGalaxy users reach for (``autogalaxy/analysis/model_util.py``, 2026.10.26.1): the
multi-Gaussian expansion (MGE) of a galaxy's light, and of a point source.

An MGE represents light as a sum of Gaussians with fixed, log-spaced widths whose amplitudes are solved linearly
(Cappellari 2002, MNRAS 333, 400; He et al. 2024 for MGE light in lens models): only the shared centre and
ellipticity are non-linear parameters.
"""

from __future__ import annotations

import numpy as np

from galaxyfit.errors import ModelError
from galaxyfit.model.model import Model
from galaxyfit.model.priors import GaussianPrior, TruncatedGaussianPrior, UniformPrior
from galaxyfit.profiles import linear
from galaxyfit.profiles.basis import Basis


def mge_model_from(mask_radius: float, total_gaussians: int = 30, gaussian_per_basis: int = 1,
                   centre_prior_is_uniform: bool = True, centre=(0.0, 0.0), centre_fixed=None,
                   centre_per_basis: bool = False, centre_sigma: float = 0.3, ell_comps_prior_is_uniform: bool = False,
                   ell_comps_uniform_width: float = 0.2, ell_comps_sigma: float = 0.3, use_spherical: bool = False,
                   sigma_min: float = 1e-4, ell_comps_limit: float = 1.0) -> Model:
    """A ``Model(Basis)`` of ``gaussian_per_basis`` groups of ``total_gaussians`` linear Gaussians each, with sigmas
    fixed at ``10 ** linspace(log10(sigma_min), log10(mask_radius), total_gaussians)`` (arcsec).

    Within a group the Gaussians share one centre and one ``ell_comps``; groups have independent ``ell_comps`` and
    share the centre unless ``centre_per_basis``. Priors (PyAutoGalaxy's): centre ``UniformPrior(c - 0.1, c + 0.1)``
    (``centre_prior_is_uniform``) or ``GaussianPrior(c, centre_sigma)``; ``centre_fixed`` fixes it; ell_comps
    ``TruncatedGaussianPrior(0, ell_comps_sigma, -ell_comps_limit, ell_comps_limit)`` or ``UniformPrior(+-
    ell_comps_uniform_width)``; ``use_spherical`` uses ``GaussianSph`` (no ell_comps). Free parameters: 4 for one
    group, 2 + 2K for K groups (4K with ``centre_per_basis``). Raises ModelError for sigma_min <= 0, sigma_min >
    mask_radius, ell_comps_limit outside (0, 1], or counts below 1. (PyAutoGalaxy's ``order_bases`` assertions and
    its ``PYAUTO_SMALL_DATASETS`` shortcut are not reproduced.)
    """
    if not (isinstance(total_gaussians, (int, np.integer)) and total_gaussians >= 1):
        raise ModelError(f"mge_model_from: total_gaussians must be an integer >= 1, got {total_gaussians!r}")
    if not (isinstance(gaussian_per_basis, (int, np.integer)) and gaussian_per_basis >= 1):
        raise ModelError(f"mge_model_from: gaussian_per_basis must be an integer >= 1, got {gaussian_per_basis!r}")
    if not 0.0 < ell_comps_limit <= 1.0:
        raise ModelError(f"mge_model_from: ell_comps_limit must be in (0, 1], got {ell_comps_limit}")
    if not sigma_min > 0.0:
        raise ModelError(f"mge_model_from: sigma_min must be > 0, got {sigma_min}")
    if sigma_min > mask_radius:
        raise ModelError(f"mge_model_from: sigma_min ({sigma_min}) must not exceed mask_radius ({mask_radius})")
    sigmas = 10.0 ** np.linspace(np.log10(sigma_min), np.log10(mask_radius), int(total_gaussians))
    gaussian = linear.GaussianSph if use_spherical else linear.Gaussian

    def centre_priors():
        if centre_fixed is not None:
            return (float(centre_fixed[0]), float(centre_fixed[1]))
        if centre_prior_is_uniform:
            return (UniformPrior(centre[0] - 0.1, centre[0] + 0.1), UniformPrior(centre[1] - 0.1, centre[1] + 0.1))
        return (GaussianPrior(centre[0], centre_sigma), GaussianPrior(centre[1], centre_sigma))

    def ell_comps_priors():
        if ell_comps_prior_is_uniform:
            return tuple(UniformPrior(-ell_comps_uniform_width, ell_comps_uniform_width) for _ in range(2))
        return tuple(TruncatedGaussianPrior(0.0, ell_comps_sigma, -ell_comps_limit, ell_comps_limit) for _ in range(2))

    shared_centre = centre_priors()
    profiles = []
    for _ in range(int(gaussian_per_basis)):
        group_centre = centre_priors() if centre_per_basis and centre_fixed is None else shared_centre
        group_ell = None if use_spherical else ell_comps_priors()
        for sigma in sigmas:
            member = Model(gaussian, centre=group_centre, sigma=float(sigma))
            if group_ell is not None:
                member.ell_comps = group_ell
            profiles.append(member)
    return Model(Basis, profile_list=profiles)


def mge_point_model_from(pixel_scales: float, total_gaussians: int = 10, centre=(0.0, 0.0), sigma_min: float = 0.01) -> Model:
    """A ``Model(Basis)`` of ``total_gaussians`` linear Gaussians for an unresolved or barely resolved source: sigmas
    log-spaced from ``sigma_min`` to max(2 * pixel_scales, sigma_min) (arcsec), one centre with
    ``UniformPrior(c +- 0.1)`` priors, one ``ell_comps`` shared by all (PyAutoGalaxy's ``mge_point_model_from``).
    Raises ModelError for total_gaussians < 1, pixel_scales <= 0 or sigma_min <= 0."""
    if not (isinstance(total_gaussians, (int, np.integer)) and total_gaussians >= 1):
        raise ModelError(f"mge_point_model_from: total_gaussians must be an integer >= 1, got {total_gaussians!r}")
    if not pixel_scales > 0:
        raise ModelError(f"mge_point_model_from: pixel_scales must be > 0, got {pixel_scales}")
    if not sigma_min > 0.0:
        raise ModelError(f"mge_point_model_from: sigma_min must be > 0, got {sigma_min}")
    max_sigma = max(2.0 * pixel_scales, sigma_min)
    sigmas = 10.0 ** np.linspace(np.log10(sigma_min), np.log10(max_sigma), int(total_gaussians))
    centre_priors = (UniformPrior(centre[0] - 0.1, centre[0] + 0.1), UniformPrior(centre[1] - 0.1, centre[1] + 0.1))
    first = Model(linear.Gaussian, centre=centre_priors, sigma=float(sigmas[0]))
    profiles = [first] + [Model(linear.Gaussian, centre=centre_priors, ell_comps=first.ell_comps, sigma=float(s)) for s in sigmas[1:]]
    return Model(Basis, profile_list=profiles)
