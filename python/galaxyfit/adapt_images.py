"""``AdaptImages``: what an earlier fit tells a pixelized one -- per-galaxy images that steer adaptive meshes and
regularizations, and fixed image-plane mesh grids (PyAutoGalaxy's ``ag.AdaptImages``).

Galaxies are named as in the model instance (``instance.galaxies.<name>``); PyAutoGalaxy's path strings
(``"('galaxies', 'name')"``) and ``"galaxies.name"`` are accepted for the same galaxy.
"""

from __future__ import annotations

import ast

import numpy as np

from galaxyfit._precision import in_float64


def galaxy_name(key) -> str:
    """The galaxy's own name from a key given as ``name``, ``galaxies.name`` or ``"('galaxies', 'name')"``."""
    if isinstance(key, tuple):
        return str(key[-1])
    text = str(key).strip()
    if text.startswith("("):
        try:
            path = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ValueError(f"cannot read the galaxy path {key!r}") from None
        return str(path[-1])
    return text.split(".")[-1]


class AdaptImages:
    """``galaxy_name_image_dict``: {galaxy: (N_y, N_x) adapt image (e.g. its model image or signal-to-noise map)};
    ``galaxy_name_image_plane_mesh_grid_dict``: {galaxy: (S, 2) (y, x) mesh vertices in arcsec, fixed during a
    search}. Raises ValueError for arrays of the wrong shape or non-finite values."""

    def __init__(self, galaxy_name_image_dict=None, galaxy_name_image_plane_mesh_grid_dict=None):
        self.galaxy_name_image_dict = {}
        for key, image in (galaxy_name_image_dict or {}).items():
            array = np.asarray(image, dtype=np.float64)
            if array.ndim != 2 or not np.isfinite(array).all():
                raise ValueError(f"AdaptImages: the image of galaxy {key!r} must be a finite 2-D array, got shape {array.shape}")
            self.galaxy_name_image_dict[galaxy_name(key)] = array
        self.galaxy_name_image_plane_mesh_grid_dict = {}
        for key, grid in (galaxy_name_image_plane_mesh_grid_dict or {}).items():
            array = np.asarray(grid, dtype=np.float64)
            if array.ndim != 2 or array.shape[1] != 2 or not np.isfinite(array).all():
                raise ValueError(f"AdaptImages: the mesh grid of galaxy {key!r} must be finite (S, 2) (y, x), got shape {array.shape}")
            self.galaxy_name_image_plane_mesh_grid_dict[galaxy_name(key)] = array

    def image_for(self, name):
        return None if name is None else self.galaxy_name_image_dict.get(galaxy_name(name))

    def image_plane_mesh_grid_for(self, name):
        return None if name is None else self.galaxy_name_image_plane_mesh_grid_dict.get(galaxy_name(name))

    def __repr__(self) -> str:
        return (f"AdaptImages(images={sorted(self.galaxy_name_image_dict)}, "
                f"mesh grids={sorted(self.galaxy_name_image_plane_mesh_grid_dict)})")


@in_float64
def galaxy_name_image_dict_via_fit_from(fit, galaxy_names, use_model_images: bool = False,
                                        adapt_minimum_percent: float = 0.01) -> dict:
    """{galaxy name: (N_y, N_x) adapt image} from a FitImaging: each galaxy's PSF-blurred model image
    (``use_model_images``) or, by default, its subtracted signal-to-noise map (data minus every other galaxy's model,
    over the noise; 0 at masked pixels), with values below ``adapt_minimum_percent`` x its maximum raised to that
    floor (PyAutoGalaxy's ``galaxy_name_image_dict_via_result_from``, config ``adapt_minimum_percent: 0.01``)."""
    models = list(fit.galaxy_model_image_dict.values())
    out = {}
    plan = fit.plan
    data = plan.native_from_slim(np.asarray(fit.data_slim))
    noise = plan.native_from_slim(np.asarray(fit.noise_slim), fill=1.0)
    for index, name in enumerate(galaxy_names):
        if use_model_images:
            image = np.array(models[index])
        else:
            others = sum((m for i, m in enumerate(models) if i != index), np.zeros(plan.dataset.shape))
            image = plan.native_from_slim(((data - others) / noise)[plan.image_index])
        floor = adapt_minimum_percent * np.max(image)
        out[galaxy_name(name)] = np.where(image < floor, floor, image)
    return out


def galaxy_name_image_dict_via_result_from(result, use_model_images: bool = False,
                                           adapt_minimum_percent: float = 0.01) -> dict:
    """As :func:`galaxy_name_image_dict_via_fit_from` for a search's result: its maximum-likelihood fit."""
    from galaxyfit.analysis.analysis_imaging import galaxy_names_from

    instance = result.max_log_likelihood_instance
    names = galaxy_names_from(instance.galaxies) or [str(i) for i in range(len(list(instance.galaxies)))]
    return galaxy_name_image_dict_via_fit_from(result.max_log_likelihood_fit, names, use_model_images,
                                               adapt_minimum_percent)


def adapt_images_from_result(result, use_model_images: bool = False, galaxy_name_image_plane_mesh_grid_dict=None,
                             adapt_minimum_percent: float = 0.01) -> "AdaptImages":
    """AdaptImages made from a search's result (the two-step pipeline: a parametric fit, then a pixelized fit steered
    by its images), optionally with fixed mesh grids."""
    images = galaxy_name_image_dict_via_result_from(result, use_model_images, adapt_minimum_percent)
    return AdaptImages(images, galaxy_name_image_plane_mesh_grid_dict)
