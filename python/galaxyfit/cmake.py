"""Where the installed C++ package lives, for ``find_package(galaxyfit)`` in a user's CMake project."""

from __future__ import annotations

from pathlib import Path


def cmake_dir() -> Path:
    """Directory holding ``galaxyfitConfig.cmake`` of the installed C++ kernels (pass it as ``galaxyfit_DIR``).

    Raises FileNotFoundError if the package was installed without its C++ part.
    """
    from galaxyfit import _core

    root = Path(_core.__file__).resolve().parent / "cpp"
    found = sorted(root.glob("lib*/cmake/galaxyfit/galaxyfitConfig.cmake"))
    if not found:
        raise FileNotFoundError(f"galaxyfitConfig.cmake not found under {root}; reinstall galaxyfit")
    return found[0].parent
