"""The proxy's flow list (tui/flows.py) with the proxy's server in the App's own event loop: rows appear as
requests start and fill in live; Enter opens a flow in the three panes, Escape returns to the list, `n` / `p`
move between flows, `/` filters, `t` / `d` sort. Real loopback sockets: an upstream (``streamview serve``), the
proxy, an httpx client in the same loop."""

from __future__ import annotations

from pathlib import Path

import httpx

from streamview.replay.proxy import Proxy, Routes
from streamview.replay.serve import serve_in_thread
from streamview.replay.server import EmbeddedServer, bind
from streamview.session import Session
from streamview.tui.app import StreamviewApp
from streamview.tui.flows import FlowList
from streamview.widgets.message_view import MessageView
from tests.conftest import screen_text, wait_until

ROOT = Path(__file__).resolve().parents[1]
CHAT = ROOT / "tests" / "fixtures" / "chat" / "tool-calls-parallel.sse"
RESPONSES = ROOT / "streamview" / "examples" / "o4-mini-hello.sse"


def _app(upstream: str, tmp_path) -> tuple[StreamviewApp, str]:
    proxy = Proxy(Routes({"upstream": upstream}), str(tmp_path / "rec"))
    sock = bind("127.0.0.1", 0)
    root = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = EmbeddedServer(proxy, "127.0.0.1", 0, sock=sock)
    return StreamviewApp(Session("proxy"), f"streamview proxy on {root}", proxy=proxy, server=server), root


async def _stream(client: httpx.AsyncClient, url: str, body: dict) -> bytes:
    async with client.stream("POST", url, json=body) as r:
        return b"".join([c async for c in r.aiter_raw()])


async def test_flows_appear_open_in_the_panes_and_escape_returns_to_the_list(tmp_path):
    up_chat, chat_base = serve_in_thread(str(CHAT), speed=20.0)
    up_resp, resp_base = serve_in_thread(str(RESPONSES), speed=20.0)
    try:
        # one upstream for both routes is what --upstream does; here each fixture has its own server, so the two
        # requests go to the two servers by giving the Responses one as the default and the Chat one by port
        app, root = _app(chat_base.removesuffix("/v1"), tmp_path)
        async with app.run_test(size=(160, 40)) as pilot:
            await wait_until(pilot, lambda: app.server.server.started)
            assert isinstance(app.screen, FlowList)
            async with httpx.AsyncClient(timeout=20) as client:
                body = await _stream(client, root + "/v1/chat/completions", {"model": "gpt-4.1", "stream": True})
                assert b"[DONE]" in body
                table = app.screen.query_one("#flows")
                await wait_until(pilot, lambda: table.row_count == 1 and app.proxy.flows[0].end == "done"
                                 and " done " in screen_text(app))  # (the rows are refreshed 4 times a second)
                text = screen_text(app)
                assert "gpt-4.1" in text and "POST /v1/chat/completions" in text and "200" in text and "done" in text
                assert "112 / 41" in text  # tokens in / out
                app.proxy.routes.default = resp_base.removesuffix("/v1")  # the next request to the other server
                app.proxy.routes.table = [(p, resp_base.removesuffix("/v1")) for p, _ in app.proxy.routes.table]
                await _stream(client, root + "/v1/responses", {"model": "o4-mini", "stream": True})
                await wait_until(pilot, lambda: table.row_count == 2 and app.proxy.flows[1].end == "done")
            await pilot.press("enter")  # the first row: the Chat flow
            await wait_until(pilot, lambda: not isinstance(app.screen, FlowList) and app.model is app.proxy.flows[0].session)
            shown = "".join(app.query_one(MessageView)._pieces)
            assert "get_weather" in shown
            keys = screen_text(app).splitlines()[-1]  # the key bar offers flows, not a replay's step or pause
            assert "Next flow" in keys and "Prev flow" in keys and "Step" not in keys and "Pause" not in keys, keys
            await pilot.press("n")  # the next flow: the Responses one
            await wait_until(pilot, lambda: app.model is app.proxy.flows[1].session)
            await wait_until(pilot, lambda: "Hello there!" in "".join(app.query_one(MessageView)._pieces))
            await pilot.press("p")
            await wait_until(pilot, lambda: app.model is app.proxy.flows[0].session)
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, FlowList))
            assert "streamview proxy on http://127.0.0.1:" in screen_text(app)  # the header: where to point clients
            await pilot.press("slash", *"respon")
            await wait_until(pilot, lambda: app.screen.query_one("#flows").row_count == 1)
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen.query_one("#flows").row_count == 2)
            await pilot.press("d")
            await pilot.pause(0.1)
            assert app.screen.sort == "duration"
            await pilot.press("enter")  # the list keeps its sort across a flow and back
            await wait_until(pilot, lambda: not isinstance(app.screen, FlowList))
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, FlowList))
            assert app.screen.sort == "duration"
            await pilot.press("question_mark")  # the list's help: its own keys, not the panes'
            await wait_until(pilot, lambda: "Sort by duration" in screen_text(app))
            help_text = screen_text(app)
            assert "open the flow in the three panes" in help_text and "Pause or resume" not in help_text
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, FlowList))
            await pilot.press("enter")  # in a flow, help has the flow keys and no replay keys
            await wait_until(pilot, lambda: not isinstance(app.screen, FlowList))
            await pilot.press("question_mark")
            await wait_until(pilot, lambda: "streamview keys" in screen_text(app))
            help_text = screen_text(app)
            assert "The next flow" in help_text and "Pause or resume" not in help_text
    finally:
        up_chat.shutdown()
        up_resp.shutdown()


async def test_a_recorded_folder_replays_as_the_same_flow_list(tmp_path):
    import subprocess
    import sys

    from streamview.replay.proxy import RecordedFlows

    up, base = serve_in_thread(str(CHAT), speed=20.0)
    try:
        app, root = _app(base.removesuffix("/v1"), tmp_path)
        async with app.run_test(size=(160, 40)) as pilot:
            await wait_until(pilot, lambda: app.server.server.started)
            async with httpx.AsyncClient(timeout=20) as client:
                for model in ("gpt-4.1", "gpt-4.1-mini"):
                    await _stream(client, root + "/v1/chat/completions", {"model": model, "stream": True})
            await wait_until(pilot, lambda: len(app.proxy.flows) == 2 and all(f.end for f in app.proxy.flows))
            live = list(app.proxy.flows)
    finally:
        up.shutdown()
    recorded = RecordedFlows(str(tmp_path / "rec"))
    assert [(f.n, f.model, f.status, f.end, f.file) for f in recorded.flows] == \
        [(f.n, f.model, f.status, f.end, f.file) for f in live]
    assert [f.session.state.final() for f in recorded.flows] == [f.session.state.final() for f in live]
    assert recorded.flows[0].request_body == live[0].request_body
    lines = subprocess.run([sys.executable, "-m", "streamview", "replay", str(tmp_path / "rec")], capture_output=True,
                           text=True, cwd=ROOT, timeout=60).stdout.splitlines()
    assert len(lines) == 2 and "gpt-4.1-mini" in lines[1] and "112 in / 41 out" in lines[1]
    replayed = StreamviewApp(Session("flows"), "recorded", proxy=recorded)
    async with replayed.run_test(size=(80, 24)) as pilot:  # a small terminal: the list and the key bar fit it
        await wait_until(pilot, lambda: isinstance(replayed.screen, FlowList)
                         and replayed.screen.query_one("#flows").row_count == 2)
        rows = screen_text(replayed).splitlines()
        assert rows[1].split()[:4] == ["#", "API", "model", "request"] and rows[1].rstrip().endswith("end")
        assert len(rows[3].rstrip()) <= 80 and "112 / 41" in rows[3] and rows[3].rstrip().endswith("done")
        assert " gpt-4.1-m" in rows[3]  # the model cut last: what the start time and anomalies freed is its
        await pilot.press("enter")
        await wait_until(pilot, lambda: replayed.model is recorded.flows[0].session)
        await wait_until(pilot, lambda: "get_weather" in "".join(replayed.query_one(MessageView)._pieces))
        keys = screen_text(replayed).splitlines()[-1]
        assert "Next flow" in keys and "Prev flow" in keys, keys
