"""The route-template recipes of docs/middleware.md, run with each real framework.

Each test builds a small app of the framework, wraps it in our WSGI
middleware exactly as the recipe says, sends requests with Werkzeug's test
client (plain WSGI calls) and checks the ``route`` label is the template.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from werkzeug.test import Client

from metricslib.registry import Registry
from metricslib.wsgi import ROUTE_KEY, MetricsMiddleware


def routes(registry: Registry) -> dict[tuple[str, str], float]:
    return {
        (s.labels["route"], s.labels["code"]): s.value
        for family in registry.collect()
        for s in family.samples
        if s.name == "http_requests_total"
    }


def hit(app: Any, *paths: str) -> None:
    """GET each path and read the body through, as a server does."""
    client = Client(app)
    for path in paths:
        with client.get(path) as response:
            response.get_data()


def test_plain_wsgi_app_without_route_getter_is_all_unmatched() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    registry = Registry()
    hit(MetricsMiddleware(app, registry=registry), "/a/1", "/b/2")
    assert routes(registry) == {("<unmatched>", "200"): 2.0}


def test_django_recipe() -> None:
    django = pytest.importorskip("django")
    from django.conf import settings
    from django.http import HttpResponse
    from django.urls import path

    # --- the recipe (docs/middleware.md) ---
    class RouteTemplateMiddleware:
        """Django middleware: hand the matched URL pattern to metricslib."""

        def __init__(self, get_response: Any) -> None:
            self.get_response = get_response

        def __call__(self, request: Any) -> Any:
            return self.get_response(request)

        def process_view(self, request: Any, view: Any, args: Any, kwargs: Any) -> None:
            request.META[ROUTE_KEY] = "/" + request.resolver_match.route
    # --- end of recipe ---

    def item(request: Any, item_id: int) -> HttpResponse:
        return HttpResponse(f"item {item_id}")

    urls = types.ModuleType("metricslib_recipe_urls")
    urls.urlpatterns = [path("items/<int:item_id>", item)]  # type: ignore[attr-defined]
    sys.modules[urls.__name__] = urls
    recipe = types.ModuleType("metricslib_recipe_mw")
    recipe.RouteTemplateMiddleware = RouteTemplateMiddleware  # type: ignore[attr-defined]
    sys.modules[recipe.__name__] = recipe
    if not settings.configured:
        settings.configure(
            ROOT_URLCONF=urls.__name__,
            MIDDLEWARE=["metricslib_recipe_mw.RouteTemplateMiddleware"],
            ALLOWED_HOSTS=["*"],
            SECRET_KEY="test only",
            DEBUG=False,
        )
        django.setup()
    from django.core.wsgi import get_wsgi_application

    registry = Registry()
    hit(MetricsMiddleware(get_wsgi_application(), registry=registry), "/items/1", "/items/2", "/nope")
    assert routes(registry) == {("/items/<int:item_id>", "200"): 2.0, ("<unmatched>", "404"): 1.0}


def test_falcon_recipe() -> None:
    falcon = pytest.importorskip("falcon")

    # --- the recipe (docs/middleware.md) ---
    class RouteTemplate:
        """Falcon middleware: hand the matched URI template to metricslib."""

        def process_resource(self, req: Any, resp: Any, resource: Any, params: Any) -> None:
            if req.uri_template is not None:
                req.env[ROUTE_KEY] = req.uri_template

    app = falcon.App(middleware=[RouteTemplate()])
    # --- end of recipe ---

    class Item:
        def on_get(self, req: Any, resp: Any, item_id: int) -> None:
            resp.text = f"item {item_id}"

    app.add_route("/items/{item_id:int}", Item())
    registry = Registry()
    hit(MetricsMiddleware(app, registry=registry), "/items/1", "/items/2", "/nope")
    assert routes(registry) == {("/items/{item_id:int}", "200"): 2.0, ("<unmatched>", "404"): 1.0}


def test_bottle_recipe() -> None:
    bottle = pytest.importorskip("bottle")
    app = bottle.Bottle()

    @app.get("/items/<item_id:int>")
    def item(item_id: int) -> str:
        return f"item {item_id}"

    # --- the recipe (docs/middleware.md) ---
    application = MetricsMiddleware(
        app, route_getter=lambda environ: getattr(environ.get("bottle.route"), "rule", None),
        registry=(registry := Registry()),
    )
    # --- end of recipe ---
    hit(application, "/items/1", "/items/2", "/nope")
    assert routes(registry) == {("/items/<item_id:int>", "200"): 2.0, ("<unmatched>", "404"): 1.0}


# WebOb, under Pyramid, still imports the cgi module on Python < 3.13.
@pytest.mark.filterwarnings("ignore:'cgi' is deprecated:DeprecationWarning")
def test_pyramid_recipe() -> None:
    pytest.importorskip("pyramid")
    from pyramid.config import Configurator
    from pyramid.events import ContextFound
    from pyramid.response import Response

    def item(request: Any) -> Response:
        return Response(f"item {request.matchdict['item_id']}")

    with Configurator() as config:
        config.add_route("item", "/items/{item_id}")
        config.add_view(item, route_name="item")

        # --- the recipe (docs/middleware.md) ---
        def route_template(event: Any) -> None:
            route = event.request.matched_route
            if route is not None:
                event.request.environ[ROUTE_KEY] = route.pattern

        config.add_subscriber(route_template, ContextFound)
        # --- end of recipe ---
        app = config.make_wsgi_app()
    registry = Registry()
    hit(MetricsMiddleware(app, registry=registry), "/items/1", "/items/2", "/nope")
    assert routes(registry) == {("/items/{item_id}", "200"): 2.0, ("<unmatched>", "404"): 1.0}
