"""gunicorn config for tests/apps/mp_wsgi_app.py: the setup docs/multiprocess.md shows.

The test passes the directory through MP_TEST_DIR; a real config would write it out.
"""

import os

from metricslib import multiprocess
from metricslib.multiprocess import child_exit, on_starting, post_fork, worker_exit

multiprocess.configure(os.environ["MP_TEST_DIR"], snapshot_interval=1.0)

__all__ = ["child_exit", "on_starting", "post_fork", "worker_exit"]
