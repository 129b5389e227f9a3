"""``Imaging``: an image with its noise map, PSF, mask and pixel scales, checked on construction."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from galaxyfit.dataset import fits_io
from galaxyfit.dataset.header import exposure_time_from
from galaxyfit.dataset.mask import Mask
from galaxyfit.dataset.noise import imfit_noise_map, noise_map_from_variance
from galaxyfit.dataset.pixels import pixel_scales_pair
from galaxyfit.errors import DatasetError, NegativePSFWarning

#: A PSF draws a warning when its negative values sum to more than this fraction of its positive ones, or when its
#: most negative value is below -this fraction of its peak. Zero-mean noise in the wings of a large empirical PSF
#: gives ~0.4 N sigma of negative sum over N pixels (51x51 pixels at 1.5e-3 of the peak each: ~6 %, and ~10 % in
#: narrower PSFs), but not 20 %, and its single values stay above -1 % of the peak; a residual image or an
#: over-subtracted background does not.
NEGATIVE_PSF_SUM = 0.2
NEGATIVE_PSF_PEAK = 0.02


#: Normalising divides the PSF by its sum, which must be large against the sum of its absolute values: a PSF whose
#: positive and negative parts cancel (an interferometric dirty beam, a difference of Gaussians, a residual image)
#: would be scaled up without limit (a sum of 5e-15 against 38 made the model 1e17 times too bright).
MIN_PSF_SUM_FRACTION = 1e-6


def negative_psf_problem(psf: np.ndarray, normalize: bool = True, name: str = "psf") -> str | None:
    """A warning's text when ``psf`` (2-D, finite, with a usable sum) has a suspiciously large negative part, else
    None. The text says what is done with it: with ``normalize`` it is divided by its sum and used with its negative
    values; without, used exactly as given.

    Such a PSF is still used: the check only catches the wrong file or an over-subtracted background."""
    positive = psf[psf > 0].sum()
    negative = -psf[psf < 0].sum()
    lowest, peak = float(psf.min()), float(psf.max())
    if peak <= 0:
        return None  # refused (or meaningless) before this check: nothing positive to compare with
    if negative <= NEGATIVE_PSF_SUM * positive and lowest >= -NEGATIVE_PSF_PEAK * peak:
        return None
    done = (f"it will be divided by its sum ({psf.sum():.6g}) and the model blurred with its negative values kept"
            if normalize else "the model will be blurred with it exactly as given (normalize_psf=False), negative values "
            "included")
    return (f"{name}: its {int((psf < 0).sum())} negative values sum to {negative / positive:.1%} of its positive ones and reach "
            f"{lowest / peak:.2%} of its peak; {done}")


def _real_array(value, name: str) -> np.ndarray:
    """``value`` as a float64 array; DatasetError naming ``name`` for complex or non-numeric values (numpy would
    drop an imaginary part with only a warning, or fail with its own message)."""
    array = np.asarray(value)
    if array.dtype.kind == "c":
        raise DatasetError(f"{name} is complex ({array.dtype}); galaxyfit fits real images: pass its real part "
                           "(or modulus) explicitly")
    try:
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        raise DatasetError(f"{name} must hold numbers, got an array of dtype {array.dtype}") from None


def _first_bad(bad: np.ndarray) -> str:
    i, j = np.argwhere(bad)[0]
    return f"first at row {i}, column {j}"


def _checked_region(region, shape) -> tuple[int, int, int, int]:
    """``psf_oversampled_region`` as (y0, y1, x0, x1) ints, 0-based half-open, inside an image of ``shape``; raises
    DatasetError naming the argument otherwise."""
    try:
        values = tuple(region)
    except TypeError:
        values = None
    if values is None or len(values) != 4 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values):
        raise DatasetError(f"psf_oversampled_region must be four integers (y0, y1, x0, x1), 0-based and half-open like "
                           f"data[y0:y1, x0:x1], got {region!r}")
    y0, y1, x0, x1 = (int(v) for v in values)
    ny, nx = shape
    if not (0 <= y0 < y1 <= ny and 0 <= x0 < x1 <= nx):
        raise DatasetError(f"psf_oversampled_region (y0, y1, x0, x1) = {(y0, y1, x0, x1)} must satisfy 0 <= y0 < y1 <= "
                           f"{ny} and 0 <= x0 < x1 <= {nx} (a non-empty part of the {ny} x {nx} image, half-open ranges)")
    return y0, y1, x0, x1


def psf_oversampled_region_from_imfit(text: str) -> tuple[int, int, int, int]:
    """Imfit's ``--psf-oversample-region`` syntax ``x1:x2,y1:y2`` (1-based, inclusive pixel ranges; Imfit manual,
    "PSF oversampling") as galaxyfit's ``psf_oversampled_region`` (y0, y1, x0, x1), 0-based half-open:
    ``(y1 - 1, y2, x1 - 1, x2)``. Raises DatasetError quoting ``text`` if it is not four integers in that form or a
    range is empty or starts below 1 (whether it fits the image is checked by ``Imaging``)."""
    try:
        xs, ys = str(text).replace(" ", "").split(",")
        x1, x2 = (int(v) for v in xs.split(":"))
        y1, y2 = (int(v) for v in ys.split(":"))
    except ValueError:
        raise DatasetError(f"oversampled PSF region {text!r}: expected Imfit's x1:x2,y1:y2 (1-based, inclusive pixel "
                           "ranges), e.g. 100:150,200:260") from None
    if not (1 <= x1 <= x2 and 1 <= y1 <= y2):
        raise DatasetError(f"oversampled PSF region {text!r}: needs 1 <= x1 <= x2 and 1 <= y1 <= y2 (1-based, inclusive)")
    return y1 - 1, y2, x1 - 1, x2


def _read_only(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


class Imaging:
    """An imaging dataset.

    Parameters
    ----------
    data : (N_y, N_x) array
        The (sky-subtracted) image, in FITS row order (row 0 = bottom); units of the model (e.g. e-/s or ADU per pixel).
    noise_map : (N_y, N_x) array
        1-sigma noise per pixel, same units.
    psf : (k_y, k_x) array or None
        PSF image on the data's pixel grid, odd in both dimensions, centred on its central pixel. None: no
        convolution. Divided by its sum unless ``normalize_psf=False``.
    normalize_psf : bool
        Normalise the PSF to unit sum. Refused (DatasetError) when the sum is negative or below ``1e-6`` of the sum
        of the PSF's absolute values; ``normalize_psf=False`` uses the PSF as given, including one whose sum is ~0
        of either sign (an interferometric dirty beam).
    pixel_scales : float or (float, float)
        Arcsec per pixel (y, x).
    mask : Mask, (N_y, N_x) bool array or None
        True = excluded. None: every pixel is used.
    mask_nan_data : bool
        Mask pixels whose data or noise is not finite (with a warning that counts them) instead of raising.
    psf_oversampled : (K_y, K_x) array or None
        The PSF sampled ``psf_oversampling`` times finer than the data on each axis (WebbPSF's / TinyTim's
        oversampled PSFs, Imfit's ``--psf-oversampled``), odd in both dimensions and centred on its central pixel;
        checked and normalised like ``psf``. Where it applies, the model is integrated over sub-pixels
        ``psf_oversampling`` times smaller, convolved with it, and averaged back to data pixels
        (``galaxyfit.fit.psf_oversampled``). PyAutoArray 2026.10.26.1's ``convolve_over_sample_size_lp`` is the
        whole-image case.
    psf_oversampling : int or None
        The integer factor N >= 1 (required with ``psf_oversampled``).
    psf_oversampled_region : (y0, y1, x0, x1) or None
        0-based, half-open pixel ranges (Python's ``data[y0:y1, x0:x1]``) where the oversampled PSF is used; the
        normal ``psf`` blurs the rest. None: the whole image. Imfit's 1-based inclusive ``x1:x2,y1:y2`` is
        ``(y1 - 1, y2, x1 - 1, x2)``.

    Raises
    ------
    DatasetError
        Shapes that disagree; NaN data or NaN / non-positive noise in used pixels; a PSF that is even-sized, not
        finite or all zero, or that cannot be normalised (above); a mask that leaves no pixels; an oversampled PSF
        without an integer factor >= 1 (or a factor or region without the PSF), a region outside the image or empty.
    """

    def __init__(
        self,
        data,
        noise_map,
        psf=None,
        pixel_scales=1.0,
        mask=None,
        normalize_psf: bool = True,
        mask_nan_data: bool = False,
        psf_oversampled=None,
        psf_oversampling: int | None = None,
        psf_oversampled_region=None,
    ):
        data = _real_array(data, "data")
        noise_map = _real_array(noise_map, "noise_map")
        if data.ndim != 2:
            raise DatasetError(f"data must be a 2-D image, got shape {data.shape}")
        if noise_map.shape != data.shape:
            raise DatasetError(f"noise_map shape {noise_map.shape} differs from data shape {data.shape}")
        self.pixel_scales = pixel_scales_pair(pixel_scales)
        psf, self.psf_sum = self._checked_psf(psf, normalize_psf)
        self.psf = _read_only(psf)
        self.psf_normalized = bool(normalize_psf)

        if isinstance(mask, Mask) and not np.allclose(mask.pixel_scales, self.pixel_scales, rtol=1e-9, atol=0):
            raise DatasetError(f"mask pixel scales {mask.pixel_scales} differ from the dataset's {self.pixel_scales}")
        if mask is None:
            mask_array = np.zeros(data.shape, dtype=bool)
        else:
            mask_array = np.asarray(mask.array if isinstance(mask, Mask) else mask, dtype=bool)
            if mask_array.shape != data.shape:
                raise DatasetError(f"mask shape {mask_array.shape} differs from data shape {data.shape}")

        not_finite = ~np.isfinite(data) | ~np.isfinite(noise_map)
        if mask_nan_data:
            new = not_finite & ~mask_array
            if new.any():
                warnings.warn(f"masked {int(new.sum())} pixels whose data or noise is not finite", stacklevel=2)
            mask_array = mask_array | not_finite
        used = ~mask_array
        bad_data = ~np.isfinite(data) & used
        if bad_data.any():
            raise DatasetError(
                f"data has {int(bad_data.sum())} non-finite values in unmasked pixels ({_first_bad(bad_data)}); "
                "mask them or pass mask_nan_data=True (--mask-nan-data on the command line)"
            )
        bad_noise = ~((noise_map > 0) & (noise_map < np.inf)) & used  # NaN and inf fail too
        if bad_noise.any():
            i, j = np.argwhere(bad_noise)[0]
            raise DatasetError(
                f"noise_map has {int(bad_noise.sum())} non-positive or non-finite values in unmasked pixels "
                f"({_first_bad(bad_noise)}: {float(noise_map[i, j])})"
            )
        if not used.any():
            raise DatasetError("the mask leaves no pixels to fit")

        self.data = _read_only(data)
        self.noise_map = _read_only(noise_map)
        self.mask = Mask(mask_array, self.pixel_scales)
        #: How the noise map was made (``from_fits`` fills in the model, its values and files) and the PSF's file.
        self.noise_model: dict = {"kind": "sigma map"}
        self.psf_file: str | None = None
        self._set_oversampled_psf(psf_oversampled, psf_oversampling, psf_oversampled_region, normalize_psf)

    def _set_oversampled_psf(self, psf, factor, region, normalize: bool) -> None:
        """Check and store ``psf_oversampled``, ``psf_oversampling`` and ``psf_oversampled_region`` (class docstring)."""
        self.psf_oversampled_file: str | None = None
        if psf is None:
            if factor is not None or region is not None:
                given = "psf_oversampling" if factor is not None else "psf_oversampled_region"
                raise DatasetError(f"{given} was given without psf_oversampled, the oversampled PSF it describes")
            self.psf_oversampled, self.psf_oversampling, self.psf_oversampled_region = None, 1, None
            self.psf_oversampled_sum = None
            return
        if factor is None:
            raise DatasetError("psf_oversampled needs psf_oversampling, the integer factor by which it is finer than the data")
        if isinstance(factor, (bool, np.bool_)) or not isinstance(factor, (int, np.integer, float, np.floating)) \
                or not float(factor).is_integer() or int(factor) < 1:
            raise DatasetError(f"psf_oversampling must be an integer >= 1, got {factor!r}")
        array = _real_array(psf, "psf_oversampled")
        checked, total = self._checked_psf(array, normalize, "psf_oversampled")
        self.psf_oversampled = _read_only(checked)
        self.psf_oversampled_sum = total
        self.psf_oversampling = int(factor)
        self.psf_oversampled_region = None if region is None else _checked_region(region, self.shape)

    @property
    def has_psf_oversampled(self) -> bool:
        return self.psf_oversampled is not None

    @staticmethod
    def _checked_psf(psf, normalize: bool, name: str = "psf") -> tuple[np.ndarray, float]:
        """(the PSF to blur with, the sum of the PSF as given); ``name`` is the argument the messages name."""
        if psf is None:
            return np.ones((1, 1)), 1.0
        psf = _real_array(psf, name)
        if psf.ndim != 2:
            raise DatasetError(f"{name} must be a 2-D image, got shape {psf.shape}")
        if psf.shape[0] % 2 == 0 or psf.shape[1] % 2 == 0:
            raise DatasetError(
                f"{name} shape {psf.shape} must be odd in both dimensions (its centre is the central pixel); "
                "crop or resample it to an odd size"
            )
        if not np.isfinite(psf).all():
            raise DatasetError(f"{name} has {int((~np.isfinite(psf)).sum())} non-finite values")
        if not np.any(psf):
            raise DatasetError(f"{name} is all zero, so it cannot blur anything")
        with np.errstate(over="ignore"):  # an overflowing sum is reported below
            total, absolute = float(psf.sum()), float(np.abs(psf).sum())
        if not (np.isfinite(total) and np.isfinite(absolute)):
            raise DatasetError(f"{name} values (largest |value| {float(np.abs(psf).max()):.3g}) are so large that their sum "
                               "overflows float64; rescale the PSF")
        tiny = abs(total) < MIN_PSF_SUM_FRACTION * absolute
        if tiny and normalize:
            what = "sums to exactly 0" if total == 0 else (f"sums to {total:.6g}, only {abs(total) / absolute:.2g} of the sum "
                                                            f"of its absolute values ({absolute:.6g})")
            raise DatasetError(f"{name} {what}: its positive and negative parts cancel, so normalising it (dividing by the "
                               f"sum) would scale it up without limit; normalising needs a sum of at least "
                               f"{MIN_PSF_SUM_FRACTION:g} of the absolute values' sum. To blur with the PSF exactly as given "
                               "(e.g. an interferometric dirty beam), pass normalize_psf=False (--no-normalize-psf on the "
                               "command line)")
        if total < 0 and not tiny:
            raise DatasetError(f"{name} sums to {total:.6g} < 0: blurring with it would turn light negative (is it a residual "
                               "or background-subtracted image rather than a PSF?)")
        problem = negative_psf_problem(psf, normalize, name)
        if problem is not None:
            warnings.warn(problem, NegativePSFWarning, stacklevel=3)
        return (psf / total if normalize else psf), total

    # ---- construction ------------------------------------------------------------------------------------------

    @classmethod
    def from_fits(
        cls,
        data_path,
        pixel_scales,
        noise_map_path=None,
        psf_path=None,
        mask_path=None,
        data_hdu=None,
        noise_map_hdu=None,
        psf_hdu=None,
        mask_hdu=None,
        noise_map_is_variance: bool = False,
        gain: float | None = None,
        read_noise: float = 0.0,
        original_sky: float = 0.0,
        exposure_time: float | str | None = None,
        n_combined: int = 1,
        normalize_psf: bool = True,
        mask_nan_data: bool = False,
        psf_oversampled_path=None,
        psf_oversampled_hdu=None,
        psf_oversampling: int | None = None,
        psf_oversampled_region=None,
    ) -> "Imaging":
        """Load a dataset from FITS files (arrays are used in FITS row order; nothing is flipped).

        Noise comes from ``noise_map_path`` (a sigma map, or a variance map with ``noise_map_is_variance=True``) or,
        when no map is given, from Imfit's data-based model with ``gain`` (e-/ADU), ``read_noise`` (e-),
        ``original_sky`` (the subtracted sky, data units), ``exposure_time`` and ``n_combined`` (see
        :func:`galaxyfit.dataset.noise.imfit_noise_map`). ``exposure_time``: seconds, for count-rate images; None
        (default): the data header's EXPTIME when its BUNIT names a rate (``ELECTRONS/S``, ``counts/s``), else 1 s
        (data in counts), with a warning for a rate image without EXPTIME; ``"header"``: the header's EXPTIME
        whatever BUNIT says (``galaxyfit.dataset.header``). What was used is in ``noise_model``.
        ``mask_path``: non-zero = masked.
        ``psf_oversampled_path``, ``psf_oversampling``, ``psf_oversampled_region``: an oversampled PSF (the class
        docstring's ``psf_oversampled``, ``psf_oversampling``, ``psf_oversampled_region``).
        ``*_hdu``: the HDU (index or name) of each file; None (default): the first HDU holding data.
        Raises DatasetError naming the file for unreadable inputs, and if neither a noise map nor a gain is given.
        """
        if noise_map_is_variance and noise_map_path is None:
            raise DatasetError("noise_map_is_variance=True needs noise_map_path, the variance map it describes")
        data, header = fits_io.read_array_and_header(data_path, data_hdu, "data")
        if noise_map_path is not None:
            if gain is not None:
                raise DatasetError("give either noise_map_path or gain (Imfit's data-based noise), not both")
            noise = fits_io.read_array(noise_map_path, noise_map_hdu, "noise map")
            noise_map = noise_map_from_variance(noise) if noise_map_is_variance else noise
            noise_model = {"kind": "variance map" if noise_map_is_variance else "sigma map", "file": str(noise_map_path)}
        elif gain is not None:
            exposure = exposure_time_from(header, exposure_time, data_path)
            noise_map = imfit_noise_map(data, gain, read_noise, original_sky, exposure.seconds, n_combined)
            noise_model = {"kind": "imfit", "gain": float(gain), "read_noise": float(read_noise),
                           "original_sky": float(original_sky), "exposure_time": exposure.seconds,
                           "exposure_time_source": exposure.description, "n_combined": int(n_combined)}
        else:
            raise DatasetError("no noise: give noise_map_path (sigma or variance map) or gain (data-based noise)")
        psf = None if psf_path is None else fits_io.read_array(psf_path, psf_hdu, "psf")
        psf_fine = None if psf_oversampled_path is None else fits_io.read_array(psf_oversampled_path, psf_oversampled_hdu,
                                                                                 "oversampled psf")
        mask = None if mask_path is None else Mask.from_fits(mask_path, pixel_scales, mask_hdu)
        if mask is not None and mask.shape != data.shape:
            raise DatasetError(f"mask file {mask_path} has shape {mask.shape}, data file {data_path} {data.shape}")
        if noise_map_is_variance and noise.shape == data.shape:  # say what the file holds, not the NaN of its sqrt
            negative = (noise < 0) & (True if mask is None else ~np.asarray(mask))
            if negative.any():
                i, j = np.argwhere(negative)[0]
                raise DatasetError(f"variance map file {noise_map_path} has {int(negative.sum())} negative values in "
                                   f"unmasked pixels ({_first_bad(negative)}: {float(noise[i, j])})")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                imaging = cls(data, noise_map, psf, pixel_scales, mask, normalize_psf=normalize_psf, mask_nan_data=mask_nan_data,
                              psf_oversampled=psf_fine, psf_oversampling=psf_oversampling,
                              psf_oversampled_region=psf_oversampled_region)
            for w in caught:  # again, from the caller's line, the PSF's naming its file
                text = str(w.message)
                if issubclass(w.category, NegativePSFWarning):
                    fine = text.startswith("psf_oversampled")
                    text = f"{text} [{'oversampled psf' if fine else 'psf'} file {psf_oversampled_path if fine else psf_path}]"
                warnings.warn(text, w.category, stacklevel=2)
            bunit = header.get("BUNIT")
            imaging.noise_model = {**noise_model, "data_file": str(data_path),
                                   "data_unit": None if bunit is None else str(bunit).strip()}
            imaging.psf_file = None if psf_path is None else str(psf_path)
            imaging.psf_oversampled_file = None if psf_oversampled_path is None else str(psf_oversampled_path)
            return imaging
        except DatasetError as exc:
            # Name the file the complaint is about: the checks speak of arrays, the user handed over files.
            # psf_oversampled before psf: its messages start with "psf" too
            files = {"data": data_path, "noise_map": noise_map_path, "psf_oversampled": psf_oversampled_path,
                     "psf": psf_path, "mask": mask_path}
            message = str(exc)
            if message.startswith(("psf_oversampling", "psf_oversampled_region", "psf_oversampled needs")):
                raise  # about an argument, not a file
            culprit = next((name for name in files if message.startswith(name) and files[name] is not None), None)
            where = f"{culprit.replace('_', ' ')} file {files[culprit]}" if culprit else \
                ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in files.items() if v is not None)
            if gain is not None and culprit is None and message.startswith("noise_map"):
                message += ("; Imfit's data-based noise needs data + original_sky > 0 where the read noise is 0: if the "
                            "sky was subtracted from the image, give its level as original_sky (--original-sky)")
            raise DatasetError(f"{message} [{where}]") from None

    def apply_mask(self, mask) -> "Imaging":
        """A copy with ``mask`` (Mask or bool array; True = excluded) replacing the current one. Combine masks
        explicitly with ``imaging.mask | other``."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NegativePSFWarning)  # said once, when this dataset was made
            masked = Imaging(self.data, self.noise_map, self.psf, self.pixel_scales, mask, normalize_psf=False,
                             psf_oversampled=self.psf_oversampled,
                             psf_oversampling=self.psf_oversampling if self.has_psf_oversampled else None,
                             psf_oversampled_region=self.psf_oversampled_region)
        masked.psf_normalized, masked.psf_sum = self.psf_normalized, self.psf_sum
        masked.noise_model, masked.psf_file = dict(self.noise_model), self.psf_file
        masked.psf_oversampled_sum, masked.psf_oversampled_file = self.psf_oversampled_sum, self.psf_oversampled_file
        return masked

    def to_fits(self, folder, overwrite: bool = False) -> dict[str, Path]:
        """Write ``data.fits``, ``noise_map.fits`` (sigma), ``psf.fits`` and ``mask.fits`` (1 = masked) into
        ``folder`` (each atomically), with the pixel scale (arcsec) in the header keyword PIXSCALE; returns the
        paths. Raises DatasetError if a file exists and ``overwrite`` is False."""
        from astropy.io import fits

        folder = Path(folder)
        arrays = {"data": self.data, "noise_map": self.noise_map, "psf": self.psf, "mask": self.mask.array.astype(np.uint8)}
        paths = {name: folder / f"{name}.fits" for name in arrays}
        if not overwrite:
            existing = [str(p) for p in paths.values() if p.exists()]
            if existing:
                raise DatasetError(f"{', '.join(existing)} exist; pass overwrite=True (--overwrite on the command line) to replace them")
        for name, array in arrays.items():
            header = fits.Header()
            header["PIXSCALE"] = (float(self.pixel_scales[1]), "arcsec per pixel (x)")
            fits_io.write_fits_atomic(paths[name], [fits.PrimaryHDU(np.asarray(array), header=header)])
        return paths

    # ---- views ---------------------------------------------------------------------------------------------------

    def description(self) -> dict:
        """What a result file records about this dataset: shape, pixel scales (arcsec), unmasked pixels, the noise
        model (``noise_model``), the PSF (shape, file, whether it was normalised and its sum as given) and, when
        there is one, the oversampled PSF (the same, plus its factor and region)."""
        out = {"shape": list(self.shape), "pixel_scales": list(self.pixel_scales), "pixels_in_mask": self.pixels_in_mask,
               "noise_model": dict(self.noise_model),
               "psf": {"shape": list(self.psf.shape), "file": self.psf_file, "normalized": self.psf_normalized,
                       "sum_as_given": self.psf_sum}}
        if self.has_psf_oversampled:
            out["psf_oversampled"] = {
                "shape": list(self.psf_oversampled.shape), "file": self.psf_oversampled_file,
                "normalized": self.psf_normalized, "sum_as_given": self.psf_oversampled_sum,
                "oversampling": self.psf_oversampling,
                "region": None if self.psf_oversampled_region is None else list(self.psf_oversampled_region)}
        return out

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape

    @property
    def pixels_in_mask(self) -> int:
        return self.mask.pixels_in_mask

    @property
    def signal_to_noise_map(self) -> np.ndarray:
        return np.maximum(self.data / self.noise_map, 0.0)

    def __repr__(self) -> str:
        return (
            f"Imaging(shape={self.shape}, pixel_scales={self.pixel_scales}, psf_shape={self.psf.shape}, "
            f"pixels_in_mask={self.pixels_in_mask})"
        )
