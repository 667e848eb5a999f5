"""The plan: planned workouts, availability and unavailable dates, conflicts, weekly plans and
their previews, structured steps, the change log and undo.

May import the shared ground, ``core.model``, ``core.sync`` and ``core.access``.
"""
