"""Two bot instances fed one athlete's messages alternately answer them in order (Redis turns)."""

from __future__ import annotations

import asyncio
from typing import Any

from peewee import Database

from bot.turns import redis_turns
from core.access.admission import Access
from core.access.budgets import Budgets
from core.conversation.turn import Coach
from core.messages import Incoming
from core.model.llm import GeminiModel
from core.sync.intervals import IntervalsPool
from tests.fakes.gemini import FakeGemini, delay, responder, text


async def test_two_instances_keep_one_athletes_turns_in_order(
    db: Database, fake_gemini: FakeGemini, pool: IntervalsPool, arq_redis: Any
) -> None:
    # Each answer echoes the athlete's latest message, after a pause long enough to overlap.
    fake_gemini.default = responder(
        lambda body: delay(0.15, text("re: " + body["contents"][-1]["parts"][0]["text"]))
    )
    models = [GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=5) for _ in range(2)]
    # Six quick messages from one athlete would be a flood (more than 5 in 10 s): allow them here.
    policy, budget = Access(mode="open"), Budgets(flood_messages=6)
    instances = [Coach(m, pool, locker=redis_turns(arq_redis), policy=policy, budget=budget) for m in models]
    done: list[str] = []

    async def send(instance: Coach, words: str) -> None:
        reply = await instance.handle(Incoming("telegram", "u1", "c1", text=words))
        done.append(reply.text)

    try:
        tasks = []
        for i in range(6):
            tasks.append(asyncio.create_task(send(instances[i % 2], f"message {i}")))
            await asyncio.sleep(0.03)  # arrival order: 0, 1, 2, ... alternating instances
        await asyncio.gather(*tasks)
    finally:
        for m in models:
            await m.aclose()

    assert done == [f"re: message {i}" for i in range(6)]
    # Every turn saw the one before it: the history the model got grows in order.
    histories = [
        [p["parts"][0]["text"] for p in r["contents"] if p["role"] == "user"] for r in fake_gemini.requests
    ]
    assert histories[-1] == [f"message {i}" for i in range(6)]
    assert await arq_redis.keys("coach:turns:*") == []


async def test_a_dead_instances_turn_is_skipped(db: Database, arq_redis: Any) -> None:
    locker = redis_turns(arq_redis)
    # A token left at the head by an instance that died (no alive key).
    await arq_redis.rpush("coach:turns:7", "dead-token")
    async with asyncio.timeout(2):
        async with locker(7):
            pass
    assert await arq_redis.lrange("coach:turns:7", 0, -1) == []
