"""Route templates for Starlette and FastAPI requests without re-matching routes.

After the app has handled a request, Starlette has left the matched route
object in ``scope["route"]`` and the endpoint in ``scope["endpoint"]``. Those
objects only know their path relative to the innermost router: mount prefixes
and FastAPI ``include_router`` prefixes are lost. So the first time an
object is seen the route tree (``scope["router"]``) is walked once to map
every route and endpoint object to its full template; afterwards a request
costs two ``scope.get`` calls and one dict lookup, with 3 routes or 300.

When one object sits under several prefixes (the same router included at
``/v1`` and ``/v2``), the candidates' compiled patterns pick the template;
that costs a regex match per duplicate, never per route in the app.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from typing import Any, Final

__all__ = ["RouteIndex"]

# Marks a mount of a router: when it is the innermost match, the inner
# router found nothing, so the request is unmatched.
_ROUTER_MOUNT: Final = "\x00router-mount"
# Unknown objects are remembered so a framework that mints route objects per
# request cannot make us walk the tree per request; past this many we stop
# learning and fall back to the object's own relative path.
_MAX_UNKNOWN: Final = 10_000

_Ambiguous = tuple[tuple[re.Pattern[str], str], ...]
_Entry = str | _Ambiguous


class RouteIndex:
    """Maps route and endpoint objects found in a scope to full route templates."""

    def __init__(self, unmatched: str, mount_suffix: str = "/{path:path}") -> None:
        self.unmatched = unmatched
        # Appended to the mount path of a non-router app (StaticFiles, a WSGI app).
        self.mount_suffix = mount_suffix
        self._entries: dict[int, _Entry] = {}
        # References keep the indexed objects alive, so their ids stay unique.
        self._keep: list[object] = []
        self._unknown = 0

    def resolve(self, scope: MutableMapping[str, Any], path: str) -> str:
        """The template for a finished request; ``path`` excludes the server's root_path."""
        route = scope.get("route")
        if route is not None:
            entry = self._entries.get(id(route))
            if entry is None:
                entry = self._learn(scope, route)
            found = entry if type(entry) is str else _pick(entry, path)  # type: ignore[arg-type]
            if found != _ROUTER_MOUNT:
                return found
        # FastAPI routers leave scope["route"] unset (or stale: the outer
        # mount) for plain Starlette routes; the endpoint still identifies it.
        endpoint = scope.get("endpoint")
        if endpoint is not None:
            entry = self._entries.get(id(endpoint))
            if entry is None:
                entry = self._learn(scope, endpoint)
            found = entry if type(entry) is str else _pick(entry, path)  # type: ignore[arg-type]
            if found != _ROUTER_MOUNT:
                return found
        return self.unmatched

    def _learn(self, scope: MutableMapping[str, Any], obj: object) -> _Entry:
        router = scope.get("router")
        if router is not None:
            self._index(getattr(router, "routes", ()))
        entry = self._entries.get(id(obj))
        if entry is not None:
            return entry
        # Not reachable from the top router (e.g. a custom router object):
        # its own path is still a template, only without mount prefixes.
        own = getattr(obj, "path", None)
        fallback = own if isinstance(own, str) and own.startswith("/") else _ROUTER_MOUNT
        if self._unknown < _MAX_UNKNOWN:
            self._unknown += 1
            self._keep.append(obj)
            self._entries[id(obj)] = fallback
        return fallback

    def _index(self, routes: Iterable[Any]) -> None:
        found: dict[int, list[str]] = {}
        objects: dict[int, object] = {}

        def add(obj: object, template: str) -> None:
            if obj is None:
                return
            objects[id(obj)] = obj
            templates = found.setdefault(id(obj), [])
            if template not in templates:
                templates.append(template)

        _walk(routes, "", add, self.mount_suffix)
        for key, templates in found.items():
            self._keep.append(objects[key])
            if len(templates) == 1:
                self._entries[key] = templates[0]
            else:
                self._entries[key] = tuple((_compile(t), t) for t in templates)


def _pick(candidates: _Ambiguous, path: str) -> str:
    for pattern, template in candidates:
        if pattern.match(path):
            return template
    return candidates[0][1]


def _compile(template: str) -> re.Pattern[str]:
    from starlette.routing import compile_path

    if template == _ROUTER_MOUNT:
        # Never preferred over a real template when the object is ambiguous.
        return re.compile(r"(?!)")
    return compile_path(template)[0]


def _walk(routes: Iterable[Any], prefix: str, add: Any, suffix: str) -> None:
    from starlette.routing import Host, Mount

    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None and hasattr(route, "include_context"):
            # FastAPI's include_router keeps the included router intact and
            # exposes each route with its full, prefixed path here.
            for ctx in contexts():
                original = getattr(ctx, "original_route", None)
                starlette_route = getattr(ctx, "starlette_route", None)
                if starlette_route is not None:
                    _walk([starlette_route], prefix, add, suffix)
                    add(original, _full(prefix, starlette_route, suffix))
                elif isinstance(getattr(ctx, "path", None), str) and ctx.path:
                    add(original, prefix + ctx.path)
                    add(getattr(ctx, "endpoint", None), prefix + ctx.path)
            continue
        if isinstance(route, Mount):
            inner = route.routes
            if inner:
                add(route, _ROUTER_MOUNT)
                add(route.app, _ROUTER_MOUNT)
                _walk(inner, prefix + route.path, add, suffix)
            else:
                template = prefix + route.path + suffix
                add(route, template)
                add(route.app, template)
        elif isinstance(route, Host):
            add(route, _ROUTER_MOUNT)
            _walk(route.routes, prefix, add, suffix)
        else:
            path = getattr(route, "path", None)
            if isinstance(path, str):
                add(route, prefix + path)
                add(getattr(route, "endpoint", None), prefix + path)


def _full(prefix: str, route: Any, suffix: str) -> str:
    from starlette.routing import Mount

    if isinstance(route, Mount):
        return _ROUTER_MOUNT if route.routes else prefix + route.path + suffix
    return prefix + str(getattr(route, "path", ""))
