"""galaxyfit's exception types. Each names the offending argument or file and what is wrong with it."""


class GalaxyfitError(Exception):
    """Base class of galaxyfit's own errors."""


class DatasetError(GalaxyfitError, ValueError):
    """Bad input data: shapes that disagree, NaN or non-positive noise, an even or empty PSF, a mask that leaves
    nothing to fit, an unreadable FITS file."""


class ModelError(GalaxyfitError, ValueError):
    """A model or instance that cannot be built or evaluated as asked (e.g. an unknown profile)."""


class SearchError(GalaxyfitError, ValueError):
    """A search that cannot run as configured: too few live points, or a checkpoint written for another fit."""


class NegativePSFWarning(UserWarning):
    """A PSF whose negative values are large enough to suggest the wrong file or an over-subtracted background."""


class OutputError(GalaxyfitError, OSError):
    """An output folder or file that cannot be written or read back: a read-only folder, a full disk, a damaged
    file. Names the path; nothing written before is lost (every write is atomic)."""


class CatalogueError(GalaxyfitError, ValueError):
    """A catalogue that cannot be fitted as asked (``galaxyfit.catalogue``): a table that cannot be read, a missing or
    duplicated id, a file template naming a column the table lacks, a scheduler that cannot be reached, an output
    folder used by another run. Names the table, row, column or argument. One galaxy's bad input is not this error:
    it fails that galaxy only (reported in the run's failures)."""
