"""galaxyfit: fit models of galaxy light to astronomical images.

Importing galaxyfit switches JAX to float64 (see ``galaxyfit._jax_config``).
"""

from galaxyfit import _jax_config  # noqa: F401  (float64 before any array exists)

__version__ = "0.1.0"

from galaxyfit.analysis import INVALID_LOG_LIKELIHOOD, AnalysisImaging  # noqa: E402
from galaxyfit.cmake import cmake_dir  # noqa: E402
from galaxyfit.dataset import Imaging, Mask  # noqa: E402
from galaxyfit.fit import FitImaging, ImagePlan  # noqa: E402
from galaxyfit.galaxy import DatasetModel, Galaxies, Galaxy  # noqa: E402
from galaxyfit.integration import OverSampling  # noqa: E402
from galaxyfit.model import ModelInstance  # noqa: E402
from galaxyfit.profiles import basis as lp_basis  # noqa: E402
from galaxyfit.profiles import light as lp  # noqa: E402
from galaxyfit.profiles import linear as lp_linear  # noqa: E402
from galaxyfit.profiles import operated as lp_operated  # noqa: E402
from galaxyfit import regularization as reg  # noqa: E402
from galaxyfit import model_util  # noqa: E402
from galaxyfit.pixelization import Pixelization  # noqa: E402
from galaxyfit.pixelization import image_mesh, mesh  # noqa: E402
from galaxyfit.adapt_images import AdaptImages  # noqa: E402
from galaxyfit.settings import Settings  # noqa: E402

__all__ = [
    "AdaptImages",
    "AnalysisImaging",
    "DatasetModel",
    "FitImaging",
    "Galaxies",
    "Galaxy",
    "INVALID_LOG_LIKELIHOOD",
    "ImagePlan",
    "Imaging",
    "Mask",
    "ModelInstance",
    "OverSampling",
    "Pixelization",
    "Settings",
    "cmake_dir",
    "image_mesh",
    "lp",
    "lp_basis",
    "lp_linear",
    "lp_operated",
    "mesh",
    "model_util",
    "reg",
]
