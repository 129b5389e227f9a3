"""galaxyfit: fit models of galaxy light to astronomical images."""

from galaxyfit import _jax_config  # noqa: F401  (float64 before any array exists)

__version__ = "0.1.0"

from galaxyfit.cmake import cmake_dir  # noqa: E402
