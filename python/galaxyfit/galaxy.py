"""``Galaxy`` (a redshift and named light profiles), ``Galaxies``, and ``DatasetModel`` (the sky background) -- all
JAX pytrees, so a model instance made of them passes through ``jit``, ``vmap`` and ``grad``."""

from __future__ import annotations

import dataclasses
from typing import Iterator

import jax

from galaxyfit.numbers import real_number
from galaxyfit.profiles.light import LightProfile


def component_types() -> tuple:
    """What a galaxy may be made of: light profiles, linear light profiles, bases of them, solved sky levels,
    pixelizations."""
    from galaxyfit.pixelization import Pixelization
    from galaxyfit.profiles.basis import Basis
    from galaxyfit.profiles.linear import LinearLightProfile, SkyLevel

    return (LightProfile, LinearLightProfile, Basis, SkyLevel, Pixelization)


def _check_component(name: str, component) -> None:
    """ModelError unless ``component`` is a profile object (a class, a number or None was silently ignored)."""
    if isinstance(component, component_types()):
        return
    from galaxyfit.errors import ModelError

    if isinstance(component, type):
        raise ModelError(f"Galaxy component {name}={component.__name__} is a class: give a profile object such as "
                         f"{component.__name__}(...), or use Model(Galaxy, {name}={component.__name__}) to fit it")
    raise ModelError(f"Galaxy component {name}={component!r} is not a light profile (galaxyfit.lp, lp_linear, lp_basis) "
                     f"or a Pixelization")


@jax.tree_util.register_pytree_node_class
class Galaxy:
    """A galaxy at ``redshift`` made of named components, e.g. ``Galaxy(0.5, bulge=Sersic(...), disk=Exponential(...))``.

    Components are reached as attributes (``galaxy.bulge``) and kept in the order given.
    """

    def __init__(self, redshift: float, **components):
        for name, component in components.items():
            _check_component(name, component)
        object.__setattr__(self, "redshift", real_number(redshift, "Galaxy.redshift"))
        object.__setattr__(self, "_components", dict(components))

    def __getattr__(self, name):
        components = self.__dict__.get("_components", {})
        if name in components:
            return components[name]
        raise AttributeError(f"Galaxy has no component {name!r} (it has {', '.join(components) or 'none'})")

    def __setattr__(self, name, value):
        raise AttributeError("Galaxy is immutable; build a new one")

    @property
    def components(self) -> dict:
        return dict(self._components)

    @property
    def light_profiles(self) -> list[LightProfile]:
        """The standard (parametric) light profiles, those inside bases included."""
        out = []
        for c in self._components.values():
            if isinstance(c, LightProfile):
                out.append(c)
            elif hasattr(c, "profile_list"):
                out.extend(c.light_profiles)
        return out

    def tree_flatten(self):
        names = tuple(self._components)
        return (self.redshift, *self._components.values()), names

    @classmethod
    def tree_unflatten(cls, names, children):
        redshift, *components = children
        return cls(redshift, **dict(zip(names, components)))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._components.items())
        return f"Galaxy(redshift={self.redshift!r}{', ' if inner else ''}{inner})"


@jax.tree_util.register_pytree_node_class
class Galaxies:
    """An ordered collection of galaxies."""

    def __init__(self, galaxies):
        self._galaxies = tuple(galaxies)

    def __iter__(self) -> Iterator[Galaxy]:
        return iter(self._galaxies)

    def __len__(self) -> int:
        return len(self._galaxies)

    def __getitem__(self, i) -> Galaxy:
        return self._galaxies[i]

    @property
    def light_profiles(self) -> list[LightProfile]:
        return [p for g in self._galaxies for p in g.light_profiles]

    def tree_flatten(self):
        return self._galaxies, None

    @classmethod
    def tree_unflatten(cls, _aux, children):
        return cls(children)

    def __repr__(self) -> str:
        return f"Galaxies({list(self._galaxies)!r})"


@dataclasses.dataclass(frozen=True)
class DatasetModel:
    """Parameters of the dataset rather than of galaxies: ``background_sky_level`` (data units per pixel) is
    subtracted from the data before fitting (PyAutoGalaxy's ``DatasetModel``; its grid offset/rotation for aligning
    several datasets are not implemented)."""

    background_sky_level: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "background_sky_level", real_number(self.background_sky_level, "DatasetModel.background_sky_level"))


jax.tree_util.register_dataclass(DatasetModel, data_fields=["background_sky_level"], meta_fields=[])
