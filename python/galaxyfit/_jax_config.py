"""The one place where galaxyfit configures JAX.

galaxyfit computes in float64 throughout (likelihoods of ~1e4 pixels lose digits in float32), so JAX's x64 mode is
switched on here, at ``import galaxyfit``, before any galaxyfit array is made. Arrays a program created with JAX
*before* importing galaxyfit keep their dtype; import galaxyfit first.
"""

import jax

jax.config.update("jax_enable_x64", True)
