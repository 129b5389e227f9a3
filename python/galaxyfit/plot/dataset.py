"""``dataset.png``: what is about to be fitted (PyAutoArray's ``subplot_imaging_dataset``), drawn before a fit."""

from __future__ import annotations

import numpy as np

from galaxyfit.plot import style


def over_sampling_map(dataset, over_sampling=None) -> tuple[np.ndarray, str]:
    """(map (N_y, N_x), note): how many sub-pixel evaluations per axis each image pixel gets when light profiles are
    integrated, and a sentence for what the map cannot show.

    ``over_sampling``: a ``galaxyfit.integration.OverSampling``, a ``galaxyfit.settings.Settings`` (its
    ``over_sampling``) or None (the default ``OverSampling()``, what a fit without settings uses).

    - ``mode="uniform"`` (PyAutoGalaxy's sampling): ``sub_size`` in the unmasked pixels, ``sub_size_blurring`` in the
      pixels whose light the PSF blurs into them, 0 where nothing is evaluated.
    - ``mode="adaptive"`` (galaxyfit's default): 1 where the likelihood evaluates the profiles (a sixth-order
      reconstruction from the values at pixel centres), 0 elsewhere; the Gauss-Legendre patch that refines the
      pixels around each profile's centre moves with the model, so it is described in the note, not drawn.
    """
    from galaxyfit.fit.plan import dilated_by_rectangle
    from galaxyfit.integration import OverSampling

    settings = over_sampling
    if settings is None:
        over = OverSampling()
    elif isinstance(settings, OverSampling):
        over = settings
    elif hasattr(settings, "over_sampling"):
        over = settings.over_sampling
    else:
        raise TypeError(f"over_sampling must be an OverSampling, a Settings or None, got {type(settings).__name__}")
    unmasked = ~np.asarray(dataset.mask.array)
    ky, kx = dataset.psf.shape
    blurred_in = dilated_by_rectangle(unmasked, ky, kx)
    out = np.zeros(dataset.shape)
    if over.mode == "uniform":
        out[blurred_in] = over.sub_size_blurring
        out[unmasked] = over.sub_size
        note = f"uniform: {over.sub_size}² sub-pixels in the mask, {over.sub_size_blurring}² in the PSF's ring"
    else:
        out[blurred_in] = 1
        rings = ", ".join(f"≤{d} px: {o}×{o}" for d, o in over.patch_rings)
        note = (f"adaptive: 1 point per pixel (6th-order stencil)\n+ a Gauss-Legendre patch around each\n"
                f"profile centre ({rings};\nexact 2×2 block at a cusp)")
    pix = getattr(settings, "over_sample_size_pixelization", None)
    if pix is not None:
        note += f"\npixelizations: {pix}² sub-pixels per pixel"
    return out, note


def save_dataset_figure(dataset, path, title_prefix: str | None = None, over_sampling=None) -> str:
    """Write ``dataset.png`` to ``path`` (atomically) and return the path: 2 x 3 panels, arcsec axes centred on the
    image centre, zoomed to the mask, masked pixels blank (grey):

    - data on an asinh stretch (linear below about the median noise, logarithmic above), data units;
    - data in log10 (from 1e-4 of the peak or the median noise, whichever is higher; lower values at the floor);
    - noise map (1 sigma), data units;
    - PSF in log10 (as normalised for the fit; non-positive values blank), arcsec about its central pixel;
    - signal-to-noise map, data / noise clipped at 0;
    - light-profile over-sampling: sub-pixel evaluations per axis per pixel (``over_sampling_map``, whose note is
      printed on the panel).

    ``over_sampling``: an ``OverSampling``, a ``Settings`` or None (the default). Raises ``TypeError`` for another
    ``over_sampling`` and ``galaxyfit.errors.OutputError`` when ``path`` cannot be written.
    """
    return style.save(style.quiet(lambda: _figure(dataset, title_prefix, over_sampling)), path)


def _figure(dataset, prefix, over_sampling):
    from matplotlib.colors import LogNorm

    mask = np.asarray(dataset.mask.array)
    view = style.window(dataset.shape, dataset.pixel_scales, mask)
    data = view.cut(style.blanked(dataset.data, mask))
    noise = view.cut(style.blanked(dataset.noise_map, mask))
    noise_level = float(np.nanmedian(noise))
    sn = view.cut(style.blanked(np.maximum(np.asarray(dataset.data) / np.asarray(dataset.noise_map), 0.0), mask))
    sampling, note = over_sampling_map(dataset, over_sampling)
    sampling = view.cut(sampling)

    left, right, bottom, top = view.extent
    size, rects = style.layout(2, 3, aspect=(top - bottom) / (right - left))
    figure = style.new_figure(size)
    axes = [figure.add_axes(rect) for rect, _ in rects]
    bars = [figure.add_axes(bar) for _, bar in rects]

    def panel(k, image, title, **kwargs):
        kwargs.setdefault("extent", view.extent)
        return style.image_panel(figure, axes[k], image, style.titled(title, prefix), xlabel=k >= 3,
                                 ylabel=k % 3 == 0, cax=bars[k], **kwargs)

    panel(0, data, "data (asinh stretch)", norm=style.asinh_norm(data, noise=noise_level), unit="data units")
    lo, hi = style.log10_limits(data, low=noise_level)
    panel(1, np.clip(data, lo, None), "data (log10)", norm=LogNorm(lo, hi), unit="data units")
    panel(2, noise, "noise map", vmin=float(np.nanmin(noise)), vmax=float(np.nanmax(noise)), colours=style.CHI2_CMAP,
          unit="data units (1σ)")
    psf = np.array(dataset.psf, dtype=np.float64)
    psf[psf <= 0] = np.nan
    plo, phi = style.log10_limits(psf, floor_fraction=1e-4)
    panel(3, np.clip(psf, plo, None), "PSF (log10)", norm=LogNorm(plo, phi),
          extent=style.psf_extent(psf.shape, dataset.pixel_scales), unit="fraction of the PSF's sum")
    panel(4, sn, "signal-to-noise", vmin=0.0, vmax=style.symmetric_limit(sn, percentile=99.9), colours=style.SN_CMAP,
          unit="S/N")
    top_value = max(float(np.max(sampling)), 1.0)
    panel(5, np.where(sampling > 0, sampling, np.nan), "over-sampling (light profiles)", vmin=0.5,
          vmax=top_value + 0.5, colours=style.CHI2_CMAP, unit="sub-pixels per axis",
          ticks=np.unique(sampling[sampling > 0]) if np.any(sampling > 0) else None)
    axes[5].text(0.02, 0.02, note, transform=axes[5].transAxes, fontsize=7, va="bottom", ha="left",
                 bbox=dict(facecolor="white", alpha=0.8, edgecolor="none"))
    figure.suptitle(style.titled(f"dataset: {dataset.shape[0]} × {dataset.shape[1]} pixels of "
                                 f"{dataset.pixel_scales[0]:g}″ × {dataset.pixel_scales[1]:g}″, "
                                 f"{dataset.pixels_in_mask} unmasked", prefix), fontsize=11)
    return figure
