"""galaxyfit's C++ versions of nautilus' bound kernels (galaxyfit.search.nautilus_kernels) against nautilus' and
scikit-learn's own code, and nautilus run with them."""

import numpy as np
import pytest

from galaxyfit import _core
from galaxyfit.search.nautilus_kernels import compiled_bound_kernels, compiled_training_settings, minimum_volume_enclosing_ellipsoid

ADAM = dict(alpha=0.0, learning_rate=1e-2, batch_size=200, max_iter=10000, n_iter_no_change=10, tol=0.0, beta_1=0.9,
            beta_2=0.999, epsilon=1e-8)


def test_network_without_hidden_layers_is_least_squares():
    """With no hidden layer the network is y = x w + b, whose loss minimum is the least-squares solution."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(700, 4))
    y = x @ np.array([0.5, -1.0, 2.0, 0.25]) + 0.3 + 0.01 * rng.normal(size=700)
    weights, biases, epochs, loss = _core.train_mlp_regressor(x, y, [], seed=0, **{**ADAM, "learning_rate": 1e-3, "max_iter": 3000})
    exact, *_ = np.linalg.lstsq(np.column_stack([x, np.ones(len(x))]), y, rcond=None)
    np.testing.assert_allclose(weights[0][:, 0], exact[:4], atol=2e-3)
    assert biases[0][0] == pytest.approx(exact[4], abs=2e-3)
    assert loss == pytest.approx(0.5 * np.mean((x @ exact[:4] + exact[4] - y) ** 2), rel=0.1)
    assert 10 < epochs < 3000


def test_network_training_matches_scikit_learn():
    """The (32, 16) emulator network on a nautilus-like score (a smooth function of 10 coordinates): the C++ trainer
    reaches the loss scikit-learn's MLPRegressor reaches with the same settings (a wrong back-propagation through the
    hidden layers would not), in a similar number of epochs; predictions of the same weights agree to rounding."""
    from sklearn.neural_network import MLPRegressor

    rng = np.random.default_rng(2)
    x = rng.normal(size=(2000, 10))
    y = 1.0 / (1.0 + np.exp(np.sum(x**2 * np.linspace(0.2, 1.0, 10), axis=1) - 5.0))
    ours, theirs = [], []
    for seed in range(3):
        weights, biases, epochs, _ = _core.train_mlp_regressor(x, y, [32, 16], seed=seed, **ADAM)
        ours.append((np.mean((_core.mlp_predict(weights, biases, x) - y) ** 2), epochs))
        net = MLPRegressor(hidden_layer_sizes=(32, 16), alpha=0, learning_rate_init=1e-2, max_iter=10000, tol=0,
                           n_iter_no_change=10, random_state=seed).fit(x, y)
        theirs.append((np.mean((net.predict(x) - y) ** 2), net.n_iter_))
    ours, theirs = np.array(ours), np.array(theirs)
    assert np.median(ours[:, 0]) < 1.5 * np.median(theirs[:, 0]), (ours, theirs)
    assert np.median(ours[:, 0]) < 0.1 * np.var(y)  # the best linear fit leaves 0.997 of the variance
    assert 0.3 < np.median(ours[:, 1]) / np.median(theirs[:, 1]) < 3, (ours, theirs)
    net.coefs_, net.intercepts_ = weights, biases
    np.testing.assert_allclose(_core.mlp_predict(weights, biases, x), net.predict(x), rtol=0, atol=1e-14)


def test_network_training_is_deterministic_and_checks_input():
    x = np.random.default_rng(3).normal(size=(300, 3))
    y = np.sin(x[:, 0])
    first = _core.train_mlp_regressor(x, y, [8], seed=5, **ADAM)
    again = _core.train_mlp_regressor(x, y, [8], seed=5, **ADAM)
    other = _core.train_mlp_regressor(x, y, [8], seed=6, **ADAM)
    np.testing.assert_array_equal(first[0][0], again[0][0])
    assert not np.array_equal(first[0][0], other[0][0])
    with pytest.raises(ValueError, match="one value per row of x"):
        _core.train_mlp_regressor(x, y[:-1], [8], seed=0, **ADAM)
    with pytest.raises(ValueError, match="hidden layer sizes must be positive"):
        _core.train_mlp_regressor(x, y, [0], seed=0, **ADAM)
    with pytest.raises(ValueError, match="x has 2 features, the network 3"):
        _core.mlp_predict(first[0], first[1], x[:, :2])


def test_minimum_volume_ellipsoid_matches_nautilus():
    """Same iteration as nautilus' numpy code, so the same ellipsoid to rounding, for 1 to 13 dimensions."""
    from nautilus.bounds.basic import minimum_volume_enclosing_ellipsoid as nautilus_mvee

    rng = np.random.default_rng(4)
    for n_dim in (1, 2, 5, 13):
        points = rng.normal(size=(200, n_dim)) @ rng.normal(size=(n_dim, n_dim)) + rng.normal(size=n_dim)
        c, a, a_inv = minimum_volume_enclosing_ellipsoid(points)
        c_ref, a_ref, a_inv_ref = nautilus_mvee(points)
        np.testing.assert_allclose(c, c_ref, rtol=1e-9, atol=1e-9 * np.abs(points).max())
        np.testing.assert_allclose(a, a_ref, rtol=1e-8, atol=1e-9 * np.abs(a_ref).max())
        np.testing.assert_allclose(a_inv, a_inv_ref, rtol=1e-8, atol=1e-9 * np.abs(a_inv_ref).max())
        d = points - c
        assert np.einsum("...i,ij,...j", d, a, d).max() == pytest.approx(1.0, rel=1e-10)  # all inside, one on it
    points = rng.normal(size=(200, 4))
    np.testing.assert_allclose(minimum_volume_enclosing_ellipsoid(points, n_batch=0)[1], nautilus_mvee(points, n_batch=0)[1], rtol=1e-8)
    with pytest.raises(ValueError, match="more points"):
        _core.mvee_weights(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="must not be negative"):
        _core.mvee_weights(points, 100, -5)
    with pytest.raises(RuntimeError, match="not positive definite"):
        _core.mvee_weights(np.zeros((10, 2)))


@pytest.mark.parametrize("offset, spread, n_dim", [(0.5, 1e-7, 13), (1e6, 1e-3, 5), (1e4, 1e-2, 3)])
def test_minimum_volume_ellipsoid_of_a_narrow_distant_live_set(offset, spread, n_dim):
    """A live set far narrower than its distance from the origin (late in a run). The iteration is affine invariant,
    so the reference is nautilus' function on the standardised points, mapped back; nautilus' function on the raw
    points loses digits to conditioning here (its centre is off by up to ~50 % of the spread at 1e-7) and the C++
    iteration on raw points fails its Cholesky factorisation."""
    from nautilus.bounds.basic import minimum_volume_enclosing_ellipsoid as nautilus_mvee

    points = offset + spread * np.random.default_rng(6).normal(size=(400, n_dim))
    mean, std = points.mean(axis=0), points.std(axis=0)
    c_s, a_s, _ = nautilus_mvee((points - mean) / std)
    c_ref, a_ref = mean + std * c_s, a_s / np.outer(std, std)
    c, a, a_inv = minimum_volume_enclosing_ellipsoid(points)
    np.testing.assert_allclose(c, c_ref, rtol=0, atol=1e-8 * spread + 1e-15 * offset)
    # deviations of 1e-3 at 1e6 carry ~1e-7 relative precision in float64: the shapes agree to that
    np.testing.assert_allclose(a, a_ref, rtol=1e-6, atol=1e-9 * np.abs(a_ref).max())
    np.testing.assert_allclose(a @ a_inv, np.eye(n_dim), atol=1e-8)
    d = points - c
    assert np.einsum("...i,ij,...j", d, a, d).max() == pytest.approx(1.0, rel=1e-8)
    if spread < 1e-6:  # what the standardisation avoids
        with pytest.raises(RuntimeError, match="not positive definite"):
            _core.mvee_weights(points)


def test_minimum_volume_ellipsoid_of_points_in_a_subspace_is_nautilus_own():
    from nautilus.bounds.basic import minimum_volume_enclosing_ellipsoid as nautilus_mvee

    points = np.random.default_rng(7).normal(size=(50, 3))
    points[:, 2] = points[:, 0] + points[:, 1]
    with np.errstate(all="ignore"):
        ours, theirs = minimum_volume_enclosing_ellipsoid(points), nautilus_mvee(points)
    for x, y in zip(ours, theirs):
        np.testing.assert_array_equal(x, y)


def test_network_settings_are_read_as_scikit_learn_reads_them():
    assert compiled_training_settings({"hidden_layer_sizes": (32, 16)})["learning_rate_init"] == 1e-2  # nautilus' default
    assert compiled_training_settings({"hidden_layer_sizes": 8})["hidden_layer_sizes"] == (8,)
    assert compiled_training_settings({"n_iter_no_change": np.inf, "max_iter": 50})["n_iter_no_change"] == 50
    assert compiled_training_settings({"batch_size": np.int64(64)})["batch_size"] == 64
    for kwargs in ({"tol": -1.0}, {"alpha": -1.0}, {"n_iter_no_change": 0}, {"beta_1": 1.0}, {"hidden_layer_sizes": (0,)}):
        with pytest.raises(ValueError):
            compiled_training_settings(kwargs)
    for kwargs in ({"solver": "lbfgs"}, {"activation": "tanh"}, {"early_stopping": True}, {"shuffle": False},
                   {"learning_rate": "adaptive"}, {"batch_size": "all"}):  # not the C++ trainer's algorithm
        assert compiled_training_settings(kwargs) is None, kwargs


def test_emulator_pickles_for_nautilus_pool():
    """nautilus' sampler pool sends bounds, emulators included, to other processes by pickling them."""
    import pickle

    from galaxyfit.search import nautilus_kernels

    x = np.random.default_rng(8).normal(size=(400, 3))
    emulator = nautilus_kernels.CompiledEmulator.train(x, np.exp(-np.sum(x**2, axis=1)), n_networks=2,
                                                       neural_network_kwargs={"hidden_layer_sizes": (16,)})
    copy = pickle.loads(pickle.dumps(emulator))
    assert type(copy) is nautilus_kernels.CompiledEmulator
    np.testing.assert_array_equal(copy.predict(x), emulator.predict(x))


def test_nautilus_with_compiled_kernels_finds_both_modes_and_resumes(tmp_path):
    """nautilus on two separated modes with and without the swapped kernels: the same evidence (Z = 1 on the unit
    square) and equal mode weights; a run resumed from its checkpoint reads the trained networks back and predicts
    as before; nautilus' own functions are back in place afterwards."""
    import nautilus
    import nautilus.bounds.basic as basic
    import nautilus.bounds.neural as neural
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    originals = (basic.minimum_volume_enclosing_ellipsoid, neural.NeuralNetworkEmulator)
    modes = [multivariate_normal(mean=[0.25, 0.25, 0.5], cov=0.03**2), multivariate_normal(mean=[0.75, 0.75, 0.5], cov=0.03**2)]

    def log_likelihood(x):
        return logsumexp([m.logpdf(x) for m in modes], axis=0) - np.log(2)

    def run(filepath=None):
        sampler = nautilus.Sampler(lambda u: u, log_likelihood, n_dim=3, n_live=200, n_networks=1, vectorized=True, seed=3,
                                   neural_network_kwargs={"hidden_layer_sizes": (16,)}, n_points_min=101,
                                   filepath=filepath, resume=filepath is not None)
        sampler.run(n_eff=2000, verbose=False)
        points, log_w, _ = sampler.posterior()
        w = np.exp(log_w - log_w.max())
        return sampler, w[points[:, 0] < 0.5].sum() / w.sum()

    plain, plain_first = run()
    checkpoint = str(tmp_path / "cp.hdf5")
    with compiled_bound_kernels():
        assert neural.NeuralNetworkEmulator is not originals[1]
        compiled, compiled_first = run(checkpoint)
        resumed = nautilus.Sampler(lambda u: u, log_likelihood, n_dim=3, n_live=200, n_networks=1, vectorized=True,
                                   seed=3, neural_network_kwargs={"hidden_layer_sizes": (16,)}, n_points_min=101,
                                   filepath=checkpoint, resume=True)
        emulator = compiled.bounds[-1].neural_bounds[0].emulator
        assert type(emulator).__name__ == "CompiledEmulator"
        probe = np.random.default_rng(5).uniform(size=(500, 3))
        for before, after in zip(compiled.bounds[1:], resumed.bounds[1:]):
            np.testing.assert_array_equal(before.contains(probe), after.contains(probe))
    assert (basic.minimum_volume_enclosing_ellipsoid, neural.NeuralNetworkEmulator) == originals
    for log_z, first in ((plain.log_z, plain_first), (compiled.log_z, compiled_first)):
        assert abs(log_z) < 0.1
        assert abs(first - 0.5) < 0.05


def test_search_says_when_its_networks_fall_back_to_scikit_learn():
    import warnings

    from galaxyfit.search import Nautilus

    with pytest.warns(UserWarning, match="trained by scikit-learn"):
        Nautilus(neural_network_kwargs={"hidden_layer_sizes": (16,), "solver": "lbfgs"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Nautilus()  # the default networks use the C++ trainer: no warning
        Nautilus(compiled_bounds=False, neural_network_kwargs={"solver": "lbfgs"})  # nautilus unchanged, as asked
    with pytest.raises(ValueError):
        Nautilus(neural_network_kwargs={"tol": -1.0})


def test_the_default_networks_are_the_compiled_trainers():
    """Nautilus() does not check its default network settings at construction (that imports scikit-learn): they must
    be ones the C++ trainer reproduces."""
    from galaxyfit.search.nautilus import NEURAL_NETWORK_KWARGS
    from galaxyfit.search.nautilus_kernels import compiled_training_settings

    assert compiled_training_settings(NEURAL_NETWORK_KWARGS) is not None
