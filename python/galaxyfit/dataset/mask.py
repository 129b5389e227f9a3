"""Masks: which pixels a fit uses. ``True`` (or non-zero in a FITS mask) means *masked*, i.e. excluded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from galaxyfit.dataset import fits_io
from galaxyfit.dataset.pixels import pixel_centres, pixel_scales_pair
from galaxyfit.errors import DatasetError


def _check_centre(centre) -> None:
    if np.shape(centre) != (2,) or not np.all(np.isfinite(np.asarray(centre, dtype=np.float64))):
        raise DatasetError(f"centre must be a finite (y, x) pair in arcsec, got {centre!r}")


@dataclass(frozen=True, eq=False)
class Mask:
    """A boolean array, shape (N_y, N_x), True where a pixel is excluded, with its pixel scales (arcsec)."""

    array: np.ndarray
    pixel_scales: tuple[float, float]

    def __post_init__(self):
        array = np.asarray(self.array)
        if array.ndim != 2:
            raise DatasetError(f"mask must be 2-dimensional, got shape {array.shape}")
        object.__setattr__(self, "array", np.ascontiguousarray(array, dtype=bool))
        object.__setattr__(self, "pixel_scales", pixel_scales_pair(self.pixel_scales))

    @property
    def shape(self) -> tuple[int, int]:
        return self.array.shape

    @property
    def pixels_in_mask(self) -> int:
        """Number of pixels the fit uses (unmasked)."""
        return int((~self.array).sum())

    @classmethod
    def all_false(cls, shape, pixel_scales) -> "Mask":
        """Nothing masked: every pixel is used."""
        return cls(np.zeros(shape, dtype=bool), pixel_scales)

    @classmethod
    def circular(cls, shape, pixel_scales, radius: float, centre=(0.0, 0.0)) -> "Mask":
        """Keep the pixels whose centres lie within ``radius`` arcsec of ``centre`` (y, x) arcsec (r <= radius)."""
        if not (radius > 0 and np.isfinite(radius)):
            raise DatasetError(f"radius must be finite and positive (arcsec), got {radius!r}")
        _check_centre(centre)
        y, x = pixel_centres(shape, pixel_scales)
        r2 = (y[:, None] - centre[0]) ** 2 + (x[None, :] - centre[1]) ** 2
        # A hair of tolerance so pixel centres exactly on the circle count as inside despite rounding.
        return cls(r2 > radius * radius * (1.0 + 1e-12), pixel_scales)

    @classmethod
    def annular(cls, shape, pixel_scales, inner_radius: float, outer_radius: float, centre=(0.0, 0.0)) -> "Mask":
        """Keep the pixels with inner_radius <= r <= outer_radius (arcsec); DatasetError unless
        0 <= inner_radius < outer_radius, both finite."""
        if not (np.isfinite(inner_radius) and np.isfinite(outer_radius) and 0 <= inner_radius < outer_radius):
            raise DatasetError(f"radii must be finite with 0 <= inner_radius < outer_radius (arcsec), got {inner_radius!r}, "
                               f"{outer_radius!r}")
        _check_centre(centre)
        y, x = pixel_centres(shape, pixel_scales)
        r2 = (y[:, None] - centre[0]) ** 2 + (x[None, :] - centre[1]) ** 2
        return cls((r2 > outer_radius**2 * (1 + 1e-12)) | (r2 < inner_radius**2 * (1 - 1e-12)), pixel_scales)

    @classmethod
    def from_fits(cls, path, pixel_scales, hdu: int | str | None = None, masked_value: str = "nonzero") -> "Mask":
        """A mask image: by default non-zero (and non-finite) pixels are masked, zero pixels used (Imfit's
        convention). ``masked_value="zero"`` inverts it (zero = masked)."""
        array = fits_io.read_array(Path(path), hdu, "mask")
        if masked_value == "nonzero":
            masked = ~np.isfinite(array) | (array != 0)
        elif masked_value == "zero":
            masked = ~np.isfinite(array) | (array == 0)
        else:
            raise DatasetError(f"masked_value must be 'nonzero' or 'zero', got {masked_value!r}")
        return cls(masked, pixel_scales)

    def __or__(self, other: "Mask") -> "Mask":
        """Union of masked pixels."""
        if self.shape != other.shape:
            raise DatasetError(f"cannot combine masks of shapes {self.shape} and {other.shape}")
        return Mask(self.array | other.array, self.pixel_scales)

    def __invert__(self) -> np.ndarray:
        return ~self.array
