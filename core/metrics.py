"""Prometheus metrics, one registry per process (the bot and the worker each expose theirs)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SYNC_ATTEMPTS = Counter(
    "coach_sync_attempts_total", "Sync attempts to Intervals.icu by result", ["result"]
)  # result: synced | retryable | permanent
SYNC_SECONDS = Histogram(
    "coach_sync_seconds", "Time of one sync attempt", buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
)
QUEUE_ITEMS = Gauge("coach_sync_queue_items", "Open sync queue items by status", ["status"])
TOOL_CALLS = Counter("coach_tool_calls_total", "Tool calls by tool and outcome", ["tool", "outcome"])
MODEL_CALLS = Counter("coach_model_round_trips_total", "Round trips to the model")
TURN_ROUND_TRIPS = Histogram(
    "coach_turn_round_trips", "Model round trips per turn", buckets=(1, 2, 3, 4, 6, 8)
)
TURN_TOKENS = Histogram(
    "coach_turn_prompt_tokens",
    "Prompt tokens per turn (all round trips)",
    buckets=(500, 1000, 2000, 4000, 8000, 16000),
)
TURN_SECONDS = Histogram(
    "coach_turn_seconds", "Time of one conversational turn", buckets=(0.5, 1, 2, 5, 10, 20, 60)
)
PLAN_GENERATIONS = Counter("coach_plan_generations_total", "Plan generations by outcome", ["outcome"])
MESSAGES = Counter("coach_messages_total", "Messages by platform and direction", ["platform", "direction"])
# reason: stranger | group | unknown_press | bad_code | blocked | flood | turns | tokens | too_long |
# too_big | unsupported
TURNS_REFUSED = Counter(
    "coach_turns_refused_total", "Messages answered without the model, by reason", ["reason"]
)
# Labelled by athlete id: the series are as many as the admitted athletes (invitation-only by
# default, and a self-hosted coach has a handful), which is what the over-budget alert needs.
ATHLETE_TOKENS = Counter(
    "coach_athlete_model_tokens_total", "Model tokens (prompt + output) used, by athlete", ["athlete"]
)
TOKENS_PER_DAY = Gauge("coach_model_tokens_per_day", "The per-athlete daily model token budget")
