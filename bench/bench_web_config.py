"""What a web config (TLS + basic auth) costs per scrape: our SDK server against node_exporter.

Both servers run twice, plain and behind the same kind of web config (TLS
with a throw-away CA, basic auth with a cost-10 bcrypt hash); the client
asks for ``/metrics`` over one keep-alive connection (as Prometheus does) and
over a new connection per request (a handshake each time). Rounds run
interleaved (ours plain, ours TLS, node plain, node TLS, ...); the report
is each one's best time per request and the TLS/plain ratio of each server.

    python bench/bench_web_config.py [ROUNDS]
"""

from __future__ import annotations

import base64
import http.client
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bcrypt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metricslib.instruments import Counter
from metricslib.registry import Registry
from metricslib.serve import start_http_server
from tests.helpers import free_port, wait_for_http
from tests.tls_pki import make_pki

REQUESTS = 200
CONNECTIONS = 50


def timed(port: int, ctx: ssl.SSLContext | None, auth: str | None, keep_alive: bool) -> float:
    """Seconds per request."""
    headers = {"Authorization": auth} if auth else {}

    def connect() -> http.client.HTTPConnection:
        if ctx is None:
            return http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)

    count = REQUESTS if keep_alive else CONNECTIONS
    conn = connect()
    start = time.perf_counter()
    for _ in range(count):
        if not keep_alive:
            conn = connect()
        conn.request("GET", "/metrics", headers=headers)
        response = conn.getresponse()
        assert response.status == 200, response.status
        response.read()
        if not keep_alive:
            conn.close()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed / count


def main(rounds: int) -> None:
    node = shutil.which("prometheus-node-exporter")
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-config-"))
    pki = make_pki(tmp / "pki")
    hashed = bcrypt.hashpw(b"wonderland", bcrypt.gensalt(rounds=10)).decode()
    web = tmp / "web.yml"
    web.write_text(
        f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
        f"basic_auth_users:\n  alice: '{hashed}'\n"
    )
    auth = "Basic " + base64.b64encode(b"alice:wonderland").decode()
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    reg = Registry()
    for i in range(50):
        Counter(f"bench_{i}", "Bench.", ["code"], registry=reg).labels("200").inc(i)
    servers = []
    plain, _ = start_http_server(0, registry=reg)
    tls, _ = start_http_server(0, registry=reg, web_config_file=str(web))
    servers += [plain, tls]
    targets = {
        "ours plain": (plain.server_port, None, None),
        "ours TLS+auth": (tls.server_port, ctx, auth),
    }
    procs = []
    if node:
        for name, extra in (("node_exporter plain", []), ("node_exporter TLS+auth", [f"--web.config.file={web}"])):
            port = free_port()
            cmd = [node, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults", *extra]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            targets[name] = (port, ctx if extra else None, auth if extra else None)
        wait_for_http(f"http://127.0.0.1:{targets['node_exporter plain'][0]}/metrics")
        time.sleep(1)
    try:
        results: dict[tuple[str, bool], list[float]] = {}
        for port, context, credentials in targets.values():  # warm up: first bcrypt check, caches
            timed(port, context, credentials, keep_alive=False)
        for _ in range(rounds):
            for keep_alive in (True, False):
                for name, (port, context, credentials) in targets.items():
                    results.setdefault((name, keep_alive), []).append(timed(port, context, credentials, keep_alive))
        # Best of the rounds: on a shared machine the minimum is the least disturbed figure.
        print(f"{rounds} rounds, best time per /metrics request (µs)")
        for keep_alive in (True, False):
            label = "keep-alive" if keep_alive else "new connection each"
            medians = {name: min(results[(name, keep_alive)]) * 1e6 for name in targets}
            print(f"  {label}: " + ", ".join(f"{n} {v:,.0f}" for n, v in medians.items()))
            print(f"    ours TLS/plain {medians['ours TLS+auth'] / medians['ours plain']:.2f}", end="")
            if node:
                ratio = medians["node_exporter TLS+auth"] / medians["node_exporter plain"]
                print(f", node_exporter TLS/plain {ratio:.2f}", end="")
            print()
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
