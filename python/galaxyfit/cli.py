"""The ``galaxyfit`` command: ``demo`` (simulate and fit), ``fit`` (a FITS image), ``simulate``, ``timing``,
``cmake-dir``. Run ``galaxyfit COMMAND --help`` for the options and their units."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

_PROCESS_START = time.perf_counter()  # (as the module is imported: the command's own start, to a few ms)

#: Exposure time (s) of the demo's simulated galaxy: peak signal-to-noise 50 at 100x100.
DEMO_EXPOSURE_TIME = 147.74366464024976

#: The demo galaxy, the same bulge + disk as the standard simulated benchmark (../shared/data/sim/README.md).
DEMO_TRUTH = {
    "bulge": dict(centre=(0.0, 0.0), ell_comps=(0.0962250449, 0.0555555556), intensity=1.0, effective_radius=0.6, sersic_index=4.0),
    "disk": dict(centre=(0.0, 0.0), ell_comps=(0.2886751346, -0.1666666667), intensity=0.25, effective_radius=1.6),
}


def _configure_xla() -> None:
    # Batched XLA FFTs were seen to hang on 2-core machines with XLA's multi-threaded Eigen; the command line (an
    # application, not the library) opts out unless the user set XLA_FLAGS.
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")


def _demo_galaxy():
    import galaxyfit as gf

    return gf.Galaxy(0.5, bulge=gf.lp.Sersic(**DEMO_TRUTH["bulge"]), disk=gf.lp.Exponential(**DEMO_TRUTH["disk"]))


def _simulated_dataset(size: int, seed: int, exposure_time: float):
    """The demo's 10" x 10" field: Gaussian PSF (sigma 0.1"), sky 0.1 and read noise 5 counts, circular 3" mask."""
    import galaxyfit as gf
    from galaxyfit.simulate import gaussian_psf, simulate_imaging

    pixel_scale = 10.0 / size
    half = max(2, int(round(1.0 / pixel_scale)))  # kernel to 10 sigma, as the benchmark sets (21x21 at 0.1")
    psf = gaussian_psf((2 * half + 1, 2 * half + 1), 0.1, pixel_scale)
    dataset, _ = simulate_imaging([_demo_galaxy()], (size, size), pixel_scale, psf, exposure_time=exposure_time, seed=seed)
    return dataset.apply_mask(gf.Mask.circular(dataset.shape, pixel_scale, 3.0))


def _make_search(name: str, args):
    from galaxyfit.search import SEARCHES

    cls = SEARCHES[name]
    kwargs = {"progress": not args.quiet and name != "lm"}
    if getattr(args, "seed", None) is not None:
        kwargs["seed"] = args.seed
    if getattr(args, "n_live", None) is not None and name in ("nautilus", "dynesty", "multinest"):
        kwargs["n_live"] = args.n_live
    return cls(**kwargs)


def _print_result(result, truth_vector=None) -> None:
    names = result.model.parameter_names
    minus, plus = result.samples.errors_at_sigma(1.0)
    header = f"{'parameter':44s} {'truth':>10s} " if truth_vector is not None else f"{'parameter':44s} "
    print(header + f"{'median':>10s} {'-1 sigma':>9s} {'+1 sigma':>9s} {'max L':>10s}")
    for i, name in enumerate(names):
        short = name.replace("galaxies.", "")
        row = f"{short:44s} "
        if truth_vector is not None:
            row += f"{truth_vector[i]:10.4f} "
        row += f"{result.median_pdf_vector[i]:10.4f} {minus[i]:9.4f} {plus[i]:9.4f} {result.max_log_likelihood_vector[i]:10.4f}"
        print(row)
    print(f"max log likelihood {result.log_likelihood:.3f}", end="")
    if result.log_evidence is not None:
        error = f" +- {result.log_evidence_error:.3f}" if result.log_evidence_error is not None else ""
        kind = " (Laplace approximation at the optimum)" if result.search.get("name") == "lm" else ""
        print(f"; log evidence{kind} {result.log_evidence:.3f}{error}")
    else:
        print()
    intensities = result.linear_light_profile_intensities
    if intensities:
        print("solved intensities (best fit; error from the linear solve):")
        for path, entry in intensities.items():
            print(f"  {path.replace('galaxies.', ''):42s} {entry['intensity']:12.6g} +- {entry['error']:.3g}")
    print(result.check_text())


def _print_statistics(result, zero_point=None) -> None:
    """chi^2, reduced chi^2, AIC, BIC, evidence, and each component in PyAutoGalaxy's, Imfit's and GALFIT's terms."""
    from galaxyfit.search.fit_statistics import component_table, component_text, fit_statistics, statistics_text

    print(statistics_text(fit_statistics(result)))
    table = component_table(result, zero_point)
    if len(table) <= 10:  # an MGE's dozens of Gaussians are in result.json / model.results, not on the screen
        print(component_text(table))
    else:
        print(f"{len(table)} light profiles: their parameters in each convention are in the results' 'components'")


def _print_timing(result, start: float) -> None:
    timing = result.timing
    if "run_s" not in timing:
        return
    total = time.perf_counter() - start
    searched = timing.get("run_s", 0.0) + timing.get("compile_s", 0.0)
    print(f"search {timing['run_s']:.1f} s ({timing.get('likelihood_calls', '?')} likelihoods, {timing.get('likelihood_s', 0.0):.1f} s "
          f"in them), compile {timing.get('compile_s', 0.0):.1f} s, everything else {max(total - searched, 0.0):.1f} s "
          f"(reading, set-up, outputs; the process started {time.perf_counter() - _PROCESS_START:.1f} s ago)")


def demo(args) -> int:
    """Simulate a bulge + disk galaxy (seeded) and fit it with the default search; print truth vs fit."""
    import galaxyfit as gf
    from galaxyfit.model import Collection, Model

    _check_output(args.output, "--output")
    start = time.perf_counter()
    dataset = _simulated_dataset(args.size, args.seed, args.exposure_time)
    print(f"simulated a bulge + disk galaxy: {dataset.shape[0]}x{dataset.shape[1]} pixels of {dataset.pixel_scales[0]:.3f}\", "
          f"PSF {dataset.psf.shape[0]}x{dataset.psf.shape[1]}, seed {args.seed}, {dataset.pixels_in_mask} pixels within 3\"")
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic, disk=gf.lp.Exponential)))
    analysis = gf.AnalysisImaging(dataset, title_prefix="galaxyfit demo")
    truth = model.vector_from_instance(gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=_demo_galaxy())))
    truth_log_l = float(analysis.log_likelihood_function(model.instance_from_vector(truth)))
    search = _make_search(args.search, args)
    print(f"fitting {model.prior_count} free parameters (default priors) with {search.kind} ...", flush=True)
    result = search.fit(model, analysis)
    _print_result(result, truth)
    _print_statistics(result)
    print(f"log likelihood at the truth {truth_log_l:.3f}")
    lo, hi = result.samples.values_at_sigma(3.0)
    inside = int(((truth >= lo) & (truth <= hi)).sum())
    print(f"{inside} of {len(truth)} true values lie within the 3 sigma intervals")
    folder = result.save(args.output)
    timing = result.timing
    print(f"search {timing['run_s']:.1f} s ({timing['likelihood_calls']} likelihoods, {timing['likelihood_s']:.1f} s in them), "
          f"compile {timing['compile_s']:.1f} s, total {time.perf_counter() - start:.1f} s")
    if timing.get("rejected"):
        print("rejected likelihoods: " + "; ".join(f"{count} {reason}" for reason, count in timing["rejected"].items()))
    print(f"wrote {folder / 'fit.png'} (data, model, residuals) and {folder / 'result.json'}")
    return 0


def _or(value, default):
    return default if value is None else value


class UsageError(Exception):
    """A command-line argument that cannot work (reported like argparse's own errors, exit status 2)."""


def _check_fit_arguments(args) -> None:
    """Argument errors that would otherwise surface only after a long fit, or be silently ignored."""
    if args.fit_sky and args.fit_sky_plane:
        raise UsageError("--fit-sky-plane includes a constant level: give it or --fit-sky, not both")
    if args.name is None and (args.path_prefix or args.database):
        raise UsageError("--path-prefix and --database need --name (the fit's full output folder)")
    if args.gain is None:
        given = [flag for flag, value in (("--read-noise", args.read_noise), ("--original-sky", args.original_sky),
                                          ("--exposure-time", args.exposure_time), ("--n-combined", args.n_combined)) if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)}: used only by Imfit's data-based noise model, which needs --gain")
    _check_output(args.output, "--output")


def _check_output(output, flag: str) -> None:
    """The folder ``output`` must be creatable: neither it nor any existing parent may be a file."""
    if output is None:
        return
    if not str(output).strip():
        raise UsageError(f"{flag}: the folder name is empty")
    for path in (Path(output), *Path(output).parents):
        if path.exists():
            if not path.is_dir():
                raise UsageError(f"{flag} {output}: {path} is an existing file, not a folder")
            break
    # Made now, so a folder that cannot be written fails before the fit, not after it.
    try:
        Path(output).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{flag} {output}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(output, os.W_OK):
        raise UsageError(f"{flag} {output}: the folder is not writable")


def _finite_float(description: str, accept):
    """An argparse type: a finite float for which ``accept(value)`` holds; the message names the rule."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (accept(value) and value < float("inf")):
            raise argparse.ArgumentTypeError(f"must be {description}, got {text!r}")
        return value

    return parse


_positive_float = _finite_float("a finite positive number", lambda value: value > 0)


def _exposure_time(text: str):
    if text.strip().lower() == "header":
        return "header"
    try:
        return _positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a finite positive number of seconds or 'header', got {text!r}") from None


_exposure_time.__name__ = "exposure time"
_non_negative_float = _finite_float("a finite number >= 0", lambda value: value >= 0)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


_positive_int.__name__ = "positive integer"  # argparse names a type by __name__ in its messages


def _seed(text: str) -> int:
    from galaxyfit.errors import SearchError
    from galaxyfit.search.base import checked_seed

    try:
        return checked_seed(int(text))
    except (ValueError, SearchError):
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 4294967295, got {text!r}") from None


_seed.__name__ = "seed"


def _load_dataset(args):
    import galaxyfit as gf

    noise = {}
    if args.noise_map is not None:
        if args.gain is not None:
            raise UsageError("give either --noise-map or --gain (Imfit's data-based noise), not both")
        noise = dict(noise_map_path=args.noise_map, noise_map_is_variance=args.noise_map_is_variance)
    elif args.noise_map_is_variance:
        raise UsageError("--noise-map-is-variance needs --noise-map FILE, the variance map it describes")
    elif args.gain is not None:
        noise = dict(gain=args.gain, read_noise=_or(args.read_noise, 0.0), original_sky=_or(args.original_sky, 0.0),
                     exposure_time=args.exposure_time, n_combined=_or(args.n_combined, 1))
    else:
        raise UsageError("no noise model: give --noise-map FILE (sigma or variance) or --gain (with --read-noise, --original-sky)")
    oversampled = {}
    if args.psf_oversampled is not None:
        from galaxyfit.dataset.imaging import psf_oversampled_region_from_imfit

        region = args.psf_oversampled_region
        oversampled = dict(psf_oversampled_path=args.psf_oversampled, psf_oversampling=args.psf_oversampling,
                           psf_oversampled_region=None if region is None else psf_oversampled_region_from_imfit(region))
    elif args.psf_oversampling is not None or args.psf_oversampled_region is not None:
        raise UsageError("--psf-oversampling and --psf-oversampled-region describe --psf-oversampled FILE, which is missing")
    dataset = gf.Imaging.from_fits(args.image, args.pixel_scale, psf_path=args.psf, mask_path=args.mask,
                                   mask_nan_data=args.mask_nan_data, normalize_psf=not args.no_normalize_psf, **noise,
                                   **oversampled)
    if args.mask_radius is not None:
        dataset = dataset.apply_mask(dataset.mask | gf.Mask.circular(dataset.shape, args.pixel_scale, args.mask_radius))
    return dataset


def _psf_text(dataset) -> str:
    if dataset.psf.shape == (1, 1):
        return "no PSF"
    shape = f"PSF {dataset.psf.shape[0]}x{dataset.psf.shape[1]}"
    if dataset.psf_normalized:
        return f"{shape} normalised to unit sum (its sum was {dataset.psf_sum:.6g})"
    return f"{shape} used as given (sum {dataset.psf_sum:.6g}, not normalised)"


def _noise_text(noise_model: dict) -> str:
    """One line saying which noise model and values are used (the header's or the options')."""
    if noise_model.get("kind") != "imfit":
        return f"{noise_model.get('kind', 'sigma map')} {noise_model.get('file', '')}".strip()
    return (f"Imfit's data-based model: gain {noise_model['gain']:g} e-/data unit, read noise {noise_model['read_noise']:g} e-, "
            f"original sky {noise_model['original_sky']:g}, exposure time {noise_model['exposure_time_source']}, "
            f"{noise_model['n_combined']} combined image{'s' if noise_model['n_combined'] != 1 else ''}")


def _load_model(args, dataset=None):
    """The model of --model: a model file as written, or the shorthand with priors from ``dataset`` (centre about
    the light's centroid, sizes and intensities scaled to the image: galaxyfit.model.data_priors)."""
    from galaxyfit.model.model_file import load_model, model_from_shorthand

    if Path(args.model).suffix.lower() in (".yaml", ".yml", ".json"):
        return load_model(args.model)
    return model_from_shorthand(args.model, redshift=args.redshift, shared_centre=args.shared_centre, sky=args.fit_sky,
                                mask_radius=_mask_radius(args), dataset=dataset)


def _mask_radius(args) -> float | None:
    """--mask-radius, or for an MGE without it, the largest distance (arcsec) of an unmasked pixel from the image
    centre when a mask file is given."""
    if args.mask_radius is not None:
        return args.mask_radius
    if not args.model.lower().startswith("mge:") or args.mask is None:
        return None
    import numpy as np

    from galaxyfit.dataset.mask import Mask
    from galaxyfit.dataset.pixels import pixel_centres

    mask = Mask.from_fits(args.mask, args.pixel_scale)
    y, x = pixel_centres(mask.shape, mask.pixel_scales)
    radius = np.sqrt(y[:, None] ** 2 + x[None, :] ** 2)[~mask.array]
    return float(radius.max()) if radius.size else None


def _prefetch_sampler(search: str) -> None:
    """Import the sampler's package (nautilus brings scikit-learn and scipy.stats: ~1 s) on a second thread while
    the main thread imports JAX, reads the FITS files and compiles: those parts release the GIL, so on two cores
    the imports overlap instead of adding up."""
    module = {"nautilus": "nautilus", "dynesty": "dynesty", "emcee": "emcee"}.get(search)
    if module is not None:
        import importlib

        threading.Thread(target=importlib.import_module, args=(module,), daemon=True, name="galaxyfit-prefetch").start()


#: Options given per band (one value for every band, or one per image in the images' order).
_PER_BAND = {"pixel_scale": "--pixel-scale", "noise_map": "--noise-map", "psf": "--psf", "mask": "--mask"}


def _band(args, index: int):
    """``args`` for the band of image ``index``: its own image and per-band options (``_PER_BAND``)."""
    n = len(args.image)
    band = argparse.Namespace(**vars(args))
    band.image = args.image[index]
    for name, flag in _PER_BAND.items():
        values = getattr(args, name)
        if values is None:
            continue
        if len(values) not in (1, n):
            raise UsageError(f"{flag}: give one value for every image or one per image ({n}), got {len(values)}")
        setattr(band, name, values[0] if len(values) == 1 else values[index])
    return band


def _band_names(images) -> list[str]:
    """Each image's name without its FITS extension, prefixed by its folder where two would be the same, and
    numbered where that is not enough."""
    stems = [Path(p).name.removesuffix(".gz").removesuffix(".fits").removesuffix(".fit") for p in images]
    if len(set(stems)) < len(stems):
        stems = [f"{Path(p).parent.name}_{stem}" if Path(p).parent.name else stem for p, stem in zip(images, stems)]
    if len(set(stems)) < len(stems):
        stems = [f"{stem}_{i}" for i, stem in enumerate(stems)]
    return stems


def fit(args) -> int:
    """Fit a model to a FITS image (or several bands jointly) and write the results."""
    if len(args.image) > 1:
        return _fit_bands(args)
    args = _band(args, 0)
    return _fit_one(args)


def _fit_bands(args) -> int:
    """A joint fit of several bands: one AnalysisImaging per image, shared geometry, each band's intensities solved
    (FactorGraphModel; galaxyfit.analysis.factor_graph)."""
    from galaxyfit.analysis.factor_graph import graph_from_datasets
    from galaxyfit.latent import LatentConfig

    start = time.perf_counter()
    args.name = args.name or "multiband"  # a joint fit always writes the full folder layout (one folder per band inside)
    for flag, given in (("--gain", args.gain is not None), ("--crowded", args.crowded),
                        ("--imfit-config", args.imfit_config), ("--galfit-feedme", args.galfit_feedme),
                        ("--psf-oversampled", args.psf_oversampled)):
        if given:
            raise UsageError(f"{flag} is for one image; a joint fit of {len(args.image)} images takes --model and "
                             "--noise-map per band")
    bands = [_band(args, i) for i in range(len(args.image))]
    for band in bands:
        _require_pixel_scale(band)
        _check_fit_arguments(band)
    _prefetch_sampler(args.search)
    datasets = [_load_dataset(band) for band in bands]
    for band, dataset in zip(bands, datasets):
        print(f"{band.image}: {dataset.shape[0]}x{dataset.shape[1]} pixels of {band.pixel_scale}\", {dataset.pixels_in_mask} "
              f"unmasked, {_psf_text(dataset)}; noise: {_noise_text(dataset.noise_model)}")
    if args.redshift is None:
        print("no --redshift given: sizes in kpc are not computed")
    text = args.model
    is_file = Path(text).suffix.lower() in (".yaml", ".yml", ".json")
    if not is_file and not text.lower().startswith(("linear:", "mge:")):
        text = "linear:" + text
        print(f"--model {args.model}: fitted as {text} (each band's intensities solved linearly, the geometry shared)")
    model = _load_model(argparse.Namespace(**{**vars(bands[0]), "model": text}), datasets[0])
    if args.fit_sky_plane:
        _add_sky_plane(model)
    names = _band_names([band.image for band in bands])
    graph = graph_from_datasets(datasets, model, dataset_names=names, title_prefix=None,
                                latent_config=LatentConfig(magnitude_zero_point=args.magnitude_zero_point))
    print(graph.info)
    search = _make_search(args.search, args)
    search.name = args.name or "multiband"
    search.path_prefix, search.output_path, search.database = args.path_prefix, args.output, args.database
    result = search.fit(model=graph.global_prior_model, analysis=graph)
    print(result)
    for name, band_result in zip(names, result):
        print(f"--- {name}")
        _print_statistics(band_result, args.magnitude_zero_point)
    _print_timing(result, start)
    print(f"{search.paths.folder}: the joint fit (model.results, files/) and each band's in analyses/analysis_<i>/")
    return 0


def _add_sky_plane(model) -> None:
    """A linear sky plane (``lp_linear.Sky``, ``SkySlopeY``, ``SkySlopeX``: free-sign amplitudes, solved) in the
    model's first galaxy."""
    from galaxyfit.profiles.linear import sky_plane_components

    galaxies = model.galaxies
    first = next(iter(galaxies._attributes.values()))
    for name, component in sky_plane_components().items():
        setattr(first, name, component)


def _read_config_files(args):
    """(ImfitConfig or None, GalfitFeedme or None) of --imfit-config / --galfit-feedme. What the files say about the
    data fills the options not given: an Imfit file's GAIN, READNOISE, ORIGINAL_SKY, EXPTIME and NCOMBINED (its
    data-based noise model, when neither --noise-map nor --gain is given); a feedme's plate scale (K), PSF (D), sigma
    image (C) and mask (F), file names relative to the working directory as GALFIT reads them."""
    if args.imfit_config and args.galfit_feedme:
        raise UsageError("give --imfit-config or --galfit-feedme, not both")
    for flag, given in (("--crowded", args.crowded), ("--model", args.model != "sersic")):
        if given and (args.imfit_config or args.galfit_feedme):
            raise UsageError(f"{flag} and {'--imfit-config' if args.imfit_config else '--galfit-feedme'} both say what to fit: give one")
    if args.imfit_config:
        from galaxyfit.imfit_config import read_imfit_config

        config = read_imfit_config(args.imfit_config)
        if args.noise_map is None and args.gain is None and "gain" in config.image:
            for key, value in config.image.items():
                setattr(args, key, value)
            print(f"noise from {args.imfit_config}: " + ", ".join(f"{k} {v:g}" for k, v in config.image.items()))
        _require_pixel_scale(args)
        return config, None
    if args.galfit_feedme:
        from galaxyfit.galfit_feedme import read_galfit_feedme

        feedme = read_galfit_feedme(args.galfit_feedme)
        if args.pixel_scale is None and feedme.pixel_scale is not None:
            args.pixel_scale = feedme.pixel_scale
        for option, value in (("psf", feedme.psf), ("mask", feedme.mask)):
            if getattr(args, option) is None and value is not None:
                setattr(args, option, value)
        if args.noise_map is None and args.gain is None and feedme.sigma_image is not None:
            args.noise_map = feedme.sigma_image
        _require_pixel_scale(args)
        return None, feedme
    _require_pixel_scale(args)
    return None, None


def _require_pixel_scale(args) -> None:
    if args.pixel_scale is None:
        raise UsageError("--pixel-scale is required (arcsec per pixel; 1 to work in pixels), unless a --galfit-feedme "
                         "file gives it (K)")


def _exposure_time_of(image) -> float:
    """The image's EXPTIME (GALFIT divides integrated counts by it to make magnitudes), 1 when absent."""
    from astropy.io import fits

    value = fits.getheader(image).get("EXPTIME", 1.0)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 1.0
    return value if value > 0 and value < float("inf") else 1.0


def _cropped(dataset, rows: slice, columns: slice):
    """The dataset's region ``[rows, columns]`` (the PSF and noise model unchanged)."""
    from galaxyfit.dataset import Imaging, Mask

    if dataset.psf_oversampled is not None:
        raise UsageError("--psf-oversampled with a feedme image region (H) is not supported: crop the images or drop H")
    cropped = Imaging(dataset.data[rows, columns], dataset.noise_map[rows, columns], dataset.psf, dataset.pixel_scales,
                      mask=Mask(dataset.mask.array[rows, columns], dataset.pixel_scales), normalize_psf=False)
    cropped.noise_model = dataset.noise_model
    return cropped


def _write_config_files(folder, result, imfit_config, feedme) -> None:
    """The best fit in the format it came in: Imfit's best-fit parameter file, usable as the next --imfit-config
    (bestfit_parameters_imfit.dat, Imfit's name), or GALFIT's galfit.01 (the next feedme)."""
    if imfit_config is not None:
        from galaxyfit.imfit_config import write_imfit_best_fit

        print(f"wrote {write_imfit_best_fit(Path(folder) / 'bestfit_parameters_imfit.dat', result, imfit_config)}")
    if feedme is not None:
        from galaxyfit.galfit_feedme import write_galfit_best_fit

        print(f"wrote {write_galfit_best_fit(Path(folder) / 'galfit.01', feedme, result)}")


def _fit_one(args) -> int:
    import galaxyfit as gf

    start = time.perf_counter()
    imfit_config, feedme = _read_config_files(args)
    _check_fit_arguments(args)
    _prefetch_sampler(args.search)
    dataset = _load_dataset(args)
    full_shape = dataset.shape
    if feedme is not None and feedme.section is not None:
        dataset = _cropped(dataset, *feedme.section)
        print(f"fitting the feedme's image region H: rows {feedme.section[0].start}:{feedme.section[0].stop}, "
              f"columns {feedme.section[1].start}:{feedme.section[1].stop} (0-based)")
    initial = None
    if imfit_config is not None:
        model, initial = imfit_config.model(dataset.shape, dataset.pixel_scales, args.redshift)
    elif feedme is not None:
        model, initial = feedme.model(full_shape, dataset.pixel_scales, _exposure_time_of(args.image), args.redshift)
    elif args.crowded:
        from galaxyfit.model.crowded import crowded_field_model

        field = crowded_field_model(dataset, sky=args.fit_sky, neighbours=args.neighbours, redshift=args.redshift)
        model, dataset, initial = field.model, field.dataset, field.start
        print(f"detected {len(field.detection.sources)} sources: a galaxy per source, priors and start from the detections")
    else:
        model = _load_model(args, dataset)
    if args.fit_sky_plane:
        _add_sky_plane(model)
    print(f"{args.image}: {dataset.shape[0]}x{dataset.shape[1]} pixels of {args.pixel_scale}\", {dataset.pixels_in_mask} unmasked, "
          f"{_psf_text(dataset)}")
    print(f"noise: {_noise_text(dataset.noise_model)}")
    if args.redshift is None:
        print("no --redshift given: sizes in kpc are not computed")
    print(model.info)
    search = _make_search(args.search, args)
    from galaxyfit.latent import LatentConfig

    analysis = gf.AnalysisImaging(dataset, title_prefix=Path(args.image).name, dataset_name=str(Path(args.image).with_suffix("")),
                                  latent_config=LatentConfig(magnitude_zero_point=args.magnitude_zero_point))
    start_point = {"initial": initial} if initial is not None and args.search == "lm" else {}  # (the samplers draw their own)
    if args.name is not None:  # the full output folder of galaxyfit.paths
        search.name, search.path_prefix, search.output_path, search.database = args.name, args.path_prefix, args.output, args.database
        result = search.fit(model, analysis, **start_point)
        _print_result(result)
        _print_statistics(result, args.magnitude_zero_point)
        _write_config_files(search.paths.folder, result, imfit_config, feedme)
        _print_timing(result, start)
        done = "the completed fit found there" if result.search.get("resumed") == "completed" else "the fit"
        print(f"{search.paths.folder}: {done} (model.results, files/, image/)")
        return 0
    if args.search == "nautilus" and args.output is not None:
        try:
            import h5py  # noqa: F401

            search.filepath = str(Path(args.output) / "nautilus_checkpoint.hdf5")
            Path(args.output).mkdir(parents=True, exist_ok=True)
        except ImportError:
            pass
    result = search.fit(model, analysis, **start_point)
    _print_result(result)
    _print_statistics(result, args.magnitude_zero_point)
    folder = result.save(args.output)
    _write_config_files(folder, result, imfit_config, feedme)
    _print_timing(result, start)
    print(f"wrote {folder}: result.json, samples.csv with samples_info.json, model.json, model.info, fit.png")
    return 0


def simulate(args) -> int:
    """Simulate the demo bulge + disk galaxy and write it as FITS files."""
    from galaxyfit.output import write_json_atomic

    _check_output(args.output, "output")
    dataset = _simulated_dataset(args.size, args.seed, args.exposure_time)
    paths = dataset.to_fits(args.output, overwrite=args.overwrite)
    write_json_atomic(Path(args.output) / "truth.json", {"pixel_scale": dataset.pixel_scales[0], "seed": args.seed,
                                                        "exposure_time": args.exposure_time, **DEMO_TRUTH})
    print("wrote " + ", ".join(str(p) for p in paths.values()) + f" and {Path(args.output) / 'truth.json'}")
    print(f"fit it with: galaxyfit fit {paths['data']} --noise-map {paths['noise_map']} --psf {paths['psf']} --mask {paths['mask']} "
          f"--pixel-scale {dataset.pixel_scales[0]:g} --model sersic+exponential --output {Path(args.output) / 'fit'}")
    return 0


def timing(args) -> int:
    """Evaluate the demo likelihood at the truth and time it (single and batched calls)."""
    import jax
    import jax.numpy as jnp

    import galaxyfit as gf
    from galaxyfit.model import Collection, Model

    dataset = _simulated_dataset(args.size, args.seed, DEMO_EXPOSURE_TIME)  # the demo's own data
    analysis = gf.AnalysisImaging(dataset)
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic, disk=gf.lp.Exponential)))
    truth = jnp.asarray(model.vector_from_instance(gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=_demo_galaxy()))))

    def log_likelihood(vector):
        return analysis.log_likelihood_function(model.instance_from_vector(vector))

    single = jax.jit(log_likelihood)
    start = time.perf_counter()
    value = float(single(truth))
    print(f"{dataset.shape[0]}x{dataset.shape[1]} image, {dataset.pixels_in_mask} pixels: log likelihood at the truth {value:.3f}, "
          f"compile {time.perf_counter() - start:.2f} s")
    vectors = [truth + 1e-7 * k for k in range(200)]
    start = time.perf_counter()
    for v in vectors:
        out = single(v)
    out.block_until_ready()
    print(f"likelihood: {(time.perf_counter() - start) / len(vectors) * 1e6:.0f} us per call (jit)")
    batched = jax.jit(jax.vmap(log_likelihood))
    batch = truth + 1e-6 * jnp.arange(64.0)[:, None]
    batched(batch).block_until_ready()
    start = time.perf_counter()
    for _ in range(5):
        out = batched(batch)
    out.block_until_ready()
    print(f"batched:    {(time.perf_counter() - start) / (5 * 64) * 1e6:.0f} us per likelihood (jit + vmap, batch 64)")
    return 0


def cmake_dir(args) -> int:
    import galaxyfit

    print(galaxyfit.cmake_dir())
    return 0


_SEARCH_TEXT = {
    "nautilus": "nautilus (nested sampling, the default: posterior and evidence)",
    "lm": "lm (Levenberg-Marquardt: best fit, errors from the Jacobian)",
    "dynesty": "dynesty (nested sampling)",
    "emcee": "emcee (MCMC)",
    "multinest": "multinest (nested sampling; needs the MultiNest library)",
}


def _search_help(choices) -> str:
    return ", ".join(_SEARCH_TEXT[name] for name in choices)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="galaxyfit", description="Fit models of galaxy light to astronomical images.")
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
    demo_searches = ["nautilus", "lm", "dynesty", "emcee"]
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
    p.add_argument("--model", default="sersic", help="light profiles joined by '+', e.g. sersic+exponential (every "
                                                     "light profile by its class name in lower case: sersic, exponential, "
                                                     "devvaucouleurs, sersiccore, gaussian, moffat, pointsource, ..., "
                                                     "sersicsph ...); 'linear:sersic+exponential' solves their "
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
    p.add_argument("--neighbours", choices=["model", "mask"], default="model",
                   help="with --crowded: model every source (default), or fit the brightest and mask the others")
    p.add_argument("--fit-sky", action="store_true", help="add a free constant sky background (data units per pixel)")
    p.add_argument("--fit-sky-plane", action="store_true", help="add a sky background that is a tilted plane, level + "
                                                               "slopes in y and x, solved linearly (either sign) at every "
                                                               "likelihood")
    p.add_argument("--redshift", type=_positive_float, default=None, help="galaxy redshift (> 0), for sizes in kpc among the "
                                                                          "latent variables; without it none are computed")
    fit_searches = ["nautilus", "lm", "dynesty", "emcee", "multinest"]
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
    p.add_argument("--magnitude-zero-point", type=float, default=None, help="AB zero point of the image in its data "
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

    from galaxyfit.database.command import add_parser as add_results_parser

    add_results_parser(sub)
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


def main(argv=None) -> int:
    """The ``galaxyfit`` command. SIGTERM is handled like Ctrl-C (a message, the checkpoint kept, exit status 143)
    while it runs -- installed here, by the command's main thread only and restored after: importing galaxyfit or
    fitting in a thread (as Dask workers do) never changes a process's signal handlers."""
    _configure_xla()
    warnings.formatwarning = _format_warning
    stdout = sys.stdout
    sys.stdout = _StdoutUntilClosed(stdout)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return _run(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        sys.stdout.flush()
        sys.stdout = stdout


def _run(argv) -> int:
    args = build_parser().parse_args(argv)
    from galaxyfit.errors import GalaxyfitError

    try:
        return args.run(args)
    except (GalaxyfitError, UsageError) as exc:
        print(f"galaxyfit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        resume = ""
        if args.command == "fit" and getattr(args, "search", None) == "nautilus":
            if getattr(args, "name", None) is not None:
                folder = Path(args.output, args.path_prefix or "", args.name)
                resume = f"; run the same command again to resume from the checkpoint under {folder}/<identifier>/files/search_internal"
            elif (Path(args.output or ".") / "nautilus_checkpoint.hdf5").is_file():
                resume = f"; run the same command again to resume from {Path(args.output or '.') / 'nautilus_checkpoint.hdf5'}"
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"\ngalaxyfit {args.command}: {what}{resume}", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130


if __name__ == "__main__":
    sys.exit(main())
