"""Coach's benchmarks: ``scripts/bench`` runs ``python -m bench`` and writes docs/benchmarks.md.

One module per benchmark (``turns``, ``context_size``, ``round_trips``, ``drain``,
``memory``, ``crowd``); ``common`` holds the figures and the database helpers, ``seed`` the
athlete with five years of history, ``model`` the in-process scripted model and
``report`` the Markdown.
"""
