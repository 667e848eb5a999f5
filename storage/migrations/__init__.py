"""Numbered, append-only migrations. Never edit one that has landed; add the next."""
