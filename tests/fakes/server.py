"""The part every fake shares: an aiohttp app on 127.0.0.1, port 0, in its own thread and loop.

A thread of its own lets sync tests, async tests and child processes all reach
the fake, and lets a test block (or a handler sleep) without stalling the other.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Self

from aiohttp import web


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class ThreadedServer:
    """Subclasses implement ``_handle`` (every path and method is routed to it)."""

    name = "fake"
    max_body = 32 * 1024 * 1024

    def __init__(self) -> None:
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    def start(self) -> Self:
        """Start serving; returns self so ``fake = Fake().start()`` works."""
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=_serve, args=(loop,), name=self.name, daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            asyncio.run_coroutine_threadsafe(self._startup(), loop).result(timeout=10)
        except BaseException:
            self._halt()
            raise
        return self

    async def _startup(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=self.max_body)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def _shutdown(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # wakes sleeping handlers so cleanup need not wait for them
        if self._runner is not None:
            await self._runner.cleanup()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep in a handler, but wake at once when the server stops; True if it is stopping."""
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def stop(self) -> None:
        """Stop serving; hanging requests are dropped. Safe to call twice."""
        if self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
        finally:
            self._halt()

    def _halt(self) -> None:
        assert self._loop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
