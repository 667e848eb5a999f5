"""The schema before sync: athletes, identities, workouts, availability, plans, history.

Models here are a frozen snapshot of that version, not imports of storage.models,
so this migration builds the same tables whatever the current models say.
"""

from typing import Any

import peewee as pw


def up(migrator: Any, db: pw.Database) -> None:
    class Base(pw.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Athlete(Base):
        name = pw.CharField(max_length=200, default="")
        timezone = pw.CharField(max_length=64, default="UTC")
        ftp = pw.IntegerField(null=True)
        intervals_athlete_id = pw.CharField(max_length=32, null=True)
        intervals_api_key = pw.TextField(null=True)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

    class ChatIdentity(Base):
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE")
        platform = pw.CharField(max_length=16)
        platform_user_id = pw.CharField(max_length=64)
        chat_id = pw.CharField(max_length=64)
        created_at = pw.DateTimeField()

        class Meta:
            indexes = ((("platform", "platform_user_id"), True),)

    class WeeklyTrainingPlan(Base):
        id = pw.CharField(primary_key=True, max_length=16)
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE")
        week_start = pw.DateField()
        week_end = pw.DateField()
        days_planned = pw.IntegerField()
        status = pw.CharField(max_length=16, default="ACTIVE")
        total_tss = pw.IntegerField(default=0)
        workout_count = pw.IntegerField(default=0)
        summary = pw.TextField(default="")
        focus = pw.CharField(max_length=16, default="mixed")
        days = pw.JSONField(default=list)
        generated_at = pw.DateTimeField()
        model_version = pw.CharField(max_length=64, default="")

        class Meta:
            indexes = ((("athlete", "status"), False),)

    class PlannedWorkout(Base):
        id = pw.CharField(primary_key=True, max_length=16)
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE")
        plan = pw.ForeignKeyField(WeeklyTrainingPlan, null=True, on_delete="SET NULL")
        date = pw.DateField()
        time_of_day = pw.CharField(max_length=16, null=True)
        title = pw.CharField(max_length=200)
        description = pw.TextField(default="")
        type = pw.CharField(max_length=32)
        duration_minutes = pw.IntegerField(null=True)
        tss = pw.IntegerField(null=True)
        intensity = pw.CharField(max_length=16, null=True)
        location = pw.CharField(max_length=16, default="any")
        completed = pw.BooleanField(default=False)
        remote_event_id = pw.IntegerField(null=True)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            indexes = ((("athlete", "date"), False),)

    class TrainingAvailability(Base):
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE")
        day_of_week = pw.IntegerField()
        morning = pw.BooleanField(default=True)
        afternoon = pw.BooleanField(default=True)
        evening = pw.BooleanField(default=True)
        bike_access = pw.BooleanField(default=True)
        gym_access = pw.BooleanField(default=False)
        indoor_only = pw.BooleanField(default=False)
        outdoor_only = pw.BooleanField(default=False)
        notes = pw.TextField(default="")
        updated_at = pw.DateTimeField()

        class Meta:
            indexes = ((("athlete", "day_of_week"), True),)

    class Activity(Base):
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE")
        remote_id = pw.CharField(max_length=32)
        start_date_local = pw.DateTimeField()
        type = pw.CharField(max_length=32, default="")
        name = pw.CharField(max_length=200, default="")
        moving_time = pw.IntegerField(null=True)
        distance = pw.FloatField(null=True)
        training_load = pw.IntegerField(null=True)
        intensity = pw.FloatField(null=True)
        average_watts = pw.IntegerField(null=True)
        weighted_average_watts = pw.IntegerField(null=True)
        average_heartrate = pw.IntegerField(null=True)
        source = pw.CharField(max_length=32, null=True)
        paired_event_id = pw.IntegerField(null=True)
        raw = pw.JSONField(default=dict)

        class Meta:
            indexes = (
                (("athlete", "remote_id"), True),
                (("athlete", "start_date_local"), False),
            )

    class Wellness(Base):
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE")
        date = pw.DateField()
        ctl = pw.FloatField(null=True)
        atl = pw.FloatField(null=True)
        ramp_rate = pw.FloatField(null=True)
        resting_hr = pw.IntegerField(null=True)
        hrv = pw.FloatField(null=True)
        sleep_secs = pw.IntegerField(null=True)
        weight = pw.FloatField(null=True)
        raw = pw.JSONField(default=dict)

        class Meta:
            indexes = ((("athlete", "date"), True),)

    class NutritionEntry(Base):
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE")
        date = pw.DateField()
        meal = pw.CharField(max_length=32, default="")
        description = pw.TextField(default="")
        calories = pw.IntegerField(null=True)
        carbs_g = pw.FloatField(null=True)
        protein_g = pw.FloatField(null=True)
        fat_g = pw.FloatField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            indexes = ((("athlete", "date"), False),)

    class ConversationTurn(Base):
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE")
        role = pw.CharField(max_length=16)
        content = pw.JSONField()
        created_at = pw.DateTimeField()

        class Meta:
            indexes = ((("athlete", "created_at"), False),)

    db.create_tables(
        [
            Athlete,
            ChatIdentity,
            WeeklyTrainingPlan,
            PlannedWorkout,
            TrainingAvailability,
            Activity,
            Wellness,
            NutritionEntry,
            ConversationTurn,
        ]
    )
