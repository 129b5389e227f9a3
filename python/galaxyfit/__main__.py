"""``python -m galaxyfit`` is the ``galaxyfit`` command."""

import sys

from galaxyfit.cli import main

sys.exit(main())
