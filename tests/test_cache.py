"""Availability and the current plan are cached, and a write is never followed by a stale read."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from typing import Any

from peewee import Database

from bot.invalidation import CHANNEL, shared_cache
from core import cache
from core.fields import WorkoutDraft
from core.planning import availability, plans
from storage import db as storage_db
from storage.models import Athlete, TrainingAvailability
from tests.helpers.clock import today


async def test_availability_write_then_read_is_fresh(db: Database) -> None:
    athlete = Athlete.create(name="Ann").id
    first = (await availability.get_availability(athlete)).data["availability"][1]
    assert first["evening"] is True
    # Cached now: a change behind the cache's back is not seen...
    TrainingAvailability.create(athlete=athlete, day_of_week=1, evening=False)
    assert (await availability.get_availability(athlete)).data["availability"][1]["evening"] is True
    # ...but a write through the service is, at once.
    await availability.update_availability(athlete, {"day_of_week": 1, "morning": False})
    monday = (await availability.get_availability(athlete)).data["availability"][1]
    assert monday["morning"] is False and monday["evening"] is False


async def test_new_plan_replaces_the_cached_one(db: Database) -> None:
    athlete = Athlete.create(name="Ann").id
    assert await plans.current_plan(athlete) is None
    start = today() + dt.timedelta(days=1)
    request = plans.PlanRequest(athlete, 3, start, "endurance")
    draft = WorkoutDraft(date=start, title="Z2", type="Run", duration_minutes=40, tss=30)
    await storage_db.call(plans._save, plans.Draft(request, [draft], [], "Easy days.", "test"))
    cache.invalidate("plan", athlete)  # what plans.save does after saving
    plan = await plans.current_plan(athlete)
    assert plan is not None and plan["summary"] == "Easy days." and plan["workout_count"] == 1


def test_a_load_that_raced_a_write_is_not_stored() -> None:
    started, release = threading.Event(), threading.Event()

    def slow_old_load() -> str:
        started.set()
        release.wait(5)
        return "old"

    reader = threading.Thread(target=lambda: cache.get("plan", 99, slow_old_load))
    reader.start()
    started.wait(5)
    cache.invalidate("plan", 99)  # the write commits while the reader holds old data
    release.set()
    reader.join(5)
    assert cache.get("plan", 99, lambda: "new") == "new"


async def test_other_processes_writes_reach_this_cache(arq_redis: Any) -> None:
    cache.clear()
    async with shared_cache(arq_redis):
        await asyncio.sleep(0.1)  # subscribed
        assert cache.get("availability", 5, lambda: "cached") == "cached"
        await arq_redis.publish(CHANNEL, "availability:5")  # another process wrote
        for _ in range(50):
            if cache.get("availability", 5, lambda: "reloaded") == "reloaded":
                break
            await asyncio.sleep(0.02)
        assert cache.get("availability", 5, lambda: "again") == "reloaded"
