"""galaxyfit's version, found without importing JAX or importlib.metadata (``import galaxyfit`` stays cheap).

Where it comes from, first match wins:

1. ``galaxyfit/_build_version.py``, which scikit-build-core writes into every wheel (``[[tool.scikit-build.generate]]``
   in pyproject.toml) with the version setuptools-scm derived from ``git describe`` (or, building from an sdist, from
   its PKG-INFO). It exists only in an installed wheel, never in the work tree.
2. The git repository around the work tree (the dev setup, where ``python/galaxyfit`` is imported through a .pth and
   the installed metadata may be stale): ``git describe``, turned into a PEP 440 version the way setuptools-scm's
   default scheme does (``guess-next-dev`` with the ``node-and-date`` local part), e.g. ``0.1.dev142+g05bd4b8`` with no
   tag, ``0.2.1.dev3+g05bd4b8.d20261207`` three commits after tag ``v0.2.0`` with uncommitted changes.
3. The installed distribution's metadata (``importlib.metadata``), e.g. a package copied without the generated file.
4. ``"unknown"`` -- never an exception at import.
"""

from __future__ import annotations

import os

__all__ = ["__version__", "version_from_git", "version_source"]


def _run_git(root: str, *args: str) -> str | None:
    import subprocess  # only in the dev setup: an installed wheel never runs git

    try:
        result = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, timeout=10,
                                stdin=subprocess.DEVNULL, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _next_release(tag_version: str) -> str:
    # guess-next-dev: the dev version counts towards the next patch release of the newest tag.
    parts = tag_version.split(".")
    parts[-1] = str(int(parts[-1]) + 1)
    return ".".join(parts)


def version_from_git(root) -> str | None:
    """The PEP 440 version of the git work tree at ``root`` (a path; None where it is not one or git is missing).

    Tags are ``vX.Y.Z``. On a tag with no uncommitted change: ``X.Y.Z``; else ``X.Y.(Z+1).devN+gHASH`` (N commits after
    the tag; ``0.1.devN`` with no tag, N counting every commit) and ``.dYYYYMMDD`` (today, UTC) after the hash when
    tracked files have uncommitted changes -- setuptools-scm's default scheme, so a wheel built from the same commit
    says the same.
    """
    import datetime
    import re

    root = os.fspath(root)
    # --always: with no vX.Y.Z tag this prints the abbreviated hash (plus -dirty) instead of failing.
    described = _run_git(root, "describe", "--tags", "--long", "--dirty", "--always", "--abbrev=40",
                         "--match", "v[0-9]*")
    if described is None:
        return None
    dirty = described.endswith("-dirty")
    tagged = re.fullmatch(r"v(\d+(?:\.\d+)*)-(\d+)-g([0-9a-f]+)(?:-dirty)?", described)
    if tagged is not None:
        tag, distance, node = tagged.group(1), int(tagged.group(2)), tagged.group(3)
        if distance == 0 and not dirty:
            return tag
        base = f"{_next_release(tag)}.dev{distance}"
    else:
        untagged = re.fullmatch(r"([0-9a-f]+)(?:-dirty)?", described)
        count = _run_git(root, "rev-list", "--count", "HEAD")
        if untagged is None or count is None:
            return None
        node, base = untagged.group(1), f"0.1.dev{count}"
    local = f"g{node[:9]}"  # setuptools-scm's node: "g" and 9 hex digits
    if dirty:
        local += datetime.datetime.now(datetime.timezone.utc).strftime(".d%Y%m%d")
    return f"{base}+{local}"


def _find_version() -> tuple[str, str]:
    try:
        from galaxyfit._build_version import version  # written into the wheel by scikit-build-core

        return version, "wheel"
    except ImportError:
        pass
    # python/galaxyfit -> the repository root in the dev setup
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if os.path.exists(os.path.join(root, ".git")) and os.path.isfile(os.path.join(root, "pyproject.toml")):
        found = version_from_git(root)
        if found is not None:
            return found, "git"
    try:
        from importlib.metadata import version

        return version("galaxyfit"), "metadata"
    except Exception:  # noqa: BLE001  (a broken install must still import; the version then says so)
        return "unknown", "unknown"


__version__, _source = _find_version()


def version_source() -> str:
    """Where ``__version__`` came from: ``"wheel"``, ``"git"`` (dev work tree), ``"metadata"`` or ``"unknown"``."""
    return _source
