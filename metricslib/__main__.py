import sys

from metricslib.cli import main

sys.exit(main())
