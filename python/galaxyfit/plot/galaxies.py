"""``subtracted_<galaxy>.png``: each galaxy on its own, the others' models removed from the data (PyAutoGalaxy's
``subplot_of_galaxy``)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from galaxyfit._precision import in_float64
from galaxyfit.plot import style


def galaxy_names_of(fit, galaxy_names=None) -> list[str]:
    """``galaxy_names`` if given, else the fit's own (``fit.galaxy_names``), else ``galaxy_0``, ``galaxy_1``, ...
    Raises ValueError when the number of names differs from the number of galaxies."""
    count = len(fit.galaxies)
    names = list(galaxy_names) if galaxy_names is not None else getattr(fit, "galaxy_names", None)
    if names is None:
        names = [f"galaxy_{i}" for i in range(count)]
    names = [str(n) for n in names]
    if len(names) != count:
        raise ValueError(f"galaxy_names has {len(names)} names for {count} galaxies: {names!r}")
    return names


def safe_file_part(name: str) -> str:
    """``name`` with every character other than letters, digits, ``.``, ``_`` and ``-`` replaced by ``_`` (a file
    name on every filesystem)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "_"


@in_float64
def galaxy_images(fit) -> tuple[np.ndarray, list[np.ndarray]]:
    """(data (N_y, N_x) minus the dataset model's sky, [each galaxy's PSF-convolved model image with its linear
    profiles at their solved intensities and its pixelizations' reconstructions]) at the unmasked pixels, NaN
    elsewhere (from ``FitImaging.galaxy_model_image_dict``, whose images add up to the fit's model)."""
    mask = np.asarray(fit.dataset.mask.array)
    data = fit.plan.native_from_slim(np.asarray(fit.data_slim), fill=np.nan)
    images = [style.blanked(image, mask) for image in fit.galaxy_model_image_dict.values()]
    return data, images


def save_galaxy_figures(fit, folder, galaxy_names=None, title_prefix: str | None = None) -> dict[str, str]:
    """Write ``subtracted_<name>.png`` into ``folder`` for every galaxy of ``fit`` and return {name: path}. Panels,
    all on one asinh stretch (data units), arcsec axes zoomed to the mask, masked pixels blank:

    - data (minus the dataset model's sky level);
    - subtracted image: the data minus the PSF-convolved models of every OTHER galaxy, i.e. what this galaxy has to
      explain;
    - this galaxy's model image (PSF-convolved, linear profiles at their solved intensities).

    ``galaxy_names``: one per galaxy, in the fit's order (None: ``galaxy_names_of``); characters unsafe in a file
    name become ``_``. Raises ValueError for a wrong number of names and ``galaxyfit.errors.OutputError`` when the
    folder cannot be written.
    """
    names = galaxy_names_of(fit, galaxy_names)
    data, images = style.quiet(lambda: galaxy_images(fit))
    total = np.sum(images, axis=0) if images else np.zeros_like(data)
    mask = np.asarray(fit.dataset.mask.array)
    view = style.window(mask.shape, fit.dataset.pixel_scales, mask)
    noise_level = float(np.nanmedian(np.asarray(fit.plan.noise_slim)))
    out = {}
    for name, own in zip(names, images):
        subtracted = data - (total - own)
        figure = style.quiet(lambda: _figure(view, data, subtracted, own, name, title_prefix, noise_level))
        out[name] = style.save(figure, Path(folder) / f"subtracted_{safe_file_part(name)}.png")
    return out


def _figure(view, data, subtracted, own, name, prefix, noise_level):
    cut = [view.cut(a) for a in (data, subtracted, own)]
    norm = style.asinh_norm(*cut, noise=noise_level)
    left, right, bottom, top = view.extent
    size, rects = style.layout(1, 3, aspect=(top - bottom) / (right - left))
    figure = style.new_figure(size)
    titles = ("data", f"subtracted image of {name}", f"model image of {name}")
    for k, (image, text) in enumerate(zip(cut, titles)):
        style.image_panel(figure, figure.add_axes(rects[k][0]), image, style.titled(text, prefix), extent=view.extent,
                          norm=norm, unit="data units", ylabel=k == 0, cax=figure.add_axes(rects[k][1]))
    figure.suptitle(style.titled(f"{name}: data minus the other galaxies' models", prefix), fontsize=11)
    return figure
