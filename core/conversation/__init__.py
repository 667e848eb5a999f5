"""A turn and what it talks with: the turn loop (``turn``: ``Coach``), the system instruction
(``context``), commands, voice notes and pictures, the history (``transcript``) and the tools the
model may call.

The top domain package: it may import every other one; only ``core.runtime`` imports it.
"""
