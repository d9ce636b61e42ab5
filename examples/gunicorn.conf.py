"""gunicorn settings for the Flask example with one metric total across workers.

    gunicorn -c examples/gunicorn.conf.py -w 4 --chdir examples 'flask_app:create_app()'

Each worker keeps its own counts; the worker that answers /metrics asks the
others for theirs (metricslib.multiprocess), so every scrape sees the total.
Worker files live in METRICS_MULTIPROC_DIR (a fresh temporary folder if unset).
"""

import os
import tempfile

from metricslib import multiprocess
from metricslib.multiprocess import child_exit, on_starting, worker_exit

bind = "127.0.0.1:8001"
workers = 4

multiprocess.configure(
    os.environ.get("METRICS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="metricslib-gunicorn-")
)


def post_fork(server: object, worker: object) -> None:
    # Join the aggregation before the app is imported in this worker, so the
    # app itself needs no multiprocess code.
    multiprocess.post_fork(server, worker)
    multiprocess.setup()


__all__ = ["child_exit", "on_starting", "post_fork", "worker_exit"]
