"""Async Intervals.icu client over httpx, following the official OpenAPI spec.

One ``IntervalsPool`` per process owns the HTTP connection pool and the pacer
(the service limits requests per IP, not per key); ``pool.client(...)`` gives a
client bound to one athlete's id and key. Every failure is raised as a typed
``IntervalsError`` that says whether retrying can help.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import time
from typing import Any

import httpx

from core.errors import (
    IntervalsAuthError,
    IntervalsError,
    RemoteNotFound,
    SyncRejected,
    SyncUnavailable,
)

logger = logging.getLogger(__name__)

API = "/api/v1"


class Pacer:
    """Spaces requests so the process stays under ``rate`` requests per second."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Return when the next request may go out."""
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            await asyncio.sleep(delay)

    def hold(self, seconds: float) -> None:
        """Push the next slot back, e.g. after a 429 with Retry-After."""
        self._next = max(self._next, time.monotonic() + seconds)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        # A wait on the event loop, against the server's wall clock: not a date the product reasons about.
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])[:200]
    return str(body)[:200]


def _raise_for(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = _error_text(response)
    if status == 429:
        raise SyncUnavailable(
            "Intervals.icu is rate limiting requests.",
            status=status,
            retry_after=_retry_after(response),
        )
    if status >= 500:
        raise SyncUnavailable(f"Intervals.icu had a server error ({status}).", status=status)
    if status in (401, 403):
        raise IntervalsAuthError("Intervals.icu refused the API key; reconnect with /connect.", status=status)
    if status == 404:
        raise RemoteNotFound("Not found in Intervals.icu.", status=status)
    raise SyncRejected(f"Intervals.icu rejected the request: {detail}", status=status)


class IntervalsPool:
    """Shared transport and pacing for all athletes' clients in this process."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, rate: float = 8.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + API,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            headers={"Accept": "application/json"},
        )
        self.pacer = Pacer(rate)

    def client(self, athlete_id: str, api_key: str) -> IntervalsClient:
        """A client acting for one athlete."""
        return IntervalsClient(self, athlete_id, api_key)

    async def request(
        self,
        method: str,
        path: str,
        *,
        api_key: str,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one paced request and return the decoded JSON body, or raise typed."""
        await self.pacer.wait()
        started = time.monotonic()
        try:
            response = await self._http.request(
                method,
                path,
                params=params,
                json=json,
                auth=httpx.BasicAuth("API_KEY", api_key),
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing left this machine: the request certainly was not applied.
            raise SyncUnavailable(f"Could not reach Intervals.icu ({type(exc).__name__}).") from None
        except httpx.TimeoutException:
            raise SyncUnavailable("Intervals.icu did not answer in time.", uncertain=True) from None
        except httpx.TransportError as exc:
            raise SyncUnavailable(
                f"Lost the connection to Intervals.icu ({type(exc).__name__}).", uncertain=True
            ) from None
        logger.debug(
            "intervals %s %s -> %s in %.0f ms",
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        if response.status_code == 429:
            self.pacer.hold(_retry_after(response) or 1.0)
        _raise_for(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise SyncUnavailable("Intervals.icu sent a response that is not JSON.") from None

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


def _day(value: dt.date) -> str:
    return value.isoformat()


class IntervalsClient:
    """The calls this product makes, for one athlete."""

    def __init__(self, pool: IntervalsPool, athlete_id: str, api_key: str) -> None:
        self._pool = pool
        self._athlete = athlete_id
        self._key = api_key

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self._pool.request(method, path, api_key=self._key, **kwargs)

    @property
    def _base(self) -> str:
        return f"/athlete/{self._athlete}"

    async def get_profile(self) -> dict[str, Any]:
        """The athlete's profile with sport settings (name, timezone, FTP); also proves the key works."""
        result: dict[str, Any] = await self._call("GET", self._base)
        return result

    async def list_events(
        self, oldest: dt.date, newest: dt.date, *, category: str | None = None
    ) -> list[dict[str, Any]]:
        """Events from ``oldest`` to ``newest`` inclusive (``newest`` always sent: it defaults to +6 days)."""
        params: dict[str, Any] = {"oldest": _day(oldest), "newest": _day(newest)}
        if category:
            params["category"] = category
        result = await self._call("GET", f"{self._base}/events", params=params)
        return list(result or [])

    async def get_event(self, event_id: int) -> dict[str, Any]:
        """One event by id."""
        result: dict[str, Any] = await self._call("GET", f"{self._base}/events/{event_id}")
        return result

    async def create_event(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create one event; returns it with its new int32 ``id``."""
        result: dict[str, Any] = await self._call(
            "POST", f"{self._base}/events", params={"upsertOnUid": "false"}, json=body
        )
        return result

    async def update_event(self, event_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Change the given fields of an event."""
        result: dict[str, Any] = await self._call("PUT", f"{self._base}/events/{event_id}", json=body)
        return result

    async def delete_event(self, event_id: int) -> bool:
        """Delete an event; True if it existed. A missing event counts as deleted."""
        try:
            await self._call("DELETE", f"{self._base}/events/{event_id}")
        except RemoteNotFound:
            return False
        return True

    async def bulk_upsert_events(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create many events in one call, updating any whose ``uid`` already exists."""
        result = await self._call(
            "POST",
            f"{self._base}/events/bulk",
            params={"upsertOnUid": "true", "updatePlanApplied": "false"},
            json=bodies,
        )
        return list(result or [])

    async def bulk_delete_events(self, event_ids: list[int]) -> int:
        """Delete many events by id in one call; missing ones are ignored. Returns how many went."""
        result = await self._call(
            "PUT", f"{self._base}/events/bulk-delete", json=[{"id": int(i)} for i in event_ids]
        )
        return int((result or {}).get("eventsDeleted", 0))

    async def list_activities(
        self, oldest: dt.date, newest: dt.date, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Completed activities in the range, newest first."""
        # A bare date for newest may be read as its midnight; ask for the whole last day.
        params: dict[str, Any] = {"oldest": _day(oldest), "newest": f"{_day(newest)}T23:59:59"}
        if limit:
            params["limit"] = limit
        result = await self._call("GET", f"{self._base}/activities", params=params)
        return list(result or [])

    async def get_activity(self, activity_id: str) -> dict[str, Any]:
        """One activity with its intervals."""
        result: dict[str, Any] = await self._call(
            "GET", f"/activity/{activity_id}", params={"intervals": "true"}
        )
        return result

    async def list_wellness(self, oldest: dt.date, newest: dt.date) -> list[dict[str, Any]]:
        """Wellness records (CTL, ATL, HRV, sleep...) for the range."""
        result = await self._call(
            "GET", f"{self._base}/wellness", params={"oldest": _day(oldest), "newest": _day(newest)}
        )
        return list(result or [])


__all__ = ["IntervalsClient", "IntervalsError", "IntervalsPool", "Pacer"]
