"""``Basis``: many profiles acting as one galaxy component (PyAutoGalaxy's ``lp_basis.Basis``), e.g. a multi-Gaussian
expansion (``galaxyfit.model_util.mge_model_from``).

Linear profiles in a basis are columns of the inversion, their amplitudes solved together; standard profiles in it
are part of the parametric model. An optional regularization acts on the linear amplitudes in list order, as a chain
(amplitude i neighbours i - 1 and i + 1; PyAutoArray's ``LinearObjFuncList.neighbors``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax

from galaxyfit._precision import float64_api
from galaxyfit.errors import ModelError
from galaxyfit.profiles.light import LightProfile
from galaxyfit.profiles.linear import LinearLightProfile


def _refused(value) -> bool:
    # What a user may get wrong; anything else passes, as JAX rebuilds pytrees with placeholder leaves.
    return isinstance(value, (type, int, float, str)) or value is None


@dataclasses.dataclass(frozen=True)
@float64_api
class Basis:
    """A list of light profiles (``profile_list``; linear, standard or both) and an optional ``regularization`` of
    the linear ones' amplitudes (``galaxyfit.reg``). Raises ModelError for an empty list or members that are not
    profile objects (a class, a number)."""

    profile_list: tuple = ()
    regularization: Any = None

    def __post_init__(self):
        profiles = tuple(self.profile_list)
        if not profiles:
            raise ModelError("Basis.profile_list must hold at least one light profile")
        for i, profile in enumerate(profiles):
            if _refused(profile):
                what = f"the class {profile.__name__}" if isinstance(profile, type) else repr(profile)
                raise ModelError(f"Basis.profile_list[{i}] is {what}: give light profile objects")
        if isinstance(self.regularization, (type, int, float, str)):
            raise ModelError(f"Basis.regularization must be a galaxyfit.reg scheme or None, got {self.regularization!r}")
        object.__setattr__(self, "profile_list", profiles)

    @property
    def linear_profiles(self) -> list:
        return [p for p in self.profile_list if isinstance(p, LinearLightProfile)]

    @property
    def light_profiles(self) -> list:
        """The standard (non-linear) members, part of the parametric model."""
        return [p for p in self.profile_list if isinstance(p, LightProfile)]

    def __repr__(self) -> str:
        reg = f", regularization={self.regularization!r}" if self.regularization is not None else ""
        return f"Basis({len(self.profile_list)} profiles{reg})"


jax.tree_util.register_dataclass(Basis, data_fields=["profile_list", "regularization"], meta_fields=[])
