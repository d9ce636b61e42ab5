"""Issue 12's 1 h range query over a full hour of data, under ingestion: our
collector against a real Prometheus 2.42.

``bench_capacity``'s range-query figures came from stores holding the run's
few minutes of data. Here both servers first get more than an hour of the very
series the live targets serve, by remote write (``bench_memory``'s feed: the
same bytes to both, in the same order, each with its remote-write receiver
on): ``x{instance="127.0.0.1:PORT", job="capacity", series="i"}`` for every
target and series, one sample per ``--interval`` of simulated time, ending
near the present (the feed catches up with the clock before it stops).

Both are fed as ``bench_memory`` feeds them (ours with ``--flush-interval 1s``
so its cuts keep pace with a feed at tens of times real speed), then stopped
by PID and started again as users run them (our collector's default flush
interval), now scraping ``bench_capacity``'s targets at ``--interval``, so
the series carry on live: the only hole is the restart's. After
``--warmup`` seconds, ``--rounds`` rounds, each asking both servers in turn
(ours first in rounds 1, 3, 5, ..., Prometheus first in the others; one at a time, so
neither query competes with the other):

- the range query ``sum(rate(x[5m])) by (job)`` over the last ``--range``
  seconds at a ``--step`` step (default 1 h at 15 s: 241 steps);
- the instant query ``sum(rate(x[5m])) by (job)``.

Printed: each query's wall time, the points the range query returned (a
full hour at 15 s is 241; a store holding minutes would return a few), the
medians and ours / Prometheus; CPU seconds each server spent in the query
phase; scrapes on schedule during it (as ``bench_capacity`` counts them);
RSS per series. Load average at the start and the end.

    PYTHONPATH=. .venv/bin/python bench/bench_curve.py --series 200000 --hours 1.25 --interval 15 \\
        --rounds 5 --phase 120 --warmup 90 --max-minutes 50 --ours-arg=--query.max-samples=100000000

(At 200k series our collector refuses that range query under its default
``--query.max-samples`` of 50M, which Prometheus answers under the same
default; ``--ours-arg`` raises it so the latency can be compared.)

More rounds run until the query phase has lasted ``--phase`` seconds, so the
scrapes on schedule count over several intervals; they are also counted over
the warm-up (no queries) for comparison.

Every process is stopped by its PID; the run is bounded by ``--max-minutes``
and stops cleanly once our RSS passes ``--max-rss-gib``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.parse
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_capacity import (
    QUERY,
    REPORT_SERIES,
    SERVERS,
    RSSLimitReached,
    RSSWatch,
    config_text,
    cpu_seconds,
    distinct_ports,
    process,
    ratio,
    read_log,
    rss_bytes,
    schedule,
    wait_for_targets,
)
from bench.bench_memory import Feed, Poster, own_metric, post_both


@dataclass
class Timings:
    range_s: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SERVERS})
    range_points: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in SERVERS})
    instant_s: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SERVERS})
    errors: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in SERVERS})


def timed_query(conn: http.client.HTTPConnection, path: str) -> tuple[float, dict[str, object]]:
    """Seconds for one GET and its decoded answer; raises unless it answered 200."""
    started = time.perf_counter()
    conn.request("GET", path, headers={"Accept-Encoding": "identity"})
    resp = conn.getresponse()
    body = resp.read()
    elapsed = time.perf_counter() - started
    if resp.status != 200:
        raise RuntimeError(f"{path} answered {resp.status}: {body[:300]!r}")
    answer: dict[str, object] = json.loads(body)
    return elapsed, answer


def points(answer: dict[str, object]) -> int:
    """Samples in a range query's answer, over all its series."""
    data = answer["data"]
    assert isinstance(data, dict)
    return sum(len(series.get("values", [])) for series in data["result"])


def feed_both(feed: Feed, posters: dict[str, Poster], start_ms: int, interval_ms: int, n_samples: int,
              slice_: int, pids: dict[str, int]) -> int:
    """Send samples 0..n_samples-1, then keep sending until the last sample sent
    is within two intervals of the clock; returns the samples per series sent."""
    t0 = time.monotonic()
    k0 = 0
    batches = 0
    while True:
        now_ms = int(time.time() * 1000)
        if k0 >= n_samples and now_ms - (start_ms + (k0 - 1) * interval_ms) <= 2 * interval_ms:
            return k0
        upto = max(n_samples, (now_ms - start_ms) // interval_ms + 1)  # samples due by now
        times = [start_ms + k * interval_ms for k in range(k0, min(k0 + slice_, upto))]
        for body in feed.bodies(times, k0):
            post_both(posters, body)
        k0 += len(times)
        batches += 1
        if batches % 5 == 0 or k0 >= n_samples:
            behind = (now_ms - times[-1]) / 60_000
            print(f"  fed {k0} samples per series ({k0 * interval_ms / 3_600_000:.2f} h, {behind:.1f} min behind "
                  f"the clock) after {time.monotonic() - t0:.0f} s; RSS "
                  + ", ".join(f"{s} {rss_bytes(p) / 2**30:.2f} GiB" for s, p in pids.items()), flush=True)


def run(args: argparse.Namespace, prometheus: str, tmp: Path) -> Timings:
    per_target = args.series_per_target
    n = args.series // per_target
    ports = distinct_ports(n + 2)
    prom_port, our_port = ports.pop(), ports.pop()
    urls = {"ours": f"http://127.0.0.1:{our_port}", "prometheus": f"http://127.0.0.1:{prom_port}"}
    interval_ms = int(args.interval * 1000)
    feed_config, live_config = tmp / "feed.yml", tmp / "prometheus.yml"
    feed_config.write_text(f"global:\n  scrape_interval: {args.interval:g}s\n")
    live_config.write_text(config_text(ports, args.interval))
    reqlog = tmp / "requests.log"
    reqlog.write_text("")
    common_ours = [sys.executable, "-m", "metricslib", "collector", "--data-dir", str(tmp / "ours"),
                   "--listen", f"127.0.0.1:{our_port}", *args.ours_arg]
    common_prom = [prometheus, f"--storage.tsdb.path={tmp / 'prom'}", f"--web.listen-address=127.0.0.1:{prom_port}"]
    res = Timings()
    with ExitStack() as outer:
        targets = outer.enter_context(process(
            [sys.executable, str(Path(__file__).with_name("bench_capacity.py")), "--serve-targets",
             ",".join(map(str, ports)), str(reqlog), str(per_target)], tmp / "targets.out"))
        wait_for_targets(targets, reqlog, tmp / "targets.out")

        # 1. The hour, by remote write, into both (no scrapes yet).
        feed = Feed(n * per_target, args.batch, lambda i: (
            ("__name__", "x"), ("instance", f"127.0.0.1:{ports[i // per_target]}"), ("job", "capacity"),
            ("series", str(i % per_target))))
        n_samples = int(args.hours * 3_600_000 // interval_ms)
        start_ms = (int(time.time() * 1000) // interval_ms - n_samples + 1) * interval_ms
        with ExitStack() as stack:
            procs = {
                "ours": stack.enter_context(process(
                    [*common_ours, "--config", str(feed_config), "--web.enable-remote-write-receiver",
                     "--flush-interval", "1s"], tmp / "ours.out", f"{urls['ours']}/-/ready", stop_timeout=300)),
                "prometheus": stack.enter_context(process(
                    [*common_prom, f"--config.file={feed_config}", "--web.enable-remote-write-receiver"],
                    tmp / "prometheus.out", f"{urls['prometheus']}/-/ready", stop_timeout=300)),
            }
            pids = {s: p.pid for s, p in procs.items()}
            stack.enter_context(RSSWatch(pids, args.max_rss_gib * 2**30, args.rss_every))
            posters = {"ours": Poster(our_port), "prometheus": Poster(prom_port)}
            cpu0 = {s: cpu_seconds(p) for s, p in pids.items()}
            t_feed = time.monotonic()
            sent = feed_both(feed, posters, start_ms, interval_ms, n_samples, args.slice, pids)
            cpu = {s: cpu_seconds(p) - cpu0[s] for s, p in pids.items()}
            samples = sent * n * per_target
            print(f"feed: {sent} samples per series ({samples / 1e6:.1f} M) in {time.monotonic() - t_feed:.0f} s; CPU "
                  f"per sample ours / Prometheus {cpu['ours'] / samples * 1e6:.2f} / "
                  f"{cpu['prometheus'] / samples * 1e6:.2f} µs; our head: "
                  f"{own_metric(our_port, 'metricslib_storage_head_samples') / feed.series:.0f} raw samples, "
                  f"{own_metric(our_port, 'prometheus_tsdb_head_chunks') / feed.series:.1f} chunks per series",
                  flush=True)
            for s, p in posters.items():
                if p.errors:
                    print(f"  {s}: non-204 answers, e.g. {p.errors}", flush=True)
            stop_started = time.monotonic()
        print(f"both stopped ({time.monotonic() - stop_started:.0f} s); starting them on the scrape config",
              flush=True)

        # 2. Live: both scrape the targets; the queries run in turn.
        with ExitStack() as stack:
            restart = time.monotonic()
            procs = {
                "ours": stack.enter_context(process(
                    [*common_ours, "--config", str(live_config)], tmp / "ours.out", f"{urls['ours']}/-/ready",
                    stop_timeout=300, ready_timeout=600)),
                "prometheus": stack.enter_context(process(
                    [*common_prom, f"--config.file={live_config}"], tmp / "prometheus.out",
                    f"{urls['prometheus']}/-/ready", stop_timeout=300, ready_timeout=600)),
            }
            pids = {s: p.pid for s, p in procs.items()}
            print(f"both ready after {time.monotonic() - restart:.0f} s; warming up {args.warmup:g} s", flush=True)
            stack.enter_context(RSSWatch(pids, args.max_rss_gib * 2**30, args.rss_every))
            quiet0 = time.time() + min(args.warmup / 2, 2 * args.interval)  # after the first scrapes
            time.sleep(args.warmup)
            conns = {s: http.client.HTTPConnection("127.0.0.1", int(u.rsplit(":", 1)[1]), timeout=600)
                     for s, u in urls.items()}
            t0 = time.time()
            cpu0 = {s: cpu_seconds(p) for s, p in pids.items()}
            r = 0
            while r < args.rounds or time.time() - t0 < args.phase:
                order = SERVERS if r % 2 == 0 else SERVERS[::-1]
                for s in order:
                    end = time.time()
                    path = "/api/v1/query_range?" + urllib.parse.urlencode(
                        {"query": QUERY, "start": f"{end - args.range:.3f}", "end": f"{end:.3f}",
                         "step": f"{args.step:g}"})
                    try:
                        elapsed, answer = timed_query(conns[s], path)
                    except RuntimeError as exc:  # kept, and the run goes on
                        res.errors[s].append(str(exc).rsplit(": ", 1)[-1])
                        print(f"  round {r + 1}: {s:10} range failed: {exc}", flush=True)
                        continue
                    res.range_s[s].append(elapsed)
                    res.range_points[s].append(points(answer))
                    print(f"  round {r + 1}: {s:10} range {elapsed:6.2f} s, {points(answer)} points", flush=True)
                for s in order:
                    path = "/api/v1/query?" + urllib.parse.urlencode({"query": QUERY, "time": f"{time.time():.3f}"})
                    elapsed, _ = timed_query(conns[s], path)
                    res.instant_s[s].append(elapsed)
                    print(f"  round {r + 1}: {s:10} instant {elapsed * 1000:6.0f} ms", flush=True)
                r += 1
            t1 = time.time()
            cpu = {s: cpu_seconds(p) - cpu0[s] for s, p in pids.items()}
            for c in conns.values():
                c.close()
            time.sleep(1.5)  # the targets flush their log
            log = read_log(reqlog)
            active = n * (per_target + REPORT_SERIES)
            for s in SERVERS:
                good, slots = schedule(log[s], t0, t1, args.interval)
                q_good, q_slots = schedule(log[s], quiet0, t0, args.interval)
                print(f"query phase ({t1 - t0:.0f} s, {r} rounds), {s}: CPU {cpu[s]:.1f} s, scrapes on schedule "
                      f"{good / slots if slots else 0:.3f} ({slots} slots; before the queries "
                      f"{q_good / q_slots if q_slots else 0:.3f} of {q_slots}), RSS {rss_bytes(pids[s]) / active:.0f} B "
                      "per active series", flush=True)
            print(f"our head: {own_metric(our_port, 'metricslib_storage_head_samples') / feed.series:.0f} raw "
                  f"samples, {own_metric(our_port, 'prometheus_tsdb_head_chunks') / feed.series:.1f} chunks per series",
                  flush=True)
    return res


def runs(values: list[float], scale: float, fmt: str) -> str:
    """Every value, or with more than a dozen the range."""
    if len(values) > 12:
        return f"{min(values) * scale:{fmt}} to {max(values) * scale:{fmt}} (n={len(values)})"
    return " ".join(f"{x * scale:{fmt}}" for x in values)


def report(res: Timings, args: argparse.Namespace) -> None:
    for s, errs in res.errors.items():
        if errs:
            print(f"{s}: {len(errs)} range queries failed: {sorted(set(errs))}")
    if not res.range_s["ours"] and not res.range_s["prometheus"]:
        return
    med = {s: statistics.median(v) for s, v in res.range_s.items() if v}
    inst = {s: statistics.median(v) * 1000 for s, v in res.instant_s.items() if v}
    print(f"\n| query, {args.series // 1000}k series, {args.hours:g} h fed, scraped at {args.interval:g}s | "
          "median, ours / Prometheus | ratio | each run, ours | each run, Prometheus | points, ours / Prometheus |")
    print("|---|---|---|---|---|---|")
    print(f"| `{QUERY}` over {args.range / 3600:g} h, step {args.step:g}s | {med.get('ours', float('nan')):.2f} / "
          f"{med.get('prometheus', float('nan')):.2f} s | {ratio(med)} | "
          f"{runs(res.range_s['ours'], 1, '.2f')} | {runs(res.range_s['prometheus'], 1, '.2f')} | "
          f"{statistics.median(res.range_points['ours'] or [0]):.0f} / "
          f"{statistics.median(res.range_points['prometheus'] or [0]):.0f} |")
    if len(inst) == 2:
        print(f"| `{QUERY}` instant | {inst['ours']:.0f} / {inst['prometheus']:.0f} ms | {ratio(inst)} | "
              f"{runs(res.instant_s['ours'], 1000, '.0f')} | {runs(res.instant_s['prometheus'], 1000, '.0f')} | — |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--series", type=int, default=200_000, help="series in all (targets x series per target)")
    parser.add_argument("--series-per-target", type=int, default=2000)
    parser.add_argument("--hours", type=float, default=1.25, help="hours of data fed before the live phase")
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between samples, fed and scraped")
    parser.add_argument("--slice", type=int, default=40, help="samples per series per request of the feed")
    parser.add_argument("--batch", type=int, default=1000, help="series per request of the feed")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds of scraping before the queries")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the range and the instant query")
    parser.add_argument("--phase", type=float, default=120.0,
                        help="keep asking (more rounds) until the query phase has lasted this long, seconds")
    parser.add_argument("--range", type=float, default=3600.0, help="the range query's range, seconds")
    parser.add_argument("--step", type=float, default=15.0, help="the range query's step, seconds")
    parser.add_argument("--max-minutes", type=float, default=50.0, help="stop the whole run after this")
    parser.add_argument("--max-rss-gib", type=float, default=10.0, help="stop once our RSS passes this")
    parser.add_argument("--ours-arg", action="append", default=[],
                        help="an extra argument for our collector (repeatable), e.g. --ours-arg=--query.max-samples=100000000")
    parser.add_argument("--rss-every", type=float, default=60.0, help="print both RSS figures this often, seconds")
    args = parser.parse_args()
    prometheus = shutil.which("prometheus")
    if not prometheus:
        print("needs the Debian package 'prometheus'")
        return 1
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("--max-minutes reached")))
    signal.alarm(int(args.max_minutes * 60))

    def rss_limit(*_: object) -> None:
        raise RSSLimitReached(f"our collector's RSS passed {args.max_rss_gib:g} GiB")

    signal.signal(signal.SIGUSR1, rss_limit)
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs; {args.series} series, "
          f"{args.hours:g} h at {args.interval:g}s", flush=True)
    res = Timings()
    stopped: Exception | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench_curve.") as tmpdir:
            res = run(args, prometheus, Path(tmpdir))
    except (RSSLimitReached, TimeoutError) as exc:
        stopped = exc
    report(res, args)
    print(f"\n{time.strftime('%H:%M:%S', time.gmtime())} UTC, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")
    if stopped is not None:
        print(f"stopped early: {stopped}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
