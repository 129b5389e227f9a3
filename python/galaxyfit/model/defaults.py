"""Default priors, PyAutoGalaxy 2026.10.26.1's (``autogalaxy/config/priors/**/*.yaml``; reference notes section 2.2).

A callable per parameter name (and per class where they differ) returns a *fresh* prior, so two models never share
a parameter by accident. ``None`` means the parameter is fixed at the class default (PyAutoGalaxy's "Constant").
"""

from __future__ import annotations

from galaxyfit.errors import ModelError
from galaxyfit.model.priors import GaussianPrior, LogUniformPrior, TruncatedGaussianPrior, UniformPrior


def _centre():
    return GaussianPrior(0.0, 0.3)


def _ell():
    return TruncatedGaussianPrior(0.0, 0.3, -1.0, 1.0)


_COMMON = {
    "centre": _centre,
    "ell_comps": _ell,
    "intensity": lambda: LogUniformPrior(1e-6, 1e6),
    "effective_radius": lambda: UniformPrior(0.0, 30.0),
    "sersic_index": lambda: UniformPrior(0.8, 5.0),
    "sigma": lambda: UniformPrior(0.0, 25.0),
    "alpha": lambda: UniformPrior(0.0, 1.0),
    "beta": lambda: UniformPrior(1.0, 5.0),
    "eta": lambda: UniformPrior(0.5, 3.0),
    "core_radius_0": lambda: UniformPrior(0.0, 30.0),
    "core_radius_1": lambda: UniformPrior(0.0, 30.0),
    # Imfit's and GALFIT's parameters (profiles/parameterised.py; their readers set every prior from the file)
    "position_angle": lambda: UniformPrior(0.0, 180.0),
    "axis_ratio": lambda: UniformPrior(0.0, 1.0),
    "effective_radius_major": lambda: UniformPrior(0.0, 30.0),
    "scale_length": lambda: UniformPrior(0.0, 30.0),
    "sigma_major": lambda: UniformPrior(0.0, 25.0),
    "fwhm_major": lambda: UniformPrior(0.0, 5.0),
    "magnitude": lambda: UniformPrior(0.0, 40.0),
    "magnitude_zero_point": None,  # a property of the image, fixed
    "pixel_scale": None,
    "background_sky_level": None,  # PyAutoGalaxy: Constant 0.0; give it a prior to fit the sky
    "grid_offset": None,  # PyAutoGalaxy: grid_offset_0, grid_offset_1 Constant 0.0 (config/priors/dataset_model.yaml)
    "background_sky_slope_y": None,  # no PyAutoGalaxy counterpart: fixed at 0 unless given a prior
    "background_sky_slope_x": None,
    # regularization coefficients (autogalaxy/config/priors/regularization/*.yaml)
    "coefficient": lambda: LogUniformPrior(1e-6, 1e6),
    "coefficient_neighbor": lambda: LogUniformPrior(1e-6, 1e6),
    "coefficient_zeroth": lambda: LogUniformPrior(1e-6, 1e6),
    "inner_coefficient": lambda: LogUniformPrior(1e-6, 1e6),
    "outer_coefficient": lambda: LogUniformPrior(1e-6, 1e6),
    "signal_scale": lambda: UniformPrior(0.0, 1.0),
    "scale": lambda: LogUniformPrior(1e-6, 1e6),
    "power": None,  # PyAutoGalaxy: Constant 1.0
    "nu": None,  # fixed (closed forms for 0.5, 1.5, 2.5); PyAutoGalaxy frees it in MaternKernel
    "redshift": None,
}

# Per-class differences from the table above.
_BY_CLASS = {
    "SersicCore": {"intensity": lambda: LogUniformPrior(1e-5, 1e3), "radius_break": None, "gamma": None, "alpha": None},
    "SersicCoreSph": {"intensity": lambda: LogUniformPrior(1e-5, 1e3), "radius_break": None, "gamma": None, "alpha": None},
    "ExponentialCore": {"intensity": lambda: LogUniformPrior(1e-5, 1e3), "radius_break": None, "gamma": None, "alpha": None},
    "ExponentialCoreSph": {"intensity": lambda: LogUniformPrior(1e-5, 1e3), "radius_break": None, "gamma": None, "alpha": None},
    "operated.Gaussian": {"sigma": lambda: UniformPrior(0.0, 5.0)},
    "linear.SersicCore": {"radius_break": None, "gamma": None, "alpha": None},
    "linear.SersicCoreSph": {"radius_break": None, "gamma": None, "alpha": None},
    "linear.ExponentialCore": {"radius_break": None, "gamma": None, "alpha": None},
    "linear.ExponentialCoreSph": {"radius_break": None, "gamma": None, "alpha": None},
    "operated.GaussianSph": {"sigma": lambda: UniformPrior(0.0, 5.0)},
}


def default_prior(class_name: str, parameter: str):
    """A fresh default prior for ``parameter`` of the class, or None when it stays fixed at its default value.

    Raises ModelError for a parameter without a documented default (give it a prior or a value explicitly).
    """
    table = _BY_CLASS.get(class_name, {})
    if parameter in table:
        factory = table[parameter]
    elif parameter in _COMMON:
        factory = _COMMON[parameter]
    else:
        raise ModelError(f"{class_name}.{parameter} has no default prior: set a prior or a fixed value")
    return factory() if factory is not None else None
