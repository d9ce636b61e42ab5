"""Totals across pre-fork workers (gunicorn, ``uvicorn --workers``).

Snapshot on demand, values written through: each worker keeps its
instruments' values in a memory-mapped file of its own (``values.py``: an
increment is still one in-process ``+=``, and nothing is lost when the worker
is SIGKILLed) and runs a small daemon thread answering snapshot requests on a
Unix socket. The worker that serves ``/metrics`` asks every other live worker
for its registry, reads the files of workers that cannot answer, merges all
of it with the archive left by dead workers, and renders the result. See
``docs/multiprocess.md``.

Nothing happens at import time and no environment variable is read: call
``setup(directory)`` in the app (each worker), and optionally use the
gunicorn hooks in this module from ``gunicorn.conf.py``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from ..errors import MultiprocessError
from ..model import MetricFamily, Sample
from .archive import archive_dead, read_live
from .files import (
    ProcessId,
    WorkerFile,
    generation_dir,
    list_workers,
    locked,
    process_id,
    remove_stale_generations,
    remove_stale_temp_files,
    values_path,
)
from .merge import (
    GAUGE_MODES,
    FamilyData,
    Snapshot,
    merge,
)
from .values import ValueStore
from .worker import WorkerAgent

__all__ = [
    "GAUGE_MODES",
    "MultiprocessRegistry",
    "aggregator_for",
    "child_exit",
    "configure",
    "mark_process_dead",
    "on_starting",
    "post_fork",
    "set_gauge_mode",
    "setup",
    "shutdown",
    "when_ready",
    "worker_exit",
]

log = logging.getLogger("metricslib.multiprocess")


# Module state. A forked worker inherits it (gunicorn's master configures, the
# workers run setup); `_after_fork_in_child` fixes what must not be inherited.
_lock = threading.RLock()
_modes: dict[str, str] = {}
_directory: Path | None = None
_server: ProcessId | None = None  # set in gunicorn's master by on_starting
_options: dict[str, float] = {"snapshot_interval": 5.0, "timeout": 2.0}
_state: _State | None = None
_pending: tuple[Path, Any] | None = None  # gunicorn --preload: what forked workers join with
_aggregators: dict[int, MultiprocessRegistry] = {}
_fork_hook_installed = False
_atexit_installed = False


def set_gauge_mode(gauge: Any, mode: str) -> None:
    """How a gauge (or any family, by name) combines across workers.

    ``sum``/``max``/``min``/``mostrecent`` keep a dead worker's last value;
    ``livesum``/``livemax``/``livemin``/``livemostrecent`` count live workers
    only; ``all``/``liveall`` (the default for gauges) give one series per live
    worker with a ``pid`` label. ``gauge`` is an instrument or a family name.
    """
    if mode not in GAUGE_MODES:
        raise MultiprocessError(
            f"unknown gauge mode {mode!r}: expected one of {', '.join(sorted(GAUGE_MODES))}"
        )
    name = gauge if isinstance(gauge, str) else _family_name(gauge)
    _modes[name] = mode


def _family_name(instrument: Any) -> str:
    for attr in ("_name", "name"):
        value = getattr(instrument, attr, None)
        if isinstance(value, str) and value:
            return value
    describe = getattr(instrument, "describe", None)
    if callable(describe):
        for fam in describe():
            return str(fam.name)
    raise MultiprocessError(f"cannot tell the metric name of {instrument!r}: pass the name")


def _registered(registry: Any) -> list[Any]:
    """The collectors a registry holds."""
    collectors = getattr(registry, "_collectors", None)
    if isinstance(collectors, dict):
        collectors = collectors.values()
    # Registry keeps (collector, names) pairs; accept bare collectors too.
    return [entry[0] if isinstance(entry, tuple) else entry for entry in collectors or ()]


def _modes_with_instrument_kwargs(registry: Any) -> dict[str, str]:
    """The mode table plus modes given as ``Gauge(..., multiprocess_mode=...)``."""
    modes = dict(_modes)
    for c in _registered(registry):
        mode = getattr(c, "multiprocess_mode", None) or getattr(c, "_multiprocess_mode", None)
        if isinstance(mode, str) and mode in GAUGE_MODES:
            with contextlib.suppress(MultiprocessError):
                modes.setdefault(_family_name(c), mode)
    return modes


class _State:
    def __init__(self, directory: Path, registry: Any, server: ProcessId) -> None:
        self.directory = directory
        self.registry = registry
        self.me = process_id()
        self.server = server
        self.gen_dir = generation_dir(directory, server)
        self.gen_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_generations(directory, keep=self.gen_dir)
        # Values first: from here on no increment can be lost, even to SIGKILL.
        self.store = ValueStore(values_path(self.gen_dir, self.me))
        registry._value_store = self.store  # instruments registered later join on their own
        self.store.attach(_registered(registry))
        self.agent = WorkerAgent(
            self.gen_dir,
            self.me,
            registry.collect,
            lambda: _modes_with_instrument_kwargs(registry),
            _options["snapshot_interval"],
            stamp=self.store.gauge_stamp,
        )

    def release_values(self, unlink: bool) -> None:
        """Instruments back to private values; the file removed if ``unlink``."""
        if getattr(self.registry, "_value_store", None) is self.store:
            self.registry._value_store = None
        self.store.detach()
        if unlink:
            self.store.unlink()


class MultiprocessRegistry:
    """Collects the totals of all workers; serve it like any registry.

    ``serve.render`` and the ``make_*_app`` functions use it automatically for a
    registry passed to ``setup``.
    """

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def collect(self) -> list[MetricFamily]:
        """Every worker's families merged (the archive of dead workers included)."""
        return [_to_model(f) for f in self.collect_data()]

    def collect_data(self) -> list[FamilyData]:
        state = _require_state()
        modes = _modes_with_instrument_kwargs(state.registry)
        with locked(state.gen_dir):
            dead: list[WorkerFile] = []
            live: list[WorkerFile] = []
            for wf in list_workers(state.gen_dir):
                if wf.process != state.me:
                    (live if wf.process.is_alive() else dead).append(wf)
            # Other workers build their snapshots in parallel while we build ours.
            results: list[Snapshot | None] = [None] * len(live)

            def fetch(i: int) -> None:
                try:
                    results[i] = read_live(state.gen_dir, live[i], _options["timeout"])
                except MultiprocessError as exc:
                    log.error("metricslib: skipping worker %d: %s", live[i].process.pid, exc)

            threads = [
                threading.Thread(target=fetch, args=(i,), daemon=True) for i in range(len(live))
            ]
            for t in threads:
                t.start()
            snapshots = [Snapshot(state.me.pid, state.agent.families())]
            for t in threads:
                t.join()
            snapshots.extend(s for s in results if s is not None)
            archive = archive_dead(state.gen_dir, dead, modes)
            if dead:
                remove_stale_temp_files(state.gen_dir)
        return merge(snapshots, archive, modes)


def _to_model(f: FamilyData) -> MetricFamily:
    # Bypasses MetricFamily's checks: the names came out of a registry already.
    fam = MetricFamily.__new__(MetricFamily)
    fam.name, fam.documentation, fam.type, fam.unit = f.name, f.documentation, f.type, f.unit
    fam.samples = [Sample(s.name, s.labels, s.value, s.timestamp) for s in f.samples]
    return fam


def _require_state() -> _State:
    state = _state
    if state is None or state.me.pid != os.getpid():
        raise MultiprocessError(
            "multiprocess aggregation is not set up in this process: call "
            "metricslib.multiprocess.setup(directory) in each worker"
        )
    return state


def configure(
    directory: str | os.PathLike[str],
    *,
    snapshot_interval: float | None = None,
    timeout: float | None = None,
) -> None:
    """Set the directory (and options) for ``setup()`` and the gunicorn hooks.

    Call it in ``gunicorn.conf.py``; forked workers inherit it, so the app's
    ``setup()`` needs no arguments. ``snapshot_interval`` (seconds, default 5)
    is how often a worker saves a snapshot of its whole registry: instrument
    values are in its value file at once, so this bounds only what a SIGKILLed
    worker loses of Info, Enum and custom collectors; ``timeout`` (default 2)
    is how long a scrape waits for each worker's answer.
    """
    global _directory
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MultiprocessError(f"cannot create multiprocess directory {path}: {exc}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise MultiprocessError(f"multiprocess directory {path} is not writable")
    _directory = path
    if snapshot_interval is not None:
        if snapshot_interval <= 0:
            raise MultiprocessError(f"snapshot_interval must be > 0, got {snapshot_interval}")
        _options["snapshot_interval"] = float(snapshot_interval)
    if timeout is not None:
        if timeout <= 0:
            raise MultiprocessError(f"timeout must be > 0, got {timeout}")
        _options["timeout"] = float(timeout)


def setup(
    directory: str | os.PathLike[str] | None = None,
    registry: Any = None,
    *,
    snapshot_interval: float | None = None,
    timeout: float | None = None,
    handle_sigterm: bool = True,
) -> MultiprocessRegistry:
    """Join this worker to the aggregation and return the registry to serve.

    Call once per worker (at app import is fine: it only starts a daemon
    thread). ``registry`` defaults to ``metricslib.REGISTRY``. Idempotent for
    the same registry; a different registry in the same process is an error.

    With ``handle_sigterm`` (the default) and no SIGTERM handler installed
    yet, a worker stopped by SIGTERM archives its counts before it dies:
    uvicorn, after its graceful shutdown, re-raises SIGTERM with the default
    action, which would skip ``atexit``. A handler someone else installed
    (gunicorn's, your own) is never replaced.
    """
    global _state, _fork_hook_installed, _atexit_installed
    if registry is None:
        from ..registry import REGISTRY

        registry = REGISTRY
    with _lock:
        if directory is not None or snapshot_interval is not None or timeout is not None:
            configure(
                directory if directory is not None else _require_directory(),
                snapshot_interval=snapshot_interval,
                timeout=timeout,
            )
        path = _require_directory()
        state = _state
        if state is not None and state.me.pid == os.getpid():
            if state.registry is not registry or state.directory != path:
                raise MultiprocessError(
                    "setup() was already called in this process with another registry or "
                    f"directory ({state.directory}); call it once per worker"
                )
            return _aggregator(registry)
        server = _server if _server is not None else process_id(os.getppid())
        _state = _State(path, registry, server)
        if not _fork_hook_installed:
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _fork_hook_installed = True
        if not _atexit_installed:
            atexit.register(shutdown)
            _atexit_installed = True
        if handle_sigterm:
            _install_sigterm_handler()
        return _aggregator(registry)


def _on_sigterm(signum: int, frame: Any) -> None:
    """Archive, then die of SIGTERM as the default action would."""
    try:
        shutdown()
    finally:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _install_sigterm_handler() -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


def _require_directory() -> Path:
    if _directory is None:
        raise MultiprocessError(
            "no multiprocess directory: pass setup(directory=...) or call "
            "metricslib.multiprocess.configure(directory) in gunicorn.conf.py"
        )
    return _directory


def _aggregator(registry: Any) -> MultiprocessRegistry:
    agg = _aggregators.get(id(registry))
    if agg is None or agg.registry is not registry:
        agg = MultiprocessRegistry(registry)
        _aggregators[id(registry)] = agg
    return agg


def aggregator_for(registry: Any) -> MultiprocessRegistry | None:
    """The aggregating registry for ``registry`` if this worker set it up."""
    state = _state
    if state is None or state.registry is not registry or state.me.pid != os.getpid():
        return None
    return _aggregators.get(id(registry))


def shutdown() -> None:
    """Leave the aggregation: archive this worker's final counts, delete its file.

    Runs at interpreter exit (atexit) and from gunicorn's ``worker_exit``;
    calling it twice is harmless.
    """
    global _state
    with _lock:
        state = _state
        if state is None or state.me.pid != os.getpid():
            return
        _state = None
        modes = _modes_with_instrument_kwargs(state.registry)
        try:
            with locked(state.gen_dir):
                final = state.agent.retire()
                me = WorkerFile(state.agent.path, state.me)
                archive_dead(state.gen_dir, [], modes, final=final, me=me)
            # Archived (files removed): later increments are this process's own again.
            state.release_values(unlink=False)
        except (OSError, MultiprocessError) as exc:
            log.error("metricslib: could not archive worker %d at exit: %s", state.me.pid, exc)


def _after_fork_in_child() -> None:
    """A forked child is a new worker: forget the parent's agent, join on its own."""
    global _state
    state = _state
    if state is not None and state.me.pid != os.getpid():
        state.agent.abandon()
        # The parent's file is the parent's: copy its values out before anything counts.
        state.release_values(unlink=False)
        _state = None
        joining: tuple[Path, Any] | None = (state.directory, state.registry)
    else:
        joining = _pending if state is None else None
    if joining is None:
        return
    try:
        setup(joining[0], joining[1])
    except (OSError, MultiprocessError) as exc:
        log.error("metricslib: forked worker %d could not join aggregation: %s", os.getpid(), exc)


def mark_process_dead(pid: int, directory: str | os.PathLike[str] | None = None) -> None:
    """Archive the files of an exited worker now instead of at the next scrape.

    For gunicorn's master (``child_exit``) or any supervisor that reaps workers.
    """
    path = Path(directory) if directory is not None else _require_directory()
    server = _server if _server is not None else process_id()
    gen_dir = generation_dir(path, server)
    if not gen_dir.is_dir():
        return
    dead = [
        wf for wf in list_workers(gen_dir) if wf.process.pid == pid and not wf.process.is_alive()
    ]
    if dead:
        # Short wait: gunicorn's master runs this; if a scrape holds the lock,
        # that scrape archives the worker instead.
        with locked(gen_dir, timeout=1.0):
            archive_dead(gen_dir, dead, dict(_modes))


# --- gunicorn hooks: `from metricslib.multiprocess import on_starting, ...` -------------


def on_starting(server: Any = None) -> None:
    """gunicorn master, before forking: start a fresh run, remove old runs' files."""
    global _server
    directory = _require_directory()
    _server = process_id()
    gen_dir = generation_dir(directory, _server)
    gen_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_generations(directory, keep=gen_dir)
    # With --preload the app (and setup) ran in the master: it is not a worker,
    # but the workers it forks must join with the same registry.
    global _state, _pending
    state = _state
    if state is not None and state.me.pid == os.getpid() and state.gen_dir != gen_dir:
        state.agent.abandon()
        state.release_values(unlink=True)
        for leftover in (state.agent.path, state.gen_dir / "lock"):
            with contextlib.suppress(OSError):
                leftover.unlink()
        with contextlib.suppress(OSError):
            state.gen_dir.rmdir()  # only if no one else uses it
        _pending = (state.directory, state.registry)
        _state = None


def when_ready(server: Any = None) -> None:
    """gunicorn master, once listening: nothing to do (kept so configs can name it)."""


def post_fork(server: Any = None, worker: Any = None) -> None:
    """gunicorn worker, right after fork: join if the app was preloaded."""
    _after_fork_in_child()


def worker_exit(server: Any = None, worker: Any = None) -> None:
    """gunicorn worker, on its way out: archive its counts now."""
    shutdown()


def child_exit(server: Any = None, worker: Any = None) -> None:
    """gunicorn master, after a worker exited (even SIGKILLed): archive its files."""
    pid = getattr(worker, "pid", None)
    if isinstance(pid, int) and _directory is not None:
        try:
            mark_process_dead(pid)
        except (OSError, MultiprocessError) as exc:
            log.error("metricslib: archiving worker %d failed: %s", pid, exc)


def _reset_for_tests() -> None:
    """Forget all module state (tests only)."""
    global _state, _directory, _server, _pending
    if signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    state = _state
    if state is not None and state.me.pid == os.getpid():
        state.agent.abandon()
        state.release_values(unlink=True)
    _state = None
    _directory = None
    _server = None
    _pending = None
    _modes.clear()
    _aggregators.clear()
    _options.update(snapshot_interval=5.0, timeout=2.0)
