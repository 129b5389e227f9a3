"""``reconstruction.png``: a pixelized inversion's reconstruction on its mesh, beside the image it makes (PyAutoGalaxy's
inversion subplots)."""

from __future__ import annotations

import logging

import numpy as np

from galaxyfit._precision import in_float64
from galaxyfit.plot import style

logger = logging.getLogger(__name__)


@in_float64
def mesh_reconstructions(fit) -> dict:
    """``PixelizedInversion.mesh_reconstruction_dict()`` of the fit ({pixelization key: vertices, values, noise,
    shape, image}), or {} when the fit has no pixelization."""
    inversion = fit.inversion
    if inversion is None or not hasattr(inversion, "mesh_reconstruction_dict"):
        return {}
    return inversion.mesh_reconstruction_dict()


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges of a (possibly non-uniform) row of cell centres: midpoints inside, half a cell beyond the ends."""
    centres = np.asarray(centres, dtype=np.float64)
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    middle = 0.5 * (centres[1:] + centres[:-1])
    return np.concatenate([[2 * centres[0] - middle[0]], middle, [2 * centres[-1] - middle[-1]]])


def draw_on_mesh(figure, ax, cax, entry, values, title, unit, colours=style.IMAGE_CMAP, vmin=None, vmax=None,
                 norm=None, extent=None):
    """Draw ``values`` (S,) on the mesh of ``entry`` (a ``mesh_reconstructions`` value): a rectangular mesh as its cells
    (``pcolormesh`` with edges midway between the vertex rows and columns, so adaptive meshes keep their uneven cells);
    a Delaunay or k-nearest-neighbour mesh as Gouraud-shaded triangles of the vertices' Delaunay triangulation
    (linear between vertices: exactly a Delaunay mesh's barycentric interpolation). Arcsec axes (limits ``extent``
    when given, so the mesh lines up with the image panels), NaN blank; ``norm`` (e.g. an asinh ``ImageNormalize``)
    replaces ``vmin``/``vmax``."""
    from matplotlib.ticker import MaxNLocator
    from matplotlib.tri import Triangulation

    vertices = np.asarray(entry["vertices"], dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if vmin is None:
        vmin = float(finite.min()) if finite.size else 0.0
    if vmax is None:
        vmax = float(finite.max()) if finite.size else 1.0
    if not vmax > vmin:
        vmax = vmin + max(abs(vmin), 1e-30)
    scale = dict(norm=norm) if norm is not None else dict(vmin=vmin, vmax=vmax)
    shape = entry.get("shape")
    if shape is not None:
        ny, nx = shape
        grid = vertices.reshape(ny, nx, 2)
        shown = ax.pcolormesh(_edges(grid[0, :, 1]), _edges(grid[:, 0, 0]), values.reshape(ny, nx),
                              cmap=style.cmap(colours), shading="flat", **scale)
    else:
        triangles = Triangulation(vertices[:, 1], vertices[:, 0])
        filled = np.where(np.isfinite(values), values, vmin)  # gouraud shading cannot leave a vertex blank
        shown = ax.tripcolor(triangles, filled, shading="gouraud", cmap=style.cmap(colours), **scale)
        ax.plot(vertices[:, 1], vertices[:, 0], ".", ms=1.0, color="0.6", alpha=0.6)
    ax.set_aspect("equal")
    if extent is not None:
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("x (arcsec)", fontsize=9)
    ax.tick_params(labelsize=8, direction="in")
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    bar = figure.colorbar(shown, cax=cax)
    bar.ax.tick_params(labelsize=8)
    bar.set_label(unit, fontsize=9)
    if norm is not None and hasattr(norm, "stretch"):
        ticks = style.stretched_ticks(norm)
        bar.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
    return shown


def save_reconstruction_figure(fit, path, title_prefix: str | None = None, galaxy_names=None) -> str | None:
    """Write ``reconstruction.png`` (atomically) and return the path when the fit has a pixelized inversion; return
    None and write nothing otherwise. One row per pixelization (``<galaxy>.<component>``):

    - data (minus the dataset model's sky) and the reconstructed image (the pixelization's reconstruction mapped to the
      image and PSF-convolved) on one asinh stretch, data units, arcsec axes zoomed to the mask;
    - the reconstruction on its mesh (``draw_on_mesh``), data units per image pixel;
    - its 1-sigma errors on the mesh (from the inversion's covariance; blank where the positive-only solve holds a
      pixel at zero).

    Raises ``galaxyfit.errors.OutputError`` when ``path`` cannot be written.
    """
    from galaxyfit.plot.galaxies import galaxy_names_of

    entries = mesh_reconstructions(fit)
    if not entries:
        return None
    names = galaxy_names_of(fit, galaxy_names)
    figure = style.quiet(lambda: _figure(fit, entries, names, title_prefix))
    return style.save(figure, path)


def _figure(fit, entries, names, prefix):
    mask = np.asarray(fit.dataset.mask.array)
    view = style.window(mask.shape, fit.dataset.pixel_scales, mask)
    plan = fit.plan
    data = view.cut(plan.native_from_slim(np.asarray(fit.data_slim), fill=np.nan))
    images = fit.inversion.reconstructed_slim_dict(blurred=True)
    noise_level = float(np.nanmedian(np.asarray(plan.noise_slim)))
    left, right, bottom, top = view.extent
    rows = len(entries)
    size, rects = style.layout(rows, 4, aspect=(top - bottom) / (right - left), panel_width=3.4)
    figure = style.new_figure(size)
    for row, (key, entry) in enumerate(entries.items()):
        label = f"{names[key.galaxy]}.{key.component}"
        image = view.cut(plan.native_from_slim(np.asarray(images[key]), fill=np.nan))
        norm = style.asinh_norm(data, image, noise=noise_level)
        slots = rects[4 * row:4 * row + 4]
        axes = [figure.add_axes(r) for r, _ in slots]
        bars = [figure.add_axes(b) for _, b in slots]
        style.image_panel(figure, axes[0], data, style.titled("data", prefix), extent=view.extent, norm=norm,
                          unit="data units", cax=bars[0])
        style.image_panel(figure, axes[1], image, style.titled(f"reconstructed image ({label})", prefix),
                          extent=view.extent, norm=norm, unit="data units", ylabel=False, cax=bars[1])
        mesh_name = type(fit.inversion.mapper_list[row].mesh).__name__
        values = np.asarray(entry["values"], dtype=np.float64)
        draw_on_mesh(figure, axes[2], bars[2], entry, values,
                     style.titled(f"reconstruction on the {mesh_name} mesh", prefix), "data units / pixel",
                     norm=style.asinh_norm(values, noise=noise_level, low=0.0, high=100.0), extent=view.extent)
        noise = np.asarray(entry["noise"], dtype=np.float64)
        draw_on_mesh(figure, axes[3], bars[3], entry, noise, style.titled("reconstruction errors (1σ)", prefix),
                     "data units / pixel", colours=style.CHI2_CMAP, vmin=0.0, extent=view.extent)
    sizes = ", ".join(f"{len(entry['values'])}" for entry in entries.values())
    figure.suptitle(style.titled(f"pixelized reconstruction ({sizes} mesh pixels)", prefix), fontsize=11)
    return figure
