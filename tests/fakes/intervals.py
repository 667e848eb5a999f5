"""A protocol-level fake of the Intervals.icu REST API, served on a real loopback port."""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes.openapi import OpenAPI, SpecError, ValidRequest
from tests.fakes.server import ThreadedServer
from tests.fakes.workout_text import ParsedWorkout, WorkoutTextError
from tests.fakes.workout_text import parse as parse_workout

# Vendored copy of the official spec; tests/data/intervals-icu/README.md says where it came from.
SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "intervals-icu" / "openapi-spec.json"
FAIL_MODES = frozenset({"500", "429", "timeout", "drop", "apply_then_drop"})
HANG_SECONDS = 30.0
# EventEx-only inputs (the service turns them into a workout); Event has no such fields.
_EVENTEX_ONLY = frozenset({"workout", "file_contents", "file_contents_base64", "filename"})
_SERVER_SET = frozenset({"id", "athlete_id", "updated"})
_INTERVAL_FIELDS = frozenset({"icu_intervals", "icu_groups"})


@dataclass
class RecordedRequest:
    """One request as the fake saw it; status 0 means no response was sent."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0


class FakeIntervals(ThreadedServer):
    """A fake Intervals.icu: HTTP on 127.0.0.1 in a daemon thread, validated against the spec."""

    name = "fake-intervals"

    def __init__(self, spec_path: Path = SPEC_PATH) -> None:
        super().__init__()
        self.spec = OpenAPI(spec_path)
        self.latency: float = 0.0
        self.rate_limit: float | None = None
        self.rate_limited = 0
        self._lock = threading.Lock()
        self._keys: dict[str, str] = {}  # API key -> athlete id
        self._events: dict[str, dict[int, dict[str, Any]]] = {}
        self._activities: dict[str, dict[str, Any]] = {}
        self._wellness: dict[str, dict[str, dict[str, Any]]] = {}
        self._profiles: dict[str, dict[str, Any]] = {}
        self._fault_rate, self._fault_modes = 0.0, tuple(sorted(FAIL_MODES))
        self._random = random.Random(0)
        self._failures: deque[tuple[str, float | None]] = deque()
        self._requests: list[RecordedRequest] = []
        self._recent: deque[float] = deque()
        # Random start so clients cannot get away with assuming ids.
        self._next_event_id = random.randint(10_000, 99_999)
        self._next_activity_id = random.randint(10_000_000, 99_999_999)
        self._operations: dict[str, Callable[[str, ValidRequest], Any]] = {
            "listEvents": self._list_events,
            "createEvent": self._create_event,
            "showEvent": lambda a, r: self._event(a, r.path_params["eventId"]),
            "updateEvent": lambda a, r: self._store_event(
                a, r.body, self._event(a, r.path_params["eventId"])
            ),
            "deleteEvent": self._delete_event,
            "createMultipleEvents": self._create_events,
            "deleteEventsBulk": self._delete_events,
            "listActivities": self._list_activities,
            "getActivity": self._get_activity,
            "listWellnessRecords": self._list_wellness,
            "getAthlete": lambda a, r: copy.deepcopy(self._profiles[a]),
        }

    def add_athlete(self, athlete_id: str, api_key: str, profile: dict[str, Any] | None = None) -> None:
        """Register an athlete whose personal API key is `api_key` (profile: a WithSportSettings)."""
        default = {
            "id": athlete_id,
            "name": "Test Athlete",
            "timezone": "UTC",
            "sportSettings": [{"types": ["Ride", "VirtualRide"], "ftp": 250}],
        }
        with self._lock:
            self._keys[api_key] = athlete_id
            self._profiles[athlete_id] = {**default, **(profile or {})}
            self._events.setdefault(athlete_id, {})
            self._wellness.setdefault(athlete_id, {})

    def revoke_key(self, api_key: str) -> None:
        """Forget a key, as when the athlete deletes it in Intervals.icu settings."""
        with self._lock:
            self._keys.pop(api_key, None)

    def events(self, athlete_id: str) -> list[dict[str, Any]]:
        """The athlete's stored Event objects, sorted by id."""
        with self._lock:
            store = self._events.get(athlete_id, {})
            return [copy.deepcopy(store[i]) for i in sorted(store)]

    def add_event(self, athlete_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Seed an event as if the athlete made it in Intervals.icu; assigns `id` if missing."""
        seed = self._seed("Event", event, "start_date_local")
        with self._lock:
            seed.setdefault("id", self._new_event_id())
            seed.setdefault("updated", _now())
            seed["athlete_id"] = athlete_id
            self._events.setdefault(athlete_id, {})[seed["id"]] = seed
            return copy.deepcopy(seed)

    def add_activity(self, athlete_id: str, activity: dict[str, Any]) -> dict[str, Any]:
        """Seed an activity; ids are strings like "i47602392", assigned when missing."""
        seed = self._seed("ActivityWithIntervals", activity, "start_date_local")
        with self._lock:
            while "id" not in seed:
                if f"i{self._next_activity_id}" not in self._activities:
                    seed["id"] = f"i{self._next_activity_id}"
                self._next_activity_id += 1
            seed["icu_athlete_id"] = athlete_id
            self._activities[seed["id"]] = seed
            return copy.deepcopy(seed)

    def add_wellness(self, athlete_id: str, record: dict[str, Any]) -> None:
        """Seed a wellness record; `record["id"]` is the day, "YYYY-MM-DD"."""
        seed = self._seed("Wellness", record, "id")
        with self._lock:
            self._wellness.setdefault(athlete_id, {})[seed["id"]] = seed

    def faults(self, rate: float, modes: tuple[str, ...] = tuple(sorted(FAIL_MODES)), seed: int = 0) -> None:
        """From now on, fail each request with probability ``rate`` in a random mode of ``modes``."""
        with self._lock:
            self._fault_rate, self._fault_modes = rate, modes
            self._random = random.Random(seed)

    def fail_next(self, n: int, mode: str, retry_after: float | None = None) -> None:
        """Make the next `n` requests fail in `mode` (one of FAIL_MODES)."""
        if mode not in FAIL_MODES:
            raise ValueError(f"unknown failure mode {mode!r}; use one of {sorted(FAIL_MODES)}")
        with self._lock:
            self._failures.extend([(mode, retry_after)] * n)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request seen so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget keys, events, activities, wellness, failures, records, latency and rate limit."""
        with self._lock:
            self._keys.clear()
            for store in (*self._events.values(), *self._wellness.values()):
                store.clear()
            for other in (self._activities, self._failures, self._requests, self._recent):
                other.clear()
            self.latency, self.rate_limit, self.rate_limited = 0.0, None, 0
            self._fault_rate = 0.0

    def _seed(self, schema: str, obj: dict[str, Any], required: str) -> dict[str, Any]:
        # Nulls are normal in real responses although the spec never says `nullable`.
        seed = {k: copy.deepcopy(v) for k, v in obj.items() if v is not None}
        errors = self.spec.errors(self.spec.component(schema), seed)
        if errors or required not in seed:
            raise ValueError(f"seed is not a valid {schema} with {required!r}: {'; '.join(errors)}")
        try:
            seed[required] = _local(seed[required], required) if required != "id" else seed["id"]
            _day(seed[required], required)
        except SpecError as exc:
            raise ValueError(exc.message) from None
        return seed

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        query = {k: request.query.getall(k) for k in request.query.keys()}
        record = RecordedRequest(request.method, request.path, query, _decode(raw))
        with self._lock:
            self._requests.append(record)
            limited = self._over_rate_limit()
            mode, retry_after = self._failures.popleft() if self._failures and not limited else ("", None)
            if not mode and not limited and self._fault_rate and self._random.random() < self._fault_rate:
                mode = self._random.choice(self._fault_modes)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if mode == "timeout":
            await self._sleep(HANG_SECONDS)
        if mode in ("timeout", "drop"):
            return _drop(request)
        try:
            if limited:
                raise SpecError(429, "Too Many Requests")
            if mode == "500":
                raise SpecError(500, "Injected failure: java.lang.IllegalStateException")
            if mode == "429":
                headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
                raise SpecError(429, "Too Many Requests", headers)
            response = web.json_response(self._apply(request, query, raw))
        except SpecError as exc:
            body = {"status": exc.status, "error": exc.message}
            response = web.json_response(body, status=exc.status, headers=exc.headers)
        if mode == "apply_then_drop":
            return _drop(request)
        record.status = response.status
        return response

    def _over_rate_limit(self) -> bool:
        """Sliding one-second window over accepted requests; caller holds the lock."""
        if self.rate_limit is None:
            return False
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.rate_limit:
            self.rate_limited += 1
            return True
        self._recent.append(now)
        return False

    def _apply(self, request: web.Request, query: dict[str, list[str]], raw: bytes) -> Any:
        athlete = self._authenticate(request.headers.get("Authorization"))
        valid = self.spec.validate_request(request.method, request.path, query, raw, request.content_type)
        if valid.template.startswith("/api/v1/athlete/{id}") and valid.path_params["id"] not in (
            "0",
            athlete,
        ):
            raise SpecError(403, "Access denied")
        operation = self._operations.get(valid.operation_id)
        if operation is None:
            raise SpecError(501, f"the fake does not implement {valid.operation_id}")
        with self._lock:
            # Copy under the lock: the test thread may touch the store while we serialise.
            return copy.deepcopy(operation(athlete, valid))

    def _authenticate(self, header: str | None) -> str:
        """The athlete owning the credentials; 401 unless Basic API_KEY:<key>."""
        scheme, _, credentials = (header or "").partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer":
            if credentials in self._keys:  # a personal key sent the OAuth way
                raise SpecError(403, "Access denied")
            raise SpecError(401, "Invalid access token")
        if scheme.lower() != "basic":
            raise SpecError(401, "Full authentication is required to access this resource")
        try:
            user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise SpecError(401, "Malformed basic credentials") from None
        with self._lock:
            athlete = self._keys.get(password)
        if user != "API_KEY" or athlete is None:
            raise SpecError(401, "Invalid API key")
        return athlete

    # The operations below run with the lock held.

    def _new_event_id(self) -> int:
        self._next_event_id += 1
        while any(self._next_event_id in store for store in self._events.values()):  # seeded ids
            self._next_event_id += 1
        return self._next_event_id

    def _event(self, athlete: str, event_id: int) -> dict[str, Any]:
        event = self._events.setdefault(athlete, {}).get(event_id)
        if event is None:
            raise SpecError(404, f"Event {event_id} not found")
        return event

    def _store_event(self, athlete: str, body: dict[str, Any], into: dict[str, Any] | None) -> dict[str, Any]:
        """Create an event from an EventEx body, or merge the body into `into`."""
        fields = {k: v for k, v in body.items() if k not in _EVENTEX_ONLY | _SERVER_SET}
        if "start_date_local" in fields:
            fields["start_date_local"] = _local(fields["start_date_local"], "start_date_local")
        if into is None:
            for needed in ("start_date_local", "category"):
                if needed not in fields:
                    raise SpecError(422, f"{needed} is required")
        workout = _workout({**(into or {}), **fields})
        if into is None:
            into = {"id": self._new_event_id(), "athlete_id": athlete}
            self._events.setdefault(athlete, {})[into["id"]] = into
        into.update(copy.deepcopy(fields))
        into["updated"] = _now()
        # Intervals.icu turns workout text into a structured workout (workout_doc).
        if workout is None:
            into.pop("workout_doc", None)
        else:
            into["workout_doc"] = {"steps": workout.steps}
        return into

    def _find(self, athlete: str, key: str, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        return next((e for e in self._events.get(athlete, {}).values() if e.get(key) == value), None)

    def _list_events(self, athlete: str, req: ValidRequest) -> list[dict[str, Any]]:
        if req.path_params["format"] != "":
            raise SpecError(400, "the fake only serves JSON (no .csv)")
        oldest = _day(req.query.get("oldest"), "oldest") or datetime.now(UTC).date()
        newest = _day(req.query.get("newest"), "newest") or oldest + timedelta(days=6)
        categories = set(req.query.get("category") or ())
        events = sorted(
            self._events.get(athlete, {}).values(), key=lambda e: (e["start_date_local"], e["id"])
        )
        found = [e for e in events if _within(e["start_date_local"], oldest, newest)]
        found = [e for e in found if not categories or e.get("category") in categories]
        return found[: req.query["limit"]] if "limit" in req.query else found

    def _create_event(self, athlete: str, req: ValidRequest) -> dict[str, Any]:
        existing = self._find(athlete, "uid", req.body.get("uid")) if req.query["upsertOnUid"] else None
        return self._store_event(athlete, req.body, existing)

    def _delete_event(self, athlete: str, req: ValidRequest) -> dict[str, Any]:
        self._event(athlete, req.path_params["eventId"])
        del self._events[athlete][req.path_params["eventId"]]
        return {}

    def _create_events(self, athlete: str, req: ValidRequest) -> list[dict[str, Any]]:
        snapshot = copy.deepcopy(self._events.setdefault(athlete, {}))
        stored = []
        try:
            for body in req.body:
                existing = None
                if req.query.get("upsert"):
                    existing = self._find(athlete, "external_id", body.get("external_id"))
                elif req.query["upsertOnUid"]:
                    existing = self._find(athlete, "uid", body.get("uid"))
                stored.append(self._store_event(athlete, body, existing))
        except SpecError:
            self._events[athlete] = snapshot  # all or nothing, like one transaction
            raise
        if req.query["updatePlanApplied"]:
            for event in stored:
                event["plan_applied"] = event["updated"]
        return stored

    def _delete_events(self, athlete: str, req: ValidRequest) -> dict[str, int]:
        store = self._events.setdefault(athlete, {})
        deleted = 0
        for doomed in req.body:
            if "external_id" in doomed:  # wins over id, as documented
                ids = [i for i, e in store.items() if e.get("external_id") == doomed["external_id"]]
            else:
                ids = [doomed["id"]] if doomed.get("id") in store else []
            for event_id in ids:
                del store[event_id]
                deleted += 1
        return {"eventsDeleted": deleted}

    def _list_activities(self, athlete: str, req: ValidRequest) -> list[dict[str, Any]]:
        oldest = _day(req.query["oldest"], "oldest") or date.min
        newest = _day(req.query.get("newest"), "newest") or datetime.now(UTC).date()
        mine = [a for a in self._activities.values() if a["icu_athlete_id"] == athlete]
        found = [a for a in mine if _within(a["start_date_local"], oldest, newest)]
        found.sort(key=lambda a: a["start_date_local"], reverse=True)
        if "limit" in req.query:
            found = found[: req.query["limit"]]
        shown = [{k: v for k, v in a.items() if k not in _INTERVAL_FIELDS} for a in found]
        return [_pick(a, req.query.get("fields")) for a in shown]

    def _get_activity(self, athlete: str, req: ValidRequest) -> dict[str, Any]:
        activity = self._activities.get(req.path_params["id"])
        if activity is None or activity["icu_athlete_id"] != athlete:
            raise SpecError(404, f"Activity {req.path_params['id']} not found")
        if req.query.get("intervals"):
            return activity
        return {k: v for k, v in activity.items() if k not in _INTERVAL_FIELDS}

    def _list_wellness(self, athlete: str, req: ValidRequest) -> list[dict[str, Any]]:
        if req.path_params["ext"] != "":
            raise SpecError(400, "the fake only serves JSON (no .csv)")
        oldest = _day(req.query.get("oldest"), "oldest") or date.min
        newest = _day(req.query.get("newest"), "newest") or date.max
        records = self._wellness.get(athlete, {})
        days = sorted(d for d in records if _within(d, oldest, newest))
        return [_pick(records[d], req.query.get("fields")) for d in days]


def _workout(event: dict[str, Any]) -> ParsedWorkout | None:
    """The structured workout in an event's description; 422 when its steps do not parse.

    Runs never take power targets here: the product must give them heart-rate or pace.
    """
    try:
        workout = parse_workout(str(event.get("description") or ""))
    except WorkoutTextError as exc:
        raise SpecError(422, f"Invalid workout: {exc}") from None
    if workout is not None and event.get("type") in ("Run", "VirtualRun") and "power" in workout.targets:
        raise SpecError(422, "Invalid workout: a run must not have power targets")
    return workout


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _day(text: str | None, what: str) -> date | None:
    """The date part of an ISO date or date-time; 422 when it is not one."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise SpecError(422, f"{what}: {text!r} is not an ISO-8601 date") from None


def _within(local: str, oldest: date, newest: date) -> bool:
    """Whether the day of a stored local date(-time) lies in [oldest, newest]."""
    return oldest <= date.fromisoformat(local[:10]) <= newest


def _local(text: str, what: str) -> str:
    """A local date-time as the service stores it: a bare date gets T00:00:00."""
    _day(text, what)
    return f"{text}T00:00:00" if len(text) == 10 else text


def _pick(obj: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """Apply the `fields=` parameter: keep only those fields and drop nulls."""
    return {k: obj[k] for k in fields if obj.get(k) is not None} if fields else obj


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


def _drop(request: web.Request) -> web.Response:
    """Close the connection with nothing written; aiohttp then fails to send the reply quietly."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=499)
