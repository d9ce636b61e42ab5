"""Applying a web config file to a thread-per-connection server: TLS, basic auth, headers.

``WebConfigFile`` reads the file at start (a bad file stops the start) and
again for each new connection (TLS) and request (users, headers), as
exporter-toolkit does — but only when the
file, or a certificate, key or CA file it names, changed (mtime, size,
inode), so the common case costs a few ``stat`` calls. A file that turns bad
keeps the server on the last good config and logs why, once per change.
Whether the server speaks TLS at all is fixed at start, as in exporter-toolkit.

``GuardedConnection`` (a ``StreamRequestHandler`` mixin) takes the
connection's snapshot and does the TLS handshake in the connection's own
thread, so a slow client never holds up ``accept``; ``GuardedServer`` drops
connections whose handshake failed without a traceback.

Basic auth checks the password with bcrypt (the ``bcrypt`` package, imported
only when a config has users) one at a time, and remembers each (user, hash,
password) outcome for a minute, as exporter-toolkit caches them, so a scraper
pays bcrypt's cost once, not per request. Unknown users are checked against
a decoy hash of the same cost, so the answer time does not tell which users exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import socket
import socketserver
import ssl
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .web_config import WebConfig, parse_web_config

__all__ = [
    "PLAIN_HTTP_ANSWER",
    "GuardedConnection",
    "GuardedServer",
    "HandshakeFailed",
    "Snapshot",
    "WebConfigFile",
    "build_ssl_context",
    "unauthorized",
]

log = logging.getLogger("metricslib.web_config")

_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
# Long enough for a client far away, short enough that idle half-open
# connections do not pile up threads.
HANDSHAKE_TIMEOUT_S = 10.0
AUTH_CACHE_TTL_S = 60.0
AUTH_CACHE_MAX = 1024


def _bcrypt(file: str) -> Any:
    try:
        import bcrypt
    except ImportError as exc:
        raise ConfigError(
            "basic_auth_users needs the 'bcrypt' package: pip install bcrypt "
            "(it comes with metricslib[collector])",
            file,
            "basic_auth_users",
        ) from exc
    return bcrypt


def build_ssl_context(config: WebConfig) -> ssl.SSLContext | None:
    """The server-side SSLContext for ``config.tls`` (None for plain HTTP); reads the files it names."""
    tls = config.tls
    if tls is None:
        return None
    file = config.file

    def fail(key: str, message: str, exc: Exception) -> ConfigError:
        return ConfigError(f"{message}: {exc}", file, f"tls_server_config.{key}")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.minimum_version = _VERSIONS[tls.min_version]
        ctx.maximum_version = _VERSIONS[tls.max_version]
    except ValueError as exc:
        raise fail("min_version", "this OpenSSL cannot use these TLS versions", exc) from exc
    try:
        ctx.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise fail("cert_file", f"cannot load cert_file {tls.cert_file} with key_file {tls.key_file}", exc) from exc
    if tls.client_auth_type == "RequireAnyClientCert":
        raise ConfigError(
            "RequireAnyClientCert (a client certificate that is not verified) is not possible "
            "with Python's ssl module: use RequireAndVerifyClientCert with client_ca_file",
            file,
            "tls_server_config.client_auth_type",
        )
    # RequestClientCert asks for a certificate and lets clients without one in:
    # for access it is NoClientCert, which is all Python's ssl can offer here.
    if tls.client_auth_type in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert"):
        ctx.verify_mode = (
            ssl.CERT_REQUIRED if tls.client_auth_type == "RequireAndVerifyClientCert" else ssl.CERT_OPTIONAL
        )
        try:
            if tls.client_ca_file:
                ctx.load_verify_locations(cafile=tls.client_ca_file)
            else:  # as Go: the system's roots
                ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
        except (OSError, ssl.SSLError) as exc:
            raise fail("client_ca_file", f"cannot load client_ca_file {tls.client_ca_file}", exc) from exc
    if tls.cipher_suites:
        try:
            ctx.set_ciphers(":".join(tls.cipher_suites))
        except ssl.SSLError as exc:
            raise fail("cipher_suites", "this OpenSSL offers none of these cipher suites", exc) from exc
    if tls.prefer_server_cipher_suites:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    if tls.curve_preferences:
        # Python's ssl sets one ECDH curve, not a preference list: the first one is used.
        try:
            ctx.set_ecdh_curve(tls.curve_preferences[0])
        except (ValueError, ssl.SSLError) as exc:
            raise fail("curve_preferences", "this OpenSSL does not offer this curve", exc) from exc
    # HTTP/1.1 only: an h2-capable client is told so during the handshake.
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class _BasicAuth:
    """bcrypt checks, one at a time, with each outcome remembered for a short time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[bytes, tuple[bool, float]] = {}
        self._decoys: dict[bytes, bytes] = {}

    def check(self, users: Mapping[str, str], authorization: str | None, file: str) -> bool:
        credentials = _basic_credentials(authorization)
        if credentials is None:
            return False
        user, password = credentials
        hashed = users.get(user)
        # The key holds no password in the clear, and the hash: a changed hash is a new entry.
        key = hashlib.sha256(b"\0".join((user.encode(), (hashed or "").encode(), password))).digest()
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        bcrypt = _bcrypt(file)
        with self._lock:
            try:
                if hashed is None:
                    bcrypt.checkpw(password, self._decoy(bcrypt, users))
                    ok = False
                else:
                    ok = bool(bcrypt.checkpw(password, hashed.encode()))
            except ValueError:  # a hash bcrypt cannot read: nobody gets in with it
                ok = False
            if len(self._cache) >= AUTH_CACHE_MAX:
                self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
                if len(self._cache) >= AUTH_CACHE_MAX:
                    self._cache.clear()
            self._cache[key] = (ok, now + AUTH_CACHE_TTL_S)
        return ok

    def _decoy(self, bcrypt: Any, users: Mapping[str, str]) -> bytes:
        """A hash as costly as the dearest configured one, so unknown users take as long."""
        cost = max((int(h.split("$")[2]) for h in users.values()), default=10)
        prefix = f"$2b${cost:02d}$".encode()
        if prefix not in self._decoys:
            self._decoys[prefix] = bcrypt.hashpw(b"decoy password", bcrypt.gensalt(rounds=cost))
        return self._decoys[prefix]


def _basic_credentials(authorization: str | None) -> tuple[str, bytes] | None:
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = raw.partition(b":")
    if not sep:
        return None
    return user.decode("utf-8", "replace"), password


@dataclass(frozen=True)
class Snapshot:
    """The config one connection is served with (a connection keeps it to its end)."""

    config: WebConfig
    ssl_context: ssl.SSLContext | None
    _auth: _BasicAuth

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Response headers the file asks for, added to every answer."""
        return list(self.config.headers)

    def authorized(self, authorization: str | None) -> bool:
        """Whether a request with this ``Authorization`` header may be answered."""
        if not self.config.users:
            return True
        return self._auth.check(self.config.users, authorization, self.config.file)


def unauthorized() -> tuple[int, list[tuple[str, str]], bytes]:
    """The answer to a request without valid credentials: nothing of what it asked for.

    The server adds the snapshot's headers, as to every answer."""
    return 401, [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", "Basic")], b"Unauthorized\n"


Stamp = tuple[tuple[int, int, int] | None, ...]


def _stamp(paths: tuple[str, ...]) -> Stamp:
    out: list[tuple[int, int, int] | None] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            out.append(None)
        else:
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(out)


class WebConfigFile:
    """A web config file, re-read for new connections when it or a file it names changed."""

    def __init__(self, path: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._auth = _BasicAuth(clock)
        self._lock = threading.Lock()
        self._files: tuple[str, ...] = ()
        snapshot, stamp = self._load()  # a bad file at start is an error for the caller
        self._snapshot = snapshot
        self._stamp = stamp
        self.tls = snapshot.ssl_context is not None

    def _paths(self) -> tuple[str, ...]:
        return (self.path, *self._files)

    def _load(self) -> tuple[Snapshot, Stamp]:
        # Stamp first: a change while we read is seen again on the next connection.
        stamp = _stamp(self._paths())
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read web config file: {exc}", self.path) from exc
        config = parse_web_config(text, self.path)
        if self._files != config.files:  # watch the files this version names
            self._files = config.files
            stamp = _stamp(self._paths())
        if config.users:
            _bcrypt(self.path)
        return Snapshot(config, build_ssl_context(config), self._auth), stamp

    def current(self) -> Snapshot:
        """The snapshot for a new connection: re-read when a watched file changed."""
        with self._lock:
            if _stamp(self._paths()) == self._stamp:
                return self._snapshot
            try:
                snapshot, stamp = self._load()
                if (snapshot.ssl_context is not None) != self.tls:
                    raise ConfigError(
                        "cannot switch between HTTP and HTTPS while running: restart to apply",
                        self.path,
                        "tls_server_config",
                    )
            except ConfigError as exc:
                # Logged once per change of the files; until fixed, the last good config serves.
                self._stamp = _stamp(self._paths())
                log.error("web config file not applied, keeping the last good one: %s", exc)
                return self._snapshot
            self._snapshot, self._stamp = snapshot, stamp
            return snapshot


class HandshakeFailed(Exception):
    """The client did not complete a TLS handshake: the connection is dropped."""


PLAIN_HTTP_ANSWER = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"


def _plain_http(sock: socket.socket) -> bool:
    """Whether the client's first bytes are an HTTP request line, not a TLS record (peeked, not read)."""
    first = sock.recv(5, socket.MSG_PEEK)
    method = first.split(b" ", 1)[0]
    return method.isalpha() and method.isupper()  # a TLS record starts with 0x16


def _answer_and_close(sock: socket.socket, answer: bytes) -> None:
    """Send ``answer`` and close, reading what the client sent meanwhile.

    Closing with unread request bytes would reset the connection, and the
    client could lose the answer."""
    try:
        sock.sendall(answer)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(1.0)
        for _ in range(64):  # at most 256 kB, then give up on the client
            if not sock.recv(4096):
                break
    except OSError:
        pass
    finally:
        sock.close()


class GuardedConnection(socketserver.StreamRequestHandler):
    """Mixin for a connection handler: TLS handshake and the ``web`` snapshot requests are answered with."""

    web: Snapshot | None = None

    def setup(self) -> None:
        guard: WebConfigFile | None = getattr(self.server, "web_config", None)
        self.web = guard.current() if guard is not None else None
        if self.web is not None and self.web.ssl_context is not None:
            sock: socket.socket = self.request
            sock.settimeout(HANDSHAKE_TIMEOUT_S)
            try:
                if _plain_http(sock):
                    # As Go's server: tell a plain-HTTP client what went wrong, in plain HTTP.
                    _answer_and_close(sock, PLAIN_HTTP_ANSWER)
                    raise HandshakeFailed("a plain HTTP request to the TLS port")
                self.request = self.web.ssl_context.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                sock.close()
                raise HandshakeFailed(str(exc)) from exc
            self.connection = self.request
        super().setup()

    def refresh_web(self) -> None:
        """Take the file's current users and headers for the next request.

        exporter-toolkit checks basic auth against the file as it is at each
        request; TLS settings stay as the connection began."""
        guard: WebConfigFile | None = getattr(self.server, "web_config", None)
        if guard is not None:
            self.web = guard.current()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if isinstance(self.request, ssl.SSLSocket):
                self.request.close()  # the plain socket was handed over to it


class GuardedServer(socketserver.BaseServer):
    """Mixin for a server: ``web_config`` for its connections; failed handshakes are no errors."""

    web_config: WebConfigFile | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            super().finish_request(request, client_address)
        except HandshakeFailed as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A TLS client that hangs up without closing the session is no server error."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError)):
            log.debug("connection from %s ended: %s", client_address, exc)
            return
        super().handle_error(request, client_address)

    @property
    def scheme(self) -> str:
        return "https" if self.web_config is not None and self.web_config.tls else "http"
