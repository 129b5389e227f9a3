"""Shared look of galaxyfit's figures: stretches, colour limits, colour maps, arcsec extents, cropping, titles.

Figures are made with ``matplotlib.figure.Figure`` and the Agg canvas, never through ``pyplot``: no global figure
registry, no backend switch in the user's session (a notebook keeps its own backend), and a figure can be drawn on
the quick-update thread while the main thread samples (pyplot's state machine is not thread-safe).

Orientation (``../shared/DESIGN.md``): array row 0 is the bottom, so images are drawn with ``origin="lower"``; the
centre of pixel ``[i, j]`` is ``y = (i - (N_y - 1) / 2) ps_y``, ``x = (j - (N_x - 1) / 2) ps_x`` arcsec
(``galaxyfit.dataset.pixels``), so (0, 0) is the array centre, +x to the right and +y up, as in DS9.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from galaxyfit._precision import float64

#: Resolution of every PNG (PyAutoArray's default: readable panels at about half the file size of 300 dpi).
DPI = 100

#: Colour maps: perceptually uniform for intensities, diverging for signed residuals (centred on zero by symmetric
#: limits), a sequential one for chi^2 and S/N that differs from the intensities' so panels are not confused.
IMAGE_CMAP = "inferno"
RESIDUAL_CMAP = "RdBu_r"
CHI2_CMAP = "viridis"
SN_CMAP = "cividis"

#: Blank (masked) pixels: light grey, so they read as "no data" against every colour map used here.
BAD_COLOUR = "#d9d9d9"


def new_figure(figsize, **kwargs):
    """A ``matplotlib.figure.Figure`` on the Agg canvas (no pyplot, see the module docstring)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, **kwargs)
    FigureCanvasAgg(figure)
    return figure


def save(figure, path) -> str:
    """Write ``figure`` to ``path`` atomically (``galaxyfit.output.write_figure_atomic``); returns the path as a
    string. Raises ``galaxyfit.errors.OutputError`` when the folder cannot be written."""
    from galaxyfit.output import write_figure_atomic

    # zlib level 1: a third of the default level's encoding time for files about 15 % larger
    write_figure_atomic(figure, path, dpi=DPI, pil_kwargs={"compress_level": 1})
    # Nothing else to release: pyplot never held the figure, so it is freed with its last reference (clearing it
    # first would cost a third of a fit figure's drawing time).
    return str(path)


def titled(text: str, prefix: str | None) -> str:
    """``"<prefix>: <text>"`` when a prefix is given (PyAutoGalaxy's ``title_prefix``), else ``text``."""
    return f"{prefix}: {text}" if prefix else text


@lru_cache(maxsize=None)
def cmap(name: str):
    """Colour map ``name`` with masked / NaN pixels drawn in ``BAD_COLOUR`` (made once per name)."""
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad=BAD_COLOUR)


# ---- geometry ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The part of an image a figure shows: rows ``r0:r1``, columns ``c0:c1`` and its arcsec ``extent``
    (left, right, bottom, top) for ``imshow(origin="lower")``."""

    r0: int
    r1: int
    c0: int
    c1: int
    extent: tuple[float, float, float, float]

    def cut(self, image: np.ndarray) -> np.ndarray:
        return image[self.r0:self.r1, self.c0:self.c1]


def window(shape, pixel_scales, mask: np.ndarray | None = None, margin: int = 2) -> Window:
    """The bounding box of the unmasked pixels (padded by ``margin`` pixels, clipped to the image), or the whole image
    without a mask, with its extent in arcsec: pixel edges lie half a pixel either side of the centres of
    ``galaxyfit.dataset.pixels.pixel_centres``. Zooming to the mask is what astronomers expect (PyAutoArray's
    ``zoom_around_mask``) and makes big images with small masks cheap to draw."""
    ny, nx = shape
    ps_y, ps_x = (float(pixel_scales), float(pixel_scales)) if np.ndim(pixel_scales) == 0 else map(float, pixel_scales)
    r0, r1, c0, c1 = 0, ny, 0, nx
    if mask is not None and mask.any() and not mask.all():
        rows = np.flatnonzero((~mask).any(axis=1))
        cols = np.flatnonzero((~mask).any(axis=0))
        r0, r1 = max(rows[0] - margin, 0), min(rows[-1] + 1 + margin, ny)
        c0, c1 = max(cols[0] - margin, 0), min(cols[-1] + 1 + margin, nx)
    left = (c0 - 0.5 - (nx - 1) / 2.0) * ps_x
    right = (c1 - 0.5 - (nx - 1) / 2.0) * ps_x
    bottom = (r0 - 0.5 - (ny - 1) / 2.0) * ps_y
    top = (r1 - 0.5 - (ny - 1) / 2.0) * ps_y
    return Window(int(r0), int(r1), int(c0), int(c1), (left, right, bottom, top))


def psf_extent(shape, pixel_scales) -> tuple[float, float, float, float]:
    """Arcsec extent of a PSF image whose central pixel is at (0, 0)."""
    ky, kx = shape
    ps_y, ps_x = (float(pixel_scales), float(pixel_scales)) if np.ndim(pixel_scales) == 0 else map(float, pixel_scales)
    return (-kx / 2.0 * ps_x, kx / 2.0 * ps_x, -ky / 2.0 * ps_y, ky / 2.0 * ps_y)


def blanked(image, mask: np.ndarray | None) -> np.ndarray:
    """float64 copy of ``image`` with NaN at masked pixels (drawn blank)."""
    out = np.array(image, dtype=np.float64)
    if mask is not None:
        out[mask] = np.nan
    return out


# ---- colour limits -----------------------------------------------------------------------------------------------


def _finite(*images) -> np.ndarray:
    values = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in images])
    return values[np.isfinite(values)]


def asinh_norm(*images, noise: float | None = None, low: float = 0.5, high: float = 99.9):
    """One ``astropy.visualization.ImageNormalize`` with an asinh stretch for all ``images`` (NaN ignored), so the
    panels drawn with it share their colour limits: from the ``low`` to the ``high`` percentile of the pooled
    values. The stretch is linear below about ``noise`` (if given: the softening of Lupton et al. 2004, PASP 116,
    133, so the sky noise is not amplified) and logarithmic above, which shows the core and the outskirts at once."""
    from astropy.visualization import AsinhStretch, ImageNormalize

    values = _finite(*images)
    vmin, vmax = (np.percentile(values, [low, high]) if values.size else (0.0, 1.0))
    if not vmax > vmin:
        vmin, vmax = vmin - 0.5 * max(abs(vmin), 1.0), vmax + 0.5 * max(abs(vmax), 1.0)
    a = 0.02
    if noise is not None and np.isfinite(noise) and noise > 0:
        a = float(np.clip(noise / (vmax - vmin), 1e-4, 0.5))
    return ImageNormalize(vmin=float(vmin), vmax=float(vmax), stretch=AsinhStretch(a), clip=False)


def log10_limits(image, floor_fraction: float = 1e-4, low: float | None = None) -> tuple[float, float]:
    """(vmin, vmax) for a log10 display of ``image``: vmax its largest finite value, vmin ``low`` when given and
    positive, else ``floor_fraction`` of vmax (PyAutoArray's ``log10_min_value`` idea, relative so it suits any
    units)."""
    values = _finite(image)
    positive = values[values > 0]
    vmax = float(positive.max()) if positive.size else 1.0
    vmin = float(low) if low is not None and np.isfinite(low) and 0 < low < vmax else vmax * floor_fraction
    return vmin, vmax


def symmetric_limit(*images, percentile: float = 99.5, minimum: float = 0.0) -> float:
    """v such that (-v, v) holds ``percentile`` % of |values| (at least ``minimum``; > 0): limits of a diverging map
    centred on zero, robust to a few outliers (AstroPhot uses the maximum, which one cosmic ray dominates)."""
    values = np.abs(_finite(*images))
    v = float(np.percentile(values, percentile)) if values.size else 0.0
    v = max(v, float(minimum))
    return v if v > 0 else 1.0


def image_panel(figure, ax, image, title, *, extent, norm=None, vmin=None, vmax=None, colours=IMAGE_CMAP,
                unit: str | None = None, xlabel=True, ylabel=True, cax=None, integer_ticks: bool = False,
                ticks=None):
    """Draw ``image`` (origin lower, arcsec ``extent``, nearest-pixel) on ``ax`` with a colour bar labelled ``unit``
    (in the axes ``cax`` when given, else beside ``ax``; ``ticks`` on it when given); returns the ``AxesImage``."""
    shown = ax.imshow(image, origin="lower", extent=extent, norm=norm, vmin=None if norm is not None else vmin,
                      vmax=None if norm is not None else vmax, cmap=cmap(colours), interpolation="nearest")
    ax.set_title(title, fontsize=10)
    if xlabel:
        ax.set_xlabel('x (arcsec)', fontsize=9)
    if ylabel:
        ax.set_ylabel('y (arcsec)', fontsize=9)
    ax.tick_params(labelsize=8, direction="in")
    # Few ticks: matplotlib makes one object per tick, the largest cost of drawing a multi-panel figure.
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    if cax is not None:
        bar = figure.colorbar(shown, cax=cax)
    else:
        bar = figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.03)
    from matplotlib.colors import LogNorm

    if ticks is not None:
        pass
    elif norm is not None and hasattr(norm, "stretch"):
        ticks = stretched_ticks(norm)
    elif isinstance(norm, LogNorm):
        ticks = decade_ticks(norm.vmin, norm.vmax)
    else:
        ticks = None
        bar.locator = MaxNLocator(6, integer=integer_ticks)
        bar.update_ticks()
    if ticks is not None:
        bar.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
        bar.minorticks_off()
    bar.ax.tick_params(labelsize=8)
    if unit:
        bar.set_label(unit, fontsize=9)
    return shown


def layout(rows: int, cols: int, aspect: float = 1.0, panel_width: float = 3.6, left: float = 0.75,
           right: float = 0.9, bottom: float = 0.6, top: float = 0.95, wspace: float = 1.25, hspace: float = 0.65,
           bar: float = 0.14, gap: float = 0.08):
    """(figsize, [(axes rectangle, colour-bar rectangle)]) for a rows x cols grid of images whose height / width is
    ``aspect``, row-major from the top; sizes in inches (``top``: room for the figure's title). A fixed geometry
    sized to the images, because constrained layout (and ``colorbar(ax=...)``, which resizes its parent) costs
    more than drawing the panels and leaves gaps around equal-aspect images."""
    aspect = float(np.clip(aspect, 0.2, 5.0))
    panel_height = panel_width * aspect
    if panel_height > 4.5:  # a tall window: keep the figure's height in bounds
        panel_width, panel_height = panel_width * 4.5 / panel_height, 4.5
    width = left + cols * (panel_width + gap + bar) + (cols - 1) * wspace + right
    height = bottom + rows * panel_height + (rows - 1) * hspace + top
    out = []
    for r in range(rows):
        for c in range(cols):
            x0 = left + c * (panel_width + gap + bar + wspace)
            y0 = height - top - (r + 1) * panel_height - r * hspace
            out.append(((x0 / width, y0 / height, panel_width / width, panel_height / height),
                        ((x0 + panel_width + gap) / width, y0 / height, bar / width, panel_height / height)))
    return (width, height), out


def decade_ticks(vmin: float, vmax: float) -> np.ndarray:
    """Colour-bar ticks of a log10 bar: the powers of ten in [vmin, vmax], or 1-2-5 steps when it spans less than
    two decades (matplotlib labels only the decades, which a narrow range may not contain)."""
    lo, hi = np.log10(vmin), np.log10(vmax)
    steps = (1.0,) if hi - lo >= 2.5 else (1.0, 2.0, 5.0)
    ticks = [m * 10.0**e for e in range(int(np.floor(lo)), int(np.ceil(hi)) + 1) for m in steps]
    ticks = [t for t in ticks if vmin * (1 - 1e-9) <= t <= vmax * (1 + 1e-9)]
    if len(ticks) > 7:
        ticks = ticks[:: int(np.ceil(len(ticks) / 6))]
    return np.array(ticks if len(ticks) >= 2 else [float(f"{vmin:.2g}"), float(f"{vmax:.2g}")])


def stretched_ticks(norm, count: int = 5) -> np.ndarray:
    """Colour-bar ticks of a stretched ``ImageNormalize``: evenly spaced in the stretched coordinate, rounded to two
    significant figures (matplotlib's linear ticks bunch at the top of an asinh or log bar)."""
    u = np.linspace(0.0, 1.0, count)
    values = norm.inverse(u)
    out = []
    for v in np.atleast_1d(values):
        v = float(v)
        if v == 0 or not np.isfinite(v):
            out.append(0.0)
            continue
        digits = 1 - int(np.floor(np.log10(abs(v))))
        out.append(round(v, digits))
    return np.unique(out)


def quiet(function):
    """Run ``function()`` with numpy's and matplotlib's routine warnings about NaN / masked values silenced (masked
    pixels are NaN on purpose), in float64 (every figure computes its images through galaxyfit)."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"), float64():
        warnings.simplefilter("ignore", RuntimeWarning)
        return function()
