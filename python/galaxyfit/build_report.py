"""What this galaxyfit is and how it was built: ``show_config()`` prints it, ``build_config()`` returns it as a dict.

Paste ``show_config()``'s output into a bug report: it names the version, the compiler and flags of the C++
extension, the instruction-set level its kernels picked on this CPU, the threads XLA gives them, whether the CUDA
extension was built and whether a GPU is there, and the versions of JAX, jaxlib (and the XLA FFI C API on both
sides), NumPy and Python.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from typing import IO, Any

__all__ = ["INSTRUCTION_SETS", "build_config", "show_config"]

#: The levels galaxyfit._core.kernel_instruction_set() can report (cpp/src/profile_image.cpp): x86-64 CPUs get the
#: best of the three their CPU supports when the wheel was built with GALAXYFIT_MULTIVERSION; other CPUs "baseline".
INSTRUCTION_SETS = ("baseline", "x86-64-v3", "x86-64-v4")

_PROBE_TARGET = "galaxyfit_build_probe"
_probe_registered = False


def _ffi_api_from_headers(include_dir: str) -> str | None:
    """XLA_FFI_API_MAJOR.MINOR from ``xla/ffi/api/c_api.h`` under ``include_dir`` (None where absent)."""
    try:
        with open(os.path.join(include_dir, "xla", "ffi", "api", "c_api.h"), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    major = re.search(r"^#define XLA_FFI_API_MAJOR (\d+)", text, re.MULTILINE)
    minor = re.search(r"^#define XLA_FFI_API_MINOR (\d+)", text, re.MULTILINE)
    return f"{major.group(1)}.{minor.group(1)}" if major and minor else None


def _probe(core) -> tuple[str, int]:
    """Runs the extension's XLA FFI handler ``galaxyfit_build_probe`` once on the CPU: the FFI API version the running
    jaxlib hands to handlers, and the threads of the intra-op pool that galaxyfit's handlers share work on.

    Registers one FFI target (harmless to other JAX users) and compiles one tiny computation (tens of milliseconds);
    no JAX setting is changed. Raises whatever JAX raises when the running jaxlib rejects the handler.
    """
    global _probe_registered
    import jax
    import numpy as np

    if not _probe_registered:
        jax.ffi.register_ffi_target(_PROBE_TARGET, core.build_probe_capsule(), platform="cpu")
        _probe_registered = True
    call = jax.ffi.ffi_call(_PROBE_TARGET, jax.ShapeDtypeStruct((3,), np.int32))
    with jax.default_device(jax.devices("cpu")[0]):
        major, minor, threads = (int(v) for v in np.asarray(jax.jit(call)()))
    return f"{major}.{minor}", threads


def build_config(probe: bool = True) -> dict[str, Any]:
    """How this galaxyfit was built and what it runs on, as a flat dict of plain values (str, int, bool, None).

    Keys:
      * ``version``: ``galaxyfit.__version__``; ``version_source``: ``"wheel"``, ``"git"`` (a work tree), ``"metadata"``
        or ``"unknown"`` (see galaxyfit._version); ``extension_version``: the version the C++ extension was built as
        (differs from ``version`` in a work tree whose extension predates later commits); ``package_dir``.
      * ``compiler``, ``compiler_version`` (CMake's CMAKE_CXX_COMPILER_ID and _VERSION), ``compiler_banner`` (the
        compiler's __VERSION__), ``build_type``, ``cxx_flags`` (CMAKE_CXX_FLAGS plus those of the build type),
        ``optimized`` (__OPTIMIZE__ was defined), ``system_processor``, ``x86_dispatch`` (the hot loops were compiled
        for x86-64-v3 and -v4 too and are picked at run time), ``eigen``, ``pybind11``.
      * ``instruction_set``: the level the kernels picked on this CPU, one of :data:`INSTRUCTION_SETS`.
      * ``cuda``: whether the CUDA extension ``galaxyfit._cuda`` is present (a ``-DGALAXYFIT_CUDA=ON`` build; False
        for every wheel); ``cuda_architectures`` and ``cuda_runtime``: what it was compiled for and against;
        ``cuda_devices``: CUDA devices the driver reports (0 without a GPU), ``cuda_note``: why there is no extension
        or no device (galaxyfit.kernels.cuda.load; None otherwise). Asking never fails and needs no GPU.
      * ``xla_ffi_api_compiled``: XLA_FFI_API_MAJOR.MINOR of the headers the extension was compiled against, from
        jaxlib ``jaxlib_headers`` (e.g. ``"0.3"``); ``xla_ffi_api_runtime``: the version the running jaxlib speaks,
        asked of it through an FFI call when ``probe`` (``xla_ffi_api_runtime_source`` ``"ffi call"``) or else read
        from the running jaxlib's own headers (``"jaxlib headers"``); None where neither worked.
      * ``jax``, ``jaxlib``, ``numpy``: versions (``jax.__version__`` etc.); ``python``, ``platform``.
      * ``cpus_available`` (len(os.sched_getaffinity(0)), where the OS has it), ``cpu_count`` (os.cpu_count()),
        ``xla_flags`` (the XLA_FLAGS environment variable, or None), ``ffi_threads``: threads of XLA's intra-op pool
        as galaxyfit's FFI handlers see it (from the probe; None without it).
      * ``probe_error``: why the probe failed (None when it worked or was not run).

    With ``probe=False`` no JAX computation runs (JAX is still imported for its version). Raises ImportError only
    if galaxyfit's extension cannot be loaded at all.
    """
    import numpy

    from galaxyfit import _core
    from galaxyfit import _version

    info = _core.build_info()
    config: dict[str, Any] = {
        "version": _version.__version__,
        "version_source": _version.version_source(),
        "extension_version": info["version"],
        "package_dir": os.path.dirname(os.path.abspath(_core.__file__)),
        "compiler": info["compiler_id"],
        "compiler_version": info["compiler_version"],
        "compiler_banner": info["compiler_banner"],
        "build_type": info["build_type"],
        "cxx_flags": info["cxx_flags"],
        "optimized": info["optimized"],
        "system_processor": info["system_processor"],
        "x86_dispatch": info["x86_dispatch"],
        "eigen": info["eigen_version"],
        "pybind11": info["pybind11_version"],
        "instruction_set": _core.kernel_instruction_set(),
        "xla_ffi_api_compiled": "{}.{}".format(*info["xla_ffi_api_compiled"]),
        "jaxlib_headers": info["jaxlib_headers_version"],
    }
    try:
        import jax
        import jaxlib
        from jaxlib import version as jaxlib_version

        config["jax"], config["jaxlib"] = jax.__version__, jaxlib_version.__version__
        runtime = _ffi_api_from_headers(os.path.join(os.path.dirname(jaxlib.__file__), "include"))
        source = "jaxlib headers" if runtime else None
    except ImportError as exc:  # galaxyfit needs JAX to fit, but a build report should still print without it
        config["jax"] = config["jaxlib"] = None
        runtime, source = None, None
        probe_error: str | None = f"jax not importable: {exc}"
        probe = False
    else:
        probe_error = None
    threads = None
    if probe:
        try:
            runtime, threads = _probe(_core)
            source = "ffi call"
        except Exception as exc:  # noqa: BLE001  (a report: say what failed, never fail)
            probe_error = f"{type(exc).__name__}: {exc}"
    from galaxyfit.kernels import cuda

    status = cuda.load()
    config.update({
        "cuda": status.built,
        "cuda_architectures": status.architectures,
        "cuda_runtime": status.cuda_runtime,
        "cuda_devices": status.devices,
        "cuda_note": status.reason or None,
        "xla_ffi_api_runtime": runtime,
        "xla_ffi_api_runtime_source": source,
        "numpy": numpy.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_count": os.cpu_count(),
        "xla_flags": os.environ.get("XLA_FLAGS"),
        "ffi_threads": threads,
        "probe_error": probe_error,
    })
    return config


_SECTIONS = (
    ("galaxyfit", ("version", "version_source", "extension_version", "package_dir")),
    ("C++ extension", ("compiler", "compiler_version", "compiler_banner", "build_type", "cxx_flags", "optimized",
                       "system_processor", "x86_dispatch", "instruction_set", "eigen", "pybind11")),
    ("CUDA extension", ("cuda", "cuda_architectures", "cuda_runtime", "cuda_devices", "cuda_note")),
    ("JAX / XLA FFI", ("jax", "jaxlib", "xla_ffi_api_compiled", "jaxlib_headers", "xla_ffi_api_runtime",
                       "xla_ffi_api_runtime_source")),
    ("threads", ("cpus_available", "cpu_count", "ffi_threads", "xla_flags")),
    ("Python", ("python", "numpy", "platform")),
)


def show_config(file: IO[str] | None = None, probe: bool = True) -> dict[str, Any]:
    """Print :func:`build_config` grouped and aligned to ``file`` (default sys.stdout); return the same dict."""
    config = build_config(probe=probe)
    out = sys.stdout if file is None else file
    width = max(len(k) for _, keys in _SECTIONS for k in keys)
    for title, keys in _SECTIONS:
        print(f"{title}:", file=out)
        for key in keys:
            print(f"  {key:<{width}}  {config[key]}", file=out)
    if config["probe_error"]:
        print(f"probe failed: {config['probe_error']}", file=out)
    return config
