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

import threading
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


def compiled_training_settings(neural_network_kwargs: dict) -> dict | None:
    """The full network settings for ``neural_network_kwargs`` when the C++ trainer reproduces them, else None."""
    settings = {**_SKLEARN_DEFAULTS, **NAUTILUS_NETWORK_DEFAULTS, **neural_network_kwargs}
    if (set(settings) - _TRAINER_ARGUMENTS or settings["activation"] != "relu" or settings["solver"] != "adam"
            or not settings["shuffle"] or settings["early_stopping"]
            or not (settings["batch_size"] == "auto" or isinstance(settings["batch_size"], int))):
        return None
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


def _emulator_class():
    from nautilus.neural import NeuralNetworkEmulator

    class CompiledEmulator(NeuralNetworkEmulator):
        """nautilus' likelihood emulator, its networks trained and evaluated by galaxyfit's C++ kernels."""

        @classmethod
        def train(cls, x, y, n_networks=4, neural_network_kwargs={}, pool=None):  # noqa: B006 (nautilus' signature)
            settings = compiled_training_settings(neural_network_kwargs)
            if settings is None:
                return super().train(x, y, n_networks=n_networks, neural_network_kwargs=neural_network_kwargs, pool=pool)
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
                    float(settings["learning_rate_init"]), batch_size, int(settings["max_iter"]),
                    int(settings["n_iter_no_change"]), float(settings["tol"]), float(settings["beta_1"]),
                    float(settings["beta_2"]), float(settings["epsilon"]), seed)
                emulator.neural_networks.append(_as_regressor(*trained, settings))
            return emulator

        def predict(self, x):
            x_t = (np.atleast_2d(x) - self.mean) / self.scale
            return np.mean([_core.mlp_predict(network.coefs_, network.intercepts_, x_t) if _relu_network(network)
                            else network.predict(x_t) for network in self.neural_networks], axis=0)

    return CompiledEmulator


def minimum_volume_enclosing_ellipsoid(points, n_max=100, n_batch=20):
    """nautilus' ``minimum_volume_enclosing_ellipsoid`` with its Khachiyan weights computed in C++.

    points (n_points, n_dim) -> (c (n_dim,), A (n_dim, n_dim), A_inv): the ellipsoid (x - c)^T A (x - c) <= 1 with
    centre and shape the weighted mean and covariance of the points under the weights (Todd & Yildirim 2007), scaled
    so that every point lies inside.
    """
    points = np.asarray(points, dtype=float)
    u = _core.mvee_weights(points, int(n_max), int(n_batch))
    c = np.atleast_1d(np.average(points, weights=u, axis=0))
    a_inv = np.atleast_2d(np.cov(points, aweights=u, rowvar=False, bias=True))
    a = np.linalg.inv(a_inv)
    d = points - c
    scale = np.amax(np.einsum("...i,ij,...j", d, a, d))
    return c, a / scale, a_inv * scale


_lock = threading.Lock()
_depth = 0
_saved: tuple = ()


@contextmanager
def compiled_bound_kernels():
    """Run nautilus with galaxyfit's C++ bound kernels inside this block (nested use is fine).

    Raises RuntimeError when the installed nautilus lacks the functions this replaces (a version whose internals
    changed); ``Nautilus(compiled_bounds=False)`` then runs nautilus unchanged.
    """
    global _depth, _saved
    import nautilus.bounds.basic as basic
    import nautilus.bounds.neural as neural

    with _lock:
        if _depth == 0:
            if not (callable(getattr(basic, "minimum_volume_enclosing_ellipsoid", None))
                    and hasattr(neural, "NeuralNetworkEmulator")):
                raise RuntimeError("this nautilus version has no bounds.basic.minimum_volume_enclosing_ellipsoid or "
                                   "bounds.neural.NeuralNetworkEmulator; run Nautilus(compiled_bounds=False)")
            _saved = (basic.minimum_volume_enclosing_ellipsoid, neural.NeuralNetworkEmulator)
            basic.minimum_volume_enclosing_ellipsoid = minimum_volume_enclosing_ellipsoid
            neural.NeuralNetworkEmulator = _emulator_class()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                basic.minimum_volume_enclosing_ellipsoid, neural.NeuralNetworkEmulator = _saved
                _saved = ()
