"""What the coach sends on its own: after-workout notes, recovery alerts, the weekly review,
pushes and their settings, notices about failed syncs and refused keys.

May import every package below it: the ground, model, sync, access and planning.
"""
