"""Gemini models Google shuts down: a retired name stops the start, one near its date is a warning."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from core.config import DEFAULT_GEMINI_MODEL
from core.errors import StartupError
from core.model import lifecycle
from core.model.llm import GeminiModel
from tests.fakes.gemini import CURRENT_MODELS, RETIRED_MODELS, FakeGemini


def test_the_default_model_is_a_current_one() -> None:
    assert DEFAULT_GEMINI_MODEL in CURRENT_MODELS and DEFAULT_GEMINI_MODEL not in lifecycle.SHUTDOWNS


async def test_a_retired_model_is_a_start_up_error_naming_current_ones(fake_gemini: FakeGemini) -> None:
    model = GeminiModel(
        api_key=fake_gemini.api_key, model=sorted(RETIRED_MODELS)[0], base_url=fake_gemini.url
    )
    try:
        with pytest.raises(StartupError) as stopped:
            await model.check()
    finally:
        await model.aclose()
    assert "GEMINI_MODEL=" in stopped.value.user_message and "gemini-3.8-flash" in stopped.value.user_message


async def test_a_model_near_its_shutdown_is_one_warning(
    fake_gemini: FakeGemini,
    set_clock: object,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shutdown = dt.date.fromisoformat("2027-03-01")
    monkeypatch.setitem(lifecycle.SHUTDOWNS, "gemini-3.5-flash", (shutdown, "gemini-3.8-flash"))
    set_clock(dt.datetime(2027, 1, 15, 9, tzinfo=dt.UTC))  # type: ignore[operator]
    model = GeminiModel(api_key=fake_gemini.api_key, model="gemini-3.5-flash", base_url=fake_gemini.url)
    with caplog.at_level(logging.WARNING, logger="core.model.llm"):
        try:
            await model.check()
        finally:
            await model.aclose()
    [warning] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning == (
        "GEMINI_MODEL=gemini-3.5-flash shuts down on 2027-03-01 (45 days): "
        "switch to a current model (Google names gemini-3.8-flash)."
    )


def test_far_from_shutdown_says_nothing() -> None:
    assert lifecycle.retirement_warning("gemini-2.5-flash", dt.date(2026, 1, 1)) is None
    assert "was shut down" in (lifecycle.retirement_warning("gemini-2.5-flash", dt.date(2026, 6, 17)) or "")


def test_status_marks_a_shut_down_model_as_a_problem(set_clock: object) -> None:
    from core.config import load_settings
    from jobs.status import _model_check

    set_clock(dt.datetime(2026, 7, 1, tzinfo=dt.UTC))  # type: ignore[operator]
    check = _model_check(load_settings(gemini_model="gemini-2.5-flash"))
    assert not check.ok and check.says.startswith("GEMINI_MODEL=gemini-2.5-flash was shut down on 2026-06-17")
    assert _model_check(load_settings()).ok
