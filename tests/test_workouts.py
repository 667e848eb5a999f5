"""Planned-workout service end to end: real database, real client, fake Intervals.icu."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from peewee import Database

from core.errors import Conflict, NotFound, ValidationError
from core.planning import workouts
from core.sync import outbox as sync
from core.sync.intervals import IntervalsPool
from storage.models import PlannedWorkout, SyncQueue
from tests.fakes.intervals import FakeIntervals
from tests.helpers.athletes import make_athlete
from tests.helpers.clock import today

TOMORROW = (today() + dt.timedelta(days=2)).isoformat()
SECRET_TITLE = "Threshold 3x12 secret-title"
KEY = "key-a-0123456789"


def ride(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "date": TOMORROW,
        "title": SECRET_TITLE,
        "type": "Ride",
        "duration_minutes": 75,
        "tss": 85,
        "intensity": "hard",
        "time_of_day": "evening",
    }
    return {**base, **extra}


async def test_create_update_delete_sync(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("ann", fake_intervals, key=KEY)

    created = await workouts.create_workout(pool, athlete, ride())
    assert created.sync_status == "synced"
    wid = created.data["id"]
    [event] = fake_intervals.events("i1001")
    assert event["name"] == SECRET_TITLE
    assert event["moving_time"] == 75 * 60
    assert event["icu_training_load"] == 85
    assert event["start_date_local"] == f"{TOMORROW}T18:00:00"
    assert event["category"] == "WORKOUT" and event["type"] == "Ride"
    row = PlannedWorkout.get_by_id(wid)
    assert row.sync_status == "SYNCED" and row.remote_event_id == event["id"]
    assert row.last_synced_at is not None

    moved = (dt.date.fromisoformat(TOMORROW) + dt.timedelta(days=1)).isoformat()
    updated = await workouts.update_workout(pool, athlete, wid, {"date": moved, "tss": 90})
    assert updated.sync_status == "synced"
    [event] = fake_intervals.events("i1001")
    assert event["start_date_local"].startswith(moved) and event["icu_training_load"] == 90
    assert PlannedWorkout.get_by_id(wid).sync_status == "SYNCED"

    deleted = await workouts.delete_workout(pool, athlete, wid, reason="sick")
    assert deleted.sync_status == "synced"
    assert fake_intervals.events("i1001") == []
    assert PlannedWorkout.get_or_none(PlannedWorkout.id == wid) is None


@pytest.mark.parametrize("mode", ["500", "timeout", "drop"])
async def test_outage_keeps_the_write_and_queues_it(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool, mode: str
) -> None:
    athlete = await make_athlete("ben", fake_intervals, key=KEY)
    fake_intervals.fail_next(1, mode)

    result = await workouts.create_workout(pool, athlete, ride())

    assert result.success and result.sync_status == "pending"
    row = PlannedWorkout.get_by_id(result.data["id"])
    assert row.sync_status == "PENDING" and row.title == SECRET_TITLE
    [item] = SyncQueue.select()
    assert item.status == "FAILED" and item.attempts == 1
    stored = db.execute_sql("SELECT payload, error FROM sync_queue").fetchone()
    assert SECRET_TITLE not in stored[0] and KEY not in stored[0]
    assert KEY not in (stored[1] or "")

    # The fake is healthy again: one retry pass heals it.
    assert await sync.drain(pool) == {"synced": 1}
    assert PlannedWorkout.get_by_id(row.id).sync_status == "SYNCED"
    assert len(fake_intervals.events("i1001")) == 1


async def test_dropped_create_response_then_retry_makes_one_event(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("cat", fake_intervals, key=KEY)
    fake_intervals.fail_next(1, "apply_then_drop")

    result = await workouts.create_workout(pool, athlete, ride())
    assert result.sync_status == "pending"
    assert len(fake_intervals.events("i1001")) == 1  # it happened; we could not know

    await sync.drain(pool)
    await sync.drain(pool)

    events = fake_intervals.events("i1001")
    assert len(events) == 1
    row = PlannedWorkout.get_by_id(result.data["id"])
    assert row.sync_status == "SYNCED" and row.remote_event_id == events[0]["id"]


async def test_three_failures_mark_the_workout_failed(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("dan", fake_intervals, key=KEY)
    fake_intervals.fail_next(3, "500")
    result = await workouts.create_workout(pool, athlete, ride())
    await sync.drain(pool)
    await sync.drain(pool)
    assert await sync.drain(pool) == {}
    row = PlannedWorkout.get_by_id(result.data["id"])
    assert row.sync_status == "FAILED" and "server error" in row.sync_error
    assert SyncQueue.get().attempts == 3


async def test_revoked_key_is_a_permanent_failure(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("eve", fake_intervals, key=KEY)
    fake_intervals.revoke_key(KEY)
    result = await workouts.create_workout(pool, athlete, ride())
    assert result.success and result.sync_status == "failed"
    assert "reconnect" in result.message
    assert SyncQueue.get().attempts == sync.MAX_ATTEMPTS
    assert await sync.drain(pool) == {}


async def test_another_athlete_cannot_touch_a_workout(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    owner = await make_athlete("fay", fake_intervals, key=KEY)
    intruder = await make_athlete("gus")
    wid = (await workouts.create_workout(pool, owner, ride())).data["id"]
    before = PlannedWorkout.get_by_id(wid).__data__.copy()

    for attempt in (
        workouts.get_workout(intruder, wid),
        workouts.update_workout(pool, intruder, wid, {"title": "mine now"}),
        workouts.delete_workout(pool, intruder, wid),
    ):
        with pytest.raises(NotFound) as missing:
            await attempt
        assert missing.value.user_message == f"No planned workout with id {wid!r}."
    with pytest.raises(NotFound) as unknown:
        await workouts.get_workout(intruder, "zzzzzzzzzz")
    assert unknown.value.user_message == "No planned workout with id 'zzzzzzzzzz'."

    assert PlannedWorkout.get_by_id(wid).__data__ == before
    assert (await workouts.list_workouts(intruder)).data["count"] == 0
    assert len(fake_intervals.events("i1001")) == 1


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"date": "31/12/2026"}, "date must be a date in YYYY-MM-DD form"),
        ({"date": "2026-02-30"}, "date is not a real calendar date"),
        ({"type": "Yoga"}, "type"),
        ({"tss": -5}, "tss"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"title": "x" * 10_000}, "title"),
        ({"intensity": "insane"}, "intensity"),
        ({"tss": "lots"}, "tss"),
    ],
)
async def test_malformed_input_writes_nothing(
    db: Database,
    fake_intervals: FakeIntervals,
    pool: IntervalsPool,
    fields: dict[str, object],
    complaint: str,
) -> None:
    athlete = await make_athlete("hal", fake_intervals, key=KEY)
    with pytest.raises(ValidationError) as bad:
        await workouts.create_workout(pool, athlete, ride(**fields))
    assert complaint in bad.value.user_message
    assert PlannedWorkout.select().count() == 0 and SyncQueue.select().count() == 0
    assert fake_intervals.events("i1001") == []


async def test_malformed_update_changes_nothing(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("ida", fake_intervals, key=KEY)
    wid = (await workouts.create_workout(pool, athlete, ride())).data["id"]
    before = PlannedWorkout.get_by_id(wid).__data__.copy()
    for changes in ({"date": "tomorrow"}, {"tss": 5000}, {}, {"workout": "x"}):
        with pytest.raises(ValidationError):
            await workouts.update_workout(pool, athlete, wid, changes)
    assert PlannedWorkout.get_by_id(wid).__data__ == before
    assert SyncQueue.select().count() == 1


async def test_availability_conflict_suggests_and_can_be_overridden(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    from core.clock import day_of_week
    from core.planning import availability

    athlete = await make_athlete("jo", fake_intervals, key=KEY)
    day = dt.date.fromisoformat(TOMORROW)
    await availability.update_availability(
        athlete, {"day_of_week": day_of_week(day), "evening": False, "bike_access": False}
    )
    with pytest.raises(Conflict) as clash:
        await workouts.create_workout(pool, athlete, ride())
    assert any("evening" in w for w in clash.value.warnings)
    assert any("bike access" in w for w in clash.value.warnings)
    assert clash.value.suggestions and TOMORROW not in clash.value.suggestions[0]
    assert PlannedWorkout.select().count() == 0

    forced = await workouts.create_workout(pool, athlete, ride(), override=True)
    assert forced.success and len(forced.warnings) == 2


async def test_same_type_same_slot_is_a_conflict(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("kim", fake_intervals, key=KEY)
    await workouts.create_workout(pool, athlete, ride())
    with pytest.raises(Conflict) as clash:
        await workouts.create_workout(pool, athlete, ride(title="Second"))
    assert clash.value.kind == "duplicate"
    await workouts.create_workout(pool, athlete, ride(time_of_day="morning", title="AM"))
    assert PlannedWorkout.select().count() == 2


async def test_list_defaults_to_fourteen_days_in_the_athletes_zone(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("lea", fake_intervals, key=KEY)
    start = today()
    for offset in (0, 5, 14, 20):
        day = (start + dt.timedelta(days=offset)).isoformat()
        await workouts.create_workout(pool, athlete, ride(date=day, title=f"d{offset}"), override=True)
    listed = await workouts.list_workouts(athlete)
    titles = [w["title"] for w in listed.data["workouts"]]
    assert "d20" not in titles and {"d5", "d14"} <= set(titles)
    with pytest.raises(ValidationError):
        await workouts.list_workouts(athlete, start="2026-13-01")


async def test_local_only_athlete_keeps_workouts_without_queue(db: Database, pool: IntervalsPool) -> None:
    athlete = await make_athlete("max")
    result = await workouts.create_workout(pool, athlete, ride())
    assert result.sync_status is None and "Connect Intervals.icu" in result.message
    assert PlannedWorkout.get_by_id(result.data["id"]).sync_status == "LOCAL"
    assert SyncQueue.select().count() == 0


async def test_delete_while_create_pending_leaves_no_ghost(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("ned", fake_intervals, key=KEY)
    fake_intervals.fail_next(1, "apply_then_drop")
    wid = (await workouts.create_workout(pool, athlete, ride())).data["id"]
    assert len(fake_intervals.events("i1001")) == 1
    deleted = await workouts.delete_workout(pool, athlete, wid)
    assert deleted.sync_status == "synced"
    await sync.drain(pool)
    assert fake_intervals.events("i1001") == []
    payloads = [json.loads(i.payload) for i in SyncQueue.select()]
    assert all("external_id" in p or "date" in p for p in payloads)


async def test_a_days_workouts_read_morning_afternoon_evening_then_any_time_everywhere(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    from zoneinfo import ZoneInfo

    from core.coaching import notices
    from core.conversation import context
    from core.fields import WorkoutDraft
    from core.planning import plans, previews
    from storage.models import Push

    athlete = await make_athlete("ann", fake_intervals, key=KEY)
    day = today() + dt.timedelta(days=3)
    slots = {
        "Evening swim": "evening",
        "Any time stretch": None,
        "Morning spin": "morning",
        "Lunch run": "afternoon",
    }
    kinds = {"Evening swim": "Swim", "Any time stretch": "Gym", "Morning spin": "Ride", "Lunch run": "Run"}
    for title, slot in slots.items():  # created in a mixed order
        await workouts.create_workout(
            pool,
            athlete,
            {"date": day.isoformat(), "title": title, "type": kinds[title], "time_of_day": slot},
        )
    expected = ["Morning spin", "Lunch run", "Evening swim", "Any time stretch"]

    def order(text: str) -> list[str]:
        return sorted(expected, key=text.index)

    listed = await workouts.list_workouts(athlete, day.isoformat(), day.isoformat())
    assert [w["title"] for w in listed.data["workouts"]] == expected
    assert order(context.build(athlete, day)) == expected
    seven = dt.datetime.combine(day, dt.time(7), ZoneInfo("Europe/Berlin"))
    assert await notices.daily(athlete, seven)
    assert order(Push.get(Push.athlete == athlete).text) == expected
    drafts = [
        WorkoutDraft.model_validate({"date": day, "title": t, "type": kinds[t], "time_of_day": slots[t]})
        for t in slots
    ]
    draft = plans.Draft(plans.PlanRequest(athlete, 1, day, "base"), drafts, [], "", "v1")
    assert order(previews.render(draft)) == expected
