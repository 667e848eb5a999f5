"""Peewee models: the current schema. Migrations in ``storage/migrations`` build it.

Timestamps are naive UTC. A planned workout's ``date`` is the athlete's local date.
"""

from __future__ import annotations

import secrets as _random
from typing import Any

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    Model,
    TextField,
)

from storage.clock import utcnow
from storage.db import database, secrets

_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def short_id() -> str:
    """A short random id: cheap for the model to quote, impossible to guess in sequence."""
    return "".join(_random.choice(_ID_ALPHABET) for _ in range(10))


class EncryptedTextField(TextField):
    """Text encrypted at rest with the configured cipher (Fernet)."""

    def db_value(self, value: str | None) -> str | None:
        if value is None:
            return None
        if secrets.cipher is None:
            raise RuntimeError("ENCRYPTION_KEY is not configured; refusing to store a secret")
        return secrets.cipher.encrypt(value)

    def python_value(self, value: str | None) -> str | None:
        if value is None:
            return None
        if secrets.cipher is None:
            raise RuntimeError("ENCRYPTION_KEY is not configured; cannot read a secret")
        return secrets.cipher.decrypt(value)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Athlete(BaseModel):
    id = AutoField()
    name = CharField(max_length=200, default="")
    timezone = CharField(max_length=64, default="UTC")
    ftp = IntegerField(null=True)
    intervals_athlete_id = CharField(max_length=32, null=True)
    intervals_api_key = EncryptedTextField(null=True)
    # Set when Intervals.icu refused the key, so the athlete is told once, not per sync.
    key_rejected_at = DateTimeField(null=True)
    key_notified_at = DateTimeField(null=True)
    # Every athlete row is an admitted one (strangers get none); the operator may block it.
    admitted_at = DateTimeField(default=utcnow)
    blocked_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    @property
    def connected(self) -> bool:
        """Whether Intervals.icu is linked."""
        return bool(self.intervals_athlete_id and self.intervals_api_key)


class ChatIdentity(BaseModel):
    id = AutoField()
    athlete = ForeignKeyField(Athlete, backref="identities", on_delete="CASCADE")
    platform = CharField(max_length=16)
    platform_user_id = CharField(max_length=64)
    chat_id = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("platform", "platform_user_id"), True),)


class WeeklyTrainingPlan(BaseModel):
    id = CharField(primary_key=True, max_length=16, default=short_id)
    athlete = ForeignKeyField(Athlete, backref="plans", on_delete="CASCADE")
    week_start = DateField()
    week_end = DateField()
    days_planned = IntegerField()
    status = CharField(max_length=16, default="ACTIVE")
    total_tss = IntegerField(default=0)
    workout_count = IntegerField(default=0)
    summary = TextField(default="")
    focus = CharField(max_length=16, default="mixed")
    days: Any = JSONField(default=list)
    generated_at = DateTimeField(default=utcnow)
    model_version = CharField(max_length=64, default="")

    class Meta:
        indexes = ((("athlete", "status"), False),)


class PlannedWorkout(BaseModel):
    id = CharField(primary_key=True, max_length=16, default=short_id)
    athlete = ForeignKeyField(Athlete, backref="workouts", on_delete="CASCADE")
    plan = ForeignKeyField(WeeklyTrainingPlan, null=True, on_delete="SET NULL")
    date = DateField()
    time_of_day = CharField(max_length=16, null=True)
    title = CharField(max_length=200)
    description = TextField(default="")
    type = CharField(max_length=32)
    duration_minutes = IntegerField(null=True)
    tss = IntegerField(null=True)
    intensity = CharField(max_length=16, null=True)
    location = CharField(max_length=16, default="any")
    # Structured steps (core.planning.steps); the event's workout text is rendered from them.
    steps: Any = JSONField(null=True)
    completed = BooleanField(default=False)
    remote_event_id = IntegerField(null=True)
    # "coach" for ours; "intervals" for events the athlete made there (read-only here).
    origin = CharField(max_length=16, default="coach")
    sync_status = CharField(max_length=16, null=True, default="SYNCED")
    last_synced_at = DateTimeField(null=True)
    sync_error = TextField(null=True)
    modified_locally = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("athlete", "date"), False), (("remote_event_id",), False))


class TrainingAvailability(BaseModel):
    id = AutoField()
    athlete = ForeignKeyField(Athlete, backref="availability", on_delete="CASCADE")
    day_of_week = IntegerField()  # 0 = Sunday, as the design counts
    morning = BooleanField(default=True)
    afternoon = BooleanField(default=True)
    evening = BooleanField(default=True)
    bike_access = BooleanField(default=True)
    gym_access = BooleanField(default=False)
    indoor_only = BooleanField(default=False)
    outdoor_only = BooleanField(default=False)
    notes = TextField(default="")
    # Longest total training that day, in minutes; None: no limit.
    max_minutes = IntegerField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("athlete", "day_of_week"), True),)


class UnavailableDates(BaseModel):
    """Days the athlete can not train at all (travel, illness, a race elsewhere), both ends included."""

    id = AutoField()
    athlete = ForeignKeyField(Athlete, backref="unavailable_dates", on_delete="CASCADE")
    start_date = DateField()
    end_date = DateField()
    reason = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("athlete", "end_date"), False),)


class SyncQueue(BaseModel):
    id = CharField(primary_key=True, max_length=36)
    athlete = ForeignKeyField(
        Athlete, column_name="user_id", object_id_name="athlete_id", on_delete="CASCADE"
    )
    entity_type = CharField(max_length=32)
    entity_id = CharField(max_length=36)
    operation = CharField(max_length=16)
    payload = EncryptedTextField()
    status = CharField(max_length=16, default="PENDING")
    attempts = IntegerField(default=0)
    last_attempt = DateTimeField(null=True)
    error = TextField(null=True)
    # The last attempt may have reached Intervals.icu (timeout, lost response).
    uncertain = BooleanField(default=False)
    claimed_by = CharField(max_length=64, null=True)
    claim_expires_at = DateTimeField(null=True)
    # When the athlete was told this item failed for good (told once).
    notified_at = DateTimeField(null=True)
    completed_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "sync_queue"
        indexes = (
            (("athlete", "status"), False),
            (("status", "created_at"), False),
            (("entity_id", "status"), False),
        )


class Activity(BaseModel):
    id = AutoField()
    athlete = ForeignKeyField(Athlete, backref="activities", on_delete="CASCADE")
    remote_id = CharField(max_length=32)
    start_date_local = DateTimeField()
    type = CharField(max_length=32, default="")
    name = CharField(max_length=200, default="")
    moving_time = IntegerField(null=True)
    distance = FloatField(null=True)
    training_load = IntegerField(null=True)
    intensity = FloatField(null=True)
    average_watts = IntegerField(null=True)
    weighted_average_watts = IntegerField(null=True)
    average_heartrate = IntegerField(null=True)
    source = CharField(max_length=32, null=True)
    paired_event_id = IntegerField(null=True)
    # The planned workout this activity completed (core/matching.py), once matched.
    matched_workout_id = CharField(max_length=16, null=True)
    raw: Any = JSONField(default=dict)

    class Meta:
        indexes = (
            (("athlete", "remote_id"), True),
            (("athlete", "start_date_local"), False),
        )


class Wellness(BaseModel):
    id = AutoField()
    athlete = ForeignKeyField(Athlete, backref="wellness", on_delete="CASCADE")
    date = DateField()
    ctl = FloatField(null=True)
    atl = FloatField(null=True)
    ramp_rate = FloatField(null=True)
    resting_hr = IntegerField(null=True)
    hrv = FloatField(null=True)
    sleep_secs = IntegerField(null=True)
    weight = FloatField(null=True)
    raw: Any = JSONField(default=dict)

    class Meta:
        indexes = ((("athlete", "date"), True),)


class NutritionEntry(BaseModel):
    id = AutoField()
    athlete = ForeignKeyField(Athlete, backref="nutrition", on_delete="CASCADE")
    date = DateField()
    meal = CharField(max_length=32, default="")
    description = TextField(default="")
    calories = IntegerField(null=True)
    carbs_g = FloatField(null=True)
    protein_g = FloatField(null=True)
    fat_g = FloatField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("athlete", "date"), False),)


class ConversationTurn(BaseModel):
    id = AutoField()
    athlete = ForeignKeyField(Athlete, backref="turns", on_delete="CASCADE")
    role = CharField(max_length=16)
    content: Any = JSONField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("athlete", "created_at"), False),)


class PendingAction(BaseModel):
    """An action waiting for the athlete's button press: expires, belongs to one athlete, runs once."""

    id = CharField(primary_key=True, max_length=16, default=short_id)
    athlete = ForeignKeyField(Athlete, backref="pending_actions", on_delete="CASCADE")
    kind = CharField(max_length=32)
    payload: Any = JSONField(default=dict)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    choice = CharField(max_length=16, null=True)

    class Meta:
        indexes = ((("athlete", "created_at"), False),)


class Invitation(BaseModel):
    """An invitation code, kept only as its SHA-256: the code itself is shown once, to the operator."""

    id = AutoField()
    code_hash = CharField(max_length=64, unique=True)
    max_uses = IntegerField(default=1)
    uses = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    revoked_at = DateTimeField(null=True)
    # Made by scripts/run for the owner's first step; a later run revokes it and prints a new one.
    first_run = BooleanField(default=False)


class Stranger(BaseModel):
    """Someone not admitted who wrote anyway: a hash of who, a counter, and when we last answered."""

    key = CharField(primary_key=True, max_length=64)
    messages = IntegerField(default=0)
    last_seen_at = DateTimeField(default=utcnow)
    answered_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("last_seen_at",), False),)


class Usage(BaseModel):
    """An athlete's use of one budget (turns, tokens, burst) in its current window: a row per budget."""

    id = AutoField()
    athlete = ForeignKeyField(Athlete, backref="usage", on_delete="CASCADE")
    budget = CharField(max_length=16)
    window_start = DateTimeField()
    amount = IntegerField(default=0)

    class Meta:
        indexes = ((("athlete", "budget"), True),)


class PushSettings(BaseModel):
    """Which messages the coach sends on its own, and the athlete's quiet hours (local whole hours)."""

    id = AutoField()
    athlete = ForeignKeyField(Athlete, backref="push_settings", on_delete="CASCADE", unique=True)
    morning = BooleanField(default=True)
    after_workout = BooleanField(default=True)
    recovery = BooleanField(default=True)
    weekly = BooleanField(default=True)
    # Both null: no quiet hours.
    quiet_start = IntegerField(null=True, default=22)
    quiet_end = IntegerField(null=True, default=7)
    updated_at = DateTimeField(default=utcnow)


class Push(BaseModel):
    """One message the coach decided to send on its own: at most one per athlete, kind and key.

    ``key`` is the athlete's local date (morning, recovery, weekly) or an activity id (after workout).
    """

    id = AutoField()
    athlete = ForeignKeyField(Athlete, backref="pushes", on_delete="CASCADE")
    kind = CharField(max_length=16)
    key = CharField(max_length=64)
    text = TextField(default="")
    buttons: Any = JSONField(default=list)
    # False while the text is still being written (the model's sentence of an after-workout note).
    ready = BooleanField(default=True)
    due_at = DateTimeField()
    sent_at = DateTimeField(null=True)
    attempts = IntegerField(default=0)
    delivered = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("athlete", "kind", "key"), True), (("sent_at", "due_at"), False))


class ChangeLog(BaseModel):
    """A change made through the bot in the last 24 hours, with what it takes to undo it."""

    id = AutoField()
    athlete = ForeignKeyField(Athlete, backref="changes", on_delete="CASCADE")
    kind = CharField(max_length=16)
    summary = TextField(default="")
    payload: Any = JSONField(default=dict)
    created_at = DateTimeField(default=utcnow)
    undone_at = DateTimeField(null=True)

    class Meta:
        table_name = "change_log"
        indexes = ((("athlete", "created_at"), False),)


ALL_MODELS: tuple[type[BaseModel], ...] = (
    Athlete,
    ChatIdentity,
    WeeklyTrainingPlan,
    PlannedWorkout,
    TrainingAvailability,
    UnavailableDates,
    SyncQueue,
    Activity,
    Wellness,
    NutritionEntry,
    ConversationTurn,
    PendingAction,
    Invitation,
    Stranger,
    Usage,
    PushSettings,
    Push,
    ChangeLog,
)
