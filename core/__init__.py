"""Coach's core, one package per domain, in a stack (lowest first):

``model`` (Gemini), ``sync`` (Intervals.icu), ``access``, ``planning``, ``coaching``,
``conversation``. A package imports only those below it and the shared ground at this root
(config, errors, logs, metrics, cache, clock, fields, feedback, messages, actions, durations);
``runtime`` wires a process and sits on top. tests/test_architecture.py checks the order.
"""
