"""Searches on a Gaussian likelihood inside a uniform box prior, whose evidence and posterior are known in closed
form: the default nested search reproduces ln Z within 3 times its quoted error, and NUTS reproduces the posterior's
mean and covariance, converges (R-hat), and resumes from its checkpoint (after an exception, or a SIGKILL of its
process) with the draws of an uninterrupted run. Also the unconstrained space NUTS moves in, against finite
differences."""

import math
import shutil

import jax.numpy as jnp
import numpy as np
import pytest

import galaxyfit as gf
from galaxyfit.errors import SearchError
from galaxyfit.model import Collection, Model, UniformPrior
from galaxyfit.model.priors import GaussianPrior, LogUniformPrior, TruncatedGaussianPrior
from galaxyfit.search import FitProblem, Nautilus
from galaxyfit.search.checkpoint import _sidecar
from galaxyfit.search.nuts import NUTS, UnconstrainedSpace

pytestmark = pytest.mark.usefixtures("jax_float64")

# the box: centre in [-1, 1]^2, intensity in [0, 2] (volume 8); a Gaussian well inside it
LOWER, UPPER = np.array([-1.0, -1.0, 0.0]), np.array([1.0, 1.0, 2.0])
MEAN = np.array([0.1, -0.2, 1.1])
SIGMA = np.array([0.05, 0.1, 0.2])
CORRELATION = 0.8  # between the two centre coordinates (NUTS test only)


def box_model():
    gaussian = Model(gf.lp.Gaussian, centre=(UniformPrior(-1.0, 1.0), UniformPrior(-1.0, 1.0)), ell_comps=(0.0, 0.0),
                     intensity=UniformPrior(0.0, 2.0), sigma=1.0)
    return Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, light=gaussian)))


class GaussianAnalysis:
    """ln L = ln N(theta; MEAN, covariance), normalised, of theta = (centre_0, centre_1, intensity): a likelihood
    with the interface FitProblem and the optimiser use, and nothing else."""

    def __init__(self, correlation=0.0):
        self.covariance = np.diag(SIGMA**2)
        self.covariance[0, 1] = self.covariance[1, 0] = correlation * SIGMA[0] * SIGMA[1]
        self.whitening = np.linalg.inv(np.linalg.cholesky(self.covariance))
        self.log_norm = -0.5 * (3 * math.log(2 * math.pi) + math.log(np.linalg.det(self.covariance)))

    def _residuals(self, instance):
        light = instance.galaxies.galaxy.light
        theta = jnp.stack([light.centre[0], light.centre[1], light.intensity])
        return jnp.asarray(self.whitening) @ (theta - jnp.asarray(MEAN))

    def log_likelihood_function(self, instance):
        r = self._residuals(instance)
        return self.log_norm - 0.5 * jnp.sum(r * r)

    def normalized_residuals_function(self, instance):
        return self._residuals(instance), jnp.asarray(True)


def analytic_log_evidence():
    """ln Z = ln(mass of the diagonal Gaussian inside the box) - ln(box volume)."""
    mass = 1.0
    for lo, hi, mu, s in zip(LOWER, UPPER, MEAN, SIGMA):
        mass *= 0.5 * (math.erf((hi - mu) / (s * math.sqrt(2))) - math.erf((lo - mu) / (s * math.sqrt(2))))
    return math.log(mass) - float(np.sum(np.log(UPPER - LOWER)))


def test_default_nested_search_reproduces_the_analytic_evidence():
    problem = FitProblem(box_model(), GaussianAnalysis())
    expected = analytic_log_evidence()
    assert abs(expected - (-math.log(8.0))) < 1e-5  # the Gaussian lies well inside the box (4.5 sigma from a wall)
    search = Nautilus(progress=False, check=False)  # the default search's settings
    samples, _ = search._run(problem)
    assert abs(samples.log_evidence - expected) <= 3 * samples.log_evidence_error, (samples.log_evidence, samples.log_evidence_error, expected)
    mean = np.average(samples.parameters, axis=0, weights=samples.weights)
    assert np.all(np.abs(mean - MEAN) < 0.05 * SIGMA * 10)


@pytest.fixture(scope="module")
def nuts_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nuts")
    problem = FitProblem(box_model(), GaussianAnalysis(CORRELATION))
    search = NUTS(n_warmup=200, n_samples=400, n_chains=4, seed=5, progress=False, check=False,
                  filepath=str(folder / "reference.pickle"), checkpoint_every=100)
    with gf.float64():  # (fit() enters it; _run is called directly here, from a module-scoped fixture)
        samples, extra = search._run(problem)
    return problem, samples, extra, folder


def test_nuts_reproduces_the_analytic_posterior(nuts_run):
    problem, samples, extra, _ = nuts_run
    analysis = problem.analysis
    stats = extra["search"]
    assert stats["max_r_hat"] <= 1.01 and stats["min_ess"] >= 400, stats
    assert stats["divergences"] == 0
    assert samples.log_evidence is None  # NUTS gives none
    assert samples.parameters.shape == (1600, 3)
    ess = np.array([stats["ess"][name] for name in problem.model.parameter_names])
    mean = samples.parameters.mean(axis=0)
    # the sample mean is within 4 Monte Carlo standard errors (sigma / sqrt(ESS)) of the truth
    assert np.all(np.abs(mean - MEAN) < 4 * SIGMA / np.sqrt(ess)), (mean, MEAN)
    covariance = np.cov(samples.parameters.T)
    assert np.allclose(np.sqrt(np.diag(covariance)), SIGMA, rtol=0.12)
    correlation = covariance[0, 1] / math.sqrt(covariance[0, 0] * covariance[1, 1])
    assert abs(correlation - CORRELATION) < 0.05
    # ln L of each draw is the likelihood at that draw
    direct = np.array([float(analysis.log_likelihood_function(problem.model.instance_from_vector(v))) for v in samples.parameters[:20]])
    assert np.allclose(samples.log_likelihood[:20], direct, rtol=1e-12, atol=1e-10)


def test_nuts_resumes_from_its_checkpoint_with_the_same_draws(nuts_run, monkeypatch):
    problem, reference, _, folder = nuts_run
    checkpoint = folder / "interrupted.pickle"
    search = NUTS(n_warmup=200, n_samples=400, n_chains=4, seed=5, progress=False, check=False,
                  filepath=str(checkpoint), checkpoint_every=100)
    written = []
    original = NUTS._write_checkpoint

    def write_then_die(self, saved):
        original(self, saved)
        written.append(sum(len(d) for d in saved["draws"]))
        if written[-1] == 200:  # killed after two of four blocks
            raise KeyboardInterrupt

    monkeypatch.setattr(NUTS, "_write_checkpoint", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        search._run(FitProblem(box_model(), GaussianAnalysis(CORRELATION)))
    monkeypatch.setattr(NUTS, "_write_checkpoint", original)
    samples, extra = search._run(FitProblem(box_model(), GaussianAnalysis(CORRELATION)))
    assert extra["search"]["resumed"] == "checkpoint"
    assert np.array_equal(samples.parameters, reference.parameters)


def test_a_damaged_nuts_checkpoint_is_named_not_resumed(nuts_run):
    """A checkpoint whose fingerprint matches but whose pickle is garbage or cut short (a full disk, a copy stopped
    half-way) stops with a SearchError naming the file and what to do, not a traceback from pickle."""
    problem, _, _, folder = nuts_run
    reference = folder / "reference.pickle"
    for name, content in (("garbage.pickle", b"not a pickle at all"),
                          ("truncated.pickle", reference.read_bytes()[: reference.stat().st_size // 2])):
        damaged = folder / name
        damaged.write_bytes(content)
        shutil.copy(_sidecar(reference), _sidecar(damaged))  # the same fit: the fingerprint matches
        search = NUTS(n_warmup=200, n_samples=400, n_chains=4, seed=5, progress=False, check=False,
                      filepath=str(damaged), checkpoint_every=100)
        with pytest.raises(SearchError, match=f"cannot resume from checkpoint .*{name}: it is damaged .*delete it"):
            search._run(FitProblem(box_model(), GaussianAnalysis(CORRELATION)))


def test_nuts_arguments_are_checked():
    for bad in ({"n_samples": 0}, {"target_accept": 1.0}, {"chain_method": "parallel"}, {"n_chains": 1.5}):
        with pytest.raises(SearchError):
            NUTS(**bad)


@pytest.mark.parametrize("prior", [UniformPrior(-2.0, 3.0), LogUniformPrior(1e-3, 10.0), GaussianPrior(1.0, 0.5),
                                   TruncatedGaussianPrior(0.5, 1.0, 0.0, math.inf), TruncatedGaussianPrior(0.5, 0.2, 0.0, 1.0)])
def test_unconstrained_space_is_the_prior_with_its_jacobian(prior):
    """theta(z) inverts z(theta); the density terms equal ln p(theta(z)) + ln |dtheta/dz| up to a constant
    (central differences of theta(z)); dz_dtheta is the inverse of that derivative."""
    space = UnconstrainedSpace([prior])
    z = np.linspace(-4.0, 4.0, 17)
    theta = np.asarray(space.physical(jnp.asarray(z[:, None])))[:, 0]
    back = np.array([space.unconstrained([t])[0] for t in theta])
    assert np.allclose(back, z, atol=1e-7)
    h = 1e-5
    slope = (np.asarray(space.physical(jnp.asarray(z[:, None] + h)))[:, 0] - np.asarray(space.physical(jnp.asarray(z[:, None] - h)))[:, 0]) / (2 * h)
    density = np.array([float(prior.log_prior(np.float64(t))) for t in theta]) + np.log(slope)
    terms = np.asarray(space.log_jacobian(jnp.asarray(z[:, None])))
    assert np.allclose(terms - density, (terms - density)[0], atol=1e-6)
    inverse = np.array([space.dz_dtheta([t])[0] for t in theta])
    assert np.allclose(inverse * slope, 1.0, rtol=1e-6)


KILLED_RUN = r'''
import sys
sys.path.insert(0, sys.argv[1])
import galaxyfit as gf
from galaxyfit.search import FitProblem
from galaxyfit.search.nuts import NUTS
from test_analytic_gaussian import CORRELATION, GaussianAnalysis, box_model

search = NUTS(n_warmup=200, n_samples=400, n_chains=4, seed=5, progress=False, check=False, filepath=sys.argv[2],
              checkpoint_every=100)
with gf.float64():
    search._run(FitProblem(box_model(), GaussianAnalysis(CORRELATION)))
print("DONE")
'''


def test_nuts_killed_by_sigkill_resumes_with_the_same_draws(nuts_run, tmp_path):
    """A NUTS run killed (SIGKILL) after its first checkpoint resumes to the draws of an uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    _, reference, _, _ = nuts_run
    script, checkpoint = tmp_path / "killed_run.py", tmp_path / "killed.pickle"
    script.write_text(KILLED_RUN)
    env = {**os.environ, "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}
    process = subprocess.Popen([sys.executable, str(script), str(Path(__file__).parent), str(checkpoint)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None and not checkpoint.exists():
        time.sleep(0.02)
    killed = process.poll() is None
    if killed:
        process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate()
    assert checkpoint.exists(), stderr[-2000:]
    search = NUTS(n_warmup=200, n_samples=400, n_chains=4, seed=5, progress=False, check=False, filepath=str(checkpoint),
                  checkpoint_every=100)
    samples, extra = search._run(FitProblem(box_model(), GaussianAnalysis(CORRELATION)))
    assert extra["search"]["resumed"] == "checkpoint"
    assert killed  # (the run was stopped mid-way, not after it finished)
    assert np.array_equal(samples.parameters, reference.parameters)
