"""Applying a web config: SSL contexts, basic auth with its cache, and re-reading the file."""

from __future__ import annotations

import base64
import logging
import os
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.errors import ConfigError
from metricslib.web_config import parse_web_config
from metricslib.web_guard import WebConfigFile, _basic_credentials, build_ssl_context
from tests.helpers import REPO_ROOT
from tests.tls_pki import PKI, make_pki

# Cost 4: the cheapest bcrypt allows, so the tests do not wait on hashing.
ALICE_HASH = bcrypt.hashpw(b"wonderland", bcrypt.gensalt(rounds=4)).decode()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


def write(path: Path, text: str) -> None:
    # A new inode and size each time: the change is seen even within one mtime tick.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class CountingBcrypt:
    """Counts checkpw calls while delegating to the real bcrypt."""

    def __init__(self) -> None:
        self.calls = 0

    def checkpw(self, password: bytes, hashed: bytes) -> bool:
        self.calls += 1
        return bool(bcrypt.checkpw(password, hashed))

    def hashpw(self, password: bytes, salt: bytes) -> bytes:
        return bytes(bcrypt.hashpw(password, salt))

    def gensalt(self, rounds: int) -> bytes:
        return bytes(bcrypt.gensalt(rounds=rounds))


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingBcrypt:
    fake = CountingBcrypt()
    monkeypatch.setitem(sys.modules, "bcrypt", fake)
    return fake


def users_file(tmp_path: Path) -> WebConfigFile:
    path = tmp_path / "web.yml"
    write(path, f"basic_auth_users:\n  alice: '{ALICE_HASH}'\n")
    return WebConfigFile(str(path))


def test_basic_auth_accepts_only_the_right_password(tmp_path: Path) -> None:
    snap = users_file(tmp_path).current()
    assert snap.authorized(basic("alice", "wonderland"))
    assert not snap.authorized(basic("alice", "Wonderland"))
    assert not snap.authorized(basic("bob", "wonderland"))
    for header in (None, "", "Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"alice").decode()):
        assert not snap.authorized(header)


def test_bcrypt_runs_once_per_credentials_while_cached(tmp_path: Path, counting: CountingBcrypt) -> None:
    now = [1000.0]
    path = tmp_path / "web.yml"
    write(path, f"basic_auth_users:\n  alice: '{ALICE_HASH}'\n")
    snap = WebConfigFile(str(path), clock=lambda: now[0]).current()
    for _ in range(5):
        assert snap.authorized(basic("alice", "wonderland"))
        assert not snap.authorized(basic("alice", "guess"))
    assert counting.calls == 2
    now[0] += 61  # past the cache's minute: checked again
    assert snap.authorized(basic("alice", "wonderland"))
    assert counting.calls == 3


def test_unknown_users_cost_a_bcrypt_check_too(tmp_path: Path, counting: CountingBcrypt) -> None:
    snap = users_file(tmp_path).current()
    assert not snap.authorized(basic("mallory", "x"))
    assert counting.calls == 1


def test_a_changed_hash_is_not_served_from_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    write(path, f"basic_auth_users:\n  alice: '{ALICE_HASH}'\n")
    guard = WebConfigFile(str(path))
    assert guard.current().authorized(basic("alice", "wonderland"))
    new_hash = bcrypt.hashpw(b"looking-glass", bcrypt.gensalt(rounds=4)).decode()
    write(path, f"basic_auth_users:\n  alice: '{new_hash}'\n")
    snap = guard.current()
    assert not snap.authorized(basic("alice", "wonderland"))
    assert snap.authorized(basic("alice", "looking-glass"))


def test_unchanged_file_reuses_the_parsed_config(tmp_path: Path) -> None:
    guard = users_file(tmp_path)
    assert guard.current() is guard.current()


def test_bad_file_on_reread_keeps_the_last_good_one_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    guard = users_file(tmp_path)
    good = guard.current()
    write(tmp_path / "web.yml", "basic_auth_users:\n  alice: plain-text\n")
    with caplog.at_level(logging.ERROR, logger="metricslib.web_config"):
        assert guard.current() is good
        assert guard.current() is good
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1  # once per change, not per connection
    assert "basic_auth_users.alice" in messages[0] and str(tmp_path / "web.yml") in messages[0]
    write(tmp_path / "web.yml", "basic_auth_users:\n")  # fixed: applied on the next connection
    assert guard.current().authorized(None)


def test_bad_file_at_start_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    write(path, "http_server_config:\n  headers:\n    Server: x\n")
    with pytest.raises(ConfigError, match=r"http_server_config\.headers\.Server"):
        WebConfigFile(str(path))
    with pytest.raises(ConfigError, match="cannot read web config file"):
        WebConfigFile(str(tmp_path / "missing.yml"))


def test_missing_bcrypt_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bcrypt", None)
    path = tmp_path / "web.yml"
    write(path, f"basic_auth_users:\n  alice: '{ALICE_HASH}'\n")
    with pytest.raises(ConfigError, match=r"basic_auth_users: .*needs the 'bcrypt' package: pip install bcrypt"):
        WebConfigFile(str(path))
    write(path, "http_server_config:\n  headers:\n    X-Frame-Options: deny\n")
    assert WebConfigFile(str(path)).current().headers == [("X-Frame-Options", "deny")]


def test_the_sdk_server_imports_without_bcrypt() -> None:
    code = "import sys; sys.modules['bcrypt'] = None; import metricslib.serve, metricslib.web_guard; print('ok')"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert result.stdout.strip() == "ok", result.stderr


def tls_config(pki: PKI, extra: str = "") -> str:
    return f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n{extra}"


def test_ssl_context_follows_the_file(pki: PKI) -> None:
    config = parse_web_config(
        tls_config(
            pki,
            f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca}\n"
            "  min_version: TLS13\n  prefer_server_cipher_suites: false\n  curve_preferences: [CurveP384]\n",
        ),
        "web.yml",
    )
    ctx = build_ssl_context(config)
    assert ctx is not None
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_3
    assert not ctx.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    assert [c["subject"] for c in ctx.get_ca_certs()] == [((("commonName", "test-ca"),),)]
    optional = build_ssl_context(parse_web_config(tls_config(pki, f"  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: {pki.ca}\n"), "w"))
    assert optional is not None and optional.verify_mode == ssl.CERT_OPTIONAL


def test_cipher_suites_restrict_tls12(pki: PKI) -> None:
    text = tls_config(pki, "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n  max_version: TLS12\n")
    ctx = build_ssl_context(parse_web_config(text, "w"))
    assert ctx is not None
    tls12 = [c["name"] for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls12 == ["ECDHE-ECDSA-AES256-GCM-SHA384"]


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        ("  client_auth_type: RequireAnyClientCert\n", "tls_server_config.client_auth_type", "not possible with Python's ssl"),
        ("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: /nonexistent/ca.pem\n",
         "tls_server_config.client_ca_file", "cannot load client_ca_file /nonexistent/ca.pem"),
    ],
)
def test_ssl_context_errors_name_the_key(pki: PKI, extra: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        build_ssl_context(parse_web_config(tls_config(pki, extra), "web.yml"))
    assert info.value.key_path == key


def test_unreadable_certificate_names_cert_file(pki: PKI, tmp_path: Path) -> None:
    text = f"tls_server_config:\n  cert_file: {tmp_path / 'none.crt'}\n  key_file: {pki.server_key}\n"
    with pytest.raises(ConfigError, match="cannot load cert_file") as info:
        build_ssl_context(parse_web_config(text, "web.yml"))
    assert info.value.key_path == "tls_server_config.cert_file"
    # A key that does not belong to the certificate.
    text = f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.client_key}\n"
    with pytest.raises(ConfigError, match="cannot load cert_file"):
        build_ssl_context(parse_web_config(text, "web.yml"))


def test_tls_cannot_be_switched_off_while_running(pki: PKI, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "web.yml"
    write(path, tls_config(pki))
    guard = WebConfigFile(str(path))
    first = guard.current()
    assert guard.tls and first.ssl_context is not None
    write(path, "basic_auth_users:\n")
    with caplog.at_level(logging.ERROR, logger="metricslib.web_config"):
        assert guard.current() is first
    assert "cannot switch between HTTP and HTTPS" in caplog.text


def test_a_replaced_certificate_is_picked_up(pki: PKI, tmp_path: Path) -> None:
    cert, key = tmp_path / "s.crt", tmp_path / "s.key"
    cert.write_bytes(pki.server_cert.read_bytes())
    key.write_bytes(pki.server_key.read_bytes())
    path = tmp_path / "web.yml"
    write(path, "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n")
    guard = WebConfigFile(str(path))
    first: Any = guard.current()
    assert guard.current() is first
    os.utime(cert, ns=(1, 1))  # a rotated certificate: same file name, new mtime
    assert guard.current() is not first


@settings(max_examples=300, deadline=None)
@given(user=st.text(max_size=20).filter(lambda u: ":" not in u), password=st.binary(max_size=40),
       scheme=st.sampled_from(["Basic", "basic", "BASIC"]))
def test_basic_credentials_round_trip(user: str, password: bytes, scheme: str) -> None:
    header = f"{scheme} " + base64.b64encode(user.encode() + b":" + password).decode()
    assert _basic_credentials(header) == (user, password)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_authorization_header_is_read_or_refused(header: str) -> None:
    result = _basic_credentials(header)
    assert result is None or (isinstance(result[0], str) and isinstance(result[1], bytes))
