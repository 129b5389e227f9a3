"""``galaxyfit catalogue``: fit every galaxy of a catalogue on a Dask cluster (``galaxyfit.catalogue``), from
per-galaxy FITS cutouts (``--cutouts``) or a large image and positions (``--image``).

Building the parser imports neither Dask nor JAX (``galaxyfit --help`` stays fast)."""

from __future__ import annotations

import argparse

from galaxyfit.cli.arguments import (SHORTHAND_NAMES, UsageError, _exposure_time, _finite_number, _non_negative_float,
                                     _positive_float, _positive_int, _search_help, _seed)

CATALOGUE_SEARCHES = ["lm", "nautilus", "dynesty", "emcee"]

EXIT_STATUS = ("Exit status: 0 when the run completed, whether or not some galaxies failed (each failure and its reason "
               "is in OUTPUT/failures.txt and the summary table's status, flag and reason columns); 2 when the run could "
               "not happen (bad arguments, an unreadable table, a missing id column, an unreachable scheduler, an output "
               "folder in use by another run); 130 (Ctrl-C) or 143 (SIGTERM) when interrupted: run the same command "
               "again to go on from where it stopped.")


def _pixel_scale(text: str):
    """A number (arcsec per pixel) or the name of the column holding each galaxy's."""
    try:
        return _positive_float(text)
    except argparse.ArgumentTypeError:
        if text.strip() and not text.strip()[0].isdigit() and not text.strip().startswith(("-", ".")):
            return text.strip()
        raise argparse.ArgumentTypeError(f"must be a positive number (arcsec per pixel) or a column name, got {text!r}") from None


_pixel_scale.__name__ = "pixel scale"


def _retries(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


_retries.__name__ = "retries"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "catalogue", help="fit every galaxy of a catalogue on a Dask cluster (resumable)",
        description="Fit one model per catalogue row, each fit a Dask task: on an embedded LocalCluster sized to this "
                    "machine (--workers), or on any Dask scheduler (--scheduler). Each galaxy gets its own folder "
                    "OUTPUT/galaxies/<id>/<identifier>/ and a row in the results database; at the end OUTPUT/summary.fits "
                    "and .csv (and .parquet with pyarrow) hold every galaxy's parameters, errors, evidence, latent "
                    "variables, quality flag and failure reason. Running the same command again skips the galaxies "
                    "already done. File options take a template formatted with the row's columns ('{id}_psf.fits') "
                    "or one file for every galaxy ('psf.fits').",
        epilog=EXIT_STATUS)
    p.add_argument("table", help="the catalogue: a FITS, CSV, ECSV or Parquet table with one row per galaxy")
    p.add_argument("--id-column", default="id", help="the column identifying each galaxy (unique; names its folder; default id)")
    source = p.add_argument_group("per-galaxy cutouts (--cutouts) or one large image (--image)")
    source.add_argument("--cutouts", metavar="DIR", help="folder of the cutout files (relative templates are taken from it)")
    source.add_argument("--data", default="{id}.fits", metavar="TEMPLATE", help="with --cutouts: each galaxy's image (default {id}.fits)")
    source.add_argument("--image", metavar="FILE", help="a large image to cut each galaxy from at its position "
                                                        "(--x-column, --y-column; a template for several tiles)")
    source.add_argument("--noise-map", metavar="TEMPLATE", help="1-sigma noise map in data units (default with --cutouts: "
                                                                "{id}_noise_map.fits; with --image: required, the large "
                                                                "image's)")
    source.add_argument("--noise-map-is-variance", action="store_true", help="--noise-map holds variances")
    source.add_argument("--psf", metavar="TEMPLATE", help="PSF image, odd-sized and centred (default with --cutouts: "
                                                          "{id}_psf.fits; 'none': no PSF)")
    source.add_argument("--mask", metavar="TEMPLATE", help="mask, non-zero = excluded (default: none)")
    source.add_argument("--x-column", default="x", help="with --image: the galaxy's x pixel position (default x)")
    source.add_argument("--y-column", default="y", help="with --image: the galaxy's y pixel position (default y)")
    source.add_argument("--size-column", default=None, help="with --image: the cutout side in pixels per galaxy "
                                                            "(rounded up to a multiple of --bucket); default: --size for all")
    source.add_argument("--size", type=_positive_int, default=32, help="with --image: the cutout side in pixels, or the "
                                                                       "smallest with --size-column (default 32)")
    source.add_argument("--bucket", type=_positive_int, default=16, help="with --image: cutout sides are multiples of "
                                                                         "this (default 16), so fits share compiled shapes")
    source.add_argument("--origin", type=int, choices=[0, 1], default=1, help="with --image: 1 if positions count the "
                                                                              "first pixel as 1 (FITS, SExtractor; default), 0 for 0")
    p.add_argument("--pixel-scale", type=_pixel_scale, required=False, help="arcsec per pixel, or the column holding each "
                                                                            "galaxy's (required; 1 to work in pixels)")
    p.add_argument("--gain", type=_positive_float, help="with --cutouts and no --noise-map: Imfit's data-based noise, "
                                                         "electrons per data unit")
    p.add_argument("--read-noise", type=_non_negative_float, default=0.0, help="with --gain: read noise in electrons")
    p.add_argument("--original-sky", type=_non_negative_float, default=0.0, help="with --gain: subtracted sky, data units")
    p.add_argument("--exposure-time", type=_exposure_time, help="with --gain: seconds, or 'header'")
    p.add_argument("--mask-nan-data", action="store_true", help="mask non-finite pixels instead of failing the galaxy "
                                                               "(always on with --image)")
    p.add_argument("--mask-radius", type=_positive_float, help="also exclude pixels beyond this radius (arcsec) from the "
                                                               "cutout's centre; the widest Gaussian of an mge: model")
    p.add_argument("--model", default="sersic", help="light profiles joined by '+' with priors from each galaxy's cutout "
                                                     f"(known: {', '.join(SHORTHAND_NAMES)}), 'linear:...', 'mge:30', or a "
                                                     "model file (.yaml/.json: the same priors for every galaxy). Default: sersic")
    p.add_argument("--shared-centre", action="store_true", help="with '+' models: one centre for all components")
    p.add_argument("--fit-sky", action="store_true", help="add a free constant sky background")
    p.add_argument("--redshift", type=_positive_float, default=None, help="the galaxies' redshift, for sizes in kpc")
    p.add_argument("--magnitude-zero-point", type=_finite_number, default=None, help="AB zero point of the images, for "
                                                                                     "magnitudes among the latent variables")
    p.add_argument("--search", choices=CATALOGUE_SEARCHES, default="lm", help=_search_help(CATALOGUE_SEARCHES, "lm"))
    p.add_argument("--n-live", type=_positive_int, default=None, help="live points of a nested sampler")
    p.add_argument("--seed", type=_seed, default=1, help="random seed of each galaxy's search (default 1)")
    p.add_argument("--output", default="catalogue_output", help="the run's folder (default catalogue_output)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler: tcp://host:8786, or the JSON file "
                                                              "of 'dask scheduler --scheduler-file' (default: an embedded "
                                                              "LocalCluster)")
    where.add_argument("--workers", type=_positive_int, help="worker processes of the embedded LocalCluster (default: "
                                                             "one per --threads-per-fit CPUs)")
    p.add_argument("--threads-per-fit", type=_positive_int, default=1, help="CPUs each fit uses (default 1); each worker "
                                                                            "process is pinned to that many")
    p.add_argument("--retries", type=_retries, default=2, help="times a galaxy is tried again after its worker died, "
                                                               "before it is reported as failed (default 2)")
    db = p.add_mutually_exclusive_group()
    db.add_argument("--database", default=None, help="the results database: a SQLite file or postgresql:// URL (default "
                                                    "OUTPUT/results.sqlite; on a cluster use PostgreSQL)")
    db.add_argument("--no-database", action="store_true", help="write no database")
    p.add_argument("--figures", action="store_true", help="draw each galaxy's PNG figures (seconds per galaxy)")
    p.add_argument("--skip-failed", action="store_true", help="do not fit again the galaxies an earlier run reported as failed")
    p.add_argument("--quiet", action="store_true", help="no progress bar or report")
    p.set_defaults(run=run)
    return p


def _check(args) -> None:
    from galaxyfit.cli.arguments import _check_output

    if (args.cutouts is None) == (args.image is None):
        raise UsageError("give --cutouts DIR (a FITS cutout per galaxy) or --image FILE (one large image), one of them")
    if args.pixel_scale is None:
        raise UsageError("--pixel-scale is required (arcsec per pixel, or a column name; 1 to work in pixels)")
    if args.image is not None:
        for flag, given in (("--gain", args.gain is not None), ("--data", args.data != "{id}.fits")):
            if given:
                raise UsageError(f"{flag} is for --cutouts; with --image give --noise-map")
        if args.noise_map is None:
            raise UsageError("--image needs --noise-map FILE, the large image's 1-sigma (or variance) map")
    elif args.noise_map is not None and args.gain is not None:
        raise UsageError("give either --noise-map or --gain (Imfit's data-based noise), not both")
    if args.gain is None and (args.read_noise or args.original_sky or args.exposure_time is not None):
        raise UsageError("--read-noise, --original-sky and --exposure-time describe --gain's noise model, which needs --gain")
    _check_output(args.output, "--output")


def _dataset_maker(args):
    from galaxyfit.catalogue.datasets import CutoutFiles, LargeImage

    psf = None if (args.psf or "").strip().lower() == "none" else args.psf
    if args.image is not None:
        return LargeImage(image=args.image, noise_map=args.noise_map, psf=psf, mask=args.mask, pixel_scale=args.pixel_scale,
                          x_column=args.x_column, y_column=args.y_column, size_column=args.size_column, size=args.size,
                          bucket=args.bucket, origin=args.origin, noise_map_is_variance=args.noise_map_is_variance,
                          mask_radius=args.mask_radius)
    noise = args.noise_map
    if noise is None and args.gain is None:
        noise = "{id}_noise_map.fits"
    return CutoutFiles(directory=args.cutouts, data=args.data, noise_map=noise,
                       psf="{id}_psf.fits" if args.psf is None else psf, mask=args.mask, pixel_scale=args.pixel_scale,
                       noise_map_is_variance=args.noise_map_is_variance, gain=args.gain, read_noise=args.read_noise,
                       original_sky=args.original_sky, exposure_time=args.exposure_time,
                       mask_nan_data=args.mask_nan_data, mask_radius=args.mask_radius)


def run(args) -> int:
    """Run the catalogue; 0 once it completed (failed galaxies are reported, not an error)."""
    from pathlib import Path

    _check(args)
    from galaxyfit.catalogue.models import MODEL_FILE_SUFFIXES, ShorthandModel
    from galaxyfit.catalogue.runner import fit_catalogue
    from galaxyfit.cli.arguments import _make_search
    from galaxyfit.cli.fit_command import _latent_config

    if Path(args.model).suffix.lower() in MODEL_FILE_SUFFIXES:
        model = args.model
    else:
        model = ShorthandModel(args.model, shared_centre=args.shared_centre, sky=args.fit_sky, redshift=args.redshift,
                               mask_radius=args.mask_radius)
    database = False if args.no_database else args.database
    result = fit_catalogue(args.table, _dataset_maker(args), model, _make_search(args.search, args),
                           client=args.scheduler, workers=args.workers, output_path=args.output,
                           id_column=args.id_column, threads_per_fit=args.threads_per_fit, retries=args.retries,
                           database=database, figures=args.figures, latent_config=_latent_config(args),
                           retry_failed=not args.skip_failed, progress=not args.quiet)
    files = ", ".join(str(p) for p in result.summary_paths.values())
    print(f"{result.n_done} of {len(result.records)} galaxies fitted ({result.n_skipped} by earlier runs), "
          f"{result.n_failed} failed; wrote {files}, {result.failures_path}"
          + (f" and the database {result.database}" if result.database else ""))
    return 0
