"""What each screen looks like (pytest-textual-snapshot), grouped by screen, keys pressed before each picture.

Replays are driven to a fixed event (stepped while paused, or loaded instantly to the end), and the clock shown is
the transcript's own, so every picture is the same on every run. Update with `pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.conftest import EXAMPLES, FIXTURES, SEED_O4, make_app, wait_until
from streamview.widgets.event_list import EventList

SIZES = [(200, 50), (80, 24)]
PROTOCOL_SIZES = [(80, 24), (120, 40), (200, 50)]
DEMOS = ["chat-tool-calls", "anthropic-thinking", "gemini-thinking", "completions-two-choices", "cohere-citations"]


def stepped_to(count: int):
    async def run_before(pilot) -> None:
        for _ in range(count):
            await pilot.press("n")
        await wait_until(pilot, lambda: pilot.app.query_one(EventList).count == count)
        await pilot.pause(0.4)  # the metadata pane redraws counts at most 4 times a second

    return run_before


async def loaded(pilot) -> None:
    await wait_until(pilot, lambda: pilot.app.player.finished and pilot.app.query_one(EventList).count == 20)
    await pilot.pause(0.4)  # the metadata pane redraws counts at most 4 times a second


async def ended(pilot) -> None:
    await wait_until(pilot, lambda: pilot.app.player.finished and pilot.app.model.finished
                     and pilot.app.query_one(EventList).count == len(pilot.app.model.events))
    await pilot.pause(0.4)


class TestMainScreen:
    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_mid_stream(self, snap_compare, size):
        """You should see 12 of 20 events, the message growing ("Hello there! How can I"), status in_progress."""
        assert snap_compare(make_app(SEED_O4, label="o4-mini-hello.sse", paused=True), terminal_size=size, run_before=stepped_to(12))

    @pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    def test_end(self, snap_compare, size):
        """You should see all 20 events, the whole message, status completed, usage 18/16/34."""
        assert snap_compare(make_app(SEED_O4, label="o4-mini-hello.sse", instant=True), terminal_size=size, run_before=loaded)


class TestDetail:
    def test_time_travel(self, snap_compare):
        """You should see event #9 selected, its JSON on the right, and the message as of it with " How" selected."""

        async def run_before(pilot) -> None:
            await loaded(pilot)
            await pilot.press("home", *["down"] * 9, "enter")
            await pilot.pause(0.1)

        assert snap_compare(make_app(SEED_O4, label="o4-mini-hello.sse", instant=True), terminal_size=(200, 50), run_before=run_before)


class TestHelp:
    def test_help(self, snap_compare):
        """You should see the help screen listing every key."""

        async def run_before(pilot) -> None:
            await loaded(pilot)
            await pilot.press("question_mark")
            await pilot.pause(0.1)

        assert snap_compare(make_app(SEED_O4, label="o4-mini-hello.sse", instant=True), terminal_size=(120, 40), run_before=run_before)


class TestProtocols:
    @pytest.mark.parametrize("size", PROTOCOL_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    @pytest.mark.parametrize("demo", DEMOS)
    def test_end(self, snap_compare, demo, size):
        """You should see each protocol's demo at its end: the delta text on the rows (no seq column), the message,
        the protocol's metadata, and ? and q in the key bar."""
        assert snap_compare(make_app(EXAMPLES / f"{demo}.sse", label=demo, instant=True), terminal_size=size, run_before=ended)

    @pytest.mark.parametrize("size", PROTOCOL_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
    @pytest.mark.parametrize("demo", DEMOS)
    def test_mid_stream(self, snap_compare, demo, size):
        """You should see each protocol's demo paused part way: some rows, the message so far, status in progress."""

        async def run_before(pilot) -> None:
            for _ in range(4):
                await pilot.press("n")
            await wait_until(pilot, lambda: pilot.app.query_one(EventList).count == 4)
            await pilot.pause(0.4)

        assert snap_compare(make_app(EXAMPLES / f"{demo}.sse", label=demo, paused=True), terminal_size=size, run_before=run_before)


class TestTheme:
    def test_light(self, snap_compare):
        """You should see the end of the o4-mini demo in textual-light: every row, mark and the selected item's
        rows readable (dark text on light)."""

        async def run_before(pilot) -> None:
            pilot.app.theme = "textual-light"
            await loaded(pilot)
            await pilot.press("home", "down", "down", "down", "down")
            await pilot.pause(0.2)

        assert snap_compare(make_app(SEED_O4, label="o4-mini-hello.sse", instant=True), terminal_size=(120, 40), run_before=run_before)


class TestAnomaly:
    def test_selected(self, snap_compare):
        """You should see a broken stream's anomaly selected with a: its row marked, its JSON, the rule and message."""

        async def run_before(pilot) -> None:
            await ended(pilot)
            await pilot.press("a")
            await pilot.pause(0.3)

        path = FIXTURES / "broken" / "seq-gap.sse"
        assert snap_compare(make_app(path, label=path.name, instant=True), terminal_size=(120, 40), run_before=run_before)


class TestSearch:
    def test_box_open(self, snap_compare):
        """You should see the search box open with "assist" typed and the first match selected."""

        async def run_before(pilot) -> None:
            await loaded(pilot)
            pilot.app.query_one("#search").cursor_blink = False  # the box's cursor shown whenever the picture is taken
            await pilot.press("slash", *"assist", "enter")
            await wait_until(pilot, lambda: pilot.app.travel is not None and not pilot.app._search_note)
            await pilot.pause(0.2)

        assert snap_compare(make_app(SEED_O4, label="o4-mini-hello.sse", instant=True), terminal_size=(120, 40), run_before=run_before)


class TestSave:
    def test_prompt(self, snap_compare, monkeypatch):
        """You should see the save prompt over the panes, with a generated streamview-*.sse name."""
        from streamview.tui import save

        monkeypatch.setattr(save, "default_name", lambda suffix=".sse": "streamview-20261201-120000.sse")
        monkeypatch.setattr(save.os, "getcwd", lambda: "/home/user/project")

        async def run_before(pilot) -> None:
            await loaded(pilot)
            await pilot.press("s")
            await pilot.pause(0.2)

        assert snap_compare(make_app(SEED_O4, label="o4-mini-hello.sse", instant=True), terminal_size=(120, 40), run_before=run_before)


class TestItems:
    @pytest.mark.parametrize("name", ["web_search_call", "message", "mcp_call", "image_generation_call"])
    def test_item_payload(self, snap_compare, name):
        """You should see the item's payload under it in the message pane: the search and its source; the text with
        the citation marker [1] and the sources list; the MCP call's error; the image options, never base64."""
        path = FIXTURES / "responses_items" / f"{name}.sse"
        assert snap_compare(make_app(path, label=path.name, instant=True), terminal_size=(120, 30), run_before=ended)


class TestFlowList:
    def test_flows(self, snap_compare, monkeypatch):
        """You should see the proxy's flow list: a Chat flow done with its tokens, a Responses flow its client cancelled, and
        a plain GET; the header says where the proxy listens and what to export."""
        import time as _time

        from streamview.replay.proxy import Flow, Proxy, Routes
        from streamview.session import Session, read_session
        from streamview.tui.app import StreamviewApp

        monkeypatch.setenv("TZ", "UTC")
        _time.tzset()
        proxy = Proxy(Routes({"upstream": "http://127.0.0.1:9"}), None)
        protocols = {p.name: p for p, _ in proxy.routes.table}
        with open(FIXTURES / "chat" / "tool-calls-parallel.sse", "rb") as fp:
            chat = read_session(fp)
        with open(EXAMPLES / "o4-mini-hello.sse", "rb") as fp:
            resp = read_session(fp)
        flows = [Flow(1, "POST", "/v1/chat/completions", "http://127.0.0.1:9", protocols["chat"], started=1767225600.0,
                      model="gpt-4.1", status=200, end="done", ended_at=0.43, session=chat),
                 Flow(2, "POST", "/v1/responses", "http://127.0.0.1:9", protocols["responses"], started=1767225601.5,
                      model="o4-mini", status=200, ended_at=1.25, end="client cancelled", session=resp),
                 Flow(3, "GET", "/v1/models", "http://127.0.0.1:9", None, started=1767225603.0, status=200,
                      end="done", ended_at=0.01)]
        proxy.flows.extend(flows)
        app = StreamviewApp(Session("proxy"), "streamview proxy on http://127.0.0.1:8899  ·  not recording\n"
                            "  export OPENAI_BASE_URL=http://127.0.0.1:8899/v1", proxy=proxy)

        async def run_before(pilot) -> None:
            await pilot.pause(0.4)

        try:
            assert snap_compare(app, terminal_size=(160, 20), run_before=run_before)
        finally:
            monkeypatch.delenv("TZ")
            _time.tzset()
