"""An instrumented FastAPI app: routers with prefixes, a sub-app, a stream.

Run it (binds 127.0.0.1; metrics at /metrics):

    python examples/fastapi_app.py --port 8003
    python examples/fastapi_app.py --port 8003 --workers 4   # one total across workers

Routes are labelled with their full templates: ``/v1/items/{item_id}``,
``/admin/stats`` (a mounted app), never the raw path.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, BackgroundTasks, FastAPI, HTTPException
from fastapi.responses import StreamingResponse

from metricslib import multiprocess
from metricslib.asgi import MetricsMiddleware

ITEMS = {1: "lens", 2: "tripod", 3: "camera"}


def create_app() -> FastAPI:
    app = FastAPI(title="metricslib FastAPI example")
    items = APIRouter(prefix="/items", tags=["items"])

    @items.get("/{item_id}")
    async def read_item(item_id: int) -> dict[str, object]:
        if item_id not in ITEMS:
            raise HTTPException(status_code=404, detail="no such item")
        return {"id": item_id, "name": ITEMS[item_id]}

    @items.post("/{item_id}/views")
    async def count_view(item_id: int, background: BackgroundTasks) -> dict[str, int]:
        background.add_task(lambda: None)  # after the response: not timed
        return {"id": item_id}

    app.include_router(items, prefix="/v1")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("the API fell over (on purpose)")

    @app.get("/export")
    async def export() -> StreamingResponse:
        async def rows() -> AsyncIterator[bytes]:
            for item_id, name in ITEMS.items():
                await asyncio.sleep(0.05)
                yield f"{item_id},{name}\n".encode()

        return StreamingResponse(rows(), media_type="text/csv")

    admin = FastAPI()

    @admin.get("/stats")
    async def stats() -> dict[str, int]:
        return {"items": len(ITEMS)}

    app.mount("/admin", admin)
    app.add_middleware(MetricsMiddleware)
    return app


if os.environ.get("METRICS_MULTIPROC_DIR"):
    multiprocess.setup(os.environ["METRICS_MULTIPROC_DIR"])
app = create_app()


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Instrumented FastAPI example")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8003)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers > 1:
        os.environ.setdefault("METRICS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="metricslib-uvicorn-"))
    uvicorn.run(
        "fastapi_app:app",
        app_dir=str(Path(__file__).resolve().parent),
        host=args.host,
        port=args.port,
        workers=args.workers,
    )


if __name__ == "__main__":
    main()
