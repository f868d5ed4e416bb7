"""Differential test: streamview's assembler against the official ``openai`` SDK (protocol.md section 7).

Every transcript (tests/fixtures/responses/*.sse and the two seeds in streamview/examples/) is served by a real HTTP
server on 127.0.0.1 and consumed by ``openai.OpenAI().responses.stream(...)``. The same bytes are read from disk by
``streamview.source.read_events`` and folded by ``streamview.assemble.assemble``. The two must agree on:

- the final response (the SDK's copy comes from the terminal event): every item's id, type, status, message text
  and annotations per content part, refusal, function-call name / call_id / arguments, reasoning summary texts; the
  response status, usage, error and incomplete_details;
- the SDK's mid-stream snapshots: after each ``output_text.delta`` / ``function_call_arguments.delta`` the SDK
  re-emits the event with ``snapshot`` (the text so far); streamview's block text right after the same event
  (matched by ``sequence_number``) must be equal;
- the raw event sequence ``client.responses.create(stream=True)`` yields (type and sequence_number).

How the SDK ends, by terminal event (each case handled explicitly):

- ``response.completed``: ``get_final_response()`` returns the final response.
- ``response.incomplete`` / ``response.failed`` alone: the helper yields the terminal event (compared), then
  ``get_final_response()`` raises ``RuntimeError("Didn't receive a `response.completed` event.")``.
- an ``error`` event (real nested shape) before ``response.failed``: the SDK raises ``openai.APIError`` at the
  ``error`` event and never sees ``response.failed``; only the snapshots, the error body and the state at the
  ``error`` event can be compared with the SDK.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest

from streamview.protocols.responses.assemble import ResponseAssembler, ResponseState, assemble
from streamview.events import StreamEvent
from streamview.protocols import sniff_events
from streamview.source import read_events

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "responses"
SEEDS = ROOT / "streamview" / "examples"
FIXTURE_FILES = sorted(FIXTURES.glob("*.sse"))
# the Responses API seeds (the examples of the other protocols are held to their own SDKs in tests/test_protocols.py)
TRANSCRIPTS = FIXTURE_FILES + [p for p in sorted(SEEDS.glob("*.sse")) if sniff_events(read_events(open(p, "rb"))[0]).name == "responses"]
TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


# -- the fake server -------------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        self.server.requests.append((self.command, self.path, body))
        if self.path != "/v1/responses":
            payload = b'{"error":{"message":"not found","type":"invalid_request_error","param":null,"code":null}}'
            self.send_response(404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        data = self.server.transcript
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("x-request-id", "req_oracle")
        self.send_header("connection", "close")
        self.end_headers()
        # odd chunk sizes: lines, events and UTF-8 characters get split across chunks, as on a real connection
        step = 97
        self.close_connection = True
        try:
            for i in range(0, len(data), step):
                chunk = data[i : i + step]
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return  # the SDK stops reading at the terminal event and closes: nothing is wrong

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.transcript = b""
        self.requests: list[tuple[str, str, bytes]] = []


@pytest.fixture(scope="module")
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


@pytest.fixture
def client(server):
    c = openai.OpenAI(base_url=f"http://127.0.0.1:{server.server_address[1]}/v1", api_key="sk-test-oracle", max_retries=0, timeout=10)
    try:
        yield c
    finally:
        c.close()


# -- what the SDK gives ----------------------------------------------------------------------------------------
@dataclass
class SdkRun:
    events: list = field(default_factory=list)  # what the stream helper yielded
    # sequence_number -> (block key as streamview names it, output_index, snapshot text)
    snapshots: dict[int, tuple[tuple, int, str]] = field(default_factory=dict)
    terminal: Any = None  # the terminal event the helper yielded
    final: Any = None  # get_final_response()
    final_error: Exception | None = None  # what get_final_response() raised
    api_error: openai.APIError | None = None  # raised while iterating (the `error` event)
    raw: list[tuple[str, int]] = field(default_factory=list)  # (type, sequence_number) from create(stream=True)
    raw_error: openai.APIError | None = None


def run_sdk(client: openai.OpenAI) -> SdkRun:
    run = SdkRun()
    with client.responses.stream(model="x", input="y") as stream:
        try:
            for ev in stream:
                run.events.append(ev)
                if ev.type == "response.output_text.delta":
                    run.snapshots[ev.sequence_number] = (("content", ev.content_index), ev.output_index, ev.snapshot)
                elif ev.type == "response.function_call_arguments.delta":
                    run.snapshots[ev.sequence_number] = (("arguments",), ev.output_index, ev.snapshot)
                elif ev.type in TERMINAL:
                    run.terminal = ev
        except openai.APIError as exc:
            run.api_error = exc
        if run.api_error is None:
            try:
                run.final = stream.get_final_response()
            except RuntimeError as exc:
                run.final_error = exc
    # the low-level stream: every event the SDK decodes, up to the APIError it raises on an `error` event
    raw = client.responses.create(model="x", input="y", stream=True)
    try:
        for ev in raw:
            run.raw.append((ev.type, ev.sequence_number))
    except openai.APIError as exc:
        run.raw_error = exc
    finally:
        raw.close()
    return run


# -- comparable views ------------------------------------------------------------------------------------------
def _usage_view(usage: Any) -> dict | None:
    if usage is None:
        return None
    get = (lambda k: usage.get(k)) if isinstance(usage, dict) else (lambda k: getattr(usage, k, None))
    return {k: get(k) for k in ("input_tokens", "output_tokens", "total_tokens")}


def sdk_item_view(item: Any) -> dict:
    view: dict[str, Any] = {"id": item.id, "type": item.type}
    if item.type == "message":
        view["parts"] = [
            (c.type, c.refusal if c.type == "refusal" else c.text, [a.to_dict() for a in getattr(c, "annotations", None) or []])
            for c in item.content
        ]
        view["text"] = "".join(c.text for c in item.content if c.type == "output_text")
        view["refusal"] = "".join(c.refusal for c in item.content if c.type == "refusal")
    elif item.type == "function_call":
        view.update(name=item.name, call_id=item.call_id, arguments=item.arguments)
    elif item.type == "reasoning":
        view["summary"] = [s.text for s in item.summary or []]
    return view


def our_item_view(item: Any) -> dict:
    view: dict[str, Any] = {"id": item.id, "type": item.type}
    if item.type == "message":
        view["parts"] = [(b.kind, b.text, b.annotations) for b in item.ordered_blocks() if b.key[0] == "content"]
        view["text"] = item.text_of("output_text")
        view["refusal"] = item.text_of("refusal")
    elif item.type == "function_call":
        view.update(name=item.name, call_id=item.data.get("call_id"), arguments=item.text_of("arguments"))
    elif item.type == "reasoning":
        view["summary"] = [b.text for b in item.ordered_blocks() if b.kind == "summary_text"]
    return view


def compare_final(response: Any, state: ResponseState) -> None:
    """streamview's final state against an SDK Response object (from the terminal event)."""
    assert state.status == response.status
    assert state.id == response.id
    assert _usage_view(state.usage) == _usage_view(response.usage)
    if response.error is not None:
        assert state.error is not None
        assert (state.error.get("code"), state.error.get("message")) == (response.error.code, response.error.message)
    ours = state.ordered_items()
    assert [i.position for i in ours] == list(range(len(ours)))
    assert [our_item_view(i) for i in ours] == [sdk_item_view(i) for i in response.output]
    for mine, theirs in zip(ours, response.output):
        assert (mine.status or None) == getattr(theirs, "status", None), mine.id
    details = response.incomplete_details
    assert state.response.get("incomplete_details") == (details.to_dict() if details is not None else None)


def compare_snapshots(events: list[StreamEvent], run: SdkRun) -> None:
    """After each delta the SDK re-emitted with a snapshot, streamview's block (same event) must read the same."""
    ours = [ev for ev in events if ev.type in ("response.output_text.delta", "response.function_call_arguments.delta")]
    assert sorted(ev.seq for ev in ours) == sorted(run.snapshots), "streamview and the SDK saw different deltas"
    asm = ResponseAssembler()
    last: dict[tuple, str] = {}
    for ev in events:
        asm.feed(ev)
        snap = run.snapshots.get(ev.seq) if ev.type.endswith(".delta") else None
        if snap is None:
            continue
        key, oi, text = snap
        item = asm.state.items.get(oi)
        assert item is not None, f"seq {ev.seq}: no item at output_index {oi}"
        block = item.blocks.get(key)
        assert block is not None, f"seq {ev.seq}: no block {key} in item {oi}"
        assert block.text == text, f"seq {ev.seq}: item {oi} {key}"
        last[(oi, key)] = text
    # the final state still holds at least what the SDK last saw (nothing after the deltas may shrink it)
    final = assemble(events)
    for (oi, key), text in last.items():
        assert final.items[oi].blocks[key].text == text


def check(path: Path, events: list[StreamEvent], run: SdkRun) -> None:
    state = assemble(events)
    payloads = [ev.payload for ev in events if isinstance(ev.payload, dict)]
    types = [p.get("type") for p in payloads]
    error_events = [p for p in payloads if p.get("type") == "error"]

    # the SDK decodes the same events as streamview (up to the APIError on an `error` event)
    ours_raw = [(ev.type, ev.seq) for ev in events if ev.kind == "event"]
    if error_events:
        cut = types.index("error")
        assert run.raw == ours_raw[:cut]
        assert run.raw_error is not None and run.raw_error.body == error_events[0]["error"]
    else:
        assert run.raw == ours_raw
        assert run.raw_error is None

    compare_snapshots(events, run)

    if error_events:
        # case 3: APIError at the `error` event; the helper never yields response.failed
        err = error_events[0]["error"]
        assert run.api_error is not None, "the SDK should raise APIError on an error event"
        assert run.api_error.body == err
        assert run.api_error.message == err["message"]
        assert run.terminal is None and run.final is None
        cut = next(i for i, ev in enumerate(events) if ev.type == "error")
        at_error = assemble(events[: cut + 1])
        assert at_error.status == "failed"
        assert at_error.error == err
        assert at_error.terminal_type == "error"
        # the rest (response.failed) only streamview sees: it must not undo the failure
        assert state.status == "failed"
        assert state.usage is None
        assert state.error is not None and state.error.get("message") == err["message"]
        return

    assert run.api_error is None
    terminal_type = types[-1]
    assert terminal_type in TERMINAL
    assert run.terminal is not None and run.terminal.type == terminal_type
    assert state.terminal_type == terminal_type
    if terminal_type == "response.completed":
        # case 1: get_final_response() is the terminal event's response
        assert run.final is not None and run.final_error is None
        compare_final(run.final, state)
        compare_final(run.terminal.response, state)
    else:
        # case 2: incomplete / failed: only the yielded terminal event carries the final response
        assert run.final is None
        assert isinstance(run.final_error, RuntimeError) and "response.completed" in str(run.final_error)
        compare_final(run.terminal.response, state)


def _load(path: Path) -> list[StreamEvent]:
    with open(path, "rb") as fp:
        return read_events(fp)[0]


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=_id)
def test_assembler_agrees_with_sdk(path: Path, server: _Server, client: openai.OpenAI) -> None:
    server.transcript = path.read_bytes()
    server.requests.clear()
    run = run_sdk(client)
    method, url, body = server.requests[0]
    assert (method, url) == ("POST", "/v1/responses") and json.loads(body)["stream"] is True
    events = _load(path)
    assert events and all(ev.error is None for ev in events), [ev.error for ev in events if ev.error]
    check(path, events, run)


# -- the oracle can fail -----------------------------------------------------------------------------------------
def _drop_one(events: list[StreamEvent], type_: str, nth: int = 1) -> list[StreamEvent]:
    idx = [i for i, ev in enumerate(events) if ev.type == type_][nth]
    return events[:idx] + events[idx + 1 :]


@pytest.mark.parametrize(
    "name, dropped",
    [
        ("markdown-unicode-obfuscation.sse", "response.output_text.delta"),
        ("function-calls-parallel.sse", "response.function_call_arguments.delta"),
        ("reasoning-summary-then-message.sse", "response.reasoning_summary_text.delta"),
        ("refusal.sse", "response.refusal.delta"),
        ("failed-error-event-mid-output.sse", "response.output_text.delta"),
    ],
)
def test_oracle_detects_a_dropped_delta(name: str, dropped: str, server: _Server, client: openai.OpenAI) -> None:
    path = FIXTURES / name
    server.transcript = path.read_bytes()
    run = run_sdk(client)
    events = _load(path)
    check(path, events, run)  # the intact stream agrees
    with pytest.raises(AssertionError):
        check(path, _drop_one(events, dropped), run)


# -- the fixtures are what they claim to be ----------------------------------------------------------------------
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=_id)
def test_fixture_is_a_well_formed_stream(path: Path) -> None:
    raw = path.read_bytes().decode("utf-8")
    assert raw.endswith("\n\n") and "\r" not in raw
    blocks = raw[:-2].split("\n\n")
    payloads = []
    for seq, block in enumerate(blocks):
        lines = block.split("\n")
        assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "), block[:200]
        name, data = lines[0][7:], lines[1][6:]
        p = json.loads(data)
        assert json.dumps(p, ensure_ascii=False, separators=(",", ":")) == data  # compact, raw UTF-8
        assert p["type"] == name and p["sequence_number"] == seq
        keys = list(p)
        assert keys[:2] == ["type", "sequence_number"] or keys[1:] == sorted(keys[1:])  # 2025 or 2026 key order
        payloads.append(p)
    types = [p["type"] for p in payloads]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] in TERMINAL and sum(t in TERMINAL for t in types) == 1
    resp_id = payloads[0]["response"]["id"]
    for p in payloads:
        if "response" in p:
            assert p["response"]["id"] == resp_id
    final = payloads[-1]["response"]
    assert final["status"] == types[-1].removeprefix("response.")
    if final["status"] == "failed":
        assert final["usage"] is None and final["error"]["message"]
    else:
        u = final["usage"]
        assert u["total_tokens"] == u["input_tokens"] + u["output_tokens"]
    # item ids agree with output_index; deltas add up to the done texts (R6, R7)
    ids: dict[int, str] = {}
    deltas: dict[tuple, str] = {}
    for p in payloads:
        if p["type"] == "response.output_item.added":
            assert p["output_index"] == len(ids)
            ids[p["output_index"]] = p["item"]["id"]
        elif "item_id" in p:
            assert ids[p["output_index"]] == p["item_id"]
        if p["type"].endswith(".delta"):
            key = (p["output_index"], p.get("content_index"), p.get("summary_index"), p["type"].rsplit(".", 1)[0])
            deltas[key] = deltas.get(key, "") + p["delta"]
            if "obfuscation" in p:
                assert len(p["delta"]) + len(p["obfuscation"]) == 16 or p["obfuscation"] == ""
        elif p["type"].endswith(".done") and p["type"] != "response.output_item.done":
            key = (p["output_index"], p.get("content_index"), p.get("summary_index"), p["type"].rsplit(".", 1)[0])
            if key in deltas:
                assert deltas[key] == p.get("text", p.get("refusal", p.get("arguments")))
