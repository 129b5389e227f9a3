"""``VisualizerImaging``: which figures an imaging analysis draws, and when (PyAutoGalaxy's ``Visualizer`` hooks).

Before a search ``image/dataset.png``; during it (quick updates) ``image/fit.png`` of the best fit so far; after
it every figure of ``galaxyfit.plot.save_fit_figures``. Each is skipped when the analysis has ``visualize=False``,
and a figure that fails is a warning, never a failed fit.
"""

from __future__ import annotations

import warnings

from galaxyfit._precision import float64_api


@float64_api
class VisualizerImaging:
    @staticmethod
    def visualize_before_fit(analysis, paths, model=None) -> None:
        if not analysis.visualize:
            return
        try:
            from galaxyfit.plot import save_dataset_figure

            save_dataset_figure(analysis.dataset, paths.image / "dataset.png", title_prefix=analysis.title_prefix,
                                over_sampling=analysis.settings)
        except Exception as exc:  # noqa: BLE001
            warnings.warn(f"image/dataset.png was not drawn: {type(exc).__name__}: {exc}", stacklevel=2)

    @staticmethod
    def visualize(analysis, paths, instance, during_analysis: bool = False, quick_update: bool = False, samples=None) -> dict:
        """Draw the fit of ``instance``: only ``fit.png`` for a quick update, every figure otherwise. Returns
        {figure name: path}."""
        if not analysis.visualize:
            return {}
        fit = analysis.fit_for_visualization(instance)
        if quick_update:
            from galaxyfit.plot import save_fit_figure

            save_fit_figure(fit, paths.image / "fit.png", title=analysis.title_prefix)
            return {"fit": paths.image / "fit.png"}
        from galaxyfit.plot import save_fit_figures

        return save_fit_figures(fit, paths.image, samples=samples, galaxy_names=fit.galaxy_names,
                                title_prefix=analysis.title_prefix)
