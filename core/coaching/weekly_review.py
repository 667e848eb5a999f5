"""The weekly review, Sunday 18:00 in the athlete's time zone.

Last week (Monday to Sunday) planned vs. done: sessions, hours, TSS and
compliance (done TSS / planned TSS); how fitness (CTL), fatigue (ATL) and form
(TSB) moved; and next week's planned load. When nothing is planned next week
the review offers "Plan next week": a stored plan request for the seven days
from Monday, run through the usual confirmed-generation path (rate limit, the
worker, a preview to save). The button lasts until Monday; a review that quiet
hours hold past Sunday goes without it and asks the athlete to say when. A week
with nothing planned and nothing done gets no review.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core import actions
from core.clock import naive_utc, zone
from core.coaching import pushes
from core.durations import duration
from core.planning.plans import PlanRequest
from core.sync.activities import bounds, is_strava_stub
from storage import db
from storage.models import Activity, Athlete, PlannedWorkout, Wellness

KIND = "weekly"
SUNDAY = 6  # datetime.weekday()
HOUR = 18
FOCUS = "mixed"


@dataclass(frozen=True)
class Load:
    """Sessions, minutes and TSS of a set of workouts or activities."""

    sessions: int = 0
    minutes: int = 0
    tss: int = 0

    def __str__(self) -> str:
        return f"{self.sessions} session{'s' * (self.sessions != 1)}, {duration(self.minutes * 60)}, TSS {self.tss}"


@dataclass(frozen=True)
class Fitness:
    """CTL and ATL on one day."""

    ctl: float
    atl: float

    @property
    def tsb(self) -> float:
        """Form."""
        return self.ctl - self.atl


@dataclass(frozen=True)
class Review:
    """One week's numbers."""

    first: dt.date
    last: dt.date
    planned: Load
    done: Load
    completed: int
    without_data: int
    start: Fitness | None
    end: Fitness | None
    next_week: Load

    @property
    def compliance(self) -> float | None:
        """Done TSS over planned TSS."""
        return self.done.tss / self.planned.tss if self.planned.tss else None

    @property
    def next_monday(self) -> dt.date:
        """First day of next week."""
        return self.last + dt.timedelta(days=1)

    def text(self, offer: bool = True) -> str:
        """The message; ``offer``: whether it comes with the "Plan next week" button."""
        lines = [f"📊 Your week, {self.first:%a %d %b} - {self.last:%a %d %b}"]
        lines.append(f"Planned: {self.planned}")
        done = f"Done: {self.done}"
        if self.planned.sessions:
            done += f" ({self.completed} of {self.planned.sessions} planned completed)"
        if self.without_data:
            done += f"; {self.without_data} from Strava without data"
        lines.append(done)
        if self.compliance is not None:
            lines.append(f"Compliance: {round(100 * self.compliance)} % of the planned TSS")
        if self.start and self.end:
            lines.append(
                ", ".join(
                    f"{name} {before:.0f} → {after:.0f} ({after - before:+.0f})"
                    for name, before, after in (
                        ("Fitness (CTL)", self.start.ctl, self.end.ctl),
                        ("fatigue (ATL)", self.start.atl, self.end.atl),
                        ("form (TSB)", self.start.tsb, self.end.tsb),
                    )
                )
            )
        if self.next_week.sessions:
            lines.append(f"Next week: {self.next_week} planned.")
        else:
            ask = "Shall I plan it?" if offer else "Tell me when you want it planned."
            lines.append(f"Next week ({self.next_monday:%a %d %b} on) has nothing planned yet. {ask}")
        return "\n".join(lines)


def _planned(athlete_id: int, first: dt.date, last: dt.date) -> list[PlannedWorkout]:
    return list(
        PlannedWorkout.select().where(
            (PlannedWorkout.athlete == athlete_id)
            & (PlannedWorkout.date >= first)
            & (PlannedWorkout.date <= last)
            & (PlannedWorkout.type != "Rest")
        )
    )


def _load(workouts: list[PlannedWorkout]) -> Load:
    return Load(
        len(workouts), sum(w.duration_minutes or 0 for w in workouts), sum(w.tss or 0 for w in workouts)
    )


def _fitness(athlete_id: int, first: dt.date, last: dt.date) -> tuple[Fitness | None, Fitness | None]:
    """CTL/ATL at the start of the week (the Sunday before, or the week's first day known) and at its end."""
    rows = [
        Fitness(w.ctl, w.atl)
        for w in Wellness.select()
        .where(
            (Wellness.athlete == athlete_id)
            & (Wellness.date >= first - dt.timedelta(days=1))
            & (Wellness.date <= last)
            & Wellness.ctl.is_null(False)
            & Wellness.atl.is_null(False)
        )
        .order_by(Wellness.date)
    ]
    return (rows[0], rows[-1]) if len(rows) >= 2 else (None, None)


def build(athlete_id: int, last: dt.date) -> Review:
    """The review of the week ending on Sunday ``last`` (sync; call through db.call)."""
    first = last - dt.timedelta(days=6)
    planned = _planned(athlete_id, first, last)
    acts = list(Activity.select().where((Activity.athlete == athlete_id) & bounds(first, last)))
    start, end = _fitness(athlete_id, first, last)
    return Review(
        first=first,
        last=last,
        planned=_load(planned),
        done=Load(
            len(acts),
            round(sum(a.moving_time or 0 for a in acts) / 60),
            sum(a.training_load or 0 for a in acts),
        ),
        completed=sum(w.completed for w in planned),
        without_data=sum(is_strava_stub(a) for a in acts),
        start=start,
        end=end,
        next_week=_load(
            [
                w
                for w in _planned(athlete_id, last + dt.timedelta(days=1), last + dt.timedelta(days=7))
                if not w.completed
            ]
        ),
    )


def _queue(athlete_id: int, now: dt.datetime) -> bool:
    local = now.astimezone(zone(Athlete.get_by_id(athlete_id).timezone))
    if local.weekday() != SUNDAY or local.hour != HOUR:
        return False  # the hourly pass asks everyone: answer without taking the write lock
    with db.transaction():
        review = build(athlete_id, local.date())
        # Nothing planned and nothing done: nothing to review, and no weekly nudge to an idle chat.
        idle = not (review.planned.sessions or review.done.sessions)
        push = None if idle else pushes.claim(athlete_id, KIND, local.date().isoformat(), now)
        if push is None:
            return False
        monday = naive_utc(dt.datetime.combine(review.next_monday, dt.time(), local.tzinfo))
        # Held by quiet hours into Monday, the button would arrive expired: then the review asks instead.
        offer = not review.next_week.sessions and push.due_at < monday
        buttons = ()
        if offer:
            request = PlanRequest(athlete_id, 7, review.next_monday, FOCUS)
            buttons = actions.create(athlete_id, "plan_next_week", request.to_payload(), monday)
        pushes.fill(push.id, review.text(offer), buttons)
        return True


async def queue(athlete_id: int, now: dt.datetime) -> bool:
    """At 18:00 on the athlete's Sunday, queue the week's review once; True when queued."""
    return await db.call(_queue, athlete_id, now)
