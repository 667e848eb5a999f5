"""Persistence: peewee models, migrations and the database handle."""
