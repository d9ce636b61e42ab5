"""The HTTP client part of a scrape config: auth and TLS, as Prometheus's
``common/config.HTTPClientConfig`` validates them.

``bearer_token`` / ``bearer_token_file`` become an ``authorization`` of type
``Bearer``, as in Prometheus. Files are resolved against the config file's
directory and must exist when the config is loaded; their contents are read
at scrape time so a rotated token is picked up without a reload.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import yaml

from metricslib.collector.config.yaml_reader import NodeReader

__all__ = ["Authorization", "BasicAuth", "HTTPClientConfig", "TLSConfig", "read_http_client_config"]


@dataclass(frozen=True)
class BasicAuth:
    username: str = ""
    password: str = field(default="", repr=False)
    password_file: str = ""

    def resolve_password(self) -> str:
        if self.password_file:
            with open(self.password_file, encoding="utf-8") as fh:
                return fh.read().strip()
        return self.password


@dataclass(frozen=True)
class Authorization:
    type: str = "Bearer"
    credentials: str = field(default="", repr=False)
    credentials_file: str = ""

    def header(self) -> str:
        creds = self.credentials
        if self.credentials_file:
            with open(self.credentials_file, encoding="utf-8") as fh:
                creds = fh.read().strip()
        return f"{self.type} {creds}"


@dataclass(frozen=True)
class TLSConfig:
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name: str = ""
    insecure_skip_verify: bool = False


@dataclass(frozen=True)
class HTTPClientConfig:
    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = None
    tls_config: TLSConfig = field(default_factory=TLSConfig)
    follow_redirects: bool = True


def _path(r: NodeReader, node: yaml.Node, path: str, base: str) -> str:
    value = r.string(node, path) or ""
    if not value:
        return ""
    full = value if os.path.isabs(value) else os.path.join(base, value)
    if not os.path.isfile(full):
        r.error(node, path, f"file {value!r} does not exist")
    return full


def read_http_client_config(
    r: NodeReader, m: dict[str, tuple[yaml.Node, str]], base: str
) -> HTTPClientConfig:
    """Build from the already-split keys of a scrape config mapping ``m``."""
    basic = None
    if "basic_auth" in m:
        bm = r.mapping(*m["basic_auth"], ("username", "password", "password_file", "username_file"))
        password = r.string(*bm["password"]) if "password" in bm else ""
        password_file = _path(r, *bm["password_file"], base) if "password_file" in bm else ""
        if password and password_file:
            r.error(m["basic_auth"][0], m["basic_auth"][1],
                    "at most one of basic_auth password & password_file must be configured")
        username = r.string(*bm["username"]) if "username" in bm else ""
        basic = BasicAuth(username or "", password or "", password_file)
    auth = None
    token = r.string(*m["bearer_token"]) if "bearer_token" in m else ""
    token_file = _path(r, *m["bearer_token_file"], base) if "bearer_token_file" in m else ""
    if token and token_file:
        r.error(m["bearer_token"][0], m["bearer_token"][1],
                "at most one of bearer_token & bearer_token_file must be configured")
    if "authorization" in m:
        node, path = m["authorization"]
        am = r.mapping(node, path, ("type", "credentials", "credentials_file"))
        atype = (r.string(*am["type"]) if "type" in am else "") or "Bearer"
        if atype.lower() == "basic":
            r.error(*am["type"], 'authorization type cannot be set to "basic", use "basic_auth" instead')
        creds = r.string(*am["credentials"]) if "credentials" in am else ""
        creds_file = _path(r, *am["credentials_file"], base) if "credentials_file" in am else ""
        if creds and creds_file:
            r.error(node, path, "at most one of authorization credentials & credentials_file must be configured")
        if token or token_file:
            r.error(node, path, "authorization is not compatible with bearer_token & bearer_token_file")
        auth = Authorization(atype, creds or "", creds_file)
    elif token or token_file:
        auth = Authorization("Bearer", token or "", token_file)
    if basic is not None and auth is not None:
        r.error(m["basic_auth"][0], m["basic_auth"][1],
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured")
    tls = TLSConfig()
    if "tls_config" in m:
        node, path = m["tls_config"]
        tm = r.mapping(node, path, ("ca_file", "cert_file", "key_file", "server_name",
                                    "insecure_skip_verify", "min_version", "max_version",
                                    "ca", "cert", "key"))
        for inline in ("ca", "cert", "key", "min_version", "max_version"):
            if inline in tm:
                r.warn(tm[inline][0], tm[inline][1], f"tls_config.{inline} is not supported and is ignored")
        files = {k: _path(r, *tm[k], base) for k in ("ca_file", "cert_file", "key_file") if k in tm}
        if bool(files.get("cert_file")) != bool(files.get("key_file")):
            r.error(node, path, "cert_file and key_file must be configured together")
        tls = TLSConfig(
            ca_file=files.get("ca_file", ""),
            cert_file=files.get("cert_file", ""),
            key_file=files.get("key_file", ""),
            server_name=(r.string(*tm["server_name"]) or "") if "server_name" in tm else "",
            insecure_skip_verify=bool(r.boolean(*tm["insecure_skip_verify"]))
            if "insecure_skip_verify" in tm else False,
        )
    follow = r.boolean(*m["follow_redirects"]) if "follow_redirects" in m else True
    return HTTPClientConfig(basic, auth, tls, True if follow is None else follow)
