"""Searches: nested sampling (nautilus, default; dynesty; MultiNest), MCMC (emcee; NUTS on exact gradients) and a
Levenberg-Marquardt optimiser. Each runs ``search.fit(model, analysis) -> Result`` on one compiled, vmapped likelihood."""

from galaxyfit.search.checks import UntrustedResultWarning
from galaxyfit.search.dynesty import Dynesty
from galaxyfit.search.emcee import Emcee
from galaxyfit.search.lm import LevenbergMarquardt
from galaxyfit.search.multinest import MultiNest, MultiNestUnavailable
from galaxyfit.search.nautilus import Nautilus
from galaxyfit.search.nuts import NUTS
from galaxyfit.search.problem import FitProblem
from galaxyfit.search.result import Result
from galaxyfit.search.samples import Samples

SEARCHES = {"nautilus": Nautilus, "dynesty": Dynesty, "emcee": Emcee, "nuts": NUTS, "multinest": MultiNest, "lm": LevenbergMarquardt}

__all__ = ["Dynesty", "Emcee", "FitProblem", "LevenbergMarquardt", "MultiNest", "MultiNestUnavailable", "NUTS", "Nautilus", "Result", "SEARCHES", "Samples", "UntrustedResultWarning"]
