"""Pixelized reconstructions: ``Pixelization`` (a galaxy component), meshes (``galaxyfit.mesh``), image meshes
(``galaxyfit.image_mesh``), border relocation and the mapping of a mesh to a dataset."""

from galaxyfit import _jax_config  # noqa: F401  (float64 before any galaxyfit array exists)
from galaxyfit.pixelization.pixelization import Pixelization

__all__ = ["Pixelization"]
