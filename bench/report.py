"""The machine the figures came from, and the figures as Markdown and as terminal text."""

from __future__ import annotations

import datetime as dt
import os
import platform
import sqlite3
from pathlib import Path

from bench.common import Section, fmt

METHOD = """\
Every figure comes from one run of `scripts/bench`, which starts a throwaway PostgreSQL
cluster and Redis server on loopback (as `scripts/test` does) and runs `python -m bench`.
Nothing reaches the internet: Intervals.icu, Gemini and Telegram are the test suite's fake
servers (`tests/fakes/`), running in threads of the benchmark process (so their CPU time shares
the machine with what is measured). The athlete has five years of history: 1,800 activities,
1,800 wellness rows, 730 planned workouts (10 in the next 14 days, each with steps), 105 plans,
availability with notes and two daily caps, three unavailable days ahead. Turn overhead uses an in-process model that answers at once (no HTTP), so what is timed
is core's own work: identifying the athlete, the per-athlete lock, building the system
instruction from the database, loading and saving history, running the tool and syncing; it is
the wall time of `await coach.handle(...)`, p50 and p99 (nearest rank) over the timed turns after
a warm-up, with every `db.call` timed alongside to show where the time goes. The system
instruction is counted with the fake Gemini's tokenizer (`tests.fakes.gemini.count_tokens`).
Round trips are the `generate()` calls the scripted model received in one real turn. The drain
benchmark queues its items straight into the database (workout rows plus `sync.enqueue`, one
transaction per athlete), then times `sync.drain(pool)` against the fake Intervals.icu with
50 ms added to every response, timing each HTTP request the pool sends and the CPU time of each
database function. Peak memory is each process's maximum resident set size as the kernel reports
it when the process is reaped (`os.wait4`), measured in a small helper that starts it, one
process at a time. The crowd benchmark starts a real `coach telegram` against a fake Telegram
that answers more than about 30 calls a second to chats with 429, as Telegram does, and a fake
Gemini that takes 1 s per call, then times every reply from the moment 100 athletes wrote."""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def machine(postgres_version: str | None) -> list[tuple[str, str]]:
    """What the figures were measured on."""
    return [
        ("Date", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", _cpu_model()),
        ("Cores", str(os.cpu_count())),
        ("RAM", _ram()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", postgres_version or "not run"),
    ]


def _result(passed: bool | None) -> str:
    return {True: "pass", False: "**FAIL**", None: "–"}[passed]


def markdown(sections: list[Section], host: list[tuple[str, str]], total: float) -> str:
    """docs/benchmarks.md."""
    out = [
        "# Benchmarks",
        "",
        "Written by `scripts/bench` (do not edit by hand; run it again). "
        f"The whole run took {fmt(round(total))} s.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *[f"| {k} | {v} |" for k, v in host],
    ]
    for i, section in enumerate(sections, 1):
        out += ["", f"## {i}. {section.title}", "", "| measure | value | target | result |"]
        out.append("| --- | ---: | --- | --- |")
        for f in section.figures:
            target = str(f.target) if f.target else "–"
            out.append(f"| {f.label} | {f.shown()} | {target} | {_result(f.passed)} |")
        if section.notes:
            out.append("")
            out += [f"- {note}" for note in section.notes]
    out += ["", "## Method", "", METHOD, ""]
    return "\n".join(out)


def text(sections: list[Section], total: float) -> str:
    """The figures for the terminal."""
    lines = []
    for section in sections:
        lines.append(f"\n{section.title}  ({section.seconds:.0f} s)")
        width = max((len(f.label) for f in section.figures), default=0)
        for f in section.figures:
            verdict = {True: "pass", False: "FAIL", None: ""}[f.passed]
            target = f"(target {f.target})" if f.target else ""
            lines.append(f"  {f.label:<{width}}  {f.shown():>12}  {target:<20} {verdict}".rstrip())
        lines += [f"  note: {n}" for n in section.notes]
    failed = sum(f.passed is False for s in sections for f in s.figures)
    lines.append(f"\n{failed} figure(s) missed their target; total {total:.0f} s.")
    return "\n".join(lines)
