"""The command line's argument types and checks (argparse types that name the rule they enforce), and the searches
it offers."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


#: The --model shorthand's names (galaxyfit.model.model_file.SHORTHAND: every light profile's class name in lower
#: case), written out so that --help need not import the profiles (and JAX); tests/test_cli.py checks they agree.
SHORTHAND_NAMES = ("sersic", "sersicsph", "exponential", "exponentialsph", "devvaucouleurs", "devvaucouleurssph", "sersiccore",
                   "sersiccoresph", "exponentialcore", "exponentialcoresph", "gaussian", "gaussiansph", "moffat", "moffatsph",
                   "elsonfreefall", "elsonfreefallsph", "chameleon", "chameleonsph", "pointsource")


def _or(value, default):
    return default if value is None else value


class UsageError(Exception):
    """A command-line argument that cannot work (reported like argparse's own errors, exit status 2)."""


def _check_output(output, flag: str) -> None:
    """The folder ``output`` must be creatable: neither it nor any existing parent may be a file."""
    if output is None:
        return
    if not str(output).strip():
        raise UsageError(f"{flag}: the folder name is empty")
    for path in (Path(output), *Path(output).parents):
        if path.exists():
            if not path.is_dir():
                raise UsageError(f"{flag} {output}: {path} is an existing file, not a folder")
            break
    # Made now, so a folder that cannot be written fails before the fit, not after it.
    try:
        Path(output).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{flag} {output}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(output, os.W_OK):
        raise UsageError(f"{flag} {output}: the folder is not writable")


def _finite_float(description: str, accept):
    """An argparse type: a finite float for which ``accept(value)`` holds; the message names the rule."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (accept(value) and value < float("inf")):
            raise argparse.ArgumentTypeError(f"must be {description}, got {text!r}")
        return value

    return parse


_positive_float = _finite_float("a finite positive number", lambda value: value > 0)
_finite_number = _finite_float("a finite number", lambda value: value > float("-inf"))


def _exposure_time(text: str):
    if text.strip().lower() == "header":
        return "header"
    try:
        return _positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a finite positive number of seconds or 'header', got {text!r}") from None


_exposure_time.__name__ = "exposure time"


_non_negative_float = _finite_float("a finite number >= 0", lambda value: value >= 0)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


_positive_int.__name__ = "positive integer"  # argparse names a type by __name__ in its messages


def _seed(text: str) -> int:
    from galaxyfit.errors import SearchError
    from galaxyfit.search.base import checked_seed

    try:
        return checked_seed(int(text))
    except (ValueError, SearchError):
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 4294967295, got {text!r}") from None


_seed.__name__ = "seed"


_SEARCH_TEXT = {
    "nautilus": "nautilus (nested sampling: posterior and evidence)",
    "lm": "lm (Levenberg-Marquardt: best fit, errors from the Jacobian)",
    "dynesty": "dynesty (nested sampling)",
    "emcee": "emcee (MCMC)",
    "nuts": "nuts (No-U-Turn Sampler on exact gradients from the LM optimum: posterior, R-hat, ESS; no evidence)",
    "multinest": "multinest (nested sampling; needs the MultiNest library)",
}


def _search_help(choices, default: str = "nautilus") -> str:
    return ", ".join(_SEARCH_TEXT[name] for name in choices) + f" (default {default})"


def _make_search(name: str, args):
    from galaxyfit.search import SEARCHES

    cls = SEARCHES[name]
    kwargs = {"progress": not args.quiet and name != "lm"}
    if getattr(args, "seed", None) is not None:
        kwargs["seed"] = args.seed
    if getattr(args, "n_live", None) is not None and name in ("nautilus", "dynesty", "multinest"):
        kwargs["n_live"] = args.n_live
    return cls(**kwargs)
