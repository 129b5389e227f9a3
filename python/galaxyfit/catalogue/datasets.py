"""Dataset makers: picklable callables ``row -> Imaging`` that a worker runs for its galaxy.

``CutoutFiles`` reads one FITS cutout per galaxy (and a noise map, PSF and mask per galaxy or shared), ``LargeImage``
cuts each galaxy from a large image at the row's position. A file field is a template formatted with the row's
columns (``"{id}.fits"``, ``"{id:05d}_psf.fits"``, ``"{tile}/rms.fits"``); a field without ``{...}`` is one file
shared by every galaxy. Relative paths are taken from ``directory``.

Any other callable ``row -> galaxyfit.Imaging`` works as ``make_dataset`` too; it must pickle (cloudpickle: lambdas
and closures do) and read files every worker can reach.
"""

from __future__ import annotations

import math
import string
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from galaxyfit.errors import CatalogueError, DatasetError


def template_columns(template) -> set[str]:
    """The column names a file template formats (``"{id}_{band}.fits"`` -> {"id", "band"})."""
    if template is None:
        return set()
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(str(template)) if name is not None]
    except ValueError as exc:
        raise CatalogueError(f"file template {template!r}: {exc}") from None
    columns = set()
    for name in fields:
        root = name.split(".")[0].split("[")[0]
        if not root or root.isdigit():
            raise CatalogueError(f"file template {template!r}: each {{...}} must name a column, e.g. {{id}}")
        columns.add(root)
    return columns


def format_template(template, row: dict, directory=None, what: str = "file") -> Path:
    """The path of ``template`` for ``row``, under ``directory`` when relative. Raises DatasetError naming the
    template and column when the row lacks the column or its value does not fit the format (e.g. ``{id:05d}`` of a
    text id)."""
    try:
        text = str(template).format(**row)
    except KeyError as exc:
        raise DatasetError(f"{what} template {template!r} names column {exc.args[0]!r}, which this row lacks") from None
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise DatasetError(f"{what} template {template!r} cannot be formatted with this row: {exc}") from None
    path = Path(text).expanduser()
    if directory is not None and not path.is_absolute():
        path = Path(directory) / path
    return path


def _pixel_scale(value, row: dict, what: str) -> float:
    """A pixel scale given as a number, or as the name of a column holding it."""
    if isinstance(value, str):
        if value not in row:
            raise DatasetError(f"{what}: pixel_scale names column {value!r}, which this row lacks")
        value = row[value]
    try:
        scale = float(value)
    except (TypeError, ValueError):
        raise DatasetError(f"{what}: pixel_scale {value!r} is not a number (arcsec per pixel)") from None
    if not (scale > 0 and math.isfinite(scale)):
        raise DatasetError(f"{what}: pixel_scale must be a finite positive number (arcsec per pixel), got {value!r}")
    return scale


def _with_radius_mask(dataset, radius):
    if radius is None:
        return dataset
    from galaxyfit.dataset import Mask

    circle = Mask.circular(dataset.shape, dataset.pixel_scales, radius)
    return dataset.apply_mask(dataset.mask | circle)


def _columns_of(maker, file_fields, extra=()) -> set[str]:
    columns = set(extra)
    for name in file_fields:
        columns |= template_columns(getattr(maker, name))
    if isinstance(getattr(maker, "pixel_scale", None), str):
        columns.add(maker.pixel_scale)
    return columns


def _check_columns(maker, colnames, file_fields, extra=()) -> None:
    missing = sorted(_columns_of(maker, file_fields, extra) - set(colnames))
    if missing:
        raise CatalogueError(f"{type(maker).__name__}: the catalogue has no column {', '.join(map(repr, missing))} "
                             f"(named by its file templates or options; columns: {', '.join(colnames)})")
    # A shared file (no {...}) that is missing would fail every galaxy, one by one: refuse the run instead.
    for name in file_fields:
        template = getattr(maker, name)
        if template is None or template_columns(template):
            continue
        path = format_template(template, {}, getattr(maker, "directory", None), name.replace("_", " "))
        if not path.is_file():
            where = (f" (a relative path is taken from the directory {maker.directory}; give an absolute path for a "
                     "file elsewhere)" if not Path(str(template)).expanduser().is_absolute() else "")
            raise CatalogueError(f"{type(maker).__name__}: the {name.replace('_', ' ')} file {path}, shared by every "
                                 f"galaxy, does not exist{where}")


def _explain_non_finite(exc: DatasetError, data_path, hdu) -> DatasetError:
    """A clearer error for data that is all NaN (an empty or failed cutout) than the generic count of non-finite
    values; other errors unchanged."""
    if "non-finite" not in str(exc) or not str(exc).startswith("data"):
        return exc
    from galaxyfit.dataset import fits_io

    try:
        data = fits_io.read_array(data_path, hdu, "data")
    except DatasetError:
        return exc
    if not np.isfinite(data).any():
        kinds = "NaN" if np.isnan(data).all() else "NaN or infinite"
        return DatasetError(f"data file {data_path}: all {data.size} pixels are {kinds}, so there is nothing to fit "
                            "(an empty or failed cutout?)")
    return exc


@dataclass(frozen=True)
class CutoutFiles:
    """One FITS cutout per galaxy: ``CutoutFiles(directory, data="{id}.fits", noise_map="{id}_noise_map.fits",
    psf="{id}_psf.fits", mask=None, pixel_scale=0.1)(row) -> Imaging``.

    directory : folder the relative paths are taken from, made absolute where the maker is built (every worker
        must see it at that path, e.g. on a shared filesystem).
    data, noise_map, psf, mask : templates formatted with the row's columns, or one shared file (no ``{...}``);
        ``noise_map``: 1-sigma map in data units (a variance map with ``noise_map_is_variance``); None with ``gain``
        for Imfit's data-based noise; ``psf`` None: no PSF; ``mask``: non-zero = excluded, None: no mask file.
    pixel_scale : arcsec per pixel, or the name of a column holding it.
    data_hdu, noise_map_hdu, psf_hdu, mask_hdu : the HDU of each file (index or EXTNAME; None: the first with data),
        so one multi-extension file per galaxy works (the same template for data, noise_map and psf, three HDUs).
    gain, read_noise, original_sky, exposure_time : Imfit's data-based noise (``Imaging.from_fits``).
    mask_nan_data : mask non-finite pixels instead of failing the galaxy.
    mask_radius : also exclude pixels beyond this radius (arcsec) from the cutout's centre.
    normalize_psf : divide each PSF by its sum (``Imaging``).

    Raises DatasetError (naming the file) for a missing, truncated or unreadable file, all-NaN data, or anything
    ``Imaging.from_fits`` refuses: that galaxy fails with the message as its reason.
    """

    directory: str | Path = "."
    data: str = "{id}.fits"
    noise_map: str | None = "{id}_noise_map.fits"
    psf: str | None = "{id}_psf.fits"
    mask: str | None = None
    pixel_scale: float | str = 1.0
    data_hdu: int | str | None = None
    noise_map_hdu: int | str | None = None
    psf_hdu: int | str | None = None
    mask_hdu: int | str | None = None
    noise_map_is_variance: bool = False
    gain: float | None = None
    read_noise: float = 0.0
    original_sky: float = 0.0
    exposure_time: float | str | None = None
    mask_nan_data: bool = False
    mask_radius: float | None = None
    normalize_psf: bool = True

    _FILES = ("data", "noise_map", "psf", "mask")

    def __post_init__(self):
        # absolute here, in the client: the workers' working folders may be others
        object.__setattr__(self, "directory", Path(self.directory).expanduser().absolute())
        if self.noise_map is None and self.gain is None:
            raise CatalogueError("CutoutFiles needs noise_map (a template or file) or gain (Imfit's data-based noise)")
        for name in self._FILES:
            template_columns(getattr(self, name))  # a malformed template fails now, not on every worker

    def check_columns(self, colnames) -> None:
        """CatalogueError when a template or ``pixel_scale`` names a column the catalogue lacks."""
        _check_columns(self, colnames, self._FILES)

    def paths(self, row: dict) -> dict[str, Path | None]:
        """{"data", "noise_map", "psf", "mask"}: the row's files (None where not used)."""
        return {name: None if getattr(self, name) is None else
                format_template(getattr(self, name), row, self.directory, name.replace("_", " "))
                for name in self._FILES}

    def __call__(self, row: dict):
        from galaxyfit.dataset import Imaging

        paths = self.paths(row)
        noise = (dict(noise_map_path=paths["noise_map"], noise_map_is_variance=self.noise_map_is_variance)
                 if paths["noise_map"] is not None else
                 dict(gain=self.gain, read_noise=self.read_noise, original_sky=self.original_sky,
                      exposure_time=self.exposure_time))
        scale = _pixel_scale(self.pixel_scale, row, f"data file {paths['data']}")
        try:
            dataset = Imaging.from_fits(paths["data"], scale, psf_path=paths["psf"], mask_path=paths["mask"],
                                        data_hdu=self.data_hdu, noise_map_hdu=self.noise_map_hdu, psf_hdu=self.psf_hdu,
                                        mask_hdu=self.mask_hdu, mask_nan_data=self.mask_nan_data,
                                        normalize_psf=self.normalize_psf, **noise)
        except DatasetError as exc:
            raise _explain_non_finite(exc, paths["data"], self.data_hdu) from None
        return _with_radius_mask(dataset, self.mask_radius)


def bucket_size(size: float, bucket: int, minimum: int) -> int:
    """``size`` pixels rounded up to a multiple of ``bucket`` (at least ``minimum``): cutouts of one bucket share one
    shape, so a worker compiles its likelihood once per bucket rather than once per galaxy."""
    side = max(int(math.ceil(float(size))), int(minimum), 1)
    return int(bucket * math.ceil(side / bucket)) if bucket > 1 else side


def _read_region(path, hdu, rows: tuple[int, int], columns: tuple[int, int], what: str, fill: float):
    """(array, inside): pixels ``[rows[0]:rows[1], columns[0]:columns[1]]`` (0-based, half-open, may reach beyond the
    image) of the 2-D image in ``hdu`` of ``path``, read without loading the whole image (astropy's ``section``);
    pixels off the image are ``fill`` and False in ``inside``. Raises DatasetError naming the file."""
    from astropy.io import fits

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{what} file {path} does not exist")
    try:
        with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
            index = hdu
            if index is None:
                index = next((i for i, h in enumerate(hdul) if h.header.get("NAXIS", 0) >= 2), None)
                if index is None:
                    raise DatasetError(f"{what} file {path} holds no 2-D image")
            try:
                image = hdul[index]
            except (IndexError, KeyError):
                raise DatasetError(f"{what} file {path} has no HDU {index!r}") from None
            shape = tuple(int(image.header[f"NAXIS{k}"]) for k in (2, 1)) if image.header.get("NAXIS", 0) >= 2 else ()
            if len(shape) != 2:
                raise DatasetError(f"{what} file {path} (HDU {index!r}) is not a 2-D image")
            ny, nx = shape
            y0, y1 = max(rows[0], 0), min(rows[1], ny)
            x0, x1 = max(columns[0], 0), min(columns[1], nx)
            out = np.full((rows[1] - rows[0], columns[1] - columns[0]), fill, dtype=np.float64)
            inside = np.zeros(out.shape, dtype=bool)
            if y0 < y1 and x0 < x1:
                block = np.asarray(image.section[y0:y1, x0:x1], dtype=np.float64)
                out[y0 - rows[0]:y1 - rows[0], x0 - columns[0]:x1 - columns[0]] = block
                inside[y0 - rows[0]:y1 - rows[0], x0 - columns[0]:x1 - columns[0]] = True
            return out, inside, (ny, nx)
    except DatasetError:
        raise
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise DatasetError(f"{what} file {path} is not a readable FITS image ({type(exc).__name__}: {exc}); truncated "
                           "or damaged?") from None


@dataclass(frozen=True)
class LargeImage:
    """Each galaxy cut from a large image at its catalogue position: ``LargeImage(image="field.fits",
    noise_map="field_rms.fits", psf="psf.fits", pixel_scale=0.03)(row) -> Imaging``.

    image, noise_map, mask : the large image, its 1-sigma noise map and mask (non-zero = excluded), all of one shape;
        templates or shared files like ``CutoutFiles``' (e.g. ``"{tile}.fits"`` for a catalogue over tiles).
    psf : the PSF (template or shared file; None: none), not cut.
    x_column, y_column : the row's pixel position of the galaxy; ``origin`` 1 (default) for FITS and SExtractor
        positions (X_IMAGE: the first pixel's centre is 1), 0 for numpy's.
    size_column : the row's cutout side in pixels (e.g. a multiple of the galaxy's radius), or None for ``size``
        for every galaxy. The side is rounded up to a multiple of ``bucket`` (at least ``size``), and the extra pixels
        are real image pixels: a few cutout shapes, so a worker compiles one likelihood per shape, not per galaxy.
    pixel_scale : arcsec per pixel, or a column name.
    directory : folder relative paths are taken from (made absolute, as ``CutoutFiles``').
    Pixels beyond the image's edge are masked (their data 0, noise 1); with ``mask_nan_data`` (default True here:
    large mosaics have NaN gaps) non-finite pixels are masked too.

    Raises DatasetError naming the file or column: a missing or unreadable file, a position off the image, a size
    that is not a positive number, a cutout holding no finite pixel.
    """

    image: str
    noise_map: str | None
    psf: str | None = None
    pixel_scale: float | str = 1.0
    x_column: str = "x"
    y_column: str = "y"
    size_column: str | None = "size"
    size: int = 32
    bucket: int = 16
    origin: int = 1
    mask: str | None = None
    directory: str | Path = "."
    image_hdu: int | str | None = None
    noise_map_hdu: int | str | None = None
    psf_hdu: int | str | None = None
    mask_hdu: int | str | None = None
    noise_map_is_variance: bool = False
    mask_nan_data: bool = True
    mask_radius: float | None = None
    normalize_psf: bool = True

    _FILES = ("image", "noise_map", "psf", "mask")

    def __post_init__(self):
        object.__setattr__(self, "directory", Path(self.directory).expanduser().absolute())
        if self.noise_map is None:
            raise CatalogueError("LargeImage needs noise_map: the large image's 1-sigma (or variance) map")
        if self.origin not in (0, 1):
            raise CatalogueError(f"LargeImage(origin={self.origin!r}): 1 for FITS/SExtractor positions, 0 for numpy's")
        for name, value in (("size", self.size), ("bucket", self.bucket)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise CatalogueError(f"LargeImage({name}={value!r}): must be a positive integer (pixels)")
        for name in self._FILES:
            template_columns(getattr(self, name))

    def check_columns(self, colnames) -> None:
        """CatalogueError when a template, position, size or pixel-scale column is not in the catalogue."""
        extra = [self.x_column, self.y_column] + ([self.size_column] if self.size_column else [])
        _check_columns(self, colnames, self._FILES, extra)

    def region(self, row: dict) -> tuple[tuple[int, int], tuple[int, int]]:
        """((row0, row1), (col0, col1)): the cutout's 0-based half-open pixel ranges in the large image."""
        values = {}
        for name, column in (("x", self.x_column), ("y", self.y_column)):
            try:
                values[name] = float(row[column])
            except (TypeError, ValueError):
                values[name] = math.nan
            if not math.isfinite(values[name]):
                raise DatasetError(f"column {column!r} (the galaxy's {name} pixel position) is {row.get(column)!r}, not a number")
        size = self.size
        if self.size_column is not None:
            raw = row.get(self.size_column)
            try:
                size = float(raw)
            except (TypeError, ValueError):
                size = math.nan
            if not (size > 0 and math.isfinite(size)):
                raise DatasetError(f"column {self.size_column!r} (the cutout side in pixels) is {raw!r}, not a positive number")
        side = bucket_size(size, self.bucket, self.size)
        # the nearest pixel to the position is the cutout's centre (pixel side // 2 of an even side)
        cy, cx = int(round(values["y"] - self.origin)), int(round(values["x"] - self.origin))
        return (cy - side // 2, cy - side // 2 + side), (cx - side // 2, cx - side // 2 + side)

    def __call__(self, row: dict):
        from galaxyfit.dataset import Imaging, fits_io

        files = {name: None if getattr(self, name) is None else
                 format_template(getattr(self, name), row, self.directory, name.replace("_", " "))
                 for name in self._FILES}
        rows, columns = self.region(row)
        data, inside, shape = _read_region(files["image"], self.image_hdu, rows, columns, "image", 0.0)
        if not inside.any():
            raise DatasetError(f"the cutout rows {rows[0]}:{rows[1]}, columns {columns[0]}:{columns[1]} (0-based) lies "
                               f"off image {files['image']} ({shape[0]} x {shape[1]} pixels): check {self.x_column!r}, "
                               f"{self.y_column!r} and origin={self.origin}")
        centre = (rows[1] - rows[0]) // 2, (columns[1] - columns[0]) // 2
        if not inside[centre]:  # a cutout that only grazes the image would fit a neighbour's light
            raise DatasetError(f"the galaxy's position ({self.x_column} {row.get(self.x_column)!r}, {self.y_column} "
                               f"{row.get(self.y_column)!r}, origin={self.origin}) lies off image {files['image']} "
                               f"({shape[0]} x {shape[1]} pixels)")
        noise, _, noise_shape = _read_region(files["noise_map"], self.noise_map_hdu, rows, columns, "noise map", 1.0)
        if noise_shape != shape:
            raise DatasetError(f"noise map file {files['noise_map']} is {noise_shape[0]} x {noise_shape[1]} pixels, image "
                               f"{files['image']} {shape[0]} x {shape[1]}")
        if self.noise_map_is_variance:
            from galaxyfit.dataset.noise import noise_map_from_variance

            noise = np.where(inside, noise, 1.0)
            noise = noise_map_from_variance(noise)
        masked = ~inside
        if files["mask"] is not None:
            mask, _, mask_shape = _read_region(files["mask"], self.mask_hdu, rows, columns, "mask", 1.0)
            if mask_shape != shape:
                raise DatasetError(f"mask file {files['mask']} is {mask_shape[0]} x {mask_shape[1]} pixels, image "
                                   f"{files['image']} {shape[0]} x {shape[1]}")
            masked |= mask != 0
        if not np.isfinite(data[inside]).any():
            raise DatasetError(f"image file {files['image']}: every pixel of this galaxy's cutout (rows {rows[0]}:{rows[1]}, "
                               f"columns {columns[0]}:{columns[1]}) is NaN or infinite")
        psf = None if files["psf"] is None else fits_io.read_array(files["psf"], self.psf_hdu, "psf")
        scale = _pixel_scale(self.pixel_scale, row, f"image file {files['image']}")
        where = f" [image file {files['image']}, rows {rows[0]}:{rows[1]}, columns {columns[0]}:{columns[1]}]"
        try:
            with warnings.catch_warnings():
                # masking the off-image and NaN pixels is what was asked for: no warning per galaxy about it
                warnings.filterwarnings("ignore", message="masked .* pixels whose data or noise is not finite")
                dataset = Imaging(data, noise, psf, scale, masked, normalize_psf=self.normalize_psf,
                                  mask_nan_data=self.mask_nan_data)
        except DatasetError as exc:
            if str(exc).startswith("psf"):
                raise DatasetError(f"{exc} [psf file {files['psf']}]") from None
            raise DatasetError(f"{exc}{where}") from None
        dataset.noise_model = {"kind": "variance map" if self.noise_map_is_variance else "sigma map",
                               "file": str(files["noise_map"]), "data_file": str(files["image"]),
                               "region": [rows[0], rows[1], columns[0], columns[1]]}
        dataset.psf_file = None if files["psf"] is None else str(files["psf"])
        return _with_radius_mask(dataset, self.mask_radius)

