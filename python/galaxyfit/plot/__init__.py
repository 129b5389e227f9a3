"""Figures: data, model, residuals (FITS/DS9 orientation: origin="lower")."""

from __future__ import annotations

import numpy as np


def save_fit_figure(fit, path, title: str | None = None) -> None:
    """Data, model (PSF-convolved), normalized residuals and chi^2 map of a fit, in one PNG (written atomically)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from astropy.visualization import AsinhStretch, ImageNormalize

    from galaxyfit.output import write_figure_atomic

    mask = fit.dataset.mask.array
    data = np.where(mask, np.nan, fit.dataset.data)
    model = np.where(mask, np.nan, fit.blurred_image)
    residuals = np.where(mask, np.nan, fit.normalized_residual_map)
    chi2 = np.where(mask, np.nan, fit.chi_squared_map)
    finite = data[np.isfinite(data)]
    vmin, vmax = (np.percentile(finite, [1, 99.9]) if finite.size else (0, 1))
    # asinh stretch (Lupton et al. 2004, PASP 116, 133): faint outskirts and the bright core both visible
    stretch = ImageNormalize(vmin=vmin, vmax=vmax, stretch=AsinhStretch(0.02))
    figure, axes = plt.subplots(1, 4, figsize=(16, 4.2), constrained_layout=True)
    panels = [
        (data, "data (asinh stretch)", dict(norm=stretch, cmap="viridis")),
        (model, "model, PSF-convolved", dict(norm=stretch, cmap="viridis")),
        (residuals, "normalized residuals", dict(vmin=-4, vmax=4, cmap="RdBu_r")),
        (chi2, "chi^2 map", dict(vmin=0, vmax=9, cmap="magma")),
    ]
    for ax, (image, label, style) in zip(axes, panels):
        shown = ax.imshow(image, origin="lower", **style)
        ax.set_title(label)
        figure.colorbar(shown, ax=ax, shrink=0.8)
    if title:
        figure.suptitle(title)
    figure.text(0.01, 0.01, f"chi^2 = {float(fit.chi_squared):.2f} over {fit.pixels_in_mask} pixels", fontsize=9)
    write_figure_atomic(figure, path, dpi=100)
    plt.close(figure)
