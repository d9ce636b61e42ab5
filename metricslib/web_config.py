"""The ``--web.config.file`` format (exporter-toolkit's): parsing and validation, no I/O.

The same YAML file Prometheus and every exporter read::

    tls_server_config: {cert_file, key_file, client_auth_type, client_ca_file,
                        min_version, max_version, cipher_suites,
                        prefer_server_cipher_suites, curve_preferences}
    http_server_config: {headers, http2}
    basic_auth_users: {USER: BCRYPT_HASH}

``parse_web_config(text, file)`` returns a frozen ``WebConfig`` or raises
``ConfigError`` naming the file, the key path and the line. Unknown keys are
errors (exporter-toolkit reads the file strictly). Relative paths are taken
from the file's directory, as exporter-toolkit does. Go's names (cipher
suites, curves, TLS versions) are translated to OpenSSL's here, so the
serving side (``web_guard``) only builds an ``ssl.SSLContext``. PyYAML is
imported only when a file is parsed: the SDK keeps zero runtime dependencies.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

__all__ = [
    "CIPHER_SUITES",
    "CLIENT_AUTH_TYPES",
    "CURVES",
    "TLS_VERSIONS",
    "TLSServerConfig",
    "WebConfig",
    "parse_web_config",
]

TLS_VERSIONS = ("TLS10", "TLS11", "TLS12", "TLS13")
CLIENT_AUTH_TYPES = (
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
)
# exporter-toolkit still accepts the old spelling of RequireAnyClientCert.
_CLIENT_AUTH_ALIASES = {"RequireClientCert": "RequireAnyClientCert", "": "NoClientCert"}

# Go's crypto/tls names (what exporter-toolkit accepts: tls.CipherSuites())
# to OpenSSL's. The TLS 1.3 suites are accepted and, as in Go, not configurable:
# both Go and OpenSSL's cipher list apply to TLS 1.2 and below only.
CIPHER_SUITES: Mapping[str, str | None] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
}
# Go's curve names to OpenSSL's group names.
CURVES: Mapping[str, str] = {
    "CurveP256": "prime256v1",
    "CurveP384": "secp384r1",
    "CurveP521": "secp521r1",
    "X25519": "X25519",
}
# exporter-toolkit lets only these response headers be set, some only to these values.
_HEADERS: Mapping[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
# What Go's bcrypt.Cost accepts: version 2, 2a, 2b or 2y, a two-digit cost, 53 characters of salt and hash.
_BCRYPT = re.compile(r"\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}")
_TOP_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users")
_TLS_KEYS = (
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
    "curve_preferences",
)
_HTTP_KEYS = ("headers", "http2")
_NOT_SUPPORTED = {
    "cert": "inline certificates are not supported: use cert_file",
    "key": "inline keys are not supported: use key_file",
    "client_ca": "inline client CAs are not supported: use client_ca_file",
    "client_allowed_sans": "client_allowed_sans is not supported",
    "rate_limit": "rate_limit is not supported",
}


@dataclass(frozen=True)
class TLSServerConfig:
    """``tls_server_config`` with paths made absolute and Go's names translated to OpenSSL's."""

    cert_file: str
    key_file: str
    client_auth_type: str = "NoClientCert"
    client_ca_file: str = ""
    min_version: str = "TLS12"
    max_version: str = "TLS13"
    # OpenSSL names of the TLS 1.2-and-below suites; empty: OpenSSL's defaults.
    cipher_suites: tuple[str, ...] = ()
    prefer_server_cipher_suites: bool = True
    # OpenSSL group names, most preferred first.
    curve_preferences: tuple[str, ...] = ()

    @property
    def files(self) -> tuple[str, ...]:
        """Files the TLS setup reads: a change to any of them is picked up on the next connection."""
        return tuple(f for f in (self.cert_file, self.key_file, self.client_ca_file) if f)


@dataclass(frozen=True)
class WebConfig:
    """One parsed web config file; ``tls`` None means plain HTTP."""

    file: str = ""
    tls: TLSServerConfig | None = None
    headers: tuple[tuple[str, str], ...] = ()
    http2: bool = True
    users: Mapping[str, str] = field(default_factory=dict)  # user -> bcrypt hash

    @property
    def files(self) -> tuple[str, ...]:
        return self.tls.files if self.tls is not None else ()


class _Reader:
    """Walks PyYAML nodes; every error names the file, the key path and the line."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, node: Any, path: str, message: str) -> ConfigError:
        line = f" (line {node.start_mark.line + 1})" if node is not None else ""
        return ConfigError(f"{message}{line}", self.file, path)

    def mapping(self, node: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
        """(key, key node, value node) of a mapping; null reads as empty."""
        import yaml

        if self.is_null(node):
            return
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, path, "must be a mapping")
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise self.fail(key_node, f"{path}.{key}" if path else key, "is given twice")
            seen.add(key)
            yield key, key_node, value_node

    def is_null(self, node: Any) -> bool:
        return node is None or node.tag == "tag:yaml.org,2002:null"

    def string(self, node: Any, path: str) -> str:
        import yaml

        if self.is_null(node):
            return ""
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, path, "must be a string")
        return str(node.value)

    def boolean(self, node: Any, path: str) -> bool:
        if node.tag != "tag:yaml.org,2002:bool":
            raise self.fail(node, path, f"must be true or false, got {node.value!r}")
        return str(node.value).lower() in ("true", "yes", "on", "y")

    def strings(self, node: Any, path: str) -> list[tuple[str, Any]]:
        import yaml

        if self.is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, path, "must be a list")
        return [(self.string(item, f"{path}[{i}]"), item) for i, item in enumerate(node.value)]

    def check_key(self, key: str, node: Any, path: str, known: tuple[str, ...]) -> None:
        if key in _NOT_SUPPORTED:
            raise self.fail(node, path, _NOT_SUPPORTED[key])
        if key not in known:
            raise self.fail(node, path, f"unknown key {key!r} (known: {', '.join(known)})")


def _yaml_root(text: str, file: str) -> Any:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - PyYAML comes with the collector extra
        raise ConfigError(
            "reading a web config file needs the 'pyyaml' package: pip install pyyaml", file
        ) from exc
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"invalid YAML: {exc.problem}{line}", file) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file) from exc
    finally:
        loader.dispose()


def _path(base: str, value: str) -> str:
    return value if not value or os.path.isabs(value) else os.path.join(base, value)


def _tls(r: _Reader, node: Any, base: str) -> TLSServerConfig | None:
    values: dict[str, Any] = {}
    nodes: dict[str, Any] = {}
    for key, key_node, value in r.mapping(node, "tls_server_config"):
        path = f"tls_server_config.{key}"
        r.check_key(key, key_node, path, _TLS_KEYS)
        nodes[key] = value
        if key == "prefer_server_cipher_suites":
            values[key] = r.boolean(value, path)
        elif key == "cipher_suites":
            suites = []
            for i, (name, item) in enumerate(r.strings(value, path)):
                if name not in CIPHER_SUITES:
                    raise r.fail(item, f"{path}[{i}]", f"unknown cipher: {name}")
                openssl = CIPHER_SUITES[name]
                if openssl is not None:
                    suites.append(openssl)
            values[key] = tuple(suites)
        elif key == "curve_preferences":
            curves = []
            for i, (name, item) in enumerate(r.strings(value, path)):
                if name not in CURVES:
                    raise r.fail(item, f"{path}[{i}]", f"unknown curve: {name} (known: {', '.join(CURVES)})")
                curves.append(CURVES[name])
            values[key] = tuple(curves)
        else:
            values[key] = r.string(value, path)
    cert, key_file = values.get("cert_file", ""), values.get("key_file", "")
    auth = values.get("client_auth_type", "")
    ca = values.get("client_ca_file", "")
    if not (cert or key_file or auth or ca):
        return None  # exporter-toolkit: no TLS settings, plain HTTP
    if not cert:
        raise r.fail(node, "tls_server_config.cert_file", "missing cert_file")
    if not key_file:
        raise r.fail(node, "tls_server_config.key_file", "missing key_file")
    auth = _CLIENT_AUTH_ALIASES.get(auth, auth)
    if auth not in CLIENT_AUTH_TYPES:
        raise r.fail(
            nodes.get("client_auth_type"),
            "tls_server_config.client_auth_type",
            f"invalid client_auth_type {auth!r} (one of {', '.join(CLIENT_AUTH_TYPES)})",
        )
    if ca and auth == "NoClientCert":
        raise r.fail(
            nodes.get("client_ca_file"),
            "tls_server_config.client_ca_file",
            "client CAs are configured without a client auth policy: set client_auth_type",
        )
    versions = {}
    for key, default in (("min_version", "TLS12"), ("max_version", "TLS13")):
        name = values.get(key) or default
        if name not in TLS_VERSIONS:
            raise r.fail(nodes.get(key), f"tls_server_config.{key}", f"unknown TLS version: {name} (one of {', '.join(TLS_VERSIONS)})")
        versions[key] = name
    if TLS_VERSIONS.index(versions["min_version"]) > TLS_VERSIONS.index(versions["max_version"]):
        raise r.fail(
            nodes.get("min_version"),
            "tls_server_config.min_version",
            f"min_version {versions['min_version']} is above max_version {versions['max_version']}",
        )
    return TLSServerConfig(
        cert_file=_path(base, cert),
        key_file=_path(base, key_file),
        client_auth_type=auth,
        client_ca_file=_path(base, ca),
        min_version=versions["min_version"],
        max_version=versions["max_version"],
        cipher_suites=values.get("cipher_suites", ()),
        prefer_server_cipher_suites=values.get("prefer_server_cipher_suites", True),
        curve_preferences=values.get("curve_preferences", ()),
    )


def _http(r: _Reader, node: Any) -> tuple[tuple[tuple[str, str], ...], bool]:
    headers: list[tuple[str, str]] = []
    http2 = True
    for key, key_node, value in r.mapping(node, "http_server_config"):
        path = f"http_server_config.{key}"
        r.check_key(key, key_node, path, _HTTP_KEYS)
        if key == "http2":
            http2 = r.boolean(value, path)
            continue
        for name, name_node, header_value in r.mapping(value, path):
            where = f"{path}.{name}"
            if name not in _HEADERS:
                raise r.fail(name_node, where, f"HTTP header {name!r} can not be configured (allowed: {', '.join(_HEADERS)})")
            text = r.string(header_value, where)
            allowed = _HEADERS[name]
            if allowed and text not in allowed:
                raise r.fail(header_value, where, f"invalid value {text!r} for {name}: expected one of {', '.join(allowed)}")
            if any(c in text for c in "\r\n\0"):
                raise r.fail(header_value, where, "header values cannot contain line breaks or NUL")
            headers.append((name, text))
    return tuple(headers), http2


def _users(r: _Reader, node: Any) -> dict[str, str]:
    users: dict[str, str] = {}
    for user, key_node, value in r.mapping(node, "basic_auth_users"):
        where = f"basic_auth_users.{user}"
        if ":" in user:
            raise r.fail(key_node, where, "user names cannot contain ':' (basic auth splits on it)")
        hashed = r.string(value, where)
        match = _BCRYPT.fullmatch(hashed)
        if match is None:
            raise r.fail(value, where, "is not a bcrypt hash ($2y$10$... as htpasswd -B makes)")
        if hashed.startswith("$2$"):
            raise r.fail(value, where, "the original $2$ bcrypt variant is not supported: hash the password again")
        if not 4 <= int(match.group(1)) <= 31:
            raise r.fail(value, where, f"bcrypt cost {int(match.group(1))} is outside 4..31")
        users[user] = hashed
    return users


def parse_web_config(text: str, file: str) -> WebConfig:
    """Parse and validate the text of web config ``file`` (the name is used for errors and relative paths)."""
    r = _Reader(file)
    root = _yaml_root(text, file)
    tls: TLSServerConfig | None = None
    headers: tuple[tuple[str, str], ...] = ()
    http2 = True
    users: dict[str, str] = {}
    base = os.path.dirname(os.path.abspath(file)) if file else os.getcwd()
    for key, key_node, value in r.mapping(root, ""):
        r.check_key(key, key_node, key, _TOP_KEYS)
        if key == "tls_server_config":
            tls = _tls(r, value, base)
        elif key == "http_server_config":
            headers, http2 = _http(r, value)
        else:
            users = _users(r, value)
    return WebConfig(file=file, tls=tls, headers=headers, http2=http2, users=users)
