"""A pool of query processes, and the collector's side of each query they answer.

``QueryPool.handle(request)`` takes an idle query process (waiting in line
until the query's deadline, as the query gate does), sends it the request and
serves the selects it asks for with :meth:`StoreQuerier.select_plan` (the only
query work done in the collector: C-level copies under the head's lock), then
returns the response the process rendered. Every query is bounded in time: a
process that does not answer within the query's timeout plus a grace period
is killed; one that dies is replaced. Either way that query gets a clear
error and the next one a fresh process; scraping never waits for either.

The processes are fresh interpreters (``python -m ...worker``), started with
``subprocess`` (fork and exec at once, as multiprocessing's spawn method does),
never forked from the threaded collector; each talks over one end of a Unix
socket pair, so nothing listens on a port.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

import metricslib
from metricslib.collector.model import Matcher
from metricslib.collector.promql.gate import QueryGate
from metricslib.collector.querypool.wire import Channel
from metricslib.collector.querypool.worker import PlanMessage, WorkerSettings
from metricslib.collector.storage.plan import SelectPlan
from metricslib.collector.web.api.params import parse_duration_ms
from metricslib.collector.web.api.v1 import Request, Response
from metricslib.errors import QueryProcessError, QueryTimeoutError

__all__ = ["PlanSource", "QueryPool", "QueryProcessFailure"]

log = logging.getLogger(__name__)

#: how long past a query's own timeout its process may take before it is killed as hung
DEFAULT_GRACE_S = 5.0
#: how long stopping the pool waits for the processes to exit before killing them
_STOP_WAIT_S = 1.0


class PlanSource(Protocol):
    """What the pool reads the store through (a :class:`StoreQuerier`)."""

    def select_plan(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SelectPlan: ...

    def label_names(
        self, matchers: Sequence[Matcher] = (), mint_ms: int | None = None, maxt_ms: int | None = None
    ) -> list[str]: ...

    def label_values(
        self, name: str, matchers: Sequence[Matcher] = (), mint_ms: int | None = None, maxt_ms: int | None = None
    ) -> list[str]: ...


class QueryProcessFailure(Exception):
    """The query process raised outside the API's own errors (a bug): the HTTP server
    answers 500 with this message, as it does for one in process."""


class _Worker:
    """One query process and the collector's state about it."""

    def __init__(self, proc: subprocess.Popen[bytes], conn: Channel) -> None:
        self.proc = proc
        self.conn = conn
        #: known[sid]: the process has the labels of series ``sid``
        self.known: npt.NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)

    def plan_message(self, plan: SelectPlan) -> PlanMessage:
        """``plan`` with labels only for the series this process has not seen."""
        sids = plan.sids
        if sids.shape[0] and int(sids.max()) >= self.known.shape[0]:
            grown = np.zeros(max(int(sids.max()) + 1, 2 * self.known.shape[0]), dtype=np.bool_)
            grown[: self.known.shape[0]] = self.known
            self.known = grown
        new = np.flatnonzero(~self.known[sids])
        labels = plan.labels
        new_labels = list(map(labels.__getitem__, new.tolist()))
        self.known[sids[new]] = True
        plan.labels = []
        return PlanMessage(plan, new, new_labels)


class QueryPool:
    """``processes`` query processes answering ``/api/v1/query`` and ``/api/v1/query_range``."""

    def __init__(
        self,
        processes: int,
        settings: WorkerSettings,
        querier: Callable[[], PlanSource],
        *,
        gate: QueryGate | None = None,
        clock: Callable[[], float] = time.time,
        grace_s: float = DEFAULT_GRACE_S,
    ) -> None:
        if processes < 1:
            raise ValueError(f"a query pool needs at least 1 process, got {processes}")
        self.processes = processes
        self.settings = settings
        self.grace_s = grace_s
        self._querier = querier
        self._gate = gate
        self._clock = clock
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []
        self._closing = False
        self._started = False
        #: processes replaced after dying or hanging (for tests and logs)
        self.replaced = 0

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the processes (the first query does it if nobody did)."""
        with self._cond:
            if self._started:
                return
            self._started = True
        for _ in range(self.processes):
            self._add(self._spawn())

    def pids(self) -> list[int]:
        with self._cond:
            return [w.proc.pid for w in self._all]

    def close(self) -> None:
        """Stop every process within about a second; queries in flight get an error."""
        with self._cond:
            self._closing = True
            workers = list(self._all)
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for w in workers:
            _signal(w.proc, terminate=True)
        for w in idle:
            w.conn.close()
        until = time.monotonic() + _STOP_WAIT_S
        for w in workers:
            _reap(w.proc, until)

    def _spawn(self) -> _Worker:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with ours, theirs:
            # The worker imports the very metricslib this process runs.
            root = str(Path(metricslib.__file__).resolve().parent.parent)
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
            proc = subprocess.Popen(
                [sys.executable, "-m", "metricslib.collector.querypool", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env,
            )
            conn = Channel(socket.socket(fileno=ours.detach()))
        worker = _Worker(proc, conn)
        conn.send(self.settings)  # read once it has started; the socket holds it meanwhile
        return worker

    def _add(self, worker: _Worker) -> None:
        with self._cond:
            if self._closing:
                _signal(worker.proc, terminate=True)
                worker.conn.close()
                _reap(worker.proc, time.monotonic() + _STOP_WAIT_S)
                return
            self._all.append(worker)
            self._idle.append(worker)
            self._cond.notify()

    def _take(self, deadline: float) -> _Worker:
        with self._cond:
            while not self._idle:
                if self._closing:
                    raise QueryProcessError("the collector is shutting down; the query was not run")
                left = deadline - time.monotonic()
                if (left <= 0 or not self._cond.wait(left)) and not self._idle:
                    raise QueryTimeoutError("query timed out in query queue")
            if self._closing:
                raise QueryProcessError("the collector is shutting down; the query was not run")
            return self._idle.pop()

    def _give_back(self, worker: _Worker) -> None:
        with self._cond:
            if self._closing:
                worker.conn.close()
                return
            self._idle.append(worker)
            self._cond.notify()

    def _replace(self, worker: _Worker, why: str) -> None:
        _signal(worker.proc, terminate=False)
        worker.conn.close()
        _reap(worker.proc, time.monotonic() + _STOP_WAIT_S)
        with self._cond:
            if worker in self._all:
                self._all.remove(worker)
            closing = self._closing
        if not closing:
            log.warning("query process %d %s; starting a new one", worker.proc.pid, why)
            self.replaced += 1
            self._add(self._spawn())

    # --- one query --------------------------------------------------------------------------

    def timeout_s(self, request: Request) -> float:
        """The query's time limit: the ``timeout`` parameter capped by the server's."""
        limit = self.settings.timeout_s
        raw = request.get("timeout")
        if raw is not None:
            try:
                limit = min(limit, parse_duration_ms(raw, "timeout") / 1000)
            except ValueError:
                pass  # the query process answers bad_data for it, as the API does
        return limit

    def handle(self, request: Request) -> Response:
        """The response to a query request, from a query process."""
        if request.path == "/api/v1/query" and request.get("time") is None:
            # "now" is the collector's clock, not the query process's.
            t_ms = round(self._clock() * 1000)
            params = dict(request.params)
            params["time"] = [f"{t_ms // 1000}.{t_ms % 1000:03d}"]
            request = Request(request.method, request.path, params, request.body)
        self.start()
        timeout_s = self.timeout_s(request)
        deadline = time.monotonic() + timeout_s
        slot: AbstractContextManager[None] = nullcontext() if self._gate is None else self._gate.slot(deadline)
        with slot:
            worker = self._take(deadline)
            while worker.proc.poll() is not None:  # died while idle (say, the OOM killer): nobody lost
                self._replace(worker, f"exited (code {worker.proc.returncode}) while idle")
                worker = self._take(deadline)
            answer = self._run(worker, request, time.monotonic() + timeout_s + self.grace_s)
        if isinstance(answer, str):
            raise QueryProcessFailure(answer)
        return answer

    def _run(self, worker: _Worker, request: Request, give_up: float) -> Response | str:
        conn = worker.conn
        pid = worker.proc.pid
        try:
            conn.send(("query", request))
            while True:
                if not conn.wait(give_up - time.monotonic()):
                    break
                message = conn.recv()
                assert isinstance(message, tuple)
                if message[0] == "done":
                    answer = message[1]
                    assert isinstance(answer, Response | str)
                    self._give_back(worker)
                    return answer
                conn.send(self._serve(worker, message))
        except (EOFError, OSError) as exc:
            with self._cond:
                closing = self._closing
            if closing:
                worker.conn.close()
                raise QueryProcessError("the collector is shutting down; the query was stopped") from None
            self._replace(worker, f"failed ({exc!r})")
            code = worker.proc.returncode
            raise QueryProcessError(
                f"query process {pid} exited (code {code}) while answering the query; a new one was started"
            ) from None
        self._replace(worker, "did not answer in time")
        raise QueryTimeoutError(
            f"query timed out: query process {pid} did not answer within the query timeout "
            f"plus {self.grace_s:g}s and was replaced"
        )

    def _serve(self, worker: _Worker, message: tuple[object, ...]) -> tuple[str, object]:
        """The collector's answer to a query process's question about the store."""
        try:
            querier = self._querier()
            if message[0] == "select":
                _, matchers, mint, maxt = message
                assert isinstance(matchers, list) and isinstance(mint, int) and isinstance(maxt, int)
                return "plan", worker.plan_message(querier.select_plan(matchers, mint, maxt))
            if message[0] == "call":
                _, name, args = message
                assert name in ("label_names", "label_values") and isinstance(args, tuple)
                return "value", getattr(querier, str(name))(*args)
            raise ValueError(f"unknown request from a query process: {message[0]!r}")
        except Exception as exc:  # the store's error goes back to the query, as in process
            return "error", str(exc)


def _signal(proc: subprocess.Popen[bytes], *, terminate: bool) -> None:
    if proc.poll() is None:
        try:
            proc.terminate() if terminate else proc.kill()
        except ProcessLookupError:
            pass


def _reap(proc: subprocess.Popen[bytes], until: float) -> None:
    try:
        proc.wait(timeout=max(0.0, until - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
