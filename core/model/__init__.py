"""The coaching model: the Gemini client and the ``Model`` seam the rest of core talks to.

Used by the conversation, the planner and the after-workout note alike, so it sits below all
three. May import only core's shared ground (config, errors, logs, metrics...).
"""
