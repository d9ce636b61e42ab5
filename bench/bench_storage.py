"""Storage benchmark: bytes per sample on disk, backfill import rate, memory per series.

Runs our store next to the incumbents in the same run, on the same data:

* bytes/sample: a 3 h, 5 s-interval workload shaped like a small web fleet
  (counters, histograms, process gauges; ~510 series, ~1.1 M samples) is
  appended through our Appender and, as an OpenMetrics file, backfilled into a
  real Prometheus TSDB with ``promtool tsdb create-blocks-from openmetrics``;
  both directories are measured on disk.
* import rate: ``metricslib import`` of that file vs VictoriaMetrics'
  ``/api/v1/import/prometheus`` (timed until the request returns and the
  samples are queryable).
* memory per active series: resident-memory growth for 10k and 50k series
  holding a few minutes of samples.

Usage: ``.venv/bin/python bench/bench_storage.py [--quick]``
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from metricslib.collector.model import make_labels  # noqa: E402
from metricslib.collector.storage import open_storage  # noqa: E402

START_S = 1_763_000_000  # a fixed, recent start so retention never interferes
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "+Inf")
ROUTES = ("/", "/api/items", "/api/items/<id>", "/login")
METHODS = ("GET", "POST")
CODES = ("200", "404", "500")


def _num(v: float) -> str:
    """As client libraries write values: integers bare, other floats shortest-exact."""
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _fmt_labels(d: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in sorted(d.items()))


def generate(duration_s: int = 3 * 3600, interval_s: int = 5, instances: int = 6, seed: int = 1) -> Iterator[
    tuple[str, str, dict[str, str], list[tuple[int, float]]]
]:
    """(family, type, labels, [(t_ms, value)]) per series, family by family."""
    rng = random.Random(seed)
    steps = duration_s // interval_s
    # Each instance is scraped at its own offset with a few ms of jitter, as in Prometheus.
    times = {
        inst: [
            (START_S + i * interval_s) * 1000 + inst * 713 + rng.randint(-2, 2) for i in range(steps)
        ]
        for inst in range(instances)
    }

    def base(inst: int) -> dict[str, str]:
        return {"instance": f"app-{inst}:8000", "job": "shop"}

    def counter(rate: float, inst: int) -> list[tuple[int, float]]:
        v = 0.0
        out = []
        for t in times[inst]:
            v += _poisson(rng, rate)
            out.append((t, v))
        return out

    for inst in range(instances):
        for route in ROUTES:
            for method in METHODS:
                for code in CODES:
                    rate = {"200": 40.0, "404": 2.0, "500": 0.2}[code] / (1 + ROUTES.index(route))
                    rate *= 1.0 if method == "GET" else 0.3
                    lab = {**base(inst), "route": route, "method": method, "code": code}
                    yield "http_requests", "counter", lab, counter(rate, inst)
    for inst in range(instances):
        for route in ROUTES:
            counts = [0] * len(BUCKETS)
            total = 0.0
            series: dict[str, list[tuple[int, float]]] = {le: [] for le in BUCKETS}
            sums: list[tuple[int, float]] = []
            cnts: list[tuple[int, float]] = []
            for t in times[inst]:
                for _ in range(_poisson(rng, 30.0 / (1 + ROUTES.index(route)))):
                    d = rng.lognormvariate(-3.5, 1.0)
                    total += d
                    for i, le in enumerate(BUCKETS):
                        if le == "+Inf" or d <= float(le):
                            counts[i] += 1
                for i, le in enumerate(BUCKETS):
                    series[le].append((t, float(counts[i])))
                sums.append((t, round(total, 6)))
                cnts.append((t, float(counts[-1])))
            for le in BUCKETS:
                yield "http_request_duration_seconds", "histogram", {**base(inst), "route": route, "le": le}, series[le]
            yield "http_request_duration_seconds", "histogram:sum", {**base(inst), "route": route}, sums
            yield "http_request_duration_seconds", "histogram:count", {**base(inst), "route": route}, cnts
    for inst in range(instances):
        ts = times[inst]
        cpu = 0.0
        mem = 80_000_000 + inst * 4096 * 100
        fds = 20
        out_cpu, out_mem, out_fds, out_start, out_gc, out_inflight, out_virt = [], [], [], [], [], [], []
        gc_n = 0.0
        for t in ts:
            cpu = round(cpu + rng.randint(1, 12) / 100, 2)
            if rng.random() < 0.2:
                mem += rng.randint(-20, 25) * 4096
            if rng.random() < 0.05:
                fds = max(10, fds + rng.randint(-2, 2))
            gc_n += _poisson(rng, 3.0)
            out_cpu.append((t, cpu))
            out_mem.append((t, float(mem)))
            out_fds.append((t, float(fds)))
            out_start.append((t, float(START_S - 3600 * inst)))
            out_gc.append((t, gc_n))
            out_inflight.append((t, float(rng.randint(0, 4))))
            out_virt.append((t, float(mem * 3 + 1_000_000_000)))
        yield "process_cpu_seconds", "counter", base(inst), out_cpu
        yield "process_resident_memory_bytes", "gauge", base(inst), out_mem
        yield "process_open_fds", "gauge", base(inst), out_fds
        yield "process_start_time_seconds", "gauge", base(inst), out_start
        yield "python_gc_collections", "counter", base(inst), out_gc
        yield "http_requests_in_flight", "gauge", base(inst), out_inflight
        yield "process_virtual_memory_bytes", "gauge", base(inst), out_virt
        yield "process_max_fds", "gauge", base(inst), [(t, 65536.0) for t in ts]


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth for small rates, a normal approximation above; plenty for a workload.
    if lam > 30:
        return max(0, int(rng.gauss(lam, math.sqrt(lam)) + 0.5))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _sample_name(family: str, kind: str, labels: dict[str, str]) -> str:
    if kind == "counter":
        return family + "_total"
    if kind == "histogram":
        return family + "_bucket"
    if kind.startswith("histogram:"):
        return family + "_" + kind.split(":")[1]
    return family


def write_openmetrics(path: Path, series: list[tuple[str, str, dict[str, str], list[tuple[int, float]]]]) -> int:
    """Write the workload as OpenMetrics; returns the sample count.

    Families stay in one piece, and a histogram's buckets, sum and count are
    written time point by time point (one MetricPoint after another), as the
    format requires."""
    order = {fam: i for i, (fam, *_rest) in reversed(list(enumerate(series)))}
    groups: dict[tuple[str, str], list[tuple[str, list[tuple[int, float]]]]] = {}
    kinds: dict[str, str] = {}
    for family, kind, labels, points in sorted(series, key=lambda s: order[s[0]]):
        kinds.setdefault(family, kind.split(":")[0])
        point_labels = {k: v for k, v in labels.items() if k != "le"}
        gkey = (family, _fmt_labels(point_labels) if kind.startswith("histogram") else _fmt_labels(labels))
        key = f"{_sample_name(family, kind, labels)}{{{_fmt_labels(labels)}}}"
        groups.setdefault(gkey, []).append((key, points))
    n = 0
    seen: set[str] = set()
    with path.open("w") as f:
        for (family, _), members in groups.items():
            if family not in seen:
                seen.add(family)
                f.write(f"# TYPE {family} {kinds[family]}\n")
            for i in range(len(members[0][1])):
                f.write(
                    "".join(
                        f"{key} {_num(points[i][1])} {points[i][0] // 1000}.{points[i][0] % 1000:03d}\n"
                        for key, points in members
                    )
                )
            n += sum(len(points) for _, points in members)
        f.write("# EOF\n")
    return n


def write_text(path: Path, series: list[tuple[str, str, dict[str, str], list[tuple[int, float]]]]) -> int:
    """The same samples in the Prometheus text format (millisecond timestamps)."""
    n = 0
    seen: set[str] = set()
    with path.open("w") as f:
        for family, kind, labels, points in series:
            if family not in seen:
                seen.add(family)
                f.write(f"# TYPE {family} {kind.split(':')[0]}\n")
            key = f"{_sample_name(family, kind, labels)}{{{_fmt_labels(labels)}}}"
            f.write("".join(f"{key} {_num(v)} {t}\n" for t, v in points))
            n += len(points)
    return n


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bytes_via_appender(series: list[tuple[str, str, dict[str, str], list[tuple[int, float]]]], data_dir: Path) -> tuple[int, float]:
    """Replay the workload scrape by scrape through an Appender; (bytes on disk, seconds)."""
    by_instance: dict[str, list[tuple[tuple[tuple[str, str], ...], list[tuple[int, float]]]]] = {}
    for family, kind, labels, points in series:
        lab = make_labels({"__name__": _sample_name(family, kind, labels), **labels})
        by_instance.setdefault(labels["instance"], []).append((lab, points))
    steps = min(len(p) for group in by_instance.values() for _, p in group)
    started = time.perf_counter()
    store = open_storage(data_dir, retention_ms=2**62, background=False)
    refs: dict[str, list[int]] = {}
    for k in range(steps):
        for inst, group in by_instance.items():
            app = store.appender()
            if k == 0:
                refs[inst] = [app.append(lab, points[0][0], points[0][1]) for lab, points in group]
            else:
                for ref, (_, points) in zip(refs[inst], group, strict=True):
                    t, v = points[k]
                    app.append_ref(ref, t, v)
            app.commit()
        store.flush()  # one flush per 5 s scrape round, as with the default interval
    # close() leaves the head to the write-ahead log; measure the data as it ends
    # up once every window is done: all in chunks, merged, free pages returned.
    store.flush(cut_all=True)
    store.compact(final=True)
    store.clean_tombstones()
    store.close()
    return dir_bytes(data_dir), time.perf_counter() - started


def promtool_blocks(om_file: Path, out: Path) -> tuple[int, float] | None:
    promtool = shutil.which("promtool")
    if promtool is None:
        return None
    started = time.perf_counter()
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "-q", str(om_file), str(out)],
                   check=True, stdout=subprocess.DEVNULL, timeout=600)
    return dir_bytes(out), time.perf_counter() - started


def our_import(path: Path, data_dir: Path) -> float:
    """Seconds for import_file() in a fresh process, as `metricslib import` runs it
    (interpreter start and imports, about 0.3 s, not counted)."""
    code = (
        "import sys, time\n"
        "from metricslib.collector.storage.importer import import_file\n"
        "t = time.perf_counter()\n"
        "import_file(sys.argv[1], sys.argv[2])\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(data_dir), str(path)], check=True,
                         capture_output=True, text=True, timeout=600, cwd=REPO)
    return float(out.stdout.strip())


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return bytes(resp.read())


def vm_import(path: Path, tmp: Path, expected: int, end_s: float) -> tuple[float, float] | None:
    """(seconds until the POST returned, seconds until all samples are queryable)."""
    binary = shutil.which("victoria-metrics")
    if binary is None:
        return None
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [binary, f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={tmp / 'vm'}",
         "-retentionPeriod=100y", "-loggerLevel=ERROR"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(base + "/health").strip() == b"OK":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("victoria-metrics did not start")
            time.sleep(0.1)
        body = path.read_bytes()
        started = time.perf_counter()
        req = urllib.request.Request(base + "/api/v1/import/prometheus", data=body, method="POST",
                                     headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(req, timeout=300) as resp:
            resp.read()
        returned = time.perf_counter() - started
        _get(base + "/internal/force_flush")
        q = urllib.parse.quote('sum(count_over_time({__name__=~".+"}[6h]))')
        while True:
            data = json.loads(_get(f"{base}/api/v1/query?query={q}&time={end_s + 1}&nocache=1"))
            result = data["data"]["result"]
            if result and int(float(result[0]["value"][1])) >= expected:
                break
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"victoria-metrics shows {result} samples, expected {expected}")
            time.sleep(0.05)
        return returned, time.perf_counter() - started
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_per_series(n: int, samples: int, tmp: Path) -> float:
    """Resident bytes per active series (index, head buffers with ``samples``
    samples, bookkeeping); the label tuples exist beforehand, like a scraper's cache."""
    store = open_storage(tmp / f"mem{n}", retention_ms=2**62, background=False)
    try:
        labels = [
            make_labels({"__name__": "http_requests_total", "instance": f"app-{i % 50}:8000",
                         "job": "shop", "route": f"/api/r{i // 50}", "code": "200"})
            for i in range(n)
        ]
        gc.collect()
        before = _rss()
        app = store.appender()
        refs = [app.append(lab, 0, 0.0) for lab in labels]
        app.commit()
        for k in range(1, samples):
            app = store.appender()
            for ref in refs:
                app.append_ref(ref, k * 5000, float(k))
            app.commit()
        store.flush()
        del app
        gc.collect()
        return (_rss() - before) / n
    finally:
        store.close()


def select_all(data_dir: Path) -> tuple[float, float, int]:
    """(first select of everything, repeated select), seconds, and the sample count."""
    from metricslib.collector.model import Matcher

    store = open_storage(data_dir, retention_ms=2**62, background=False)
    try:
        q = store.querier()
        m = [Matcher("__name__", "=~", ".+")]
        t0 = time.perf_counter()
        got = q.select(m, 0, 2**62)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        q.select(m, 0, 2**62)
        warm = time.perf_counter() - t0
        return cold, warm, sum(len(s) for s in got)
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 h of data, fewer series (smoke run)")
    args = parser.parse_args()
    duration = 3600 if args.quick else 3 * 3600
    instances = 2 if args.quick else 6
    t_start = time.perf_counter()

    def phase(name: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f}s] {name}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="bench_storage_") as tmp_name:
        tmp = Path(tmp_name)
        series = list(generate(duration_s=duration, instances=instances))
        om_file, txt_file = tmp / "workload.om", tmp / "workload.txt"
        n = write_openmetrics(om_file, series)
        write_text(txt_file, series)
        end_s = max(t for *_, pts in series for t, _ in pts) / 1000
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
        print(f"workload: {len(series)} series, {n} samples, 5 s interval, {duration // 3600} h; "
              f"OpenMetrics file {om_file.stat().st_size / 1e6:.0f} MB")

        phase("workload written; appending")
        ours_bytes, ours_s = bytes_via_appender(series, tmp / "appended")
        # Imports are short and the machine may be shared: run ours and
        # VictoriaMetrics alternately, several times, and compare the best runs.
        reps = 1 if args.quick else 3
        om_runs: list[float] = []
        txt_runs: list[float] = []
        vm_runs: list[tuple[float, float]] = []
        for r in range(reps):
            phase(f"importing, round {r + 1}/{reps}")
            om_runs.append(our_import(om_file, tmp / f"imported_om{r}"))
            txt_runs.append(our_import(txt_file, tmp / f"imported_txt{r}"))
            got_vm = vm_import(txt_file, tmp / f"vm{r}", n, end_s)
            if got_vm is not None:
                vm_runs.append(got_vm)
        imp_bytes = dir_bytes(tmp / "imported_om0")
        imp_om_s, imp_txt_s = min(om_runs), min(txt_runs)
        vm = (min(v[0] for v in vm_runs), min(v[1] for v in vm_runs)) if vm_runs else None
        phase("promtool")
        prom = promtool_blocks(om_file, tmp / "prom")
        phase("select")
        cold, warm, seen = select_all(tmp / "appended")
        assert seen == n, f"select saw {seen} samples, expected {n}"
        phase("memory")
        mem = {k: memory_per_series(k, 30, tmp) for k in ((2_000, 10_000) if args.quick else (10_000, 50_000))}

    phase("done")
    print("\n## bytes per sample on disk (lower is better)")
    print(f"metricslib, appended scrape by scrape, after close: {ours_bytes / n:.3f} "
          f"({ours_bytes} B; ingest {n / ours_s:,.0f} samples/s incl. flushes)")
    print(f"metricslib, imported from the OpenMetrics file:    {imp_bytes / n:.3f} ({imp_bytes} B)")
    if prom:
        print(f"Prometheus 2.42 (promtool create-blocks-from):     {prom[0] / n:.3f} ({prom[0]} B)")
        print(f"ratio ours/prometheus: {ours_bytes / prom[0]:.2f}")
    else:
        print("promtool not installed: Prometheus size not measured")
    print(f"\n## backfill import rate (higher is better; best of {len(om_runs)} alternating runs)")
    print("runs, s: ours OpenMetrics " + ", ".join(f"{x:.2f}" for x in om_runs)
          + "; ours text " + ", ".join(f"{x:.2f}" for x in txt_runs)
          + "; VictoriaMetrics " + ", ".join(f"{q:.2f}" for _, q in vm_runs))
    print(f"metricslib import, OpenMetrics file: {n / imp_om_s:,.0f} samples/s ({imp_om_s:.2f} s)")
    print(f"metricslib import, text file (ms):   {n / imp_txt_s:,.0f} samples/s ({imp_txt_s:.2f} s)")
    if prom:
        print(f"promtool create-blocks-from:         {n / prom[1]:,.0f} samples/s ({prom[1]:.2f} s)")
    if vm:
        print(f"VictoriaMetrics /api/v1/import/prometheus, text file: request returned after {vm[0]:.2f} s, "
              f"queryable after {vm[1]:.2f} s = {n / vm[1]:,.0f} samples/s")
        print(f"time ratio ours/VictoriaMetrics (same text file, until queryable): {imp_txt_s / vm[1]:.2f}")
    else:
        print("victoria-metrics not installed: not measured")
    print("\n## memory per active series (RSS growth; 30 samples each in the head; label tuples excluded)")
    for k, v in mem.items():
        print(f"{k} series: {v:,.0f} bytes/series")
    print("\n## select of every sample from disk")
    print(f"{n} samples: first {cold * 1000:.0f} ms (decode), repeated {warm * 1000:.0f} ms (cached)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
