"""galaxyfit's CUDA kernels on JAX's GPU platform: the extension ``galaxyfit._cuda`` (built with
``-DGALAXYFIT_CUDA=ON``, README "On a GPU"), its XLA FFI handlers for platform "CUDA", and the GPU lowerings of
galaxyfit's primitives.

Nothing here runs at import. Each primitive with a CUDA kernel has a lowering for platform "cuda" that, the first
time JAX compiles it for a GPU, imports ``galaxyfit._cuda`` and registers its handlers (:func:`load`), under the same
target names, operands and attributes as the CPU handlers; so the extension is loaded only when JAX runs on a GPU,
and importing galaxyfit never touches CUDA. Where the extension is missing (a CPU build, the default) or a primitive
has no CUDA kernel for its operands (an inversion beyond the sizes below), compiling for a GPU raises
NotImplementedError saying so and how to run on the CPU instead.

The inversion's CUDA kernels: the columns form (linear light profiles, MGE) takes up to
:data:`MAX_INVERSION_PARAMETERS` linear parameters, one GPU thread per batch element; the Gram form (pixelizations,
with any linear profiles beside them) up to :data:`MAX_GRAM_INVERSION_PARAMETERS`, one thread per batch element up
to :data:`MAX_INVERSION_PARAMETERS` parameters and one thread block per batch element beyond
(cpp/cuda/inversion_team.hpp), so that a vmap batch's pixelizations are solved concurrently.

CuPy: :func:`extension` returns ``galaxyfit._cuda``, whose ``render_profile``, ``psf_convolve``,
``psf_convolve_adjoint``, ``chi_squared``, ``invert`` and ``invert_gram`` take CuPy arrays (or anything with
``__cuda_array_interface__``; host arrays are copied over) and return CuPy arrays, on CuPy's current stream::

    import cupy as cp
    from galaxyfit.kernels.cuda import extension

    gpu = extension()
    params = cp.asarray([[0.0, 0.0, 1.0, 1.0, 0.0, 2.0, 0.5, 1.5]])   # c_y, c_x, A_yy, A_xx, A_xy, I_e, R_e, n
    image = gpu.render_profile(0, params, y0=-2.45, x0=-2.45, hy=0.1, hx=0.1, height=50, width=50,
                               rings=[(1, 6), (3, 4)])               # cupy (1, 50, 50), pixel means (Sersic: law 0)
    runs = cp.asarray([[r, 0, 50] for r in range(50)], dtype=cp.int32)
    blurred = gpu.psf_convolve(image, cp.ones((5, 5)) / 25, runs)    # cupy (1, 2500)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["MAX_GRAM_INVERSION_PARAMETERS", "MAX_INVERSION_PARAMETERS", "CudaStatus", "check_inversion_size", "extension", "load",
           "register_gpu_lowering"]

#: The most linear parameters the CUDA inversion takes in the columns form (cpp/cuda/inversion_small.hpp,
#: kMaxSmallInversion): linear light profiles and multi-Gaussian expansions.
MAX_INVERSION_PARAMETERS = 128
#: The most the Gram form takes (cpp/cuda/inversion_team.hpp, kMaxTeamInversion): pixelizations; each batch element
#: then needs 3 k^2 + 6 k doubles of GPU workspace (19 MB at k = 900).
MAX_GRAM_INVERSION_PARAMETERS = 16384

_lock = threading.Lock()
_status: CudaStatus | None = None


@dataclass(frozen=True)
class CudaStatus:
    """What :func:`load` found.

    built: ``galaxyfit._cuda`` exists and imports. registered: its FFI handlers are registered with JAX for
    platform "CUDA" (JAX keeps them pending until its CUDA backend starts). targets: the FFI target names it
    registered. architectures: the GPU architectures it was compiled for (e.g. "80 90"); cuda_runtime: the CUDA
    runtime version it was compiled against (e.g. "13.0"). devices: CUDA devices the driver reports (0 where there
    is no GPU or driver); reason: why not built, or why there are no devices ("" otherwise).
    """

    built: bool
    registered: bool
    targets: tuple[str, ...] = ()
    architectures: str | None = None
    cuda_runtime: str | None = None
    devices: int = 0
    reason: str = ""


def extension():
    """The module ``galaxyfit._cuda``. Raises ImportError, saying how to build it, where this galaxyfit has none."""
    try:
        from galaxyfit import _cuda
    except ImportError as exc:
        raise ImportError(
            "galaxyfit was built without its CUDA kernels (galaxyfit._cuda is missing): build it with "
            "pip install . -C cmake.define.GALAXYFIT_CUDA=ON (README, 'On a GPU')") from exc
    return _cuda


def load() -> CudaStatus:
    """Imports ``galaxyfit._cuda`` and registers its FFI handlers for platform "CUDA", once; returns the status.

    Never raises: a missing extension gives ``built=False`` with the reason. Needs no GPU (the registration waits
    in JAX until its CUDA backend starts). Called by the GPU lowerings and by ``galaxyfit.show_config()``.
    """
    global _status
    with _lock:
        if _status is not None:
            return _status
        try:
            module = extension()
        except ImportError as exc:
            _status = CudaStatus(built=False, registered=False, reason=str(exc))
            return _status
        import jax

        targets = module.registrations()
        for name, capsule in targets.items():
            jax.ffi.register_ffi_target(name, capsule, platform="CUDA")
        info = module.build_info()
        runtime = int(info["cuda_runtime_compiled"])
        devices, why = module.device_count()
        _status = CudaStatus(built=True, registered=True, targets=tuple(sorted(targets)),
                             architectures=info["architectures"],
                             cuda_runtime=f"{runtime // 1000}.{runtime % 1000 // 10}", devices=int(devices),
                             reason=f"no usable CUDA device ({why})" if why else "")
        return _status


def _on_the_cpu_instead() -> str:
    return ("run galaxyfit on the CPU instead (JAX_PLATFORMS=cpu, or under "
            "jax.default_device(jax.devices('cpu')[0]))")


def register_gpu_lowering(primitive, rule: Callable[..., Any], what: str,
                          check: Callable[[Any], None] | None = None) -> None:
    """Lower ``primitive`` for platform "cuda" with ``rule`` (its CPU lowering: the CUDA handlers take the same
    operands and attributes), loading the CUDA extension first; NotImplementedError naming ``what`` if it is absent.
    ``check(ctx)``, if given, raises NotImplementedError for operands the CUDA kernel does not take (their shapes
    are static, in ``ctx.avals_in``)."""
    from jax.interpreters import mlir

    def lowering(ctx, *args, **params):
        if check is not None:
            check(ctx)
        status = load()
        if not status.registered:
            raise NotImplementedError(f"galaxyfit: {what} on a GPU: {status.reason}; or {_on_the_cpu_instead()}")
        return rule(ctx, *args, **params)

    mlir.register_lowering(primitive, lowering, platform="cuda")


def check_inversion_size(k: int, gram: bool = False) -> None:
    """NotImplementedError for an inversion of more linear parameters than the CUDA kernel of its form takes:
    :data:`MAX_INVERSION_PARAMETERS` for the columns form, :data:`MAX_GRAM_INVERSION_PARAMETERS` for the Gram form
    (``gram``)."""
    if gram and k > MAX_GRAM_INVERSION_PARAMETERS:
        raise NotImplementedError(
            f"galaxyfit: a pixelized inversion of {k} parameters on a GPU: the CUDA inversion takes at most "
            f"{MAX_GRAM_INVERSION_PARAMETERS}; use a coarser mesh, or {_on_the_cpu_instead()}")
    if not gram and k > MAX_INVERSION_PARAMETERS:
        raise NotImplementedError(
            f"galaxyfit: a linear inversion of {k} parameters on a GPU: the CUDA inversion takes at most "
            f"{MAX_INVERSION_PARAMETERS} linear light profiles or Gaussians (pixelizations, solved in the Gram form, "
            f"take up to {MAX_GRAM_INVERSION_PARAMETERS}); {_on_the_cpu_instead()}")
