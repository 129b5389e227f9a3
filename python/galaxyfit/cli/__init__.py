"""The ``galaxyfit`` command: ``demo`` (simulate and fit), ``fit`` (FITS images), ``simulate``, ``timing``,
``cmake-dir``, ``results``, ``catalogue`` (a whole catalogue on a Dask cluster). Run ``galaxyfit COMMAND --help``
for the options and their units.

Modules: ``arguments`` (types and checks), ``fit_command``, ``catalogue_command``, ``demo_commands`` (the simulated
galaxy's commands), ``report`` (what is printed). Building the parser imports neither JAX nor SQLAlchemy, so
``--help`` is fast.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

from galaxyfit.cli.arguments import (SHORTHAND_NAMES, UsageError, _exposure_time, _finite_number, _non_negative_float, _positive_float, _positive_int,
                                     _search_help, _seed)
from galaxyfit.cli.demo_commands import (DEMO_EXPOSURE_TIME, DEMO_TRUTH, _demo_galaxy, _simulated_dataset,  # noqa: F401
                                         cmake_dir, demo, simulate, timing)
from galaxyfit.cli.fit_command import CHECKPOINT_FILES, _load_dataset, fit  # noqa: F401  (_load_dataset: tests)

__all__ = ["DEMO_EXPOSURE_TIME", "DEMO_TRUTH", "Terminated", "UsageError", "build_parser", "console_main", "main"]


def _configure_xla() -> None:
    # Batched XLA FFTs were seen to hang on 2-core machines with XLA's multi-threaded Eigen; the command line (an
    # application, not the library) opts out unless the user set XLA_FLAGS.
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="galaxyfit", description="Fit models of galaxy light to astronomical images.")
    from galaxyfit import __version__  # (galaxyfit._version: no JAX)

    parser.add_argument("--version", action="version", version=__version__, help="print galaxyfit's version and exit")
    sub = parser.add_subparsers(dest="command", required=True)

    def simulation_options(p, seed_help="random seed of the simulated noise", exposure_time=DEMO_EXPOSURE_TIME):
        p.add_argument("--size", type=_positive_int, default=100, help="image side in pixels; the field is 10 arcsec wide (default 100)")
        p.add_argument("--seed", type=_seed, default=20261129, help=f"{seed_help} (default 20261129)")
        p.add_argument("--exposure-time", type=_positive_float, default=exposure_time,
                       help="exposure time in seconds; sets the signal-to-noise (default: peak S/N 50 at 100x100)")

    p = sub.add_parser("demo", help="simulate a bulge + disk galaxy and fit it with the default search",
                       description="Simulate a seeded bulge + disk galaxy (Sersic n=4 + exponential, Gaussian PSF sigma 0.1\", "
                                   "circular 3\" mask), fit all 13 parameters with default priors, print truth vs fit with "
                                   "1-sigma errors, and write data/model/residual figures and a results JSON.")
    simulation_options(p, seed_help="random seed of the simulated noise and of the search")
    demo_searches = ["nautilus", "lm", "dynesty", "emcee", "nuts"]
    p.add_argument("--search", choices=demo_searches, default="nautilus", help=_search_help(demo_searches))
    p.add_argument("--n-live", type=_positive_int, default=None, help="live points of a nested sampler (default: the search's own, 200)")
    p.add_argument("--output", default="galaxyfit_demo", help="folder for fit.png, result.json, samples.csv, model.json (default galaxyfit_demo)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=demo)

    p = sub.add_parser("fit", help="fit a model to a FITS image",
                       description="Fit light profiles to an image. Coordinates: centre (y, x) in arcsec from the image centre, "
                                   "FITS row 0 at the bottom; sizes in arcsec; intensities in data units per pixel.")
    p.add_argument("image", nargs="+", help="FITS image (data units per pixel, sky subtracted); several images (bands) "
                                            "are fitted jointly: shared geometry, each band's own intensities (solved "
                                            "linearly), PSF, noise map, mask and pixel scale, given to the options below "
                                            "in the images' order (one value: the same for every band)")
    p.add_argument("--pixel-scale", type=_positive_float, nargs="+", help="arcsec per pixel (use 1 to work in pixels); "
                                                                           "required unless a --galfit-feedme gives it")
    p.add_argument("--noise-map", nargs="+", help="FITS 1-sigma noise map in data units (or variance with --noise-map-is-variance)")
    p.add_argument("--noise-map-is-variance", action="store_true", help="--noise-map holds variances (data units squared)")
    p.add_argument("--gain", type=_positive_float, help="Imfit data-based noise: gain in electrons per data unit")
    p.add_argument("--read-noise", type=_non_negative_float, help="read noise in electrons (with --gain; default 0)")
    p.add_argument("--original-sky", type=_non_negative_float, help="sky level already subtracted, in data units (with --gain; default 0)")
    p.add_argument("--exposure-time", type=_exposure_time,
                   help="seconds, for count-rate images (with --gain), or 'header' for the image's EXPTIME. Default: the "
                        "EXPTIME when the image's BUNIT is a rate (e.g. ELECTRONS/S), else 1 (data in counts)")
    p.add_argument("--n-combined", type=_positive_int, help="number of images averaged into the data (with --gain; default 1)")
    p.add_argument("--psf", nargs="+", help="FITS PSF image, odd-sized, centred on its central pixel (normalised to unit sum)")
    p.add_argument("--no-normalize-psf", action="store_true", help="blur with the PSF exactly as given, not divided by "
                                                                   "its sum (needed for a PSF summing to ~0, e.g. a dirty beam)")
    p.add_argument("--mask", nargs="+", help="FITS mask, non-zero = excluded pixels")
    p.add_argument("--psf-oversampled", metavar="FILE", help="a PSF image sampled N times finer than the data (WebbPSF, "
                                                             "TinyTim; Imfit's --psf-oversampled): the model is made on the "
                                                             "fine grid, convolved with it and binned to pixels, over the "
                                                             "whole image or --psf-oversampled-region")
    p.add_argument("--psf-oversampling", type=_positive_int, help="N, the oversampled PSF's pixels per data pixel along each axis")
    p.add_argument("--psf-oversampled-region", metavar="X1:X2,Y1:Y2", help="where to use the oversampled PSF, in "
                                                                          "Imfit's syntax (1-based, inclusive pixel "
                                                                          "ranges); default: the whole image (--psf "
                                                                          "elsewhere)")
    p.add_argument("--mask-nan-data", action="store_true", help="mask pixels whose data or noise is not finite "
                                                               "(with a warning that counts them) instead of stopping")
    p.add_argument("--mask-radius", type=_positive_float, help="also exclude pixels beyond this radius in arcsec from the image centre")
    p.add_argument("--model", default="sersic", help="light profiles joined by '+', e.g. sersic+exponential (known: "
                                                     f"{', '.join(SHORTHAND_NAMES)}); 'linear:sersic+exponential' solves their "
                                                     "intensities linearly; 'mge:30' or 'mge:30x2' is a multi-Gaussian "
                                                     "expansion of 30 Gaussians in 1 or 2 bases (widths up to --mask-radius, "
                                                     "or the mask's extent); or a model file (.yaml/.json; format in "
                                                     "galaxyfit.model.model_file). Default: sersic")
    p.add_argument("--imfit-config", metavar="FILE", help="an Imfit configuration file: its functions, starting values, "
                                                          "fixed parameters and limits (exact box priors on Imfit's own "
                                                          "parameters), and its GAIN/READNOISE/ORIGINAL_SKY noise model "
                                                          "unless --noise-map or --gain is given; the best fit is written "
                                                          "back as bestfit_parameters_imfit.dat")
    p.add_argument("--galfit-feedme", metavar="FILE", help="a GALFIT input file: its components (sersic, expdisk, devauc, "
                                                           "gaussian, moffat, sky), fit flags, constraints file (G), image "
                                                           "region (H), plate scale (K), PSF (D), sigma image (C) and mask "
                                                           "(F) where the options do not say otherwise; the best fit is "
                                                           "written back as galfit.01")
    p.add_argument("--shared-centre", action="store_true", help="with '+' models: one centre for all components")
    p.add_argument("--crowded", action="store_true", help="a crowded field in one step: detect the sources (SEP) and fit a "
                                                          "galaxy per source, Sersic if resolved, PointSource if not, with "
                                                          "priors (and the lm start) from each detection's position, flux "
                                                          "and size; --model is not used")
    p.add_argument("--detect-threshold", type=_positive_float, default=1.5, help="with --crowded: detection threshold "
                                                                                 "in noise sigmas per pixel (SEP; default 1.5, "
                                                                                 "with at least 5 connected pixels)")
    p.add_argument("--neighbours", choices=["model", "mask"], default="model",
                   help="with --crowded: model every source (default), or fit the brightest and mask the others")
    p.add_argument("--fit-sky", action="store_true", help="add a free constant sky background (data units per pixel)")
    p.add_argument("--fit-sky-plane", action="store_true", help="add a sky background that is a tilted plane, level + "
                                                               "slopes in y and x, solved linearly (either sign) at every "
                                                               "likelihood")
    p.add_argument("--redshift", type=_positive_float, default=None, help="galaxy redshift (> 0), for sizes in kpc among the "
                                                                          "latent variables; without it none are computed")
    fit_searches = ["nautilus", "lm", "dynesty", "emcee", "nuts", "multinest"]
    p.add_argument("--search", choices=fit_searches, default="nautilus", help=_search_help(fit_searches))
    p.add_argument("--n-live", type=_positive_int, default=None, help="live points of a nested sampler (default 200)")
    p.add_argument("--seed", type=_seed, default=1, help="random seed of the search (default 1)")
    p.add_argument("--output", default="galaxyfit_output", help="results folder (default galaxyfit_output); a nautilus run "
                                                                "checkpoints there and resumes if restarted")
    p.add_argument("--name", default=None, help="write the fit's full output folder, OUTPUT/[PATH_PREFIX/]NAME/<identifier>/ "
                                                "(model, samples, latents, figures, FITS; resumes or returns a completed "
                                                "fit when run again; README 'Outputs') instead of a flat OUTPUT folder")
    p.add_argument("--path-prefix", default="", help="with --name: a folder level between OUTPUT and NAME")
    p.add_argument("--database", default=None, help="with --name: add the completed fit to this results database (a "
                                                    "SQLite file, or a postgresql:// URL); query it with 'galaxyfit results'")
    p.add_argument("--magnitude-zero-point", type=_finite_number, default=None, help="AB zero point of the image in its data "
                                                                           "units, for the galaxies' magnitudes and micro-Jansky "
                                                                           "fluxes among the latent variables")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=fit)

    p = sub.add_parser("simulate", help="simulate the demo galaxy and write FITS files",
                       description="Write data.fits, noise_map.fits, psf.fits, mask.fits and truth.json of a simulated bulge + disk galaxy.")
    simulation_options(p)
    p.add_argument("output", help="folder for the FITS files")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    p.set_defaults(run=simulate)

    p = sub.add_parser("timing", help="time the demo likelihood (single and batched calls)")
    p.add_argument("--size", type=_positive_int, default=100, help="image side in pixels; the field is 10 arcsec wide (default 100)")
    p.add_argument("--seed", type=_seed, default=20261129, help="random seed of the simulated noise (default 20261129)")
    p.set_defaults(run=timing)

    p = sub.add_parser("cmake-dir", help="print the directory of the installed C++ package (for find_package)")
    p.set_defaults(run=cmake_dir)

    from galaxyfit.cli.catalogue_command import add_parser as add_catalogue_parser
    from galaxyfit.database.command import add_parser as add_results_parser

    add_results_parser(sub)
    add_catalogue_parser(sub)
    return parser


def _format_warning(message, category, filename, lineno, line=None) -> str:
    return f"galaxyfit: warning: {message}\n"  # one line for a command-line user, not a source location


class _StdoutUntilClosed:
    """sys.stdout that, once its reader has gone (``galaxyfit fit ... | head``), drops what is printed instead of
    raising BrokenPipeError: the fit goes on and writes its results; only the report on the screen is lost."""

    def __init__(self, stream):
        self._stream = stream
        self._closed = False

    def _closed_now(self) -> None:
        self._closed = True
        try:  # the stream's own buffer is flushed again at exit: let that go to devnull, not to the broken pipe
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        except (OSError, ValueError):
            pass

    def write(self, text):
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._closed_now()
        return len(text)

    def flush(self):
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._closed_now()

    def __getattr__(self, name):
        return getattr(self._stream, name)


class Terminated(KeyboardInterrupt):
    """SIGTERM received by the command: raised in its main thread, so a fit stops as on Ctrl-C (its checkpoint kept)."""


def _raise_terminated(signum, frame):
    raise Terminated()


def main(argv=None, *, synchronous_dispatch: bool = False) -> int:
    """The ``galaxyfit`` command. SIGTERM is handled like Ctrl-C (a message, the checkpoint kept, exit status 143)
    while it runs -- installed here, by the command's main thread only and restored after: importing galaxyfit or
    fitting in a thread (as Dask workers do) never changes a process's signal handlers. ``synchronous_dispatch``:
    make JAX's CPU dispatch synchronous for the whole process once the arguments are read (``galaxyfit.dispatch``;
    the installed script, which owns its process, asks for it)."""
    _configure_xla()
    warnings.formatwarning = _format_warning
    stdout = sys.stdout
    sys.stdout = _StdoutUntilClosed(stdout)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return _run(argv, synchronous_dispatch)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        sys.stdout.flush()
        sys.stdout = stdout


def console_main() -> int:
    """The installed ``galaxyfit`` script and ``python -m galaxyfit``: the process is galaxyfit's own, so JAX's CPU
    dispatch is made synchronous for it (``galaxyfit.dispatch``; ~90 us per single likelihood call); ``main``
    called from Python leaves the caller's process as it is."""
    return main(synchronous_dispatch=True)


def _run(argv, synchronous_dispatch: bool = False) -> int:
    args = build_parser().parse_args(argv)
    from galaxyfit._precision import float64  # (imports JAX: after the arguments, so --version and --help stay fast)
    from galaxyfit.dispatch import use_synchronous_dispatch
    from galaxyfit.errors import GalaxyfitError

    if synchronous_dispatch:
        use_synchronous_dispatch(announce=False)
    try:
        with float64():
            return args.run(args)
    except (GalaxyfitError, UsageError) as exc:
        print(f"galaxyfit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        resume = ""
        search_name = getattr(args, "search", None)
        if args.command == "fit" and search_name in CHECKPOINT_FILES:
            checkpoint = Path(args.output or ".") / CHECKPOINT_FILES[search_name]
            if getattr(args, "name", None) is not None:
                folder = Path(args.output, args.path_prefix or "", args.name)
                resume = f"; run the same command again to resume from the checkpoint under {folder}/<identifier>/files/search_internal"
            elif checkpoint.is_file():
                resume = f"; run the same command again to resume from {checkpoint}"
        if args.command == "catalogue":
            resume = f"; run the same command again to go on (the galaxies done are kept in {args.output} and skipped)"
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"\ngalaxyfit {args.command}: {what}{resume}", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
