"""The Intervals.icu client against the spec-checking fake: paths, params, typed errors, pacing."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from core.errors import (
    IntervalsAuthError,
    RemoteNotFound,
    SyncRejected,
    SyncUnavailable,
)
from core.sync.intervals import IntervalsPool
from tests.fakes.intervals import FakeIntervals

KEY = "key-client-123456"
DAY = dt.date(2026, 12, 1)


@pytest.fixture
def client(fake_intervals: FakeIntervals, pool: IntervalsPool):  # type: ignore[no-untyped-def]
    fake_intervals.add_athlete("i77", KEY)
    return pool.client("i77", KEY)


def body(name: str = "Tempo", day: dt.date = DAY) -> dict[str, object]:
    return {
        "category": "WORKOUT",
        "start_date_local": f"{day}T07:00:00",
        "name": name,
        "type": "Run",
        "moving_time": 3600,
        "icu_training_load": 60,
        "external_id": f"coach-{name}",
        "uid": f"coach-{name}",
    }


async def test_event_round_trip(client, fake_intervals: FakeIntervals) -> None:  # type: ignore[no-untyped-def]
    created = await client.create_event(body())
    assert isinstance(created["id"], int) and created["id"] < 2**31
    await client.update_event(created["id"], {"name": "Tempo+"})
    assert (await client.get_event(created["id"]))["name"] == "Tempo+"
    listed = await client.list_events(DAY, DAY + dt.timedelta(days=13))
    assert [e["id"] for e in listed] == [created["id"]]
    last_list = [r for r in fake_intervals.requests if r.method == "GET"][-1]
    assert last_list.query["newest"] == [(DAY + dt.timedelta(days=13)).isoformat()]
    assert await client.delete_event(created["id"]) is True
    assert await client.delete_event(created["id"]) is False  # 404 on delete counts as done
    assert fake_intervals.events("i77") == []


async def test_bulk_upsert_by_uid_is_idempotent(client, fake_intervals: FakeIntervals) -> None:  # type: ignore[no-untyped-def]
    first = await client.bulk_upsert_events([body("a"), body("b", DAY + dt.timedelta(days=1))])
    again = await client.bulk_upsert_events([body("a"), body("b", DAY + dt.timedelta(days=1))])
    assert sorted(e["id"] for e in first) == sorted(e["id"] for e in again)
    assert len(fake_intervals.events("i77")) == 2


async def test_typed_errors(client, fake_intervals: FakeIntervals, pool: IntervalsPool) -> None:  # type: ignore[no-untyped-def]
    fake_intervals.fail_next(1, "429", retry_after=2)
    with pytest.raises(SyncUnavailable) as limited:
        await client.list_events(DAY, DAY)
    assert limited.value.retry_after == 2 and limited.value.retryable

    fake_intervals.fail_next(1, "500")
    with pytest.raises(SyncUnavailable):
        await client.list_events(DAY, DAY)

    fake_intervals.fail_next(1, "timeout")
    with pytest.raises(SyncUnavailable, match="in time"):
        await client.list_events(DAY, DAY)

    with pytest.raises(RemoteNotFound):
        await client.get_event(123)

    with pytest.raises(SyncRejected) as rejected:
        await client.create_event({**body(), "tss": 50})  # not a schema field
    assert not rejected.value.retryable and rejected.value.status == 400

    with pytest.raises(IntervalsAuthError):
        await pool.client("i77", "wrong-key-000000").list_events(DAY, DAY)


async def test_activities_and_wellness(client, fake_intervals: FakeIntervals) -> None:  # type: ignore[no-untyped-def]
    fake_intervals.add_activity(
        "i77",
        {
            "id": "i900",
            "start_date_local": f"{DAY}T08:00:00",
            "type": "Ride",
            "name": "Spin",
            "moving_time": 3600,
            "icu_training_load": 55,
        },
    )
    fake_intervals.add_wellness("i77", {"id": DAY.isoformat(), "ctl": 60.5, "atl": 70.1})
    [activity] = await client.list_activities(DAY - dt.timedelta(days=1), DAY)
    assert activity["id"] == "i900"
    assert (await client.get_activity("i900"))["name"] == "Spin"
    [record] = await client.list_wellness(DAY, DAY)
    assert record["ctl"] == 60.5


async def test_requests_are_paced(fake_intervals: FakeIntervals) -> None:
    fake_intervals.add_athlete("i78", KEY)
    paced = IntervalsPool(fake_intervals.url, rate=20)
    try:
        started = time.monotonic()
        for _ in range(6):
            await paced.client("i78", KEY).list_events(DAY, DAY)
        # Six requests at 20/s need at least five 50 ms gaps.
        assert time.monotonic() - started >= 0.25
    finally:
        await paced.aclose()
