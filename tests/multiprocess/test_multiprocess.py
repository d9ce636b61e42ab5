"""Multi-worker aggregation: real worker processes, then gunicorn and uvicorn.

The first tests drive stand-in workers (tests/apps/mp_worker.py) over stdin so
each step — live sums, graceful exit, SIGKILL, a hung worker, a new server run —
is deterministic. The integration tests run the real servers with ``ab``.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from metricslib import multiprocess
from metricslib.errors import MultiprocessError
from metricslib.multiprocess.files import ProcessId, list_workers, process_id
from metricslib.multiprocess.merge import loads_families
from metricslib.registry import Registry
from tests.helpers import PYTHON, REPO_ROOT, free_port, http_get, require_tool, running

WORKER = str(REPO_ROOT / "tests" / "apps" / "mp_worker.py")
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Worker:
    """One stand-in worker process, talked to line by line."""

    def __init__(self, directory: Path, *extra: str, launcher: bool = False) -> None:
        cmd = [PYTHON, WORKER, str(directory), *extra]
        if launcher:
            # An intermediate parent plays a separate server run (its own generation).
            cmd = [
                PYTHON,
                "-c",
                "import subprocess,sys; sys.exit(subprocess.call(sys.argv[1:]))",
                *cmd,
            ]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=REPO_ROOT
        )
        ready = self._line(20)
        assert ready.startswith("ready "), ready
        self.pid = int(ready.split()[1])

    def _line(self, timeout: float = 10) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, f"worker {self.proc.pid} did not answer within {timeout}s"
        return self.proc.stdout.readline().decode().strip()

    def send(self, command: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()
        return self._line()

    def scrape(self) -> Samples:
        rows = json.loads(self.send("scrape"))
        return {(name, tuple(sorted(labels.items()))): value for name, labels, value in rows}

    def exit(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"exit\n")
        self.proc.stdin.close()
        assert self.proc.wait(timeout=10) == 0

    def kill(self, sig: int = signal.SIGKILL) -> None:
        os.kill(self.pid, sig)
        if sig == signal.SIGKILL and self.pid == self.proc.pid:
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for w in started:
        w.stop()


def start(workers: list[Worker], directory: Path, n: int, *extra: str) -> list[Worker]:
    new = [Worker(directory, *extra) for _ in range(n)]
    workers.extend(new)
    return new


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def gen_dirs(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith("gen-"))


def test_live_workers_report_exact_totals_from_any_worker(
    tmp_path: Path, workers: list[Worker]
) -> None:
    a, b, c = start(workers, tmp_path, 3)
    for i, w in enumerate((a, b, c)):
        w.send(f"inc small {i + 1}")
        w.send("inc big 10")
        w.send(f"peak {i * 7}")
    b.send("state busy")
    for w in (a, b, c):
        s = w.scrape()
        assert s[("jobs_total", (("kind", "small"),))] == 6
        assert s[("jobs_total", (("kind", "big"),))] == 30
        assert s[("job_seconds_count", ())] == 6
        assert s[("job_seconds_bucket", (("le", "1.0"),))] == 6
        assert s[("job_seconds_bucket", (("le", "0.1"),))] == 0
        assert s[("worker_up", ())] == 3  # livesum: one per live worker
        assert s[("peak", ())] == 14  # max
        assert s[("build_info", (("version", "1.2"),))] == 1  # Info: deduplicated
        # Default gauge mode and Enum: one series per live worker, labelled pid.
        temps = {dict(k[1])["pid"]: v for k, v in s.items() if k[0] == "temperature"}
        assert temps == {str(w.pid): w.pid % 1000 for w in (a, b, c)}
        assert s[("phase", (("phase", "busy"), ("pid", str(b.pid))))] == 1
        assert s[("phase", (("phase", "busy"), ("pid", str(a.pid))))] == 0


def test_graceful_exit_archives_counts_and_drops_live_gauges(
    tmp_path: Path, workers: list[Worker]
) -> None:
    a, b = start(workers, tmp_path, 2)
    a.send("inc x 5")
    a.send("peak 99")
    b.send("inc x 2")
    a.exit()
    s = b.scrape()
    assert s[("jobs_total", (("kind", "x"),))] == 7
    assert s[("worker_up", ())] == 1
    assert s[("peak", ())] == 99  # max keeps a dead worker's value
    assert not [k for k in s if k[0] == "temperature" and dict(k[1])["pid"] == str(a.pid)]
    (gen,) = gen_dirs(tmp_path)
    b_files = f"w-{b.pid}-{process_id(b.pid).start}"
    assert sorted(p.name for p in gen.iterdir()) == sorted(
        ["archive.snap", "lock", f"{b_files}.mm", f"{b_files}.snap"]
    )
    # A replacement worker adds to the archive rather than resetting it.
    (c,) = start(workers, tmp_path, 1)
    c.send("inc x 1")
    assert c.scrape()[("jobs_total", (("kind", "x"),))] == 8


def test_sigterm_archives_before_the_worker_dies(tmp_path: Path, workers: list[Worker]) -> None:
    a, b = start(workers, tmp_path, 2)
    a.send("inc x 5")  # never scraped: only the SIGTERM handler can save it
    os.kill(a.pid, signal.SIGTERM)
    assert a.proc.wait(timeout=10) == -signal.SIGTERM  # still dies of the signal
    (gen,) = gen_dirs(tmp_path)
    assert [wf.process.pid for wf in list_workers(gen)] == [b.pid]
    assert b.scrape()[("jobs_total", (("kind", "x"),))] == 5


def test_sigkilled_worker_keeps_its_counts(
    tmp_path: Path, workers: list[Worker]
) -> None:
    a, b = start(workers, tmp_path, 2)
    a.send("inc x 4")
    b.send("inc x 1")
    assert b.scrape()[("jobs_total", (("kind", "x"),))] == 5  # refreshes a's file
    a.kill()
    s = b.scrape()
    assert s[("jobs_total", (("kind", "x"),))] == 5
    assert s[("worker_up", ())] == 1
    (gen,) = gen_dirs(tmp_path)
    assert [wf.process.pid for wf in list_workers(gen)] == [b.pid]


def test_sigkill_in_the_middle_of_counting_loses_no_increment(
    tmp_path: Path, workers: list[Worker]
) -> None:
    # No periodic snapshot and no scrape before the kill: only the value file can save them.
    a, b = start(workers, tmp_path, 2, "3600")
    assert a.proc.stdin is not None and a.proc.stdout is not None
    a.proc.stdin.write(b"spin\n")
    a.proc.stdin.flush()
    last = ""
    for _ in range(3000):
        last = a._line()
    a.kill()
    # Every round a printed had completed before the kill; at most one more had begun.
    # (A worker descheduled right after its 3,000th line printed nothing more.)
    done = int((a.proc.stdout.read().split() or [last.encode()])[-1])
    assert done >= 3000
    s = b.scrape()
    partial = {done, done + 1}
    assert s[("jobs_total", (("kind", "spin"),))] in partial
    assert s[("job_seconds_count", ())] in partial
    assert s[("job_seconds_bucket", (("le", "0.1"),))] in partial
    assert s[("job_seconds_sum", ())] == pytest.approx(0.05 * s[("job_seconds_count", ())])
    assert s[("job_size_count", ())] in partial
    assert s[("job_size_sum", ())] == 2 * s[("job_size_count", ())]
    assert s[("spun", ())] in partial  # a "sum" gauge keeps a dead worker's value
    assert s[("peak", ())] in partial  # so does "max"
    assert s[("worker_up", ())] == 1  # "livesum" does not
    (gen,) = gen_dirs(tmp_path)
    assert [wf.process.pid for wf in list_workers(gen)] == [b.pid]
    assert not [p for p in gen.iterdir() if p.name.startswith(f"w-{a.pid}-")]


def test_mostrecent_gauge_follows_the_last_worker_to_change_it(
    tmp_path: Path, workers: list[Worker]
) -> None:
    a, b = start(workers, tmp_path, 2)
    a.send("setting 1")
    assert a.scrape()[("setting", ())] == 1  # b's untouched 0 was seen earlier
    b.send("setting 2")
    assert a.scrape()[("setting", ())] == 2
    a.send("setting 3")
    assert b.scrape()[("setting", ())] == 3
    a.exit()  # mostrecent (not livemostrecent) keeps a dead worker's value
    assert b.scrape()[("setting", ())] == 3
    b.send("setting 4")
    assert b.scrape()[("setting", ())] == 4


def test_leftover_temp_files_are_cleaned_up(tmp_path: Path, workers: list[Worker]) -> None:
    a, b = start(workers, tmp_path, 2)
    (gen,) = gen_dirs(tmp_path)
    stale, fresh = gen / ".tmp-killed.part", gen / ".tmp-writing.part"
    stale.write_text("half")
    fresh.write_text("half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    a.kill()
    b.scrape()
    assert not stale.exists()
    assert fresh.exists()  # may still be in the middle of a write


def test_hung_worker_is_read_from_its_file(tmp_path: Path, workers: list[Worker]) -> None:
    a, b = start(workers, tmp_path, 2, "5", "0.3")
    a.send("inc x 3")
    assert b.scrape()[("jobs_total", (("kind", "x"),))] == 3
    a.kill(signal.SIGSTOP)
    try:
        s = b.scrape()  # a cannot answer: its last file stands in
        assert s[("jobs_total", (("kind", "x"),))] == 3
        assert s[("worker_up", ())] == 2  # stopped is not dead
    finally:
        a.kill(signal.SIGCONT)


def test_periodic_snapshot_bounds_what_sigkill_loses(tmp_path: Path, workers: list[Worker]) -> None:
    a, b = start(workers, tmp_path, 2, "0.2")
    a.send("inc x 6")  # never scraped: only the periodic write saves it
    (gen,) = gen_dirs(tmp_path)
    path = gen / f"w-{a.pid}-{process_id(a.pid).start}.snap"

    def saved() -> float:
        families, _ = loads_families(path.read_bytes(), str(path))
        return sum(s.value for f in families for s in f.samples if s.name == "jobs_total")

    deadline = time.monotonic() + 10
    while saved() != 6:
        assert time.monotonic() < deadline, "periodic snapshot never written"
        time.sleep(0.05)
    a.kill()
    assert b.scrape()[("jobs_total", (("kind", "x"),))] == 6


def test_a_new_server_run_starts_from_zero_and_removes_the_old_run(
    tmp_path: Path, workers: list[Worker]
) -> None:
    first = Worker(tmp_path, launcher=True)
    workers.append(first)
    first.send("inc x 9")
    first.exit()
    (old_gen,) = gen_dirs(tmp_path)
    second = Worker(tmp_path, launcher=True)
    workers.append(second)
    assert ("jobs_total", (("kind", "x"),)) not in second.scrape()
    assert old_gen not in gen_dirs(tmp_path)
    assert len(gen_dirs(tmp_path)) == 1


def test_a_recycled_pid_is_not_mistaken_for_the_old_worker() -> None:
    me = process_id()
    assert me.is_alive()
    assert not ProcessId(me.pid, me.start + 1).is_alive()


# --- setup errors (in this process) ---------------------------------------------------------


@pytest.fixture
def clean_state() -> Iterator[None]:
    multiprocess._reset_for_tests()
    yield
    multiprocess._reset_for_tests()


def test_setup_without_a_directory_says_how_to_give_one(clean_state: None) -> None:
    with pytest.raises(MultiprocessError, match=r"setup\(directory=\.\.\.\)"):
        multiprocess.setup(registry=Registry())


def test_setup_rejects_a_directory_it_cannot_create(clean_state: None, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(MultiprocessError, match="cannot create multiprocess directory"):
        multiprocess.setup(blocker / "sub", registry=Registry())


def test_unknown_gauge_mode_names_the_choices(clean_state: None) -> None:
    with pytest.raises(MultiprocessError, match=r"unknown gauge mode 'average'.*livesum"):
        multiprocess.set_gauge_mode("g", "average")


def test_setup_is_idempotent_but_refuses_a_second_registry(
    clean_state: None, tmp_path: Path
) -> None:
    registry = Registry()
    agg = multiprocess.setup(tmp_path, registry=registry)
    assert multiprocess.setup(tmp_path, registry=registry) is agg
    assert multiprocess.aggregator_for(registry) is agg
    assert multiprocess.aggregator_for(Registry()) is None
    with pytest.raises(MultiprocessError, match="already called"):
        multiprocess.setup(tmp_path, registry=Registry())
    multiprocess.shutdown()
    assert multiprocess.aggregator_for(registry) is None
    with pytest.raises(MultiprocessError, match="not set up in this process"):
        agg.collect()


# --- real pre-fork servers ------------------------------------------------------------------

APPS = REPO_ROOT / "tests" / "apps"


def run_ab(url: str, n: int, concurrency: int = 16) -> int:
    """Send ``n`` requests with ab; returns how many got a 2xx answer."""
    ab = require_tool("ab", "apache2-utils")
    out = subprocess.run(
        [ab, "-q", "-n", str(n), "-c", str(concurrency), url],
        capture_output=True,
        timeout=90,
        check=True,
        text=True,
    ).stdout
    fields = dict(
        (k.strip(), v.strip())
        for k, _, v in (line.partition(":") for line in out.splitlines())
        if v
    )
    assert fields["Failed requests"] == "0", out
    assert "Non-2xx responses" not in fields, out
    return int(fields["Complete requests"])


def scrape(base: str) -> tuple[Samples, str]:
    status, headers, body = http_get(base + "/metrics")
    assert status == 200, body
    samples: Samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, headers.get("X-Worker", headers.get("x-worker", ""))


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def live_workers(base: str) -> float:
    return scrape(base)[0].get(("app_workers", ()), 0)


def worker_files(directory: Path) -> list[str]:
    return sorted(p.name for g in gen_dirs(directory) for p in g.iterdir())


def check_totals(base: str, expected: int, workers: int, scrapes: int = 8) -> set[str]:
    """Several scrapes in a row (concurrently, so different workers answer) all agree."""
    results: list[tuple[Samples, str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(scrape(base))) for _ in range(scrapes)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == scrapes
    for samples, _ in results:
        assert samples[("app_requests_total", (("path", "/work"),))] == expected
        assert samples[("app_request_seconds_count", ())] == expected
        assert samples[("app_request_seconds_bucket", (("le", "0.01"),))] == expected
        assert samples[("app_workers", ())] == workers
    return {pid for _, pid in results}


def archived_requests(directory: Path) -> float:
    """After the server stopped: no worker files left, and the archive holds every count."""
    (gen,) = gen_dirs(directory)
    assert not list_workers(gen), worker_files(directory)
    families, _ = loads_families((gen / "archive.snap").read_bytes())
    return sum(s.value for f in families for s in f.samples if s.name == "app_requests_total")


def server_env(directory: Path) -> dict[str, str]:
    return {"MP_TEST_DIR": str(directory), "PYTHONPATH": str(REPO_ROOT)}


def gunicorn_cmd(port: int, *extra: str) -> list[str]:
    gunicorn = str(Path(PYTHON).parent / "gunicorn")
    return [
        gunicorn,
        "-c",
        str(APPS / "gunicorn_conf.py"),
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "5",
        *extra,
        "tests.apps.mp_wsgi_app:app",
    ]


@pytest.mark.integration
def test_gunicorn_sync_workers_sum_exactly_and_survive_a_kill(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(
        gunicorn_cmd(port, "-w", "4"),
        ready_url=base + "/metrics",
        cwd=REPO_ROOT,
        env=server_env(tmp_path),
    ):
        wait_for(lambda: live_workers(base) == 4, "4 workers")
        assert run_ab(base + "/work", 2000) == 2000
        answered = check_totals(base, 2000, workers=4)
        # Concurrent scrapes cannot all wait on one sync worker: others answer too.
        assert len(answered) >= 2, answered

        # The aggregate also renders as OpenMetrics (what Prometheus asks for).
        status, headers, body = http_get(
            base + "/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        assert status == 200
        assert headers["Content-Type"].startswith("application/openmetrics-text")
        om = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in openmetrics_families(body.decode())
            for s in f.samples
        }
        assert om[("app_requests_total", (("path", "/work"),))] == 2000
        assert om[("app_request_seconds_count", ())] == 2000

        samples, victim = scrape(base)
        # Process metrics: one series per live worker, labelled with its pid.
        pids = {dict(k[1])["pid"] for k in samples if k[0] == "process_resident_memory_bytes"}
        assert len(pids) == 4 and victim in pids

        os.kill(int(victim), signal.SIGKILL)
        # gunicorn's master archives it (child_exit hook) without waiting for a scrape.
        wait_for(
            lambda: not [n for n in worker_files(tmp_path) if n.startswith(f"w-{victim}-")],
            "child_exit to archive the killed worker",
        )
        wait_for(
            lambda: (
                victim not in {dict(k[1]).get("pid") for k in scrape(base)[0]}
                and live_workers(base) == 4
            ),
            "gunicorn to replace the killed worker",
        )
        # The killed worker's counts stay (it was scraped after its last request);
        # its livesum gauge went with it.
        check_totals(base, 2000, workers=4)
        assert run_ab(base + "/work", 500) == 500
        check_totals(base, 2500, workers=4)
        names = worker_files(tmp_path)
        # Each live worker: a value file and a snapshot; the killed one's are gone.
        assert len([n for n in names if n.startswith("w-")]) == 8, names
    # Stopping gunicorn: every worker archived its counts on the way out.
    assert archived_requests(tmp_path) == 2500


class Traffic:
    """``total`` GETs of /work from ``clients`` threads, counting the 200 answers received.

    Request ``i`` waits for ``gates[i // step - 1]`` (when there is one), so the
    test can act at known points while requests are still flowing.
    """

    def __init__(self, base: str, total: int, clients: int, gates: list[threading.Event]) -> None:
        self.port = int(base.rsplit(":", 1)[1])
        self.total, self.gates, self.step = total, gates, total // (len(gates) + 1)
        self.served = self.failed = self.sent = 0
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]
        for t in self.threads:
            t.start()

    def _run(self) -> None:
        import http.client

        while True:
            with self._lock:
                i = self.sent
                if i >= self.total:
                    return
                self.sent += 1
            if i >= self.step:
                assert self.gates[min(i // self.step, len(self.gates)) - 1].wait(60)
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                conn.request("GET", "/work")
                response = conn.getresponse()
                ok = response.status == 200 and response.read() == b"ok"
            except (OSError, http.client.HTTPException):  # e.g. the worker died mid-answer
                ok = False
            finally:
                conn.close()
            with self._lock:
                if ok:
                    self.served += 1
                else:
                    self.failed += 1

    def done(self) -> int:
        with self._lock:
            return self.served + self.failed

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in self.threads), "traffic did not finish"


@pytest.mark.integration
def test_gunicorn_totals_equal_requests_served_with_three_workers_sigkilled(
    tmp_path: Path,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    holds = tmp_path / "holds"
    holds.mkdir()
    directory = tmp_path / "metrics"
    env = {**server_env(directory), "MP_HOLD_DIR": str(holds)}
    with running(gunicorn_cmd(port, "-w", "4"), ready_url=base + "/metrics", cwd=REPO_ROOT, env=env):
        wait_for(lambda: live_workers(base) == 4, "4 workers")
        gates = [threading.Event() for _ in range(3)]
        traffic = Traffic(base, 4000, clients=8, gates=gates)
        victims: list[int] = []
        try:
            for k, gate in enumerate(gates, start=1):
                # Kill while requests are flowing: before this gate opens, 200 are still to go.
                wait_for(lambda k=k: traffic.done() >= 1000 * k - 200, f"{1000 * k - 200} requests")

                def hold() -> None:
                    with contextlib.suppress(OSError):
                        http_get(base + "/hold", timeout=90)

                threading.Thread(target=hold, daemon=True).start()
                wait_for(lambda: any(holds.iterdir()), "a worker to take /hold")
                (held,) = list(holds.iterdir())
                victim = int(held.name)
                assert traffic.done() < traffic.total
                os.kill(victim, signal.SIGKILL)
                held.unlink()
                victims.append(victim)
                gate.set()
        finally:
            for gate in gates:
                gate.set()
            traffic.join()
        assert len(set(victims)) == 3
        assert traffic.served + traffic.failed == 4000
        served = traffic.served
        wait_for(lambda: live_workers(base) == 4, "gunicorn to replace the killed workers")
        # The victims' counts are in the archive (child_exit), and exactly what was served:
        check_totals(base, served, workers=4)
        (gen,) = gen_dirs(directory)
        assert not {wf.process.pid for wf in list_workers(gen)} & set(victims)
        families, _ = loads_families((gen / "archive.snap").read_bytes())
        archived = sum(s.value for f in families for s in f.samples if s.name == "app_requests_total")
        assert archived > 0
        # Bounded: two files per live worker, the archive, the lock.
        assert len([n for n in worker_files(directory) if not n.startswith(".tmp-")]) == 10
    assert archived_requests(directory) == served


def children_of(pid: int) -> list[int]:
    """Live child processes of ``pid`` (gunicorn's workers, for its master)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] not in (b"Z", b"X"):
                out.append(int(entry))
    return out


@pytest.mark.integration
def test_gunicorn_workers_sigkilled_at_any_point_lose_nothing_counted(tmp_path: Path) -> None:
    """Kills at arbitrary points: a request in flight may be counted without its answer
    arriving, but everything served is counted, and nothing beyond the failed requests."""
    import random

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = gunicorn_cmd(port, "-w", "4")
    with running(cmd, ready_url=base + "/metrics", cwd=REPO_ROOT, env=server_env(tmp_path)) as proc:
        wait_for(lambda: live_workers(base) == 4, "4 workers")
        gates = [threading.Event() for _ in range(3)]
        traffic = Traffic(base, 4000, clients=8, gates=gates)
        pick = random.Random(13)
        victims: list[int] = []
        try:
            for k, gate in enumerate(gates, start=1):
                wait_for(lambda k=k: traffic.done() >= 1000 * k - 200, f"{1000 * k - 200} requests")
                workers = sorted(set(children_of(proc.pid)) - set(victims))
                assert workers, "no gunicorn worker to kill"
                victim = pick.choice(workers)
                os.kill(victim, signal.SIGKILL)
                victims.append(victim)
                gate.set()
        finally:
            for gate in gates:
                gate.set()
            traffic.join()
        wait_for(lambda: live_workers(base) == 4, "gunicorn to replace the killed workers")
        samples, _ = scrape(base)
        counted = samples[("app_requests_total", (("path", "/work"),))]
        assert traffic.served <= counted <= traffic.served + traffic.failed
        assert samples[("app_request_seconds_count", ())] == counted
        assert traffic.served >= 4000 - 3  # at most one request in flight per killed sync worker


@pytest.mark.integration
def test_gunicorn_gthread_and_max_requests_keep_files_bounded(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = gunicorn_cmd(port, "-w", "2", "-k", "gthread", "--threads", "4", "--max-requests", "40")
    with running(cmd, ready_url=base + "/metrics", cwd=REPO_ROOT, env=server_env(tmp_path)):
        wait_for(lambda: live_workers(base) == 2, "2 workers")
        before = 0
        sent = sum(run_ab(base + "/work", 200, concurrency=4) for _ in range(4))
        assert sent == 800  # about 20 worker restarts along the way
        wait_for(lambda: live_workers(base) == 2, "2 workers after restarts")
        check_totals(base, before + 800, workers=2, scrapes=4)
        names = [n for n in worker_files(tmp_path) if not n.startswith(".tmp-")]
        # Two workers (a value file and a snapshot each), the archive, the lock.
        assert len(names) <= 2 * 2 + 2, names
    # A new server run in the same directory starts from zero and clears the old run.
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(
        gunicorn_cmd(port, "-w", "2"),
        ready_url=base + "/metrics",
        cwd=REPO_ROOT,
        env=server_env(tmp_path),
    ):
        wait_for(lambda: live_workers(base) == 2, "2 workers")
        assert ("app_requests_total", (("path", "/work"),)) not in scrape(base)[0]
        assert len(gen_dirs(tmp_path)) == 1


@pytest.mark.integration
def test_uvicorn_workers_sum_exactly_and_survive_a_kill(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [
        PYTHON,
        "-m",
        "uvicorn",
        "--workers",
        "4",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "tests.apps.mp_asgi_app:app",
    ]
    with running(cmd, ready_url=base + "/metrics", cwd=REPO_ROOT, env=server_env(tmp_path)):
        wait_for(lambda: live_workers(base) == 4, "4 workers")
        assert run_ab(base + "/work", 2000) == 2000
        check_totals(base, 2000, workers=4)
        samples, victim = scrape(base)
        pids = {dict(k[1])["pid"] for k in samples if k[0] == "process_resident_memory_bytes"}
        assert len(pids) == 4
        victim = sorted(pids)[0]
        os.kill(int(victim), signal.SIGKILL)
        wait_for(
            lambda: (
                victim not in {dict(k[1]).get("pid") for k in scrape(base)[0]}
                and live_workers(base) == 4
            ),
            "uvicorn to replace the killed worker",
            timeout=60,
        )
        check_totals(base, 2000, workers=4)
    # uvicorn's workers (spawned, not forked) archive themselves at exit too.
    assert archived_requests(tmp_path) == 2000


def gunicorn_master(proc: subprocess.Popen[bytes]) -> int:
    return proc.pid  # gunicorn runs in the foreground: the process we started is the master


@pytest.mark.integration
def test_gunicorn_preload_and_hup_reload(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = gunicorn_cmd(port, "-w", "2", "--preload")
    with running(cmd, ready_url=base + "/metrics", cwd=REPO_ROOT, env=server_env(tmp_path)) as proc:
        # The master imported the app (and ran setup) but is not counted as a worker.
        wait_for(lambda: live_workers(base) == 2, "2 preloaded workers")
        assert run_ab(base + "/work", 300, concurrency=8) == 300
        check_totals(base, 300, workers=2, scrapes=4)
        (gen,) = gen_dirs(tmp_path)
        assert gen.name.startswith(f"gen-{gunicorn_master(proc)}-")
        old = {wf.process.pid for wf in list_workers(gen)}
        # HUP: gunicorn replaces every worker gracefully; the counts carry over.
        os.kill(gunicorn_master(proc), signal.SIGHUP)
        wait_for(
            lambda: (
                not old & {wf.process.pid for wf in list_workers(gen)} and live_workers(base) == 2
            ),
            "new workers after HUP",
        )
        check_totals(base, 300, workers=2, scrapes=4)


def test_a_forked_child_writes_its_own_file_not_its_parents(
    clean_state: None, tmp_path: Path
) -> None:
    from metricslib.instruments import Counter
    from metricslib.multiprocess.values import read_values

    registry = Registry()
    jobs = Counter("jobs", "Jobs.", registry=registry)
    jobs.inc(2)
    multiprocess.setup(tmp_path, registry=registry, handle_sigterm=False)
    mine = multiprocess._state.store.path  # type: ignore[union-attr]
    with warnings.catch_warnings():
        # Python 3.12+ warns that the agent thread exists; the child never touches its state.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: joins as a worker of its own, then counts
        code = 1
        try:
            jobs.inc(100)
            theirs = multiprocess._state.store.path  # type: ignore[union-attr]
            counted = read_values(theirs.read_bytes())[0].samples[0].value
            code = 0 if theirs != mine and counted == 102 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    jobs.inc(1)
    (family,) = read_values(mine.read_bytes())
    assert family.samples[0].value == 3
