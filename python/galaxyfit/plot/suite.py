"""``save_fit_figures``: every figure after a fit, each on its own so one failing never loses the others."""

from __future__ import annotations

import logging
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def save_fit_figures(fit, folder, samples=None, galaxy_names=None, title_prefix: str | None = None) -> dict[str, str]:
    """Draw everything after a fit into ``folder`` (the output's ``image/``) and return {name: path} of the figures
    written: ``fit`` (fit.png), ``subtracted_<galaxy>`` (one per galaxy), ``radial_profile``, ``reconstruction``
    (only with a pixelized inversion) and ``corner`` (only with ``samples`` that can be drawn).

    Each figure is drawn in its own ``try``: an exception is logged as a warning naming the figure and the others
    are still drawn, so a figure can never cost the results of a search. The time each one took is logged at debug
    level."""
    from galaxyfit.plot.fit import save_fit_figure
    from galaxyfit.plot.galaxies import save_galaxy_figures
    from galaxyfit.plot.posterior import save_corner_figure
    from galaxyfit.plot.profile import save_radial_profile_figure
    from galaxyfit.plot.reconstruction import save_reconstruction_figure

    folder = Path(folder)
    written: dict[str, str] = {}

    def attempt(name, draw):
        start = time.perf_counter()
        try:
            result = draw()
        except Exception as exc:  # noqa: BLE001 - a figure must never lose a fit's results
            logger.warning("figure %s in %s was not drawn: %s: %s", name, folder, type(exc).__name__, exc)
            return
        logger.debug("figure %s drawn in %.2f s", name, time.perf_counter() - start)
        if isinstance(result, dict):
            written.update({f"subtracted_{k}": v for k, v in result.items()})
        elif result is not None:
            written[name] = str(result)

    attempt("fit", lambda: save_fit_figure(fit, folder / "fit.png", title=title_prefix))
    attempt("subtracted", lambda: save_galaxy_figures(fit, folder, galaxy_names, title_prefix=title_prefix))
    attempt("radial_profile", lambda: save_radial_profile_figure(fit, folder / "radial_profile.png",
                                                                 title_prefix=title_prefix, galaxy_names=galaxy_names))
    attempt("reconstruction", lambda: save_reconstruction_figure(fit, folder / "reconstruction.png",
                                                                 title_prefix=title_prefix, galaxy_names=galaxy_names))
    if samples is not None:
        attempt("corner", lambda: save_corner_figure(samples, folder / "corner.png", title_prefix=title_prefix))
    return written
