"""Models per galaxy: the command line's shorthand (``sersic``, ``sersic+exponential``, ``linear:...``, ``mge:30``)
with priors from each galaxy's own cutout (``galaxyfit.model.data_priors``), as a picklable callable, and how
``fit_catalogue`` turns its ``model`` argument into one model per galaxy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from galaxyfit.errors import CatalogueError

#: Model files that ``model`` may name instead of a shorthand (``galaxyfit.model.model_file``).
MODEL_FILE_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class ShorthandModel:
    """``ShorthandModel("sersic+exponential")(row, dataset) -> Collection``: the shorthand model of ``galaxyfit fit
    --model`` with priors from ``dataset`` (centres about the light's centroid, sizes and intensities scaled to the
    cutout), so each galaxy of a catalogue gets priors from its own data.

    shared_centre, sky, redshift : as ``galaxyfit.model.model_file.model_from_shorthand``.
    mask_radius : arcsec; the widest Gaussian of an ``mge:`` model. None: the largest distance of an unmasked pixel
        from the cutout's centre.
    """

    text: str = "sersic"
    shared_centre: bool = False
    sky: bool = False
    redshift: float | None = None
    mask_radius: float | None = None

    def __post_init__(self):
        from galaxyfit.model.model_file import SHORTHAND

        body = self.text.strip().lower()
        if body.startswith("mge:"):
            return
        body = body.removeprefix("linear:")
        unknown = [name for name in body.replace(" ", "").split("+") if name not in SHORTHAND]
        if unknown:  # now, in the client, rather than once per galaxy on the workers
            raise CatalogueError(f"model {self.text!r}: unknown profile {unknown[0]!r} (known: {', '.join(SHORTHAND)}; "
                                 "prefix 'linear:' for linear profiles, 'mge:N' for a multi-Gaussian expansion, or a "
                                 "model file .yaml/.json)")

    def __call__(self, row: dict, dataset):
        from galaxyfit.model.model_file import model_from_shorthand

        return model_from_shorthand(self.text, redshift=self.redshift, shared_centre=self.shared_centre, sky=self.sky,
                                    mask_radius=self._mask_radius(dataset), dataset=dataset)

    def _mask_radius(self, dataset) -> float | None:
        if self.mask_radius is not None or not self.text.strip().lower().startswith("mge:"):
            return self.mask_radius
        import numpy as np

        from galaxyfit.dataset.pixels import pixel_centres

        y, x = pixel_centres(dataset.shape, dataset.pixel_scales)
        radius = np.sqrt(y[:, None] ** 2 + x[None, :] ** 2)[~dataset.mask.array]
        return float(radius.max()) if radius.size else None


def is_model(value) -> bool:
    """Whether ``value`` is a model (``Model``/``Collection``, or anything with a prior count) rather than a callable
    that makes one per galaxy."""
    from galaxyfit.model.model import _Node

    return isinstance(value, _Node) or (hasattr(value, "prior_count") and hasattr(value, "instance_from_vector"))


def model_argument(model):
    """``fit_catalogue``'s ``model`` as a model or a callable ``(row, dataset) -> model``: a ``Model``/``Collection``
    (the same priors for every galaxy) or a callable as given; a string is a model file (.yaml/.json, read now) or a
    shorthand (``ShorthandModel``: priors from each cutout). Raises CatalogueError for anything else, or ModelError
    from a model file that cannot be read."""
    if isinstance(model, (str, Path)):
        if Path(model).suffix.lower() in MODEL_FILE_SUFFIXES:
            from galaxyfit.model.model_file import load_model

            return load_model(model)
        return ShorthandModel(str(model))
    if is_model(model) or callable(model):
        return model
    raise CatalogueError(f"model must be a Model or Collection, a callable (row, dataset) -> model, a shorthand such as "
                         f"'sersic+exponential' or a model file, got {type(model).__name__}")


def model_for(model, row: dict, dataset):
    """The model of one galaxy (``model_argument``'s forms)."""
    return model if is_model(model) else model(row, dataset)
