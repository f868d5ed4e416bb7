from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "streamview" / "examples"
SEED_O4 = EXAMPLES / "o4-mini-hello.sse"
SEED_NANO = EXAMPLES / "gpt-4.1-nano-hello.sse"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def make_app(source, label: str = "test", **player_kwargs):
    """A StreamviewApp replaying ``source`` (a path or bytes)."""
    from replay.player import Player
    from tui.app import StreamviewApp

    fp = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")
    return StreamviewApp(Player(fp, **player_kwargs), label=label)


async def wait_until(pilot, condition, timeout: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds (fails the test after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)
    await pilot.pause(0.1)  # one more frame so the panes show it


def screen_text(app) -> str:
    """Everything on the screen as plain text (the terminal cells, row by row)."""
    from rich.console import Console

    lines = app.screen._compositor.render_update(full=True)
    console = Console(width=app.size.width, record=True, file=io.StringIO(), color_system=None, legacy_windows=False)
    console.print(lines)
    return console.export_text()


@pytest.fixture
def seed_o4() -> Path:
    return SEED_O4
