"""``Imaging``: an image with its noise map, PSF, mask and pixel scales, checked on construction."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from galaxyfit.dataset import fits_io
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


def negative_psf_problem(psf: np.ndarray) -> str | None:
    """A warning's text when ``psf`` (2-D, finite, positive sum) has a suspiciously large negative part, else None.

    Such a PSF is still used as given: the check only catches the wrong file or an over-subtracted background."""
    positive = psf[psf > 0].sum()
    negative = -psf[psf < 0].sum()
    lowest, peak = float(psf.min()), float(psf.max())
    if negative <= NEGATIVE_PSF_SUM * positive and lowest >= -NEGATIVE_PSF_PEAK * peak:
        return None
    return (f"psf: its {int((psf < 0).sum())} negative values sum to {negative / positive:.1%} of its positive ones and reach "
            f"{lowest / peak:.2%} of its peak; the model will be blurred with them as given")


def _first_bad(bad: np.ndarray) -> str:
    i, j = np.argwhere(bad)[0]
    return f"first at row {i}, column {j}"


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
        convolution. Normalised to unit sum unless ``normalize_psf=False``.
    pixel_scales : float or (float, float)
        Arcsec per pixel (y, x).
    mask : Mask, (N_y, N_x) bool array or None
        True = excluded. None: every pixel is used.
    mask_nan_data : bool
        Mask pixels whose data or noise is not finite (with a warning that counts them) instead of raising.

    Raises
    ------
    DatasetError
        Shapes that disagree; NaN data or NaN / non-positive noise in used pixels; a PSF that is even-sized, not
        finite or sums to zero; a mask that leaves no pixels.
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
    ):
        data = np.asarray(data, dtype=np.float64)
        noise_map = np.asarray(noise_map, dtype=np.float64)
        if data.ndim != 2:
            raise DatasetError(f"data must be a 2-D image, got shape {data.shape}")
        if noise_map.shape != data.shape:
            raise DatasetError(f"noise_map shape {noise_map.shape} differs from data shape {data.shape}")
        self.pixel_scales = pixel_scales_pair(pixel_scales)
        self.psf = _read_only(self._checked_psf(psf, normalize_psf))
        self.psf_normalized = bool(normalize_psf)

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

    @staticmethod
    def _checked_psf(psf, normalize: bool) -> np.ndarray:
        if psf is None:
            return np.ones((1, 1))
        psf = np.asarray(psf, dtype=np.float64)
        if psf.ndim != 2:
            raise DatasetError(f"psf must be a 2-D image, got shape {psf.shape}")
        if psf.shape[0] % 2 == 0 or psf.shape[1] % 2 == 0:
            raise DatasetError(
                f"psf shape {psf.shape} must be odd in both dimensions (its centre is the central pixel); "
                "crop or resample it to an odd size"
            )
        if not np.isfinite(psf).all():
            raise DatasetError(f"psf has {int((~np.isfinite(psf)).sum())} non-finite values")
        total = psf.sum()
        if total == 0 or not np.any(psf):
            raise DatasetError("psf is all zero (its sum is 0), so it cannot blur or be normalized")
        if total < 0:
            raise DatasetError(f"psf sums to {total:.6g} < 0: blurring with it would turn light negative (is it a residual "
                               "or background-subtracted image rather than a PSF?)")
        problem = negative_psf_problem(psf)
        if problem is not None:
            warnings.warn(problem, NegativePSFWarning, stacklevel=3)
        return psf / total if normalize else psf

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
        exposure_time: float = 1.0,
        n_combined: int = 1,
        normalize_psf: bool = True,
        mask_nan_data: bool = False,
    ) -> "Imaging":
        """Load a dataset from FITS files (arrays are used in FITS row order; nothing is flipped).

        Noise comes from ``noise_map_path`` (a sigma map, or a variance map with ``noise_map_is_variance=True``) or,
        when no map is given, from Imfit's data-based model with ``gain`` (e-/ADU), ``read_noise`` (e-),
        ``original_sky`` (the subtracted sky, data units), ``exposure_time`` (s, for count-rate images) and
        ``n_combined`` (see :func:`galaxyfit.dataset.noise.imfit_noise_map`). ``mask_path``: non-zero = masked.
        ``*_hdu``: the HDU (index or name) of each file; None (default): the first HDU holding data.
        Raises DatasetError naming the file for unreadable inputs, and if neither a noise map nor a gain is given.
        """
        if noise_map_is_variance and noise_map_path is None:
            raise DatasetError("noise_map_is_variance=True needs noise_map_path, the variance map it describes")
        data = fits_io.read_array(data_path, data_hdu, "data")
        if noise_map_path is not None:
            if gain is not None:
                raise DatasetError("give either noise_map_path or gain (Imfit's data-based noise), not both")
            noise = fits_io.read_array(noise_map_path, noise_map_hdu, "noise map")
            noise_map = noise_map_from_variance(noise) if noise_map_is_variance else noise
        elif gain is not None:
            noise_map = imfit_noise_map(data, gain, read_noise, original_sky, exposure_time, n_combined)
        else:
            raise DatasetError("no noise: give noise_map_path (sigma or variance map) or gain (data-based noise)")
        psf = None if psf_path is None else fits_io.read_array(psf_path, psf_hdu, "psf")
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
                imaging = cls(data, noise_map, psf, pixel_scales, mask, normalize_psf=normalize_psf, mask_nan_data=mask_nan_data)
            for w in caught:  # again, from the caller's line, the PSF's naming its file
                text = f"{w.message} [psf file {psf_path}]" if issubclass(w.category, NegativePSFWarning) else str(w.message)
                warnings.warn(text, w.category, stacklevel=2)
            return imaging
        except DatasetError as exc:
            # Name the file the complaint is about: the checks speak of arrays, the user handed over files.
            files = {"data": data_path, "noise_map": noise_map_path, "psf": psf_path, "mask": mask_path}
            message = str(exc)
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
            masked = Imaging(self.data, self.noise_map, self.psf, self.pixel_scales, mask, normalize_psf=False)
        masked.psf_normalized = self.psf_normalized
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
