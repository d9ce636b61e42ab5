"""An instrumented Starlette app: routes, a mount, a stream, a websocket.

Run it (binds 127.0.0.1; metrics at /metrics):

    python examples/starlette_app.py --port 8002
    python examples/starlette_app.py --port 8002 --workers 4   # one total across workers

or with uvicorn directly (set METRICS_MULTIPROC_DIR when using --workers):

    uvicorn --app-dir examples starlette_app:app --port 8002
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from metricslib import multiprocess
from metricslib.asgi import MetricsMiddleware

PHOTOS = {1: "sunset.jpg", 2: "harbour.jpg", 3: "forest.jpg"}


async def index(request: Request) -> Response:
    return JSONResponse({"photos": sorted(PHOTOS)})


async def photo(request: Request) -> Response:
    photo_id = request.path_params["photo_id"]
    if photo_id not in PHOTOS:
        return JSONResponse({"error": "no such photo"}, status_code=404)
    return JSONResponse({"id": photo_id, "file": PHOTOS[photo_id]})


async def album(request: Request) -> Response:
    return JSONResponse({"album": request.path_params["name"], "photos": sorted(PHOTOS)})


async def boom(request: Request) -> Response:
    raise RuntimeError("the app fell over (on purpose)")


async def frames() -> AsyncIterator[bytes]:
    for name in PHOTOS.values():
        await asyncio.sleep(0.05)
        yield f"{name}\n".encode()


def log_slideshow() -> None:
    """Runs after the response is sent; not part of the request duration."""


async def slideshow(request: Request) -> Response:
    return StreamingResponse(frames(), media_type="text/plain", background=BackgroundTask(log_slideshow))


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)


def create_app() -> Starlette:
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/photos/{photo_id:int}", photo),
            Mount("/api/v1", routes=[Route("/albums/{name}", album)]),
            Route("/boom", boom),
            Route("/slideshow", slideshow),
            WebSocketRoute("/ws", echo),
        ]
    )
    app.add_middleware(MetricsMiddleware, exclude_paths=["/healthz"])
    return app


# uvicorn --workers starts fresh processes that import this module: each one
# joins the aggregation when a directory is configured.
if os.environ.get("METRICS_MULTIPROC_DIR"):
    multiprocess.setup(os.environ["METRICS_MULTIPROC_DIR"])
app = create_app()


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Instrumented Starlette example")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers > 1:
        os.environ.setdefault("METRICS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="metricslib-uvicorn-"))
    uvicorn.run(
        "starlette_app:app",
        app_dir=str(Path(__file__).resolve().parent),
        host=args.host,
        port=args.port,
        workers=args.workers,
    )


if __name__ == "__main__":
    main()
