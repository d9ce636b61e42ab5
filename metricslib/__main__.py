"""``python -m metricslib``: the same command line as the ``metricslib`` script."""

import sys

from metricslib.cli import main

sys.exit(main())
