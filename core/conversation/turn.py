"""The turn: an incoming message or button press in, a platform-neutral Reply out.

A text turn loads the athlete, builds the context, and loops model -> tools ->
model until the model answers in text, within a step cap and a total timeout.
Turns of one athlete never interleave (a lock per athlete, behind a seam so
several processes can share a lock in Redis); different athletes run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from core import actions
from core.access import admission as access
from core.access import athletes, budgets, erase
from core.clock import today_in
from core.coaching import recovery
from core.conversation import commands, context, media, transcript
from core.conversation.tools import TOOLS
from core.conversation.tools.base import Tool, ToolContext
from core.errors import CoachError, ValidationError
from core.logs import athlete_var, platform_var
from core.messages import Attachment, Incoming, Reply
from core.metrics import MESSAGES, MODEL_CALLS, TURN_ROUND_TRIPS, TURN_SECONDS, TURN_TOKENS
from core.model.llm import MediaRejected, Model, ModelTurn, ModelUnavailable
from core.planning import plans, previews, undo, workouts
from core.planning.previews import PlanRunner
from core.sync import outbox as sync
from core.sync.intervals import IntervalsPool
from storage import db
from storage.models import Athlete, ConversationTurn

logger = logging.getLogger(__name__)

Locker = Callable[[int], contextlib.AbstractAsyncContextManager[None]]

SYNC_LINES = {
    "synced": "✅ Synced to Intervals.icu.",
    "pending": "⏳ Saved. Intervals.icu can't be reached right now; it will sync automatically.",
    "failed": "⚠️ Saved here, but Intervals.icu rejected the change (see /sync).",
}


UNSUPPORTED = (
    "I can read text, voice notes and pictures, but not that kind of message. Please tell me in words."
)


@dataclass(frozen=True)
class Limits:
    """Bounds on one turn."""

    max_steps: int = 6
    turn_timeout: float = 90.0
    history_messages: int = 16
    max_message_chars: int = 4000


def _history(athlete_id: int, limit: int) -> list[dict[str, Any]]:
    rows = list(
        ConversationTurn.select()
        .where(ConversationTurn.athlete == athlete_id)
        .order_by(ConversationTurn.id.desc())
        .limit(limit)
    )
    contents = [dict(r.content) for r in reversed(rows)]
    # Gemini wants the conversation to open with the user.
    while contents and contents[0].get("role") != "user":
        contents.pop(0)
    return contents


@dataclass(frozen=True)
class _Prepared:
    athlete: Athlete
    today: dt.date
    system: str
    contents: list[dict[str, Any]]


def _prepare(
    athlete_id: int, platform: str, history: int, remember: str | None, budget: budgets.Budgets | None
) -> _Prepared | budgets.Verdict:
    """Everything a turn reads before the model, and the athlete's message saved: one database call.

    With ``budget``, the message is first counted against it; a turn over budget reads and saves
    nothing, and its verdict comes back instead.
    """
    if budget is not None and (verdict := budgets.check(budget, athlete_id)) is not None:
        return verdict
    athlete = athletes.get(athlete_id)
    today = today_in(athlete.timezone)
    system = context.build(athlete_id, today, platform, athlete)
    contents = _history(athlete_id, history)
    if remember is not None:
        transcript.save(athlete_id, "user", remember)
    return _Prepared(athlete, today, system, contents)


def _finish(athlete_id: int, answer: str, tokens: int, remember: str | None) -> None:
    """The turn's answer saved and its model tokens charged, in one transaction."""
    with db.transaction():
        if remember is not None:
            transcript.save(athlete_id, "user", remember)
        transcript.save(athlete_id, "model", answer)
        budgets.charge(athlete_id, tokens)


def _tool_response(name: str, call_id: str | None, result: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "response": result}
    if call_id:
        body["id"] = call_id
    return {"functionResponse": body}


class Coach:
    """Core's entry point for every adapter."""

    def __init__(
        self,
        model: Model,
        pool: IntervalsPool,
        *,
        plan_runner: PlanRunner | None = None,
        locker: Locker | None = None,
        limits: Limits | None = None,
        tools: tuple[Tool[Any], ...] = TOOLS,
        policy: access.Access | None = None,
        budget: budgets.Budgets | None = None,
    ) -> None:
        self.model = model
        self.pool = pool
        self._services = commands.Services(model, pool)
        self.limits = limits or Limits()
        # Closed unless told otherwise: ACCESS=invite is the default everywhere.
        self.access = policy or access.Access()
        self.budgets = budget or budgets.Budgets()
        self.plan_runner: PlanRunner = plan_runner or self._generate_in_process
        self._locker: Locker = locker or self._local_lock
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._tools = {t.name: t for t in tools}
        self._declarations = [t.declaration() for t in tools]

    @contextlib.asynccontextmanager
    async def _local_lock(self, athlete_id: int) -> AsyncIterator[None]:
        lock = self._locks.get(athlete_id)
        if lock is None:
            lock = self._locks[athlete_id] = asyncio.Lock()
        async with lock:
            yield

    async def _generate_in_process(self, request: plans.PlanRequest, key: str) -> Reply:
        try:
            return await previews.create(self.model, request)
        except plans.PlanFailed as exc:
            return Reply(exc.user_message)

    async def handle(self, incoming: Incoming) -> Reply | None:
        """Answer one message or button press; None when nothing should be said (see core.access.admission)."""
        MESSAGES.labels(incoming.platform, "in").inc()
        platform_var.set(incoming.platform)
        verdict = await access.admit(self.access, incoming)
        if verdict.athlete_id is None:
            reply = verdict.reply
        else:
            athlete_var.set(verdict.athlete_id)
            reply = await self._handle(verdict.athlete_id, incoming)
        if reply is not None:
            MESSAGES.labels(incoming.platform, "out").inc()
        return reply

    async def _handle(self, athlete_id: int, incoming: Incoming) -> Reply | None:
        async with self._locker(athlete_id):
            try:
                if incoming.action is not None:
                    return await self.press(athlete_id, incoming.action)
                text = (incoming.text or "").strip()
                if len(text) > self.limits.max_message_chars:
                    return budgets.refused(
                        "too_long",
                        f"That message is too long ({len(text)} characters). "
                        f"Please keep it under {self.limits.max_message_chars}.",
                    )
                if incoming.media is not None:
                    return await self._media_turn(athlete_id, incoming.media, text, incoming.platform)
                if incoming.unsupported:
                    return budgets.refused("unsupported", UNSUPPORTED)
                if not text or text.startswith("/"):
                    return await commands.run(self._services, athlete_id, text or "/help")
                return await self.turn(athlete_id, text, incoming.platform, budget=self.budgets)
            except CoachError as exc:
                logger.warning("athlete %s: %s: %s", athlete_id, type(exc).__name__, exc.user_message)
                return Reply(exc.user_message)

    async def _media_turn(
        self, athlete_id: int, attachment: Attachment, caption: str, platform: str
    ) -> Reply | None:
        """A voice note or picture: checked before it is downloaded, then a turn like a typed message."""
        try:
            mime = media.check(attachment)
            verdict = await db.call(budgets.check, self.budgets, athlete_id)
            if verdict is not None:
                return budgets.refusal(athlete_id, verdict)
            data = await media.load(attachment)
        except media.MediaRefused as exc:
            logger.info("athlete %s: %s refused (%s)", athlete_id, attachment.kind, exc.reason)
            return budgets.refused(exc.reason, exc.user_message)
        return await self.turn(
            athlete_id, caption, platform, media.MediaTurn(attachment.kind, mime, data, caption)
        )

    async def turn(
        self,
        athlete_id: int,
        text: str,
        platform: str = "chat",
        attachment: media.MediaTurn | None = None,
        budget: budgets.Budgets | None = None,
    ) -> Reply | None:
        """One conversational turn with the model and the tools; ``attachment`` goes inline, never stored.

        ``budget``: count the turn against it first (a media turn was counted before its download).
        """
        started = time.monotonic()
        # Kept before the model is asked, so an outage never loses what the athlete said; a recording
        # is remembered by its transcript, which exists only once the model has answered.
        audio = attachment is not None and attachment.kind == "audio"
        remember = None if audio else (attachment.remembered() if attachment else text)
        prepared = await db.call(
            _prepare, athlete_id, platform, self.limits.history_messages, remember, budget
        )
        if not isinstance(prepared, _Prepared):
            return budgets.refusal(athlete_id, prepared)
        system, contents = prepared.system, prepared.contents
        ctx = ToolContext(
            athlete_id=athlete_id, pool=self.pool, today=prepared.today, timezone=prepared.athlete.timezone
        )
        contents.append(attachment.content() if attachment else {"role": "user", "parts": [{"text": text}]})
        again = (
            "I don't keep recordings, so please send it again"
            if audio
            else "Your message is saved; please try again"
        )
        steps = 0
        tokens: list[tuple[int, int]] = []  # (prompt, output) of each round trip
        try:
            async with asyncio.timeout(self.limits.turn_timeout):
                answer, steps = await self._loop(ctx, system, contents, tokens, attachment)
        except TimeoutError:
            logger.warning("athlete %s: turn timed out after %d steps", athlete_id, steps)
            answer = f"Sorry, that took too long and I stopped. {again}."
        except MediaRejected:
            answer = media.UNREADABLE
        except ModelUnavailable as exc:
            logger.warning("athlete %s: %s", athlete_id, exc.user_message)
            answer = f"Sorry, I can't reach my coaching model right now. {again} in a minute."
        if audio:
            assert attachment is not None
            answer = attachment.lead(answer)
        status = sync.overall(list(ctx.changed_sync))
        if status:
            # Said by core, not left to the model, so the athlete always learns the truth.
            answer = f"{answer}\n\n{SYNC_LINES[status]}".strip()
        prompt_tokens = sum(p for p, _ in tokens)
        await db.call(
            _finish,
            athlete_id,
            answer,
            prompt_tokens + sum(o for _, o in tokens),
            attachment.remembered() if attachment is not None and audio else None,
        )
        seconds = time.monotonic() - started
        TURN_SECONDS.observe(seconds)
        TURN_ROUND_TRIPS.observe(steps)
        TURN_TOKENS.observe(prompt_tokens)
        logger.info(
            "turn done: %d round trip(s), %d prompt tokens",
            steps,
            prompt_tokens,
            extra={
                "round_trips": steps,
                "prompt_tokens": prompt_tokens,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
        return Reply(answer, buttons=tuple(ctx.buttons), sync_status=status)

    async def _loop(
        self,
        ctx: ToolContext,
        system: str,
        contents: list[dict[str, Any]],
        tokens: list[tuple[int, int]],
        attachment: media.MediaTurn | None = None,
    ) -> tuple[str, int]:
        for step in range(1, self.limits.max_steps + 1):
            MODEL_CALLS.inc()
            reply: ModelTurn = await self.model.generate(system, contents, self._declarations)
            tokens.append((reply.prompt_tokens or 0, reply.output_tokens or 0))
            logger.info(
                "model step=%d prompt_tokens=%s calls=%d", step, reply.prompt_tokens, len(reply.calls)
            )
            if attachment is not None:
                attachment.hear(reply.text)
            if not reply.calls:
                if attachment is not None:
                    attachment.answered = True
                return reply.text or "Sorry, I have no answer to that. Could you rephrase?", step
            contents.append(reply.content)
            parts = []
            for call in reply.calls:
                tool = self._tools.get(call.name)
                if tool is None:
                    result = {
                        "success": False,
                        "error": "unknown_tool",
                        "message": f"There is no tool {call.name!r}.",
                    }
                else:
                    result = await tool.run(ctx, call.args)
                parts.append(_tool_response(call.name, call.id, result))
            contents.append({"role": "user", "parts": parts})
        logger.warning("athlete %s: step cap %d reached", ctx.athlete_id, self.limits.max_steps)
        return (
            "I got stuck going back and forth on that and stopped. Please try again, maybe in smaller steps.",
            self.limits.max_steps,
        )

    async def press(self, athlete_id: int, payload: str) -> Reply:
        """Perform the action behind a button, at most once, without asking the model."""
        claimed = await actions.claim(athlete_id, payload)
        if claimed.kind in (previews.KIND, "generate_plan", "plan_next_week"):
            reply = await self._perform_plan(athlete_id, claimed)
            text, status, buttons = reply.text, reply.sync_status, reply.buttons
        else:
            (text, status), buttons = await self._perform(athlete_id, claimed), ()
        if claimed.kind != "erase_athlete" or not claimed.accepted:  # else there is no one to save it for
            await db.call(transcript.save, athlete_id, "model", f"[{claimed.label}] {text}")
        logger.info("action %s athlete=%s choice=%s", claimed.kind, athlete_id, claimed.choice)
        if status and status in SYNC_LINES and "sync" not in text.lower():
            text = f"{text}\n\n{SYNC_LINES[status]}"
        return Reply(text, buttons=buttons, sync_status=status, chosen=claimed.label)

    async def _perform_plan(self, athlete_id: int, claimed: actions.Claimed) -> Reply:
        if claimed.kind == previews.KIND:
            return await previews.answer(self.pool, self.plan_runner, athlete_id, claimed)
        if not claimed.accepted:
            return Reply("OK, I won't generate a new plan.")
        await previews.within_rate(athlete_id, claimed)
        return await self.plan_runner(
            plans.PlanRequest.from_payload(athlete_id, claimed.payload), claimed.action_id
        )

    async def _perform(self, athlete_id: int, claimed: actions.Claimed) -> tuple[str, str | None]:
        p = claimed.payload
        if claimed.kind == "delete_workout":
            if not claimed.accepted:
                return "OK, I kept the workout.", None
            result = await workouts.delete_workout(self.pool, athlete_id, p["workout_id"], p.get("reason"))
            return result.message, result.sync_status
        if claimed.kind == "override_workout":
            if not claimed.accepted:
                return "OK. Which day would suit you better? Tell me and I'll move it there.", None
            if p["op"] == "create":
                result = await workouts.create_workout(self.pool, athlete_id, p["fields"], override=True)
            else:
                result = await workouts.update_workout(
                    self.pool, athlete_id, p["workout_id"], p["fields"], override=True
                )
            return result.message, result.sync_status
        if claimed.kind == "erase_athlete":
            return await erase.perform(athlete_id, claimed.accepted), None
        if claimed.kind == "recovery":
            return await recovery.respond(self.pool, athlete_id, claimed.choice, p)
        if claimed.kind == undo.KIND:
            if not claimed.accepted:
                return "OK, I left it as it is.", None
            return await undo.revert(self.pool, athlete_id, int(p["change_id"]))
        if claimed.kind == "retry_sync":
            if not claimed.accepted:
                return "OK, I'll keep retrying in the background.", None
            return await commands.retry_sync(self._services, athlete_id)
        raise ValidationError("That button isn't one I recognise.")
