"""Figures of datasets, fits and posteriors (matplotlib on the Agg canvas, never pyplot; FITS/DS9 orientation:
``origin="lower"``, arcsec axes with (0, 0) at the image centre as in ``galaxyfit.dataset.pixels``).

Every ``save_*`` function writes one PNG atomically (``galaxyfit.output.write_figure_atomic``), releases its figure
and puts ``title_prefix`` in front of every title when given:

- ``save_dataset_figure`` -> ``dataset.png`` (before a fit);
- ``save_fit_figure`` -> ``fit.png`` (also during a search: quick updates);
- ``save_galaxy_figures`` -> ``subtracted_<galaxy>.png``;
- ``save_radial_profile_figure`` -> ``radial_profile.png``;
- ``save_corner_figure`` -> ``corner.png``;
- ``save_reconstruction_figure`` -> ``reconstruction.png`` (pixelized inversions only);
- ``save_fit_figures``: all of the after-fit ones, each on its own so one failing never loses the others.
"""

from galaxyfit.plot.dataset import over_sampling_map, save_dataset_figure
from galaxyfit.plot.fit import FitArrays, fit_figure, fit_panels, save_fit_figure
from galaxyfit.plot.galaxies import save_galaxy_figures
from galaxyfit.plot.posterior import save_corner_figure
from galaxyfit.plot.profile import annulus_radii, radial_profile, save_radial_profile_figure
from galaxyfit.plot.reconstruction import save_reconstruction_figure
from galaxyfit.plot.suite import save_fit_figures

__all__ = [
    "FitArrays",
    "annulus_radii",
    "fit_figure",
    "fit_panels",
    "over_sampling_map",
    "radial_profile",
    "save_corner_figure",
    "save_dataset_figure",
    "save_fit_figure",
    "save_fit_figures",
    "save_galaxy_figures",
    "save_radial_profile_figure",
    "save_reconstruction_figure",
]
