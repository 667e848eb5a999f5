"""The operator's endpoints of a process: ``/metrics`` for Prometheus and ``/healthz``.

The bot and the worker each serve their own on METRICS_PORT. ``/healthz`` answers
200 when the database and Redis answer, 503 otherwise, so a load balancer can
take an unhealthy webhook instance out of rotation.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.errors import StartupError
from storage import db

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    db.database.execute_sql("SELECT 1")
    return True


async def _healthz(request: web.Request) -> web.Response:
    checks: dict[str, str] = {}
    try:
        await db.call(_database_ok)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means unhealthy; say which
        checks["database"] = type(exc).__name__
    redis = request.app["redis"]
    if redis is not None:
        try:
            await redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = type(exc).__name__
    healthy = all(v == "ok" for v in checks.values())
    return web.json_response({"ok": healthy, **checks}, status=200 if healthy else 503)


async def _metrics(_: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def serve(port: int, redis: Any = None, host: str = "0.0.0.0") -> web.AppRunner:
    """Start the endpoints; call ``await runner.cleanup()`` to stop."""
    app = web.Application()
    app["redis"] = redis
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await start_site(runner, host, port, "METRICS_PORT")
    logger.info("metrics and health on port %s", port)
    return runner


async def start_site(runner: web.AppRunner, host: str | None, port: int, setting: str) -> None:
    """Listen on ``port``, or stop the process with one line naming ``setting`` when it can't."""
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise StartupError(
            f"Can't listen on port {port} ({os.strerror(exc.errno) if exc.errno else type(exc).__name__}): "
            f"stop what uses it or set {setting} to a free port."
        ) from None
