"""``Pixelization``: a galaxy component whose light is free pixels on a mesh, regularized towards smoothness
(PyAutoGalaxy's ``ag.Pixelization(mesh=..., regularization=...)``), solved by the inversion with the linear light
profiles of the same model and compared by the Bayesian evidence (Suyu et al. 2006, MNRAS 371, 983)."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax

from galaxyfit._precision import float64_api
from galaxyfit.errors import ModelError
from galaxyfit.pixelization.image_mesh import IMAGE_MESHES
from galaxyfit.pixelization.mesh import Mesh


@dataclasses.dataclass(frozen=True)
@float64_api
class Pixelization:
    """``mesh`` (``galaxyfit.mesh``: fixed, not a parameter), ``regularization`` (``galaxyfit.reg``: its coefficients may
    be free parameters) and, for a mesh that needs vertices, an optional ``image_mesh`` (``galaxyfit.image_mesh``,
    e.g. ``Overlay((30, 30))``) that places them from the mask -- a shorter way than handing a grid in through
    ``AdaptImages(galaxy_name_image_plane_mesh_grid_dict=...)``, which takes precedence. Raises ModelError for a
    mesh or regularization of the wrong kind."""

    mesh: Any = None
    regularization: Any = None
    image_mesh: Any = None

    def __post_init__(self):
        if not isinstance(self.mesh, Mesh):
            raise ModelError(f"Pixelization.mesh must be a galaxyfit.mesh object (e.g. RectangularUniform((30, 30))), got {self.mesh!r}")
        if self.regularization is None or isinstance(self.regularization, (type, int, float, str)):
            raise ModelError(f"Pixelization.regularization must be a galaxyfit.reg scheme (e.g. reg.Constant(1.0)), got {self.regularization!r}")
        if self.image_mesh is not None and type(self.image_mesh).__name__ not in IMAGE_MESHES:
            raise ModelError(f"Pixelization.image_mesh must be a galaxyfit.image_mesh object or None, got {self.image_mesh!r}")

    def __repr__(self) -> str:
        extra = f", image_mesh={self.image_mesh!r}" if self.image_mesh is not None else ""
        return f"Pixelization(mesh={self.mesh!r}, regularization={self.regularization!r}{extra})"


jax.tree_util.register_dataclass(Pixelization, data_fields=["regularization"], meta_fields=["mesh", "image_mesh"])
