"""The note after a workout: planned vs. done, compliance, and one sentence of coaching.

Core writes the numbers; the model writes only the closing sentence (one
structured call), and a sentence chosen from the compliance stands in when the
model fails. An activity nobody planned gets a shorter note without a model
call; a Strava stub (no data through the API) gets a note saying why no numbers
are shown. One note per activity (``core/pushes.py``), for activities of the
athlete's today and yesterday only, so connecting an old account does not flood
the chat.

The worker also pulls an athlete shortly after a planned workout should be
over (``due_pulls``), so the note comes soon after the activity syncs.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from core.access import budgets
from core.clock import zone
from core.coaching import pushes
from core.durations import duration
from core.errors import CoachError
from core.model.llm import Model
from core.sync import activities
from core.sync.events import TIME_OF_DAY_START
from core.sync.matching import sport
from storage import db
from storage.models import Activity, Athlete, PlannedWorkout, Push

logger = logging.getLogger(__name__)

KIND = "after_workout"
RECENT_DAYS = 1
# Pull this long after a planned workout should have ended: time for the device to upload.
PULL_AFTER = dt.timedelta(minutes=20)
SENTENCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sentence": {"type": "string", "description": "One sentence of coaching, at most 25 words"},
    },
    "required": ["sentence"],
}
SYSTEM = (
    "You are an endurance coach. From the planned and completed numbers of today's workout, write one "
    "encouraging, specific sentence of coaching (at most 25 words). Use only the numbers given."
)
MAX_SENTENCE = 300


@dataclass(frozen=True)
class Draft:
    """A claimed note waiting for its sentence: the push, the numbers for the model, the fallback."""

    push_id: int
    text: str
    fallback: str


def compliance(planned: PlannedWorkout, act: Activity) -> tuple[float, str] | None:
    """Done over planned: TSS when both are known, else time; with what was compared."""
    if planned.tss and act.training_load is not None:
        return act.training_load / planned.tss, "TSS"
    if planned.duration_minutes and act.moving_time:
        return act.moving_time / 60 / planned.duration_minutes, "time"
    return None


def fallback_sentence(ratio: float | None) -> str:
    """The coaching sentence when the model can't give one."""
    if ratio is None:
        return "Logged. Tell me how it felt, and I'll keep the next days in step."
    if ratio < 0.8:
        return "Lighter than planned: fine on a tired day, but tell me if the plan asks too much."
    if ratio > 1.2:
        return "More than planned: keep the next easy session truly easy so this one pays off."
    return "Right on plan. Well done; recover well for the next one."


def _power(act: Activity, ftp: int | None) -> str | None:
    if not (act.average_watts or act.weighted_average_watts):
        return None
    parts = []
    for label, watts in (("avg", act.average_watts), ("NP", act.weighted_average_watts)):
        if watts:
            parts.append(
                f"{label} {watts} W" + (f" ({round(100 * watts / ftp)} % of FTP {ftp} W)" if ftp else "")
            )
    return ", ".join(parts)


def _done(act: Activity, ftp: int | None) -> str:
    facts = [duration(act.moving_time)] if act.moving_time else []
    if act.training_load is not None:
        facts.append(f"TSS {act.training_load}")
    power = _power(act, ftp) if sport(act.type) == "Ride" else None
    return ", ".join(facts + ([power] if power else [])) or "no numbers recorded"


def _planned(w: PlannedWorkout) -> str:
    facts = [duration(w.duration_minutes * 60)] if w.duration_minutes else []
    facts += [f"TSS {w.tss}"] if w.tss is not None else []
    return ", ".join(facts) or "no targets set"


def _named(act: Activity) -> str:
    return f"{act.type or 'activity'} {act.name!r}" if act.name else act.type or "activity"


def _stub_note(act: Activity, planned: PlannedWorkout | None) -> str:
    what = f"your {_named(act)}"
    done = f" It completes {planned.title!r}." if planned else ""
    return (
        f"I see {what} from Strava.{done} Strava doesn't let Intervals.icu pass on its details, so I "
        "have no duration, load or power to show. Record straight to Intervals.icu (Garmin, Wahoo, "
        "Zwift...) and I can comment on the numbers."
    )


def _unplanned_note(act: Activity, ftp: int | None) -> str:
    return f"Logged {_named(act)}: {_done(act, ftp)}. It wasn't on the plan; I'll count it in your week."


def _planned_note(act: Activity, w: PlannedWorkout, ftp: int | None) -> tuple[str, float | None]:
    lines = [f"✅ {w.title} ({w.type}) is done.", f"Planned: {_planned(w)}", f"Done: {_done(act, ftp)}"]
    found = compliance(w, act)
    if found is not None:
        lines.append(f"Compliance: {round(100 * found[0])} % of the planned {found[1]}")
    return "\n".join(lines), found[0] if found else None


def _recent_unnoted(athlete_id: int, today: dt.date) -> list[Activity]:
    noted = Push.select(Push.key).where((Push.athlete == athlete_id) & (Push.kind == KIND))
    return list(
        Activity.select()
        .where(
            (Activity.athlete == athlete_id)
            & activities.bounds(today - dt.timedelta(days=RECENT_DAYS), today)
            & Activity.remote_id.not_in(noted)
        )
        .order_by(Activity.start_date_local, Activity.id)
    )


def _claim(athlete_id: int, now: dt.datetime) -> tuple[int, list[Draft]]:
    """Claim a note for each recent activity without one; planned ones still need their sentence."""
    claimed, drafts = 0, []
    with db.transaction():
        athlete = Athlete.get_by_id(athlete_id)
        today = now.astimezone(zone(athlete.timezone)).date()
        for act in _recent_unnoted(athlete_id, today):
            planned = (
                PlannedWorkout.get_or_none(PlannedWorkout.id == act.matched_workout_id)
                if act.matched_workout_id
                else None
            )
            ftp = (act.raw or {}).get("icu_ftp") or athlete.ftp
            if activities.is_strava_stub(act):
                push = pushes.claim(athlete_id, KIND, act.remote_id, now, text=_stub_note(act, planned))
            elif planned is None:
                push = pushes.claim(athlete_id, KIND, act.remote_id, now, text=_unplanned_note(act, ftp))
            else:
                text, ratio = _planned_note(act, planned, ftp)
                fallback = fallback_sentence(ratio)
                push = pushes.claim(
                    athlete_id, KIND, act.remote_id, now, text=f"{text}\n{fallback}", ready=False
                )
                if push is not None:
                    drafts.append(Draft(push.id, text, fallback))
            claimed += push is not None
    return claimed, drafts


async def _sentence(model: Model, athlete_id: int, numbers: str) -> str | None:
    try:
        answer = await model.generate_json(SYSTEM, numbers, SENTENCE_SCHEMA, job="sentence")
    except CoachError as exc:
        logger.warning("after-workout sentence: %s", exc.user_message)
        return None
    await budgets.spend(athlete_id, answer.tokens)
    raw = answer.data
    sentence = raw.get("sentence") if isinstance(raw, dict) else None
    if not isinstance(sentence, str) or not sentence.strip():
        logger.warning("after-workout sentence: the model's answer has no sentence")
        return None
    return " ".join(sentence.split())[:MAX_SENTENCE]


async def queue_notes(model: Model | None, athlete_id: int, now: dt.datetime) -> int:
    """Claim and write the notes of the athlete's new activities; returns how many were claimed."""
    claimed, drafts = await db.call(_claim, athlete_id, now)
    for draft in drafts:
        sentence = (
            await _sentence(model, athlete_id, draft.text) if model is not None else None
        ) or draft.fallback
        await db.call(pushes.fill, draft.push_id, f"{draft.text}\n{sentence}")
    return claimed


def due_pulls(now: dt.datetime, every: dt.timedelta) -> list[int]:
    """Connected, unblocked athletes whose planned workout should have ended PULL_AFTER ago, in the
    last ``every``."""
    rows = (
        PlannedWorkout.select(PlannedWorkout, Athlete)
        .join(Athlete)
        .where(
            (
                PlannedWorkout.date.between(
                    now.date() - dt.timedelta(days=1), now.date() + dt.timedelta(days=1)
                )
            )
            & (PlannedWorkout.completed == False)  # noqa: E712
            & PlannedWorkout.time_of_day.is_null(False)
            & (PlannedWorkout.type != "Rest")
            & Athlete.intervals_athlete_id.is_null(False)
            & Athlete.blocked_at.is_null()
        )
    )
    due = set()
    for w in rows:
        start = dt.datetime.combine(
            w.date, dt.time.fromisoformat(TIME_OF_DAY_START[w.time_of_day]), zone(w.athlete.timezone)
        )
        check = start + dt.timedelta(minutes=w.duration_minutes or 60) + PULL_AFTER
        if now - every < check <= now:
            due.add(int(w.athlete_id))
    return sorted(due)
