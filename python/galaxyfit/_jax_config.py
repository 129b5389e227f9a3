"""The one place where galaxyfit configures JAX (at ``import galaxyfit``, before any galaxyfit array is made).

* ``jax_enable_x64``: galaxyfit computes in float64 throughout (likelihoods of ~1e4 pixels lose digits in float32).
  Arrays a program created with JAX *before* importing galaxyfit keep their dtype: import galaxyfit first.
* ``jax_cpu_enable_async_dispatch = False``: CPU computations run on the calling thread. Searches need every
  likelihood value back at once, and handing each call to a worker thread and waiting for it cost ~90 us per call
  on a 2-core machine (bench/README.md), a third of a whole 100 x 100 likelihood.
"""

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_cpu_enable_async_dispatch", False)
