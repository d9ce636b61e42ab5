"""Our reading of web config files against ``promtool check web-config`` (Prometheus 2.42).

Each file is checked by both, with real certificate files beside it: what one
accepts the other accepts. The few files we refuse on purpose (they could
never serve a connection, or Python's ssl cannot do what they ask) are listed
with the reason, and promtool is checked to accept them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import bcrypt
import pytest

from metricslib.errors import ConfigError
from metricslib.web_guard import WebConfigFile
from tests.helpers import require_tool
from tests.tls_pki import PKI, make_pki

pytestmark = pytest.mark.integration

HASH = bcrypt.hashpw(b"x", bcrypt.gensalt(rounds=4)).decode()
TLS = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"

SAME = [
    "",
    TLS,
    TLS + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: test-ca.crt\n",
    TLS + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: test-ca.crt\n",
    TLS + "  client_auth_type: RequestClientCert\n",
    TLS + "  client_auth_type: Always\n",
    TLS + "  client_ca_file: test-ca.crt\n",
    TLS + "  min_version: TLS13\n  max_version: TLS13\n",
    TLS + "  min_version: TLS14\n",
    TLS + "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384]\n",
    TLS + "  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n",
    TLS + "  cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]\n",
    TLS + "  curve_preferences: [X25519, CurveP256, CurveP384, CurveP521]\n",
    TLS + "  curve_preferences: [CurveP224]\n",
    TLS + "  prefer_server_cipher_suites: false\n",
    TLS + "  prefer_server_cipher_suites: sometimes\n",
    TLS + "  certfile: x\n",
    "tls_server_config:\n  cert_file: server.crt\n",
    "tls_server_config:\n  key_file: server.key\n",
    "tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n",
    "tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n",
    "http_server_config:\n  http2: false\n",
    "http_server_config:\n  http2: 1\n",
    "http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n    Strict-Transport-Security: max-age=1\n"
    "    X-XSS-Protection: '1'\n    Content-Security-Policy: default-src 'self'\n    X-Content-Type-Options: nosniff\n",
    "http_server_config:\n  headers:\n    X-Frame-Options: DENY\n",
    "http_server_config:\n  headers:\n    x-frame-options: deny\n",
    "http_server_config:\n  headers:\n    Server: x\n",
    "http_server_config:\n  gzip: true\n",
    f"basic_auth_users:\n  alice: '{HASH}'\n  bob: '{HASH}'\n",
    "basic_auth_users:\n  alice: secret\n",
    "basic_auth_users:\n  alice: '$2y$03$" + "a" * 53 + "'\n",
    f"basic_auth_users:\n  alice: '{HASH}'\n  alice: '{HASH}'\n",
    "basic_auth_users: [alice]\n",
    "users:\n  alice: x\n",
    "tls_server_config: [1]\n",
    "tls_server_config:\n  cert_file: [server.crt]\n  key_file: server.key\n",
]

# Files we refuse on purpose; promtool 2.42 accepts them.
OURS_STRICTER = {
    TLS + "  min_version: TLS13\n  max_version: TLS12\n": "no TLS version is left: every handshake would fail",
    TLS + "  client_auth_type: RequireAnyClientCert\n": "Python's ssl cannot require a certificate it does not verify",
    f"basic_auth_users:\n  'a:b': '{HASH}'\n": "a user name with ':' can never log in with basic auth",
    "basic_auth_users:\n  alice: '$2$10$" + "a" * 53 + "'\n": "the bcrypt package cannot check $2$ hashes",
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


def promtool_accepts(path: Path) -> tuple[bool, str]:
    promtool = require_tool("promtool", "prometheus")
    result = subprocess.run([promtool, "check", "web-config", str(path)], capture_output=True, text=True, timeout=60)
    return result.returncode == 0, result.stdout + result.stderr


def we_accept(path: Path) -> tuple[bool, str]:
    try:
        WebConfigFile(str(path))
    except ConfigError as exc:
        return False, str(exc)
    return True, ""


@pytest.mark.parametrize("text", SAME)
def test_we_accept_what_promtool_accepts(pki: PKI, text: str) -> None:
    path = pki.ca.parent / "web.yml"
    path.write_text(text)
    ours, why = we_accept(path)
    theirs, output = promtool_accepts(path)
    assert ours == theirs, f"ours: {ours} {why}\npromtool: {theirs} {output}"
    if not ours:
        assert str(path) in why  # and the key, checked in test_web_config.py


@pytest.mark.parametrize(("text", "reason"), OURS_STRICTER.items())
def test_files_we_refuse_on_purpose(pki: PKI, text: str, reason: str) -> None:
    path = pki.ca.parent / "web.yml"
    path.write_text(text)
    assert promtool_accepts(path)[0]
    assert not we_accept(path)[0], reason
