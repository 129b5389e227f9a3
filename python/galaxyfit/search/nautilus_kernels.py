"""nautilus' two bound kernels in galaxyfit's C++: the emulator network's training and the ellipsoid fit.

With a likelihood of ~0.05 ms, most of a nautilus fit's time is nautilus' own bookkeeping: on sim_bulge_disk (13
parameters, 128,768 likelihood calls) training each bound's network with scikit-learn's ``MLPRegressor`` took ~40 %
of the run and nautilus' numpy minimum-volume enclosing ellipsoid ~20 % (bench/README.md). The algorithms do not
change here, only where they run:

- the network is trained as ``MLPRegressor`` trains it (same architecture, initialisation, loss, Adam steps,
  mini-batches and stopping rule; ``galaxyfit/nested_support.hpp``), by ``galaxyfit._core.train_mlp_regressor``,
  and kept as an ``MLPRegressor`` holding the trained weights, so nautilus' checkpoints write and read it as before;
- its predictions are the same forward pass without scikit-learn's per-call input validation;
- the ellipsoid weights come from nautilus' batched Khachiyan iteration in C++ (``_core.mvee_weights``), and the
  centre, shape and scaling from them exactly as nautilus computes them.

Random numbers differ from scikit-learn's, so a run is not bit-identical to nautilus' own, but it is as
deterministic. Network settings the C++ trainer does not cover (another solver, activation, early stopping, no
shuffling) fall back to scikit-learn. ``compiled_bound_kernels()`` swaps the kernels into nautilus' modules for the
duration of one search and restores them afterwards.
"""

from __future__ import annotations

import numbers
import threading
import warnings
from contextlib import contextmanager

import numpy as np

from galaxyfit import _core

#: nautilus' defaults for the emulator network (``nautilus.neural.NeuralNetworkEmulator.train``), over which a
#: search's ``neural_network_kwargs`` are laid, as nautilus does.
NAUTILUS_NETWORK_DEFAULTS = {"hidden_layer_sizes": (100, 50, 20), "alpha": 0.0, "learning_rate_init": 1e-2,
                             "max_iter": 10000, "tol": 0.0, "n_iter_no_change": 10}

# MLPRegressor's own defaults for the arguments the C++ trainer reads.
_SKLEARN_DEFAULTS = {"activation": "relu", "solver": "adam", "batch_size": "auto", "shuffle": True,
                     "early_stopping": False, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}
_TRAINER_ARGUMENTS = set(NAUTILUS_NETWORK_DEFAULTS) | set(_SKLEARN_DEFAULTS) | {"random_state", "verbose", "warm_start"}
_INT32_MAX = 2**31 - 1


def compiled_training_settings(neural_network_kwargs: dict) -> dict | None:
    """The full network settings for ``neural_network_kwargs`` when the C++ trainer reproduces them, else None.

    Settings are normalised as scikit-learn reads them (a bare int of hidden units is one layer; ``n_iter_no_change``
    beyond ``max_iter`` never stops a run, so it is capped there) and checked by scikit-learn's own parameter
    validation, so invalid values raise scikit-learn's error here too.
    """
    settings = {**_SKLEARN_DEFAULTS, **NAUTILUS_NETWORK_DEFAULTS, **neural_network_kwargs}
    batch_size = settings["batch_size"]
    if (set(settings) - _TRAINER_ARGUMENTS or settings["activation"] != "relu" or settings["solver"] != "adam"
            or not settings["shuffle"] or settings["early_stopping"]
            or not (batch_size == "auto" or isinstance(batch_size, numbers.Integral))):
        return None
    from sklearn.neural_network import MLPRegressor

    hidden = settings["hidden_layer_sizes"]
    settings["hidden_layer_sizes"] = (int(hidden),) if isinstance(hidden, numbers.Integral) else tuple(int(h) for h in hidden)
    validate = getattr(MLPRegressor(**{k: v for k, v in settings.items() if k != "random_state"}), "_validate_params", None)
    if validate is not None:  # scikit-learn's checks (types and ranges) before the C++ code sees the values
        validate()
    if min(settings["hidden_layer_sizes"], default=1) < 1:  # scikit-learn checks this only when fitting
        raise ValueError(f"hidden_layer_sizes must be > 0, got {settings['hidden_layer_sizes']}.")
    settings["max_iter"] = min(int(settings["max_iter"]), _INT32_MAX)
    settings["n_iter_no_change"] = int(min(settings["n_iter_no_change"], settings["max_iter"]))
    return settings


def _as_regressor(weights, biases, n_iter, loss, settings):
    """An ``MLPRegressor`` holding trained weights: what nautilus' emulator stores, writes and reads."""
    from sklearn.neural_network import MLPRegressor

    network = MLPRegressor(**{k: v for k, v in settings.items() if k != "random_state"})
    network.coefs_ = list(weights)
    network.intercepts_ = list(biases)
    network.n_layers_ = len(weights) + 1
    network.n_outputs_ = 1
    network.n_features_in_ = weights[0].shape[0]
    network.out_activation_ = "identity"
    network.n_iter_ = int(n_iter)
    network.loss_ = float(loss)
    return network


def _relu_network(network) -> bool:
    return getattr(network, "activation", None) == "relu" and getattr(network, "out_activation_", None) == "identity"


def _make_compiled_emulator():
    from nautilus.neural import NeuralNetworkEmulator

    class CompiledEmulator(NeuralNetworkEmulator):
        """nautilus' likelihood emulator, its networks trained and evaluated by galaxyfit's C++ kernels."""

        @classmethod
        def train(cls, x, y, n_networks=4, neural_network_kwargs={}, pool=None):  # noqa: B006 (nautilus' signature)
            settings = compiled_training_settings(neural_network_kwargs)
            if settings is None:
                return super().train(x, y, n_networks=n_networks, neural_network_kwargs=neural_network_kwargs, pool=pool)
            if "random_state" in neural_network_kwargs:
                warnings.warn("The 'random_state' keyword argument passed to the neural network is ignored.", stacklevel=2)
            emulator = cls()
            emulator.mean = np.mean(x, axis=0)
            emulator.scale = np.std(x, axis=0)
            x_t = (x - emulator.mean) / emulator.scale
            y = np.asarray(y, dtype=float)
            batch_size = 200 if settings["batch_size"] == "auto" else int(settings["batch_size"])
            emulator.neural_networks = []
            for seed in range(n_networks):  # nautilus seeds network i with random_state=i
                trained = _core.train_mlp_regressor(
                    x_t, y, list(settings["hidden_layer_sizes"]), float(settings["alpha"]),
                    float(settings["learning_rate_init"]), batch_size, settings["max_iter"],
                    settings["n_iter_no_change"], float(settings["tol"]), float(settings["beta_1"]),
                    float(settings["beta_2"]), float(settings["epsilon"]), seed)
                emulator.neural_networks.append(_as_regressor(*trained, settings))
            return emulator

        def predict(self, x):
            x_t = (np.atleast_2d(x) - self.mean) / self.scale
            return np.mean([_core.mlp_predict(network.coefs_, network.intercepts_, x_t) if _relu_network(network)
                            else network.predict(x_t) for network in self.neural_networks], axis=0)

    # Pickled by name: nautilus' sampler pool sends bounds, emulators included, to other processes.
    CompiledEmulator.__module__, CompiledEmulator.__qualname__ = __name__, "CompiledEmulator"
    return CompiledEmulator


def __getattr__(name):
    # The class derives from nautilus' and so is made on first use (importing galaxyfit does not import nautilus and
    # scikit-learn); a process that unpickles a bound finds it here by name.
    if name == "CompiledEmulator":
        globals()[name] = _make_compiled_emulator()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def minimum_volume_enclosing_ellipsoid(points, n_max=100, n_batch=20):
    """nautilus' ``minimum_volume_enclosing_ellipsoid`` with its Khachiyan weights computed in C++.

    points (n_points, n_dim) -> (c (n_dim,), A (n_dim, n_dim), A_inv): the ellipsoid (x - c)^T A (x - c) <= 1 with
    centre and shape the weighted mean and covariance of the points under the weights (Todd & Yildirim 2007), scaled
    so that every point lies inside. The weights are computed on the points standardised per dimension (the
    iteration is invariant under affine maps in exact arithmetic, and this keeps its matrices well conditioned for
    live sets far narrower than their distance from the origin); should that still fail (points in a subspace),
    nautilus' own function, which carries on past a failed factorisation, is used.
    """
    points = np.asarray(points, dtype=float)
    spread = np.std(points, axis=0)
    standardised = (points - np.mean(points, axis=0)) / np.where(spread > 0, spread, 1.0)
    try:
        u = _core.mvee_weights(standardised, int(n_max), int(n_batch))
    except RuntimeError:
        import nautilus.bounds.basic as basic

        nautilus_own = _nautilus_functions[0] if _nautilus_functions else basic.minimum_volume_enclosing_ellipsoid
        return nautilus_own(points, n_max, n_batch)
    c = np.atleast_1d(np.average(points, weights=u, axis=0))
    a_inv = np.atleast_2d(np.cov(points, aweights=u, rowvar=False, bias=True))
    a = np.linalg.inv(a_inv)
    d = points - c
    outermost = np.amax(np.einsum("...i,ij,...j", d, a, d))
    return c, a / outermost, a_inv * outermost


_lock = threading.Lock()
_depth = 0
_nautilus_functions: tuple = ()  # nautilus' own (minimum_volume_enclosing_ellipsoid, NeuralNetworkEmulator)


@contextmanager
def compiled_bound_kernels():
    """Run nautilus with galaxyfit's C++ bound kernels inside this block (nested use is fine).

    The swap is process-wide while a block is open: nautilus runs in other threads use the kernels too.

    Raises RuntimeError when the installed nautilus lacks the functions this replaces (a version whose internals
    changed); ``Nautilus(compiled_bounds=False)`` then runs nautilus unchanged.
    """
    global _depth, _nautilus_functions
    import nautilus.bounds.basic as basic
    import nautilus.bounds.neural as neural

    with _lock:
        if _depth == 0:
            if not (callable(getattr(basic, "minimum_volume_enclosing_ellipsoid", None))
                    and hasattr(neural, "NeuralNetworkEmulator")):
                raise RuntimeError("this nautilus version has no bounds.basic.minimum_volume_enclosing_ellipsoid or "
                                   "bounds.neural.NeuralNetworkEmulator; run Nautilus(compiled_bounds=False)")
            _nautilus_functions = (basic.minimum_volume_enclosing_ellipsoid, neural.NeuralNetworkEmulator)
            basic.minimum_volume_enclosing_ellipsoid = minimum_volume_enclosing_ellipsoid
            neural.NeuralNetworkEmulator = __getattr__("CompiledEmulator")
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                basic.minimum_volume_enclosing_ellipsoid, neural.NeuralNetworkEmulator = _nautilus_functions
