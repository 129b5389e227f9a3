"""What a FITS header says about the noise: the data's unit (BUNIT) and the exposure time (EXPTIME).

Imfit's data-based noise needs the exposure time only for count-rate images (``sigma^2`` is computed in counts:
``dataset/noise.py``). Headers are not reliable about it: the SDSS cutouts in ``../shared/data`` carry
``EXPTIME = '53.907456'`` (a string) on data in DN, whose Imfit reference fits use 1 s, and a drizzled HST image in
``ELECTRONS/S`` needs its EXPTIME. So the header's EXPTIME is used only when BUNIT names a rate, or when asked for;
an explicit exposure time always wins; and whatever was used is said (``ExposureTime.description``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from galaxyfit.errors import DatasetError

#: A BUNIT naming a rate: "ELECTRONS/S", "counts/s", "DN/sec", "e-/s", "electron s-1", "e s^-1", "counts per second",
#: "CPS". Surface-brightness units ("MJy/sr", "nanomaggy") are not rates in time.
_RATE = re.compile(r"(/\s*s(ec(ond)?s?)?\b|\bs(ec)?\s*\^?\s*\(?-1\)?|\bper\s+s(ec(ond)?)?\b|\bcps\b)", re.IGNORECASE)


def unit_is_rate(bunit) -> bool:
    """True when a BUNIT string names a count rate per unit time (see ``_RATE``)."""
    return isinstance(bunit, str) and bool(_RATE.search(bunit.strip()))


def header_number(header, key: str) -> float | None:
    """``header[key]`` as a float: numbers, and numeric strings (``'53.907456'``, ``' 1.0E3 '``); None when absent
    or blank. Raises DatasetError for a value that is not a number."""
    if header is None or key not in header:
        return None
    value = header[key]
    if isinstance(value, bool):
        raise DatasetError(f"header keyword {key} = {value!r} is not a number")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        return float(text.replace("D", "E").replace("d", "e"))  # FORTRAN-style exponents occur in old headers
    except ValueError:
        raise DatasetError(f"header keyword {key} = {value!r} is not a number") from None


class RateImageWarning(UserWarning):
    """A count-rate image (its BUNIT is per second) given Imfit's data-based noise without an exposure time."""


@dataclass(frozen=True)
class ExposureTime:
    """The exposure time (s) used for Imfit's noise model and where it came from.

    ``source``: "given" (an explicit number), "header" (EXPTIME, because BUNIT names a rate or it was asked for), or
    "default" (1 s: the data are counts, or a rate image without an exposure time, which warns)."""

    seconds: float
    source: str
    bunit: str | None = None
    header_exptime: float | None = None

    @property
    def description(self) -> str:
        unit = f"BUNIT {self.bunit!r}" if self.bunit is not None else "no BUNIT"
        if self.source == "given":
            return f"{self.seconds:g} s (given)"
        if self.source == "header":
            return f"{self.seconds:g} s (the header's EXPTIME; {unit})"
        ignored = f"; the header's EXPTIME = {self.header_exptime:g} is not used" if self.header_exptime is not None else ""
        return f"{self.seconds:g} s (default: data taken as counts, {unit}{ignored})"


def exposure_time_from(header, exposure_time, path="the data") -> ExposureTime:
    """The exposure time for Imfit's noise model of an image with FITS ``header``.

    ``exposure_time``: a positive number (used, whatever the header says); ``"header"`` (the header's EXPTIME, which
    must then exist); None (EXPTIME when BUNIT names a rate, else 1 s; a rate image without EXPTIME warns with
    :class:`RateImageWarning` and uses 1 s). Raises DatasetError naming ``path`` for a missing or non-numeric EXPTIME
    that is needed, and for a non-positive one.
    """
    bunit = None if header is None else header.get("BUNIT")
    bunit = None if bunit is None else str(bunit).strip()
    try:
        exptime = header_number(header, "EXPTIME")
    except DatasetError as exc:
        if exposure_time is not None and exposure_time != "header":
            exptime = None  # not needed: an explicit value wins
        else:
            raise DatasetError(f"{exc} (data file {path}); give the exposure time explicitly") from None
    if isinstance(exposure_time, str):
        if exposure_time.strip().lower() != "header":
            raise DatasetError(f"exposure_time must be a positive number of seconds or 'header', got {exposure_time!r}")
        if exptime is None:
            raise DatasetError(f"exposure_time='header', but data file {path} has no EXPTIME keyword")
        return _checked(ExposureTime(exptime, "header", bunit, exptime), path)
    if exposure_time is not None:
        return _checked(ExposureTime(float(exposure_time), "given", bunit, exptime), path)
    if unit_is_rate(bunit):
        if exptime is not None:
            return _checked(ExposureTime(exptime, "header", bunit, exptime), path)
        warnings.warn(f"data file {path} has BUNIT {bunit!r}, a count rate, but no EXPTIME: Imfit's noise model needs "
                      "the exposure time to turn rates into counts; 1 s is assumed, which makes the noise "
                      "sqrt(exposure time) times too large. Give the exposure time (exposure_time=..., "
                      "--exposure-time)", RateImageWarning, stacklevel=3)
    return ExposureTime(1.0, "default", bunit, exptime)


def _checked(exposure: ExposureTime, path) -> ExposureTime:
    if not (exposure.seconds > 0 and exposure.seconds < float("inf")):
        where = f"the EXPTIME of data file {path}" if exposure.source == "header" else "exposure_time"
        raise DatasetError(f"{where} must be a positive number of seconds, got {exposure.seconds!r}")
    return exposure
