"""The terminal adapter behind ``coach chat``: lines in, replies and numbered choices out.

Works interactively and with piped input, so a scripted session can be replayed.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
import threading
from typing import TextIO

from bot.markdown import plain
from core.conversation.turn import Coach
from core.messages import Button, Incoming, Reply

PLATFORM = "terminal"


def render(reply: Reply) -> str:
    """Reply text, its Markdown rendered as plain text, followed by its buttons as numbered choices."""
    lines = [plain.render(reply.text)]
    if reply.buttons:
        lines.append("  ".join(f"[{i}] {b.label}" for i, b in enumerate(reply.buttons, 1)))
    return "\n".join(lines)


def to_incoming(line: str, name: str, buttons: tuple[Button, ...]) -> Incoming:
    """A typed line; a bare number picks one of the last reply's buttons."""
    text = line.strip()
    if text.isdigit() and 1 <= int(text) <= len(buttons):
        return Incoming(PLATFORM, name, name, action=buttons[int(text) - 1].action, user_name=name)
    return Incoming(PLATFORM, name, name, text=text, user_name=name)


def _reader(stdin: TextIO) -> asyncio.Queue[str]:
    """Lines of ``stdin`` as they come, "" at the end, read by a daemon thread.

    Not ``asyncio.to_thread(stdin.readline)``: at Ctrl-C, asyncio.run waits for its executor's
    threads, and one blocked in readline holds the process until Enter is pressed.
    """
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def pump() -> None:
        while True:
            line = stdin.readline()
            try:
                loop.call_soon_threadsafe(lines.put_nowait, line)
            except RuntimeError:  # the loop closed: the chat is over
                return
            if not line:
                return

    threading.Thread(target=pump, name="coach-chat-stdin", daemon=True).start()
    return lines


async def chat(
    coach: Coach, name: str | None = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> None:
    """Read lines until end of input, answering each."""
    who = name or getpass.getuser()
    interactive = stdin.isatty()
    buttons: tuple[Button, ...] = ()
    lines = _reader(stdin)
    if interactive:
        print("Coach is listening. /help for commands, Ctrl-D to leave.", file=stdout)
    while True:
        if interactive:
            print("you> ", end="", file=stdout, flush=True)
        line = await lines.get()
        if not line:
            break
        if not line.strip():
            continue
        reply = await coach.handle(to_incoming(line, who, buttons))
        if reply is None:  # the terminal is always admitted; core only stays silent to strangers
            continue
        buttons = reply.buttons
        print(f"coach> {render(reply)}", file=stdout, flush=True)
