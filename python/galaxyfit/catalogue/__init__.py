"""Fitting whole catalogues on a Dask cluster: one fit per row, each a Dask task, resumable and idempotent.

```python
import galaxyfit as gf
from galaxyfit.search import LevenbergMarquardt

result = gf.fit_catalogue("catalogue.fits", gf.CutoutFiles("cutouts/", psf="psf.fits", pixel_scale=0.1),
                          model="sersic", search=LevenbergMarquardt(), output_path="run")   # client=... for a cluster
result.table; result.failures
```

Modules, one job each: ``table`` (read the catalogue, check its ids), ``datasets`` (``CutoutFiles``, ``LargeImage``:
row -> Imaging), ``models`` (``ShorthandModel``: priors from each cutout), ``task`` (the worker's function and its
record), ``ledger`` (the client's per-galaxy state, for resuming), ``summary`` (the summary table and quality
flags), ``cluster`` (the client, the embedded LocalCluster, the worker setup), ``runner`` (``fit_catalogue``).
The command line is ``galaxyfit catalogue`` (``galaxyfit.cli.catalogue_command``).
"""

import importlib

#: Public name -> module (imported when first used: ``galaxyfit catalogue --help`` loads neither Dask nor JAX).
_EXPORTS = {
    "fit_catalogue": "runner", "CatalogueResult": "runner", "run_key": "runner",
    "CutoutFiles": "datasets", "LargeImage": "datasets",
    "ShorthandModel": "models",
    "GalaxyRecord": "task", "FitJob": "task", "fit_galaxy": "task",
    "Ledger": "ledger",
    "summary_table": "summary", "write_summary": "summary", "flag_text": "summary",
    "FLAG_UNTRUSTED": "summary", "FLAG_UNCHECKED": "summary", "FLAG_AT_PRIOR_LIMIT": "summary",
    "FLAG_UNCONSTRAINED": "summary", "FLAG_FAILED": "summary",
    "read_table": "table",
    "WorkerSetup": "cluster", "open_client": "cluster",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'galaxyfit.catalogue' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"galaxyfit.catalogue.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
