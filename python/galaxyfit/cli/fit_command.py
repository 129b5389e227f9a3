"""``galaxyfit fit``: one image or several bands, a model from --model, an Imfit or GALFIT file or a crowded field's
detections, and the results written where the options say."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from galaxyfit.cli.arguments import UsageError, _check_output, _make_search, _or
from galaxyfit.cli.report import _noise_text, _print_result, _print_statistics, _print_timing, _psf_text


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


def _load_dataset(args):
    """The Imaging of one band's options (``_band``; parsed options of a single image are taken as its band)."""
    import galaxyfit as gf

    if isinstance(args.image, list):
        args = _band(args, 0)
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
    if args.psf_oversampled is not None and args.psf_oversampling is None:
        raise UsageError("--psf-oversampled FILE needs --psf-oversampling N, its pixels per data pixel along each axis")
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


#: Options given per band (one value for every band, or one per image in the images' order).
#: The checkpoint that `galaxyfit fit --output DIR` (without --name) writes in DIR, for the searches that keep one.
CHECKPOINT_FILES = {"nautilus": "nautilus_checkpoint.hdf5", "nuts": "nuts_checkpoint.pickle"}

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
            raise UsageError(f"{flag}: give one value (used for all {n} images) or one per image ({n}), got {len(values)}")
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
                                latent_config=_latent_config(args))
    print(graph.info)
    search = _make_search(args.search, args)
    search.name = args.name or "multiband"
    search.path_prefix, search.output_path, search.database = args.path_prefix, args.output, args.database
    result = search.fit(model=graph.global_prior_model, analysis=graph)
    print(result)
    for name, band_result, own in zip(names, result, result.factor_log_likelihoods()):
        print(f"--- {name} (this band's terms at the joint best fit; the bands' ln L sum to the joint {result.log_likelihood:.3f})")
        _print_statistics(band_result, args.magnitude_zero_point, band_log_likelihood=own)
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
    for flag, given in (("--crowded", args.crowded), ("--model", args.model != "sersic"),
                        ("--fit-sky (add a FlatSky function or a sky component to the file instead)", args.fit_sky)):
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
        if feedme.psf_sampling != 1 and feedme.psf is not None and args.psf is None and args.psf_oversampled is None:
            # E > 1: D is sampled E times finer than the data -- galaxyfit's oversampled PSF over the whole image
            args.psf_oversampled, args.psf_oversampling = _feedme_file(feedme.psf, args.galfit_feedme), feedme.psf_sampling
            print(f"PSF {feedme.psf} is {feedme.psf_sampling}x finer than the data (E): the model is convolved on that grid")
        for option, value in (("psf", None if args.psf_oversampled else feedme.psf), ("mask", feedme.mask)):
            if getattr(args, option) is None and value is not None:
                setattr(args, option, _feedme_file(value, args.galfit_feedme))
        if args.noise_map is None and args.gain is None and feedme.sigma_image is not None:
            args.noise_map = _feedme_file(feedme.sigma_image, args.galfit_feedme)
        if args.magnitude_zero_point is None and feedme.zero_point is not None:
            # GALFIT's magnitudes are J - 2.5 log10(counts / EXPTIME): the same zero point in data units
            import math

            args.magnitude_zero_point = feedme.zero_point + 2.5 * math.log10(_exposure_time_of(args.image))
            print(f"magnitudes with the feedme's zero point (J) {feedme.zero_point:g} and the image's EXPTIME")
        _require_pixel_scale(args)
        return None, feedme
    _require_pixel_scale(args)
    return None, None


def _feedme_file(name: str, feedme) -> str:
    """A file named in a feedme: from the working directory as GALFIT reads it, else beside the feedme."""
    if Path(name).is_absolute() or Path(name).exists():
        return name
    beside = Path(feedme).parent / name
    return str(beside) if beside.exists() else name


def _latent_config(args):
    """The latent variables of a command-line fit: magnitudes and micro-Jansky fluxes only with a zero point (they
    would be NaN, with a warning, on every fit without one)."""
    from galaxyfit.latent import LatentConfig

    if args.magnitude_zero_point is not None:
        return LatentConfig(magnitude_zero_point=args.magnitude_zero_point)
    return LatentConfig(enabled={"galaxy_magnitude": False, "galaxy_flux_mujy": False})


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

    fine = {}
    if dataset.psf_oversampled is not None:
        if dataset.psf_oversampled_region is not None:
            raise UsageError("--psf-oversampled-region with a feedme image region (H) is not supported: give one of them")
        fine = dict(psf_oversampled=dataset.psf_oversampled, psf_oversampling=dataset.psf_oversampling)
    cropped = Imaging(dataset.data[rows, columns], dataset.noise_map[rows, columns], dataset.psf, dataset.pixel_scales,
                      mask=Mask(dataset.mask.array[rows, columns], dataset.pixel_scales), normalize_psf=False, **fine)
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
        model, initial = feedme.model(full_shape, dataset.pixel_scales, _exposure_time_of(args.image), args.redshift,
                                      psf_sampling_handled=dataset.psf_oversampled is not None)
    elif args.crowded:
        from galaxyfit.model.crowded import crowded_field_model

        field = crowded_field_model(dataset, sky=args.fit_sky, neighbours=args.neighbours, redshift=args.redshift,
                                    threshold=args.detect_threshold)
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
    analysis = gf.AnalysisImaging(dataset, title_prefix=Path(args.image).name, dataset_name=str(Path(args.image).with_suffix("")),
                                  latent_config=_latent_config(args))
    start_point = {"initial": initial} if initial is not None and args.search in ("lm", "nuts") else {}  # (the samplers draw their own)
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

            search.filepath = str(Path(args.output) / CHECKPOINT_FILES["nautilus"])
            Path(args.output).mkdir(parents=True, exist_ok=True)
        except ImportError:
            pass
    if args.search == "nuts" and args.output is not None:
        search.filepath = str(Path(args.output) / CHECKPOINT_FILES["nuts"])
        Path(args.output).mkdir(parents=True, exist_ok=True)
    result = search.fit(model, analysis, **start_point)
    _print_result(result)
    _print_statistics(result, args.magnitude_zero_point)
    folder = result.save(args.output)
    _write_config_files(folder, result, imfit_config, feedme)
    _print_timing(result, start)
    print(f"wrote {folder}: result.json, samples.csv with samples_info.json, model.json, model.info, fit.png")
    return 0
