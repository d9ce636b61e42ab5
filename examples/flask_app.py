"""An instrumented Flask image gallery.

Run it (binds 127.0.0.1; metrics at /metrics):

    python examples/flask_app.py --port 8001
    python examples/flask_app.py --port 8001 --preset promhttp   # as the demo runs it

or under gunicorn with one total across the workers:

    gunicorn -c examples/gunicorn.conf.py -w 4 --chdir examples 'flask_app:create_app()'

``namespace="image_gallery"`` names the request metrics
``image_gallery_requests_total``, ``image_gallery_request_duration_seconds``,
... so ``sum(image_gallery_requests_total{code="200"}) without(instance)``
is the gallery's successful request count across instances, one line per
route template and method. With ``--preset promhttp`` the names and labels
are Go promhttp's, as the demo's board expects:
``image_gallery_requests_total{code,method}`` and
``image_gallery_in_flight_requests``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, abort, jsonify, stream_with_context

from metricslib import Counter
from metricslib.flask import FlaskMetrics

IMAGES = {1: "sunset.jpg", 2: "harbour.jpg", 3: "forest.jpg"}

# A business metric next to the HTTP ones; same registry, same /metrics.
THUMBNAILS = Counter(
    "image_gallery_thumbnails_rendered_total", "Thumbnails rendered.", ["size"]
)


def create_app(preset: str | None = None) -> Flask:
    app = Flask("image_gallery")

    @app.get("/")
    def index() -> Response:
        return jsonify(images=sorted(IMAGES))

    @app.get("/images/<int:image_id>")
    def image(image_id: int) -> Response:
        if image_id not in IMAGES:
            abort(404)
        return jsonify(id=image_id, file=IMAGES[image_id])

    @app.get("/images/<int:image_id>/thumbnail/<size>")
    def thumbnail(image_id: int, size: str) -> Response:
        THUMBNAILS.labels(size if size in ("small", "large") else "other").inc()
        return jsonify(id=image_id, size=size)

    @app.get("/boom")
    def boom() -> Response:
        raise RuntimeError("the gallery fell over (on purpose)")

    @app.get("/slideshow")
    def slideshow() -> Response:
        def frames() -> Iterator[str]:
            for name in IMAGES.values():
                time.sleep(0.05)
                yield f"{name}\n"

        return Response(stream_with_context(frames()), mimetype="text/plain")

    api = Blueprint("api", __name__, url_prefix="/api/v1")

    @api.get("/albums/<name>")
    def album(name: str) -> Response:
        return jsonify(album=name, images=sorted(IMAGES))

    app.register_blueprint(api)
    FlaskMetrics(app, namespace="image_gallery", preset=preset, exclude_paths=["/healthz"])
    return app



def main() -> None:
    parser = argparse.ArgumentParser(description="Instrumented Flask image gallery")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--preset", default=None, help="a naming preset of the middleware, e.g. promhttp")
    args = parser.parse_args()
    create_app(preset=args.preset).run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
