"""Pixelized reconstructions: ``Pixelization`` (a galaxy component), meshes (``galaxyfit.mesh``), image meshes
(``galaxyfit.image_mesh``), border relocation and the mapping of a mesh to a dataset."""

from galaxyfit.pixelization.pixelization import Pixelization

__all__ = ["Pixelization"]
