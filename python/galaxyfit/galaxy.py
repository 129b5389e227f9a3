"""``Galaxy`` (a redshift and named light profiles), ``Galaxies``, and ``DatasetModel`` (the sky background) -- all
JAX pytrees, so a model instance made of them passes through ``jit``, ``vmap`` and ``grad``."""

from __future__ import annotations

import dataclasses
from typing import Iterator

import jax

from galaxyfit.numbers import real_number
from galaxyfit.profiles.light import LightProfile
from galaxyfit._precision import float64_api


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
@float64_api
class Galaxy:
    """A galaxy at ``redshift`` made of named components, e.g. ``Galaxy(0.5, bulge=Sersic(...), disk=Exponential(...))``.

    Components are reached as attributes (``galaxy.bulge``) and kept in the order given.
    """

    def __init__(self, redshift: float | None, **components):
        # redshift None: not given. The fit does not need it; sizes in kpc (latent variables) need it and are left
        # out for such a galaxy rather than computed at an assumed distance.
        for name, component in components.items():
            _check_component(name, component)
        if redshift is not None:
            redshift = real_number(redshift, "Galaxy.redshift")
        object.__setattr__(self, "redshift", redshift)
        object.__setattr__(self, "_components", dict(components))

    def image_2d_from(self, grid):
        """PyAutoGalaxy's ``galaxy.image_2d_from``: the summed surface brightness of the galaxy's light profiles
        (those inside a ``Basis`` included; linear profiles at unit intensity, as PyAutoGalaxy evaluates them before
        a solve) at the points of ``grid`` (``LightProfile.image_2d_from``: a ``Grid2D`` gives an ``Array2D`` in FITS
        order, an array (..., 2) an array (...)). Point sources and pixelizations have no brightness at a point and
        add nothing."""
        from galaxyfit.profiles.basis import Basis
        from galaxyfit.profiles.light import PointSource
        from galaxyfit.structures import points_of

        y, x, wrap = points_of(grid)
        total = 0.0
        for component in self._components.values():
            members = component.profile_list if isinstance(component, Basis) else (component,)
            for profile in members:
                if isinstance(profile, LightProfile) and not isinstance(profile, PointSource):
                    total = total + profile.brightness_at(y, x)
        return wrap(total + 0.0 * y)

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
@float64_api
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
@float64_api
class DatasetModel:
    """Parameters of the dataset rather than of galaxies (PyAutoGalaxy's ``DatasetModel``, plus a tilted sky).

    background_sky_level : float
        Data units per pixel, subtracted from the data before fitting (PyAutoGalaxy's meaning).
    grid_offset : (float, float)
        (dy, dx) arcsec. As in PyAutoArray 2026.10.26.1 (``FitDataset.grids``: every grid is
        ``grid.subtracted_from(offset)``), the profiles are evaluated at the pixel coordinates *minus* the offset, so
        a profile with centre c lands where a profile with centre c + offset would land without it: the model is
        shifted by +offset (a galaxy of one band seen offset by d in another). galaxyfit applies it exactly so, by
        adding the offset to every profile centre (``offset_galaxies``), which is the same pixel integral. It does
        not move the sky plane (a property of the data's pixels). PyAutoGalaxy's ``grid_rotation_angle`` is not
        implemented.
    background_sky_slope_y, background_sky_slope_x : float
        A tilted sky plane (galaxyfit's; PyAutoGalaxy has none), data units per pixel per arcsec: the sky at a pixel
        centre (y, x) (arcsec from the image centre, ``DESIGN.md``) is
        ``background_sky_level + background_sky_slope_y * y + background_sky_slope_x * x``, and that is subtracted
        from the data. The plane is about the image centre, so the level is the sky there.

    Every field is a JAX leaf (``jit``, ``vmap``, ``grad``); give them priors in ``Model(DatasetModel, ...)`` to fit
    them (defaults: fixed at 0, as in PyAutoGalaxy).
    """

    background_sky_level: float = 0.0
    grid_offset: tuple = (0.0, 0.0)
    background_sky_slope_y: float = 0.0
    background_sky_slope_x: float = 0.0

    def __post_init__(self):
        from galaxyfit.profiles.light import _as_pair

        for name in ("background_sky_level", "background_sky_slope_y", "background_sky_slope_x"):
            object.__setattr__(self, name, real_number(getattr(self, name), f"DatasetModel.{name}"))
        object.__setattr__(self, "grid_offset", _as_pair(self.grid_offset, "DatasetModel.grid_offset"))

    def sky_at(self, y, x):
        """The sky (data units per pixel) at pixel centres ``y``, ``x`` (arcsec from the image centre, any matching
        shapes): level + slope_y y + slope_x x."""
        return self.background_sky_level + self.background_sky_slope_y * y + self.background_sky_slope_x * x

    @property
    def has_sky_plane(self) -> bool:
        """Whether a slope may be non-zero (a traced slope may)."""
        return not all(_known_zero(getattr(self, n)) for n in ("background_sky_slope_y", "background_sky_slope_x"))

    @property
    def has_grid_offset(self) -> bool:
        """Whether the grid offset may be non-zero (a traced offset may)."""
        return not all(_known_zero(v) for v in self.grid_offset)

    def sanitized(self):
        """(this model with every non-finite value replaced by 0, whether all were finite) -- how a likelihood
        rejects a sample without NaNs reaching its gradient. Values known while tracing (fixed parameters) stay
        Python numbers, so a fixed zero offset or slope is still known to be zero (``has_grid_offset``)."""
        import math

        import jax.numpy as jnp

        leaves, treedef = jax.tree_util.tree_flatten(self)
        safe, valid = [], True
        for value in leaves:
            known = _known_value(value)
            if known is not None:
                finite = math.isfinite(known)
                safe.append(value if finite else 0.0)
                valid = valid & finite
            else:
                array = jnp.asarray(value, dtype=jnp.float64)
                finite = jnp.isfinite(array)
                safe.append(jnp.where(finite, array, 0.0))
                valid = valid & jnp.all(finite)
        return jax.tree_util.tree_unflatten(treedef, safe), valid


def _known_value(value) -> float | None:
    """``value`` as a float when it is a known scalar (not traced), else None."""
    if isinstance(value, jax.core.Tracer):
        return None
    try:
        return float(value)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError, TypeError):
        return None


def _known_zero(value) -> bool:
    try:
        return float(value) == 0.0
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError, TypeError):
        return False


def offset_galaxies(galaxies, offset):
    """``galaxies`` with ``offset`` (dy, dx) arcsec added to the centre of every profile that has one (bases'
    members included): the galaxies as they look on a grid with ``offset`` subtracted (``DatasetModel.grid_offset``).
    Pixelizations are left alone (``FitImaging`` refuses a grid offset with them)."""
    dy, dx = offset

    def shifted(component):
        if dataclasses.is_dataclass(component) and any(f.name == "centre" for f in dataclasses.fields(component)):
            cy, cx = component.centre
            return dataclasses.replace(component, centre=(cy + dy, cx + dx))
        if hasattr(component, "profile_list"):
            from galaxyfit.profiles.basis import Basis

            return Basis([shifted(p) for p in component.profile_list], component.regularization)
        return component

    return Galaxies([Galaxy(g.redshift, **{name: shifted(c) for name, c in g.components.items()}) for g in galaxies])


jax.tree_util.register_dataclass(
    DatasetModel, data_fields=["background_sky_level", "grid_offset", "background_sky_slope_y", "background_sky_slope_x"],
    meta_fields=[])
