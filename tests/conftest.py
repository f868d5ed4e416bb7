from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "streamview" / "examples"
SEED_O4 = EXAMPLES / "o4-mini-hello.sse"
SEED_NANO = EXAMPLES / "gpt-4.1-nano-hello.sse"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _own_config_dir(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's settings (the theme): each test has a config directory of its own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


def make_app(source, label: str = "test", **player_kwargs):
    """A StreamviewApp replaying ``source`` (a path or bytes)."""
    from streamview.replay.player import Player
    from streamview.tui.app import StreamviewApp

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


def screen_segment_texts(app) -> list[str]:
    """The text of every segment the compositor would send to the terminal for the current screen."""
    update = app.screen._compositor.render_update(full=True)
    return [seg.text for line in update.strips for strip in line for seg in strip]


def sse(events: list[dict]) -> bytes:
    """A transcript of ``events`` (payload dicts), in the Responses wire format."""
    import json as _json

    out = []
    for ev in events:
        out.append(f"event: {ev['type']}\ndata: {_json.dumps(ev, separators=(',', ':'))}\n\n")
    return "".join(out).encode()


def message_stream(deltas: list[str], *, model: str = "test-model", instructions: str = "be brief", seq_start: int = 0) -> list[dict]:
    """A complete, valid Responses stream of one message built from ``deltas``."""
    rid, mid = "resp_test", "msg_test"
    text = "".join(deltas)
    base = {"id": rid, "object": "response", "created_at": 1752774614, "model": model, "instructions": instructions, "output": [], "usage": None}
    evs = [
        {"type": "response.created", "response": {**base, "status": "in_progress"}},
        {"type": "response.in_progress", "response": {**base, "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0, "item": {"id": mid, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}},
        {"type": "response.content_part.added", "item_id": mid, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "annotations": [], "text": ""}},
    ]
    for d in deltas:
        evs.append({"type": "response.output_text.delta", "item_id": mid, "output_index": 0, "content_index": 0, "delta": d, "logprobs": []})
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    item = {"id": mid, "type": "message", "status": "completed", "content": [part], "role": "assistant"}
    evs += [
        {"type": "response.output_text.done", "item_id": mid, "output_index": 0, "content_index": 0, "text": text, "logprobs": []},
        {"type": "response.content_part.done", "item_id": mid, "output_index": 0, "content_index": 0, "part": part},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": {**base, "status": "completed", "output": [item], "usage": {"input_tokens": 5, "output_tokens": len(deltas), "total_tokens": 5 + len(deltas)}}},
    ]
    for i, ev in enumerate(evs):
        ev["sequence_number"] = seq_start + i
    return evs
