"""``python -m metricslib.collector.querypool FD``: a query process (see ``worker.py``).

A module of its own so that ``worker.py``'s classes keep their import names
(the messages are pickles that name them)."""

import sys

from metricslib.collector.querypool.worker import main

sys.exit(main(sys.argv[1:]))
