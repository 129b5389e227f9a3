"""Reading and writing FITS images (astropy). Arrays come back as native-endian float64 in FITS row order (row 0 =
the first stored row = the bottom of the image); nothing is flipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from galaxyfit.errors import DatasetError
from galaxyfit.output import atomic_destination


def read_array(path, hdu: int | str | None = None, what: str = "image") -> np.ndarray:
    """The 2-D array of ``read_array_and_header``."""
    return read_array_and_header(path, hdu, what)[0]


def read_array_and_header(path, hdu: int | str | None = None, what: str = "image"):
    """(array, astropy Header of its HDU): the 2-D array in ``hdu`` of the FITS file ``path`` as native float64;
    ``hdu=None``: the first HDU holding data (the primary one, or the first extension when the primary is empty, as
    pipelines often write images, and as astropy's ``fits.getdata`` reads them). Raises DatasetError naming the file if it is missing, unreadable, has no
    such HDU, or the HDU holds no 2-D image."""
    path = Path(path)
    if path.is_dir():
        raise DatasetError(f"{what} file {path} is a directory, not a FITS file")
    if not path.is_file():
        raise DatasetError(f"{what} file {path} does not exist")
    try:
        with fits.open(path, memmap=False) as hdul:
            if hdu is None:
                try:
                    hdu = next((i for i, h in enumerate(hdul) if h.data is not None), 0)
                except (ValueError, TypeError) as exc:
                    raise DatasetError(f"{what} file {path} is truncated or damaged: an HDU holds less data than its "
                                       f"header declares ({exc})") from None
            try:
                selected = hdul[hdu]
            except (IndexError, KeyError):
                raise DatasetError(f"{what} file {path} has no HDU {hdu!r} (it has {len(hdul)})") from None
            try:
                data, header = selected.data, selected.header.copy()
                data = None if data is None else np.array(data)  # read now, inside the open file
            except (ValueError, TypeError) as exc:  # astropy's reshape of a short data block
                raise DatasetError(f"{what} file {path} is truncated or damaged: HDU {hdu!r} holds less data than its "
                                   f"header declares ({exc})") from None
    except OSError as exc:
        reason = "it does not start with a FITS header" if "SIMPLE" in str(exc) else str(exc)  # not astropy's advice
        raise DatasetError(f"{what} file {path} is not a readable FITS file: {reason}") from exc
    if data is None:
        raise DatasetError(f"HDU {hdu!r} of {what} file {path} holds no data")
    data = np.asarray(data)
    while data.ndim > 2 and data.shape[0] == 1:  # a (1, ..., ny, nx) cube holds one image; a 1 x N image stays 2-D
        data = data[0]
    if data.ndim != 2:
        raise DatasetError(f"{what} in {path} (HDU {hdu!r}) must be a 2-D image, got shape {data.shape}")
    # FITS is big-endian; astype to native float64 copies and fixes the byte order.
    return np.ascontiguousarray(data.astype(np.float64)), header


def write_fits_atomic(path, hdus: list) -> None:
    """Write an HDU list to ``path`` atomically (temporary file in the same folder, then rename), so an interrupted
    write never leaves a truncated file in place of a good one."""
    with atomic_destination(path) as tmp:
        fits.HDUList(hdus).writeto(tmp, overwrite=True)
