"""Operating it for real: the bot and the worker as processes, their metrics, health and logs."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ENCRYPTION_KEY, REDIS_URL, REQUIRE_SERVICES
from tests.fakes.gemini import FakeGemini, call, text
from tests.fakes.intervals import FakeIntervals
from tests.fakes.telegram import FakeTelegram
from tests.helpers.clock import today

API_KEY = "key-ops-secret-98765"
TITLE = "Secret tempo title 4711"
CHAT = 8080


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(port: int, proc: subprocess.Popen[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("process never became healthy")


def metric(body: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def env(
    tmp_path: Path, fake_gemini: FakeGemini, fake_intervals: FakeIntervals, fake_telegram: FakeTelegram
) -> Iterator[dict[str, str]]:
    if not REDIS_URL:
        if REQUIRE_SERVICES:
            pytest.fail("COACH_TEST_REDIS_URL is not set; run the suite with scripts/test")
        pytest.skip("Redis not configured (run scripts/test)")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()
    yield {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
        "ENCRYPTION_KEY": ENCRYPTION_KEY,
        "REDIS_URL": REDIS_URL,
        "GEMINI_API_KEY": "test-key",
        "GEMINI_BASE_URL": fake_gemini.url,
        "INTERVALS_BASE_URL": fake_intervals.url,
        "TELEGRAM_BOT_TOKEN": fake_telegram.token,
        "TELEGRAM_API_BASE_URL": fake_telegram.url,
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": "json",
    }


def start(command: str, env: dict[str, str], port: int, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", command],
        env={**env, "METRICS_PORT": str(port)},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def test_bot_and_worker_expose_metrics_and_health_and_log_no_secrets(
    env: dict[str, str],
    tmp_path: Path,
    fake_gemini: FakeGemini,
    fake_intervals: FakeIntervals,
    fake_telegram: FakeTelegram,
) -> None:
    fake_intervals.add_athlete("i1001", API_KEY)
    day = (today() + dt.timedelta(days=3)).isoformat()
    fake_gemini.script(
        call("create_planned_workout", {"date": day, "title": TITLE, "type": "Run", "duration_minutes": 50}),
        text("Added. I'll sync it."),
    )
    subprocess.run([sys.executable, "-m", "cli", "migrate"], env=env, cwd=tmp_path, check=True)
    invited = subprocess.run(
        [sys.executable, "-m", "cli", "invite"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    code = invited.stdout.split("Invite code: ", 1)[1].split()[0]
    assert f"Telegram link: https://t.me/coach_test_bot?start={code}" in invited.stdout
    bot_port, worker_port = free_port(), free_port()
    bot = start("telegram", env, bot_port, tmp_path)
    logs = []
    try:
        wait_healthy(bot_port, bot)
        fake_telegram.push_message(CHAT, f"/start {code}")  # what the invitation link sends
        fake_telegram.wait_for_sync(lambda f: len(f.sent(CHAT)) == 1, timeout=15)
        fake_telegram.push_message(CHAT, f"/connect i1001 {API_KEY}")
        fake_telegram.wait_for_sync(lambda f: len(f.sent(CHAT)) == 2, timeout=15)
        fake_intervals.fail_next(1, "500")  # the immediate sync fails: the worker must finish it
        fake_telegram.push_message(CHAT, "Add a 50 minute run")
        fake_telegram.wait_for_sync(lambda f: len(f.sent(CHAT)) == 3, timeout=15)
        assert "will sync automatically" in fake_telegram.sent(CHAT)[2]["raw_text"]

        worker = start("worker", env, worker_port, tmp_path)
        try:
            wait_healthy(worker_port, worker)
            deadline = time.monotonic() + 20
            while not fake_intervals.events("i1001") and time.monotonic() < deadline:
                time.sleep(0.1)
            assert [e["name"] for e in fake_intervals.events("i1001")] == [TITLE]
            worker_metrics = httpx.get(f"http://127.0.0.1:{worker_port}/metrics").text
        finally:
            logs.append(stop(worker))
        bot_metrics = httpx.get(f"http://127.0.0.1:{bot_port}/metrics").text
    finally:
        logs.append(stop(bot))

    assert metric(bot_metrics, "coach_tool_calls_total", tool="create_planned_workout", outcome="ok") == 1
    assert metric(bot_metrics, "coach_turn_seconds_count") == 1
    assert metric(bot_metrics, "coach_model_round_trips_total") == 2
    assert metric(bot_metrics, "coach_sync_attempts_total", result="retryable") == 1
    assert metric(bot_metrics, "coach_messages_total", platform="telegram", direction="in") == 3
    assert metric(bot_metrics, "coach_athlete_model_tokens_total", athlete="1") > 0
    assert metric(worker_metrics, "coach_sync_attempts_total", result="synced") >= 1

    everything = "\n".join(logs)
    records = [json.loads(line) for line in everything.splitlines() if line.startswith("{")]
    assert records and any(r.get("tool") == "create_planned_workout" and r.get("athlete_id") for r in records)
    for secret in (
        API_KEY,
        fake_telegram.token,
        fake_telegram.token.split(":")[1],
        ENCRYPTION_KEY,
        TITLE,
        "test-key",
        code,
    ):
        assert secret not in everything, f"a secret leaked into the logs: {secret[:6]}…"


def test_worker_logs_the_design_alerts(caplog: pytest.LogCaptureFixture) -> None:
    from jobs.tasks import _alerts

    with caplog.at_level("WARNING", logger="jobs.tasks"):
        _alerts({"synced": 10}, {"PENDING": 3})
        assert caplog.records == []
        _alerts({"synced": 7, "pending": 3}, {"PENDING": 3})
        _alerts({"pending": 6}, {"PENDING": 1200})
    messages = [r.getMessage() for r in caplog.records]
    assert any("ALERT sync failure rate 30%" in m for m in messages)
    assert any("ALERT Intervals.icu unreachable" in m for m in messages)
    assert any("ALERT sync queue holds 1200 open items" in m for m in messages)
