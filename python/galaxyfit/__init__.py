"""galaxyfit: fit models of galaxy light to astronomical images.

``import galaxyfit`` is cheap: the names below are imported when first used (PEP 562), and with them JAX. Importing
galaxyfit changes none of JAX's settings: galaxyfit's public functions and methods compute in float64 inside
``jax.enable_x64(True)``, a thread-local context (``galaxyfit.float64()`` gives it to code that composes galaxyfit's
JAX functions itself; see ``galaxyfit._precision``), and synchronous CPU dispatch, which makes single likelihood
calls faster, is a process-wide opt-in (``galaxyfit.use_synchronous_dispatch()``; the ``galaxyfit`` command uses it).
"""

from __future__ import annotations

import importlib

from galaxyfit._version import __version__  # the wheel's build, else the git work tree, else the metadata

#: Public name -> (module, attribute or None for the module itself).
_EXPORTS = {
    "AnalysisFactor": ("galaxyfit.analysis.factor_graph", "AnalysisFactor"),
    "FactorGraphModel": ("galaxyfit.analysis.factor_graph", "FactorGraphModel"),
    "graph_from_datasets": ("galaxyfit.analysis.factor_graph", "graph_from_datasets"),
    "AdaptImages": ("galaxyfit.adapt_images", "AdaptImages"),
    "AnalysisImaging": ("galaxyfit.analysis", "AnalysisImaging"),
    "Array2D": ("galaxyfit.structures", "Array2D"),
    "DatasetModel": ("galaxyfit.galaxy", "DatasetModel"),
    "FitImaging": ("galaxyfit.fit", "FitImaging"),
    "Galaxies": ("galaxyfit.galaxy", "Galaxies"),
    "Galaxy": ("galaxyfit.galaxy", "Galaxy"),
    "Grid2D": ("galaxyfit.structures", "Grid2D"),
    "INVALID_LOG_LIKELIHOOD": ("galaxyfit.analysis", "INVALID_LOG_LIKELIHOOD"),
    "ImagePlan": ("galaxyfit.fit", "ImagePlan"),
    "Imaging": ("galaxyfit.dataset", "Imaging"),
    "Mask": ("galaxyfit.dataset", "Mask"),
    "Mask2D": ("galaxyfit.structures", "Mask2D"),
    "ModelInstance": ("galaxyfit.model", "ModelInstance"),
    "OverSampling": ("galaxyfit.integration", "OverSampling"),
    "Pixelization": ("galaxyfit.pixelization", "Pixelization"),
    "Settings": ("galaxyfit.settings", "Settings"),
    "show_config": ("galaxyfit.build_report", "show_config"),
    "build_config": ("galaxyfit.build_report", "build_config"),
    "cmake_dir": ("galaxyfit.cmake", "cmake_dir"),
    "float64": ("galaxyfit._precision", "float64"),
    "use_synchronous_dispatch": ("galaxyfit.dispatch", "use_synchronous_dispatch"),
    "CutoutFiles": ("galaxyfit.catalogue.datasets", "CutoutFiles"),
    "LargeImage": ("galaxyfit.catalogue.datasets", "LargeImage"),
    "catalogue": ("galaxyfit.catalogue", None),
    "fit_catalogue": ("galaxyfit.catalogue.runner", "fit_catalogue"),
    "image_mesh": ("galaxyfit.pixelization.image_mesh", None),
    "lp": ("galaxyfit.profiles.light", None),
    "lp_basis": ("galaxyfit.profiles.basis", None),
    "lp_linear": ("galaxyfit.profiles.linear", None),
    "lp_operated": ("galaxyfit.profiles.operated", None),
    "mesh": ("galaxyfit.pixelization.mesh", None),
    "model_util": ("galaxyfit.model_util", None),
    "reg": ("galaxyfit.regularization", None),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    try:
        module_name, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'galaxyfit' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
