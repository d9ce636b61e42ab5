"""PromQL queries answered in separate processes, so a heavy query cannot starve the scrapes.

The collector's interpreter lock is shared by every thread of its process: a
query's Python and numpy work there takes it from the scrape loops. Here
``/api/v1/query`` and ``/api/v1/query_range`` are handed to a small pool of
query processes (``pool.py``) started fresh (never forked from the threaded
collector), each talking to the collector over a Unix socket pair
(``wire.py``). The collector does only the part of a select that needs its
head: the select plan, taken under the head's lock (``storage/plan.py``). The
query process (``worker.py``) reads and decodes the chunks with its own
read-only connection and cache, evaluates and renders the response bytes,
which the collector passes through. See docs/architecture.md.
"""
