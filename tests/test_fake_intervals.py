"""Tests of the fake Intervals.icu server itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.intervals import SPEC_PATH, FakeIntervals

ATHLETE, KEY = "i123", "key-abc"
OTHER, OTHER_KEY = "i999", "key-other"
TODAY = datetime.now(UTC).date()


def day(offset: int) -> str:
    """A start_date_local `offset` days from today."""
    return f"{TODAY + timedelta(days=offset)}T00:00:00"


def workout(offset: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "category": "WORKOUT",
        "start_date_local": day(offset),
        "name": "Endurance",
        "type": "Ride",
        **fields,
    }


@pytest.fixture
def fake(fake_intervals: FakeIntervals) -> FakeIntervals:
    fake_intervals.add_athlete(ATHLETE, KEY)
    fake_intervals.add_athlete(OTHER, OTHER_KEY)
    return fake_intervals


@pytest.fixture
def client(fake: FakeIntervals) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{fake.url}/api/v1", auth=("API_KEY", KEY), timeout=5) as c:
        yield c


def create(client: httpx.Client, event: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/athlete/0/events", params={"upsertOnUid": "false"}, json=event)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_spec_is_vendored_in_the_repository() -> None:
    repo = Path(__file__).resolve().parents[1]
    assert SPEC_PATH.is_file()
    assert SPEC_PATH.is_relative_to(repo)


# -- auth ----------------------------------------------------------------------------


def test_wrong_key_and_missing_auth_are_401(fake: FakeIntervals) -> None:
    with httpx.Client(base_url=f"{fake.url}/api/v1", timeout=5) as anon:
        for auth in [("API_KEY", "nope"), ("someone", KEY), None]:
            response = anon.get("/athlete/0/events", auth=auth)  # type: ignore[arg-type]
            assert response.status_code == 401
            assert response.json()["status"] == 401 and response.json()["error"]


def test_personal_key_as_bearer_is_403(fake: FakeIntervals) -> None:
    with httpx.Client(base_url=f"{fake.url}/api/v1", timeout=5) as anon:
        response = anon.get("/athlete/0/events", headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 403
    assert response.json() == {"status": 403, "error": "Access denied"}


def test_athlete_zero_means_key_owner_and_others_are_forbidden(client: httpx.Client) -> None:
    created = create(client, workout())
    assert created["athlete_id"] == ATHLETE
    assert client.get(f"/athlete/{ATHLETE}/events/{created['id']}").status_code == 200
    assert client.get(f"/athlete/0/events/{created['id']}").status_code == 200
    assert client.get(f"/athlete/{OTHER}/events").status_code == 403


# -- events ----------------------------------------------------------------------------


def test_event_round_trip(fake: FakeIntervals, client: httpx.Client) -> None:
    created = create(client, workout(1, moving_time=3600, icu_training_load=55, external_id="w-1"))
    event_id = created["id"]
    assert isinstance(event_id, int) and 0 < event_id < 2**31
    assert created["moving_time"] == 3600 and created["updated"]

    assert client.get(f"/athlete/0/events/{event_id}").json() == created
    assert [e["id"] for e in client.get("/athlete/0/events").json()] == [event_id]

    updated = client.put(f"/athlete/0/events/{event_id}", json={"name": "Tempo"}).json()
    assert updated["name"] == "Tempo" and updated["moving_time"] == 3600

    assert client.delete(f"/athlete/0/events/{event_id}").json() == {}
    assert client.get(f"/athlete/0/events/{event_id}").status_code == 404
    assert fake.events(ATHLETE) == []


def test_responses_match_the_spec(fake: FakeIntervals, client: httpx.Client) -> None:
    created = create(client, workout(workout_doc={"steps": [{"duration": 600, "power": {"value": 75}}]}))
    assert fake.spec.errors(fake.spec.component("Event"), created) == []
    activity = fake.add_activity(ATHLETE, {"start_date_local": day(-1), "icu_intervals": [], "name": None})
    fake.add_wellness(ATHLETE, {"id": str(TODAY), "ctl": 40.5, "sleepSecs": 27000})
    bulk = {"upsertOnUid": "false", "updatePlanApplied": "true"}
    answers = {
        "createMultipleEvents": client.post("/athlete/0/events/bulk", params=bulk, json=[workout(2)]),
        "listEvents": client.get("/athlete/0/events"),
        "updateEvent": client.put(f"/athlete/0/events/{created['id']}", json={"indoor": True}),
        "deleteEventsBulk": client.put("/athlete/0/events/bulk-delete", json=[{"id": created["id"]}]),
        "listActivities": client.get("/athlete/0/activities", params={"oldest": day(-3)}),
        "listWellnessRecords": client.get("/athlete/0/wellness"),
    }
    for operation, response in answers.items():
        schema = fake.spec.response_schema(operation)
        assert schema is not None and fake.spec.errors(schema, response.json()) == [], operation
    # getActivity's oneOf (Activity | ActivityWithIntervals | Hidden) matches any activity twice over.
    detail = client.get(f"/activity/{activity['id']}", params={"intervals": "true"}).json()
    assert detail["icu_intervals"] == [] and "name" not in detail
    assert fake.spec.errors(fake.spec.component("ActivityWithIntervals"), detail) == []


def test_list_defaults_to_seven_days_from_today(fake: FakeIntervals, client: httpx.Client) -> None:
    for offset in (-1, 0, 6, 7, 13):
        fake.add_event(ATHLETE, workout(offset, name=f"d{offset}"))
    names = [e["name"] for e in client.get("/athlete/0/events").json()]
    assert names == ["d0", "d6"]
    params = {"oldest": str(TODAY), "newest": str(TODAY + timedelta(days=13))}
    assert [e["name"] for e in client.get("/athlete/0/events", params=params).json()] == [
        "d0",
        "d6",
        "d7",
        "d13",
    ]


def test_list_filters_category_and_limit(fake: FakeIntervals, client: httpx.Client) -> None:
    fake.add_event(ATHLETE, workout(0))
    fake.add_event(ATHLETE, {"category": "NOTE", "start_date_local": day(1), "name": "note"})
    fake.add_event(ATHLETE, {"category": "SICK", "start_date_local": day(2)})
    got = client.get("/athlete/0/events", params={"category": "WORKOUT,NOTE"}).json()
    assert [e["category"] for e in got] == ["WORKOUT", "NOTE"]
    assert len(client.get("/athlete/0/events", params={"limit": 1}).json()) == 1


def test_create_requires_upsert_on_uid(fake: FakeIntervals, client: httpx.Client) -> None:
    response = client.post("/athlete/0/events", json=workout())
    assert response.status_code == 400
    assert "upsertOnUid" in response.json()["error"]
    assert fake.requests[-1].status == 400
    assert fake.events(ATHLETE) == []


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"tss": 50}, "tss"),
        ({"duration": 3600}, "duration"),
        ({"moving_time": "abc"}, "moving_time"),
        ({"moving_time": 2**31}, "int32"),
        ({"category": "RIDE"}, "category"),
    ],
)
def test_create_rejects_bodies_outside_the_schema(
    fake: FakeIntervals, client: httpx.Client, fields: dict[str, Any], needle: str
) -> None:
    response = client.post("/athlete/0/events", params={"upsertOnUid": "false"}, json=workout(**fields))
    assert response.status_code == 400
    assert response.json()["status"] == 400 and needle in response.json()["error"]
    assert fake.events(ATHLETE) == []


def test_bad_event_ids_and_query_are_400_not_crashes(client: httpx.Client) -> None:
    assert client.get(f"/athlete/0/events/{2**31}").status_code == 400
    assert client.get("/athlete/0/events/abc").status_code == 400
    assert client.get("/athlete/0/events", params={"limit": "x"}).status_code == 400
    assert client.get("/athlete/0/events", params={"bogus": "1"}).status_code == 400
    assert client.get("/athlete/0/nothing-here").status_code == 404
    assert client.get("/athlete/0/gear").status_code == 501
    text = {"Content-Type": "text/plain"}
    assert client.put("/athlete/0/events/1", content=b'{"name": "x"}', headers=text).status_code == 415


def test_delete_missing_is_404(client: httpx.Client) -> None:
    response = client.delete("/athlete/0/events/12345")
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_create_upserts_on_uid(client: httpx.Client) -> None:
    first = create(client, workout(uid="u-1"))
    params = {"upsertOnUid": "true"}
    again = client.post("/athlete/0/events", params=params, json=workout(uid="u-1", name="Again")).json()
    assert again["id"] == first["id"] and again["name"] == "Again"


def test_bulk_create_and_upsert_by_external_id(fake: FakeIntervals, client: httpx.Client) -> None:
    params = {"upsert": "true", "upsertOnUid": "false", "updatePlanApplied": "false"}
    body = [workout(0, external_id="a"), workout(1, external_id="b")]
    first = client.post("/athlete/0/events/bulk", params=params, json=body).json()
    assert len({e["id"] for e in first}) == 2
    body[0]["name"] = "Changed"
    second = client.post("/athlete/0/events/bulk", params=params, json=body).json()
    assert [e["id"] for e in second] == [e["id"] for e in first]
    assert [e["name"] for e in fake.events(ATHLETE)] == ["Changed", "Endurance"]
    missing = {"upsert": "true", "upsertOnUid": "false"}
    assert client.post("/athlete/0/events/bulk", params=missing, json=body).status_code == 400


def test_bulk_create_is_all_or_nothing(fake: FakeIntervals, client: httpx.Client) -> None:
    params = {"upsertOnUid": "false", "updatePlanApplied": "false"}
    body = [workout(0), {"name": "no date"}]
    assert client.post("/athlete/0/events/bulk", params=params, json=body).status_code == 422
    assert fake.events(ATHLETE) == []


def test_bulk_delete_by_id_and_external_id(fake: FakeIntervals, client: httpx.Client) -> None:
    keep = fake.add_event(ATHLETE, workout(0))
    by_id = fake.add_event(ATHLETE, workout(1))
    fake.add_event(ATHLETE, workout(2, external_id="x"))
    body = [{"id": by_id["id"]}, {"external_id": "x"}, {"id": 1}]
    response = client.put("/athlete/0/events/bulk-delete", json=body)
    assert response.json() == {"eventsDeleted": 2}
    assert [e["id"] for e in fake.events(ATHLETE)] == [keep["id"]]


# -- activities and wellness -----------------------------------------------------------


def test_activities(fake: FakeIntervals, client: httpx.Client) -> None:
    old = fake.add_activity(ATHLETE, {"start_date_local": day(-10), "type": "Ride", "icu_training_load": 40})
    new = fake.add_activity(ATHLETE, {"id": "i47602392", "start_date_local": day(-1), "type": "Run"})
    fake.add_activity(OTHER, {"id": "i1", "start_date_local": day(-1)})
    assert old["id"].startswith("i")
    assert client.get("/athlete/0/activities").status_code == 400
    listed = client.get("/athlete/0/activities", params={"oldest": str(TODAY - timedelta(days=30))}).json()
    assert [a["id"] for a in listed] == [new["id"], old["id"]]
    recent = client.get("/athlete/0/activities", params={"oldest": day(-3)}).json()
    assert [a["id"] for a in recent] == [new["id"]]
    assert client.get(f"/activity/{new['id']}", params={"intervals": "true"}).json()["type"] == "Run"
    assert client.get("/activity/i1").status_code == 404


def test_seeds_must_follow_the_schema(fake: FakeIntervals) -> None:
    with pytest.raises(ValueError, match="average_watts"):
        fake.add_activity(ATHLETE, {"start_date_local": day(0), "average_watts": 200})
    with pytest.raises(ValueError, match="tss"):
        fake.add_event(ATHLETE, workout(tss=40))


def test_wellness_range(fake: FakeIntervals, client: httpx.Client) -> None:
    for offset in (-3, -2, -1):
        fake.add_wellness(
            ATHLETE, {"id": str(TODAY + timedelta(days=offset)), "ctl": 50.0, "restingHR": None}
        )
    params = {"oldest": str(TODAY - timedelta(days=2)), "newest": str(TODAY)}
    got = client.get("/athlete/0/wellness", params=params).json()
    assert [w["id"] for w in got] == [str(TODAY - timedelta(days=2)), str(TODAY - timedelta(days=1))]


# -- failure injection -----------------------------------------------------------------


def test_fail_500_then_recover(fake: FakeIntervals, client: httpx.Client) -> None:
    fake.fail_next(2, "500")
    for _ in range(2):
        response = client.get("/athlete/0/events")
        assert response.status_code == 500 and response.json()["status"] == 500
    assert client.get("/athlete/0/events").status_code == 200
    assert [r.status for r in fake.requests] == [500, 500, 200]


def test_fail_429_with_and_without_retry_after(fake: FakeIntervals, client: httpx.Client) -> None:
    fake.fail_next(1, "429", retry_after=2)
    fake.fail_next(1, "429")
    first, second = client.get("/athlete/0/events"), client.get("/athlete/0/events")
    assert first.status_code == second.status_code == 429
    assert first.headers["Retry-After"] == "2" and "Retry-After" not in second.headers
    assert first.json() == {"status": 429, "error": "Too Many Requests"}


def test_drop_closes_without_response_and_does_not_apply(fake: FakeIntervals, client: httpx.Client) -> None:
    fake.fail_next(1, "drop")
    with pytest.raises(httpx.TransportError):
        create(client, workout())
    assert fake.events(ATHLETE) == []
    assert fake.requests[-1].status == 0
    create(client, workout())
    assert len(fake.events(ATHLETE)) == 1


def test_apply_then_drop_stores_the_event(fake: FakeIntervals, client: httpx.Client) -> None:
    fake.fail_next(1, "apply_then_drop")
    with pytest.raises(httpx.TransportError):
        create(client, workout(external_id="once"))
    assert [e["external_id"] for e in fake.events(ATHLETE)] == ["once"]


def test_timeout_hangs_past_the_client_timeout(fake: FakeIntervals) -> None:
    fake.fail_next(1, "timeout")
    with httpx.Client(base_url=f"{fake.url}/api/v1", auth=("API_KEY", KEY), timeout=0.5) as short:
        with pytest.raises(httpx.ReadTimeout):
            short.get("/athlete/0/events")
        assert short.get("/athlete/0/events").status_code == 200


def test_stop_is_quick_while_a_request_hangs() -> None:
    fake = FakeIntervals().start()
    fake.add_athlete(ATHLETE, KEY)
    fake.fail_next(1, "timeout")
    errors: list[BaseException] = []

    def call() -> None:
        try:
            with httpx.Client(auth=("API_KEY", KEY), timeout=10) as c:
                c.get(f"{fake.url}/api/v1/athlete/0/events")
        except httpx.TransportError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 5
    while not fake.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2
    caller.join(5)
    assert len(errors) == 1


def test_latency(fake: FakeIntervals, client: httpx.Client) -> None:
    fake.latency = 0.3
    started = time.monotonic()
    assert client.get("/athlete/0/events").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_rate_limit(fake: FakeIntervals, client: httpx.Client) -> None:
    fake.rate_limit = 3
    statuses = [client.get("/athlete/0/events").status_code for _ in range(6)]
    assert statuses[:3] == [200, 200, 200] and statuses.count(429) == 3
    assert fake.rate_limited == 3
    fake.rate_limit = None
    assert client.get("/athlete/0/events").status_code == 200


def test_requests_are_recorded_and_reset_clears(fake: FakeIntervals, client: httpx.Client) -> None:
    create(client, workout(name="rec"))
    recorded = fake.requests[-1]
    assert (recorded.method, recorded.path, recorded.status) == ("POST", "/api/v1/athlete/0/events", 200)
    assert recorded.query == {"upsertOnUid": ["false"]} and recorded.body["name"] == "rec"
    fake.latency, fake.rate_limit = 1.0, 5
    fake.fail_next(1, "500")
    fake.reset()
    assert fake.requests == [] and fake.events(ATHLETE) == []
    assert fake.latency == 0 and fake.rate_limit is None
    assert client.get("/athlete/0/events").status_code == 401  # keys are forgotten too
    fake.add_athlete(ATHLETE, KEY)
    assert client.get("/athlete/0/events").status_code == 200


def test_workout_text_is_parsed_and_checked(fake: FakeIntervals, client: httpx.Client) -> None:
    text = "Easy legs.\n\n- Warmup 10m ramp 50-70%\n\n3x\n- 5m 105%\n- Recovery 3m 55% 90rpm\n\n- 1h2m30s Z2"
    ride = create(client, workout(description=text))
    steps = ride["workout_doc"]["steps"]
    assert [(s["seconds"], s["repeat"]) for s in steps] == [(600, 1), (300, 3), (180, 3), (3750, 1)]
    run = create(client, workout(type="Run", description="- 2km 5:00/km Pace\n- 400mtr Z2 HR\n- 8m 95% LTHR"))
    assert {s["target"] for s in run["workout_doc"]["steps"]} == {"pace", "hr"}
    notes = create(client, workout(description="- bring gels\n- ride with Sam"))
    assert "workout_doc" not in notes  # bullet notes hold no steps

    refused = [
        workout(type="Run", description="- 10m 75%"),  # power on a run
        workout(description="- 10m 75%\n- 5m very hard"),  # a step whose target is not syntax
        workout(description="- 10m 75%\n- fast bit"),  # a step line without an amount
    ]
    for body in refused:
        response = client.post("/athlete/0/events", params={"upsertOnUid": "false"}, json=body)
        assert response.status_code == 422 and "Invalid workout" in response.json()["error"]
    assert len(fake.events(ATHLETE)) == 3
