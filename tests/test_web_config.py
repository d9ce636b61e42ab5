"""Parsing exporter-toolkit's web config format: what is accepted, and errors naming file, key and line."""

from __future__ import annotations

import os

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.errors import ConfigError
from metricslib.web_config import CIPHER_SUITES, CURVES, TLS_VERSIONS, parse_web_config

FILE = "/etc/app/web.yml"
HASH = "$2y$10$" + "a" * 53


def test_a_full_file_is_read_with_go_names_translated() -> None:
    config = parse_web_config(
        f"""
tls_server_config:
  cert_file: server.crt
  key_file: /keys/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: sameorigin
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  alice: "{HASH}"
""",
        FILE,
    )
    tls = config.tls
    assert tls is not None
    # Relative paths are taken from the file's directory, as exporter-toolkit does.
    assert tls.cert_file == "/etc/app/server.crt" and tls.key_file == "/keys/server.key"
    assert tls.client_ca_file == "/etc/app/ca.crt"
    assert tls.client_auth_type == "RequireAndVerifyClientCert"
    assert (tls.min_version, tls.max_version) == ("TLS13", "TLS13")
    # TLS 1.3 suites are accepted and not configurable (as in Go).
    assert tls.cipher_suites == ("ECDHE-RSA-AES128-GCM-SHA256",)
    assert tls.prefer_server_cipher_suites is False
    assert tls.curve_preferences == ("X25519", "prime256v1")
    assert tls.files == ("/etc/app/server.crt", "/keys/server.key", "/etc/app/ca.crt")
    assert config.http2 is False
    assert config.headers == (("X-Frame-Options", "sameorigin"), ("Strict-Transport-Security", "max-age=31536000"))
    assert dict(config.users) == {"alice": HASH}


@pytest.mark.parametrize("text", ["", "{}\n", "tls_server_config:\n", "tls_server_config: {}\nbasic_auth_users:\n"])
def test_empty_sections_mean_plain_http_without_auth(text: str) -> None:
    config = parse_web_config(text, FILE)
    assert config.tls is None and dict(config.users) == {} and config.headers == () and config.http2


def test_defaults_are_exporter_toolkits() -> None:
    tls = parse_web_config("tls_server_config:\n  cert_file: a\n  key_file: b\n", FILE).tls
    assert tls is not None
    assert (tls.min_version, tls.max_version, tls.client_auth_type) == ("TLS12", "TLS13", "NoClientCert")
    assert tls.prefer_server_cipher_suites is True and tls.cipher_suites == () and tls.curve_preferences == ()


def test_old_spelling_of_require_any_client_cert_is_accepted() -> None:
    text = "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireClientCert\n"
    tls = parse_web_config(text, FILE).tls
    assert tls is not None and tls.client_auth_type == "RequireAnyClientCert"


BAD = [
    ("tls_server_config:\n  cert_file: a\n", "tls_server_config.key_file", "missing key_file", 2),
    ("tls_server_config:\n  key_file: a\n", "tls_server_config.cert_file", "missing cert_file", 2),
    ("tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n", "tls_server_config.cert_file", "missing cert_file", 2),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n",
     "tls_server_config.client_auth_type", "invalid client_auth_type 'Sometimes'", 4),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n",
     "tls_server_config.client_ca_file", "without a client auth policy", 4),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n",
     "tls_server_config.min_version", "unknown TLS version: TLS14", 4),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n",
     "tls_server_config.min_version", "above max_version", 4),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites:\n    - TLS_RSA_WITH_RC4_128_SHA\n",
     "tls_server_config.cipher_suites[0]", "unknown cipher: TLS_RSA_WITH_RC4_128_SHA", 5),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [CurveP999]\n",
     "tls_server_config.curve_preferences[0]", "unknown curve: CurveP999", 4),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  prefer_server_cipher_suites: maybe\n",
     "tls_server_config.prefer_server_cipher_suites", "must be true or false", 4),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n", "tls_server_config.certfile", "unknown key 'certfile'", 4),
    ("tls_server_config:\n  cert: |\n    PEM\n", "tls_server_config.cert", "use cert_file", 2),
    ("http_server_config:\n  headers:\n    Server: nginx\n", "http_server_config.headers.Server", "can not be configured", 3),
    ("http_server_config:\n  headers:\n    x-frame-options: deny\n", "http_server_config.headers.x-frame-options", "can not be configured", 3),
    ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", "http_server_config.headers.X-Frame-Options",
     "invalid value 'allow' for X-Frame-Options: expected one of deny, sameorigin", 3),
    ("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n", "http_server_config.headers.X-Content-Type-Options",
     "expected one of nosniff", 3),
    ("http_server_config:\n  http2: 1\n", "http_server_config.http2", "must be true or false", 2),
    ("basic_auth_users:\n  alice: secret\n", "basic_auth_users.alice", "is not a bcrypt hash", 2),
    ("basic_auth_users:\n  alice: " + "$2y$99$" + "a" * 53 + "\n", "basic_auth_users.alice", "cost 99 is outside 4..31", 2),
    ("basic_auth_users:\n  alice: '$2$10$" + "a" * 53 + "'\n", "basic_auth_users.alice", "$2$ bcrypt variant is not supported", 2),
    (f"basic_auth_users:\n  'a:b': '{HASH}'\n", "basic_auth_users.a:b", "cannot contain ':'", 2),
    (f"basic_auth_users:\n  alice: '{HASH}'\n  alice: '{HASH}'\n", "basic_auth_users.alice", "is given twice", 3),
    ("basic_auth_users: [alice]\n", "basic_auth_users", "must be a mapping", 1),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\nrate_limit:\n  burst: 1\n", "rate_limit", "not supported", 4),
    ("tsl_server_config:\n  cert_file: a\n", "tsl_server_config", "unknown key 'tsl_server_config'", 1),
]


@pytest.mark.parametrize(("text", "key", "message", "line"), BAD)
def test_errors_name_file_key_and_line(text: str, key: str, message: str, line: int) -> None:
    with pytest.raises(ConfigError) as info:
        parse_web_config(text, FILE)
    assert info.value.file == FILE and info.value.key_path == key
    assert message in str(info.value) and f"(line {line})" in str(info.value)
    assert str(info.value).startswith(f"{FILE}: {key}: ")


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(ConfigError, match=r"invalid YAML: .*\(line 3\)") as info:
        parse_web_config("tls_server_config:\n  cert_file: a\n key_file: [\n", FILE)
    assert info.value.file == FILE


# --- round trip: any valid config written as YAML reads back as written ---------------------

_versions = st.sampled_from(TLS_VERSIONS)
_names = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=8)
_hashes = st.builds(
    lambda v, cost, tail: f"$2{v}${cost:02d}${tail}",
    st.sampled_from(["a", "b", "y"]),
    st.integers(4, 31),
    st.text(st.sampled_from("./ABCxyz0129"), min_size=53, max_size=53),
)


@settings(max_examples=200, deadline=None)
@given(
    versions=st.tuples(_versions, _versions).map(lambda v: tuple(sorted(v, key=TLS_VERSIONS.index))),
    ciphers=st.lists(st.sampled_from(sorted(CIPHER_SUITES)), max_size=4),
    curves=st.lists(st.sampled_from(sorted(CURVES)), max_size=4),
    prefer=st.booleans(),
    users=st.dictionaries(_names, _hashes, max_size=3),
    frame=st.none() | st.sampled_from(["deny", "sameorigin"]),
    hsts=st.none() | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
    http2=st.booleans(),
)
def test_round_trip(
    versions: tuple[str, str], ciphers: list[str], curves: list[str], prefer: bool,
    users: dict[str, str], frame: str | None, hsts: str | None, http2: bool,
) -> None:
    headers = {k: v for k, v in (("X-Frame-Options", frame), ("Strict-Transport-Security", hsts)) if v is not None}
    document = {
        "tls_server_config": {
            "cert_file": "c.pem", "key_file": "k.pem", "min_version": versions[0], "max_version": versions[1],
            "cipher_suites": ciphers, "curve_preferences": curves, "prefer_server_cipher_suites": prefer,
        },
        "http_server_config": {"http2": http2, "headers": headers},
        "basic_auth_users": users,
    }
    config = parse_web_config(yaml.safe_dump(document), "web.yml")
    tls = config.tls
    assert tls is not None
    assert tls.cert_file == os.path.join(os.getcwd(), "c.pem")
    assert (tls.min_version, tls.max_version, tls.prefer_server_cipher_suites) == (*versions, prefer)
    assert tls.cipher_suites == tuple(CIPHER_SUITES[c] for c in ciphers if CIPHER_SUITES[c] is not None)
    assert tls.curve_preferences == tuple(CURVES[c] for c in curves)
    assert dict(config.users) == users and config.http2 is http2
    assert dict(config.headers) == headers


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_fails_with_config_error(text: str) -> None:
    try:
        parse_web_config(text, FILE)
    except ConfigError as exc:
        assert exc.file == FILE
