"""Intervals.icu: the HTTP client and its pacer, event mapping and workout text, the outbox
(``outbox``: changes waiting to be sent), pulls and resync, activities, wellness and their
matching to planned workouts.

The lowest domain package: it may import only core's shared ground (and storage).
"""
