"""``python -m galaxyfit`` is the ``galaxyfit`` command."""

import sys

from galaxyfit.cli import console_main

sys.exit(console_main())
