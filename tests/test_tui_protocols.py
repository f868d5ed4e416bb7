"""The panes on Chat Completions, Anthropic Messages and unknown streams (issue 6), driven with Pilot."""

from __future__ import annotations

import re

from contextlib import asynccontextmanager
from pathlib import Path

from streamview.source import read_events
from streamview import protocols

UNKNOWN_NOTE = protocols.unknown_protocol().note
from tests.conftest import make_app, screen_text, wait_until
from streamview.widgets.event_list import EventList
from streamview.widgets.message_view import MessageView

ROOT = Path(__file__).resolve().parent.parent
CHAT = ROOT / "tests" / "fixtures" / "chat"
ANTHROPIC = ROOT / "tests" / "fixtures" / "anthropic"
COMPLETIONS = ROOT / "tests" / "fixtures" / "completions"


@asynccontextmanager
async def replayed(source):
    """The app with ``source`` replayed to its end: (app, pilot, the screen's text)."""
    app = make_app(source, instant=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        await pilot.pause(0.1)
        yield app, pilot, screen_text(app)


def row(text: str, label: str, summary: str) -> bool:
    """A row with this type label, then (after the type column's padding) this summary."""
    return re.search(re.escape(label) + r" +" + re.escape(summary), text) is not None


async def test_chat_tool_calls_show_as_chunks_with_their_arguments():
    async with replayed(CHAT / "tool-calls-parallel.sse") as (app, pilot, text):
        assert row(text, "chunk", 'get_weather ""')  # the first fragment names the call
        assert row(text, "chunk", '"Paris"')
        assert row(text, "chunk (usage)", "usage 112/41/153")
        assert "[DONE]" in text
        assert "Chat Completions" in text and "fp_545373b517" in text
        shown = app.query_one(MessageView).text_view.text
        assert "function_call [tool_calls] get_weather" in shown and '"city": "Paris"' in shown
        assert app.model.state.status == "completed" and "ended" in text and "no terminal" not in text


async def test_chat_choices_of_one_stream_are_told_apart_in_the_rows():
    async with replayed(CHAT / "n2-interleaved.sse") as (app, pilot, text):
        assert '[1] "The"' in text and row(text, "chunk", '"Roses"')  # choice 1's rows carry its index
        shown = app.query_one(MessageView).text_view.text
        assert "choice 0" in shown and "choice 1" in shown


async def test_completions_choices_show_as_chunks_and_items():
    async with replayed(COMPLETIONS / "n2-interleaved.sse") as (app, pilot, text):
        assert row(text, "chunk", '[1] "The"') and row(text, "chunk", '"Roses"')  # choice 1's rows carry its index
        assert row(text, "chunk (usage)", "usage 6/13/19") and "[DONE]" in text
        assert "Legacy Completions" in text and re.search(r"choice 0 +stop", text) and re.search(r"choice 1 +stop", text)
        shown = app.query_one(MessageView).text_view.text
        assert shown.index("── completion [stop] choice 0\nRoses are red") < shown.index("── completion [stop] choice 1\nThe sky is blue.")
        assert app.model.protocol == "completions" and app.model.state.status == "completed" and "no terminal" not in text
    async with replayed(COMPLETIONS / "logprobs-echo.sse") as (app, pilot, text):
        assert re.search(r"logprobs +12 tokens, mean -", text)
    async with replayed(COMPLETIONS / "markup-unicode.sse") as (app, pilot, text):
        shown = app.query_one(MessageView).text_view.text
        assert "[bold red]not bold[/]" in shown and "\x1b" not in shown and "␛" in shown  # data, escapes made visible


async def test_the_no_deltas_filter_hides_completions_chunks():
    async with replayed(COMPLETIONS / "text-usage.sse") as (app, pilot, _):
        events = app.query_one(EventList)
        await pilot.press("f")
        assert {app.model.events[i].type for i in events.rows} >= {"[DONE]"}
        assert not any(app.model.is_delta(i) for i in events.rows) and events.row_count < events.count


async def test_anthropic_thinking_deltas_and_stop_reason_are_on_screen():
    async with replayed(ANTHROPIC / "thinking-signature-text.sse") as (app, pilot, text):
        assert row(text, "content_block_delta", '"The user"')
        assert row(text, "content_block_delta", "signature")
        assert "stop_reason=end_turn" in text and "Anthropic Messages" in text
        shown = app.query_one(MessageView).text_view.text
        assert "── thinking [completed]" in shown
        assert "17 × 23 = **391**." in shown


async def test_the_no_deltas_filter_hides_chunks_and_content_block_deltas():
    for path, kept in ((CHAT / "content-usage.sse", "[DONE]"), (ANTHROPIC / "text-usage.sse", "message_stop")):
        async with replayed(path) as (app, pilot, _):
            events = app.query_one(EventList)
            await pilot.press("f")
            assert events.filter_name != "all"
            kept_types = {app.model.events[i].type for i in events.rows}
            assert kept in kept_types
            assert not any(app.model.is_delta(i) for i in events.rows)
            assert events.row_count < events.count


async def test_an_unknown_stream_shows_raw_json_rows_and_the_note():
    data = b"".join(b'data: {"foo": %d}\n\n' % i for i in range(6))
    async with replayed(data) as (app, pilot, text):
        assert '{"foo": 3}' in text  # the start of the JSON, since it is no known shape
        assert app.query_one(MessageView).text_view.text == UNKNOWN_NOTE
        assert "unknown-protocol" in text


def test_fixtures_exist_for_the_tests_above():
    for path in (CHAT / "tool-calls-parallel.sse", CHAT / "n2-interleaved.sse", ANTHROPIC / "thinking-signature-text.sse"):
        events, _ = read_events(open(path, "rb"))
        assert len(events) > 5


async def test_a_forced_protocol_reaches_the_ui():
    """``--protocol chat`` on a stream that sniffs as Responses: the model folds it as Chat Completions."""
    from streamview.replay.player import Player
    from streamview.tui.app import StreamviewApp

    player = Player(open(ROOT / "streamview" / "examples" / "o4-mini-hello.sse", "rb"), instant=True, protocol="chat")
    app = StreamviewApp(player, label="forced")
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        assert app.model.protocol == "chat"
        assert app.model.state.protocol == "chat"
