"""Who may talk to the coach and how much: admission and invitations (``admission``), athletes
and their chat identities, budgets, erasure.

May import the shared ground, ``core.model`` and ``core.sync`` (linking an athlete checks their
Intervals.icu key).
"""
