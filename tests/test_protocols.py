"""Protocol sniffing and the wiring of Chat Completions and Anthropic Messages into the model and the command line:
which protocol each fixture is, forcing one, a stream of no known protocol, nothing lost before the decision,
`print`, `print --json`, `check` and `--plain` through the CLI (checked against the official SDKs' accumulators),
and time travel."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from streamview.session import Session
from streamview import protocols
from streamview.protocols import NAMES as PROTOCOLS
from streamview.protocols import SNIFF_LIMIT, Sniffer
from streamview.protocols.base import UNKNOWN

UNKNOWN_NOTE = protocols.unknown_protocol().note


def sniff(ev):
    """The name of the protocol surest of ``ev`` (None: no protocol claims it)."""
    found = protocols.sniff(ev)
    return found.name if found is not None else None
from streamview.source import read_events
from tests.conftest import EXAMPLES, FIXTURES, ROOT, SEED_O4

CHAT = FIXTURES / "chat"
ANTHROPIC = FIXTURES / "anthropic"


def events_of(source: Path | bytes):
    data = source if isinstance(source, bytes) else source.read_bytes()
    events, reader = read_events(io.BytesIO(data))
    return events, reader.meta


def model_of(source: Path | bytes, protocol: str | None = None, finish: bool = True) -> Session:
    events, meta = events_of(source)
    model = Session("test", meta=meta, protocol=protocol)
    for ev in events:
        model.add(ev)
    if finish:
        model.finish()
    return model


def cli(*args: str) -> subprocess.CompletedProcess:
    """The command line in this process (fast: no interpreter start), stdout and stderr captured as bytes."""
    from streamview.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(args, code, out.getvalue().encode(), err.getvalue().encode())


def cli_process(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY")}
    return subprocess.run([sys.executable, "-m", "streamview", *args], capture_output=True, timeout=60, env=env, cwd=ROOT)


def fixtures(folder: str) -> list[Path]:
    return sorted((FIXTURES / folder).glob("*.sse")) + sorted((FIXTURES / folder / "broken").glob("*.sse"))


# -- the official SDKs as oracles --------------------------------------------------------------------------------
def sdk_chat(path: Path):
    """The openai SDK's own Chat Completions accumulator over the transcript's chunks (up to [DONE])."""
    from openai._models import construct_type
    from openai.lib.streaming.chat._completions import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    state = ChatCompletionStreamState()
    for ev in events_of(path)[0]:
        if ev.type == "[DONE]":
            break
        if ev.kind == "event" and isinstance(ev.payload, dict):
            state.handle_chunk(construct_type(type_=ChatCompletionChunk, value=ev.payload))
    return state.current_completion_snapshot


def sdk_anthropic(path: Path):
    """The anthropic SDK's own accumulator (``accumulate_event``) over the transcript's events."""
    from anthropic._models import construct_type
    from anthropic.lib.streaming._messages import accumulate_event
    from anthropic.types import RawMessageStreamEvent

    snapshot, bufs = None, {}
    for ev in events_of(path)[0]:
        p = ev.payload
        if ev.kind == "event" and isinstance(p, dict) and p.get("type") in ("message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta"):
            snapshot = accumulate_event(event=construct_type(type_=RawMessageStreamEvent, value=p), current_snapshot=snapshot, json_bufs=bufs)
    return snapshot


# -- sniffing ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("folder", ["responses", "chat", "anthropic", "completions"])
def test_every_fixture_sniffs_as_its_protocol(folder):
    paths = fixtures(folder) + (sorted(FIXTURES.glob("broken/*.sse")) if folder == "responses" else [])
    assert len(paths) >= 8
    for path in paths:
        model = model_of(path, finish=False)
        assert model.protocol == folder, path.name  # decided from the first events, before the end of input
        assert model.state.protocol == folder, path.name
        events, _ = events_of(path)
        decided_at = next(i for i, ev in enumerate(events) if sniff(ev) is not None)
        assert decided_at <= 5, path.name
        assert sniff(events[decided_at]) == folder, path.name


def test_the_bundled_examples_sniff_as_their_protocol():
    expected = {"o4-mini-hello.sse": "responses", "gpt-4.1-nano-hello.sse": "responses", "chat-tool-calls.sse": "chat", "anthropic-thinking.sse": "anthropic", "gemini-thinking.sse": "gemini",
                "completions-two-choices.sse": "completions", "cohere-citations.sse": "cohere"}
    assert {p.name for p in EXAMPLES.glob("*.sse")} == set(expected)
    for name, protocol in expected.items():
        assert model_of(EXAMPLES / name).protocol == protocol


def _ev(data: str, event: str | None = None):
    text = (f"event: {event}\n" if event else "") + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"
    (ev,) = events_of(text.encode())[0]
    return ev


@pytest.mark.parametrize(
    "data,event,expected",
    [
        ('{"type":"response.created","sequence_number":0,"response":{}}', "response.created", "responses"),
        ('{"type":"error","code":"server_error","message":"x","sequence_number":3}', "error", "responses"),
        ('{"type":"keepalive","sequence_number":7}', "keepalive", "responses"),
        ('{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[]}', None, "chat"),
        ('{"id":"chatcmpl-1","choices":[]}', None, "chat"),  # no "object", an OpenAI id
        ('{"id":"abc","choices":[{"index":0,"delta":{"content":"x"}}]}', None, "chat"),  # a local server's chunk
        ("[DONE]", None, "chat"),
        ('{"id":"cmpl-1","object":"text_completion","choices":[{"index":0,"text":"x"}]}', None, "completions"),
        ('{"id":"chatcmpl-1","object":"text_completion","choices":[]}', None, "completions"),  # llama.cpp's id
        ('{"id":"cmpl-1","choices":[{"index":0,"text":"x","finish_reason":null}]}', None, "completions"),  # no object
        ('{"choices":[{"index":0,"text":"x"}]}', None, "completions"),
        ('{"choices":[{"index":0,"text":"x","delta":{"content":"x"}}]}', None, "chat"),  # a delta: Chat Completions
        ('{"type":"message_start","message":{}}', "message_start", "anthropic"),
        ('{"type": "ping"}', "ping", "anthropic"),
        ('{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}', "content_block_delta", "anthropic"),
        ('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', "error", None),  # any protocol's
        ('{"error":{"message":"boom"}}', None, "chat"),  # an OpenAI-compatible server's error chunk
        ('{"object":"error","message":"boom","code":400}', None, "chat"),  # vLLM's
        ('{"foo": 1}', None, None),
        ("[1, 2]", None, None),
        ("not json", None, None),
    ],
)
def test_sniff_one_event(data, event, expected):
    assert sniff(_ev(data, event)) == expected


def test_comments_and_junk_say_nothing():
    events, _ = events_of(b": keep-alive\n\nhello there\n\n")
    assert [ev.kind for ev in events] == ["comment", "junk"]
    assert [sniff(ev) for ev in events] == [None, None]
    sn = Sniffer()
    for ev in events:
        sn.feed(ev)
    assert sn.protocol is None and sn.looked == 0
    assert sn.finish().name == "responses"  # nothing readable: checked as the default protocol


def test_events_before_the_decision_are_folded_once_it_is_made():
    chunk = CHAT.joinpath("content-usage.sse").read_bytes()
    data = b": hello from a proxy\n\nthis is not sse\n\n" + chunk
    model = model_of(data, finish=False)
    events, _ = events_of(data)
    assert model.protocol == "chat"
    assert len(model.events) == len(events) and model.events[0].kind == "comment"
    expected = sdk_chat(CHAT / "content-usage.sse").choices[0].message.content
    assert model.state.text() == expected
    model.finish()
    assert [(a.rule, a.index) for a in model.anomalies] == [("bad-sse", 1)]  # the junk line, found after the decision
    assert model.state.events == len(events)


def test_the_model_waits_for_a_decision_without_losing_events():
    model = Session()
    for ev in events_of(b": a comment\n\n")[0]:
        model.add(ev)
    assert model.protocol is None
    assert model.state.protocol == "" and model.state.status == "" and model.state.items == {}
    assert model.anomalies == [] and model.checker.withdrawn == 0
    assert model.state_at(0).items == {}


def test_unknown_json_stream_is_kept_raw_with_a_note():
    lines = [json.dumps({"kind": "token", "n": i, "text": f"t{i}"}) for i in range(SNIFF_LIMIT + 2)]
    data = "".join(f"data: {line}\n\n" for line in lines).encode()
    events, _ = events_of(data)
    model = Session()
    for i, ev in enumerate(events):
        model.add(ev)
        assert model.protocol == (UNKNOWN if i >= SNIFF_LIMIT - 1 else None), i  # decided at the N-th readable event
    model.finish()
    assert model.state.protocol == UNKNOWN and model.state.note == UNKNOWN_NOTE
    assert model.state.items == {} and model.state.text() == ""
    assert [ev.payload for ev in model.events] == [json.loads(line) for line in lines]  # every event, with its JSON
    assert [(a.rule, a.severity, a.index) for a in model.anomalies] == [("unknown-protocol", "note", 0)]
    assert model.state.final()["note"] == UNKNOWN_NOTE


def test_a_short_unknown_stream_is_decided_at_the_end():
    data = b'data: {"a": 1}\n\ndata: {oops\n\n'
    model = model_of(data, finish=False)
    assert model.protocol is None
    model.finish()
    assert model.protocol == UNKNOWN
    assert [a.rule for a in model.anomalies] == ["unknown-protocol", "bad-json"]


def test_forced_protocol_is_used_whatever_the_events_say():
    path = ANTHROPIC / "text-usage.sse"
    forced = model_of(path, protocol="chat")
    assert forced.protocol == "chat" and forced.state.protocol == "chat"
    assert forced.state.text() == ""  # anthropic events are not chunks
    assert forced.state.terminal_event is None
    assert "no-done" in {a.rule for a in forced.anomalies}
    with pytest.raises(ValueError):
        Session(protocol="grpc")


def test_deltas_are_counted_for_every_protocol():
    for path, protocol in ((CHAT / "tool-calls-parallel.sse", "chat"), (ANTHROPIC / "tool-use-ping.sse", "anthropic"), (SEED_O4, "responses")):
        model = model_of(path)
        events, _ = events_of(path)
        if protocol == "chat":
            expected = [i for i, ev in enumerate(events) if isinstance(ev.payload, dict) and any(
                (c.get("delta") or {}).get("content") or any((t.get("function") or {}).get("arguments") for t in (c.get("delta") or {}).get("tool_calls") or [])
                for c in ev.payload.get("choices") or [])]
        elif protocol == "anthropic":
            expected = [i for i, ev in enumerate(events) if ev.name == "content_block_delta"]
        else:
            expected = [i for i, ev in enumerate(events) if ev.type.endswith(".delta")]
        assert expected, path
        assert model.delta_count == len(expected), path
        assert model.first_delta is events[expected[0]] or model.first_delta.index == expected[0]
        assert [i for i in range(len(model.events)) if model.is_delta(i)] == expected


# -- time travel -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [CHAT / "tool-calls-parallel.sse", CHAT / "n2-interleaved.sse", ANTHROPIC / "thinking-signature-text.sse", ANTHROPIC / "tool-use-ping.sse"], ids=lambda p: p.name)
def test_state_at_is_the_state_after_that_event(path):
    model = model_of(path)
    events, _ = events_of(path)
    protocol = model.protocol
    final_text = model.state.text()
    for i in range(len(events)):
        st = model.state_at(i)
        assert st.protocol == protocol and st.events == i + 1
        # an independent fold of the same payloads: what each block holds after event i
        pieces: dict[tuple, str] = {}
        for ev in events[: i + 1]:
            p = ev.payload
            if not isinstance(p, dict):
                continue
            if protocol == "chat":
                for c in p.get("choices") or []:
                    d = c.get("delta") or {}
                    if d.get("content"):
                        pieces[("content", c["index"])] = pieces.get(("content", c["index"]), "") + d["content"]
                    for t in d.get("tool_calls") or []:
                        args = (t.get("function") or {}).get("arguments") or ""
                        pieces[("tool", c["index"], t["index"])] = pieces.get(("tool", c["index"], t["index"]), "") + args
            elif p.get("type") == "content_block_delta":
                d = p["delta"]
                text = d.get("text") or d.get("thinking") or d.get("partial_json") or ""
                pieces[("block", p["index"])] = pieces.get(("block", p["index"]), "") + text
        built = sorted(b.text for item in st.items.values() for b in item.blocks.values() if b.text)
        assert built == sorted(v for v in pieces.values() if v), i
    assert model.state_at(len(events) - 1).text() == final_text
    assert model.state.text() == final_text  # time travel leaves the live state alone


# -- the command line ----------------------------------------------------------------------------------------------
def test_print_chat_text_and_json_agree_with_the_openai_sdk():
    for path in (CHAT / "content-usage.sse", CHAT / "tool-calls-parallel.sse", CHAT / "refusal.sse"):
        snap = sdk_chat(path)
        msg = snap.choices[0].message
        out = cli("print", str(path))
        assert out.returncode == 0, out.stderr
        assert out.stderr == b""
        if msg.content:
            expected = msg.content
        elif msg.refusal:
            expected = f"[refusal] {msg.refusal}"
        else:
            expected = "\n\n".join(f"[function_call {t.function.name}] {t.function.arguments}" for t in msg.tool_calls)
        assert out.stdout.decode() == expected + "\n", path.name
        out = cli("print", "--json", str(path))
        assert out.returncode == 0
        data = json.loads(out.stdout)
        assert data["protocol"] == "chat" and data["status"] == "completed"
        assert (data["id"], data["model"], data["system_fingerprint"]) == (snap.id, snap.model, snap.system_fingerprint)
        assert data["usage"] == (snap.usage.model_dump(exclude_unset=True) if snap.usage else None)
        choice = data["choices"][0]
        assert choice["finish_reason"] == snap.choices[0].finish_reason
        assert choice["content"] == msg.content and choice["refusal"] == msg.refusal
        assert [(t["id"], t["name"], t["arguments"]) for t in choice["tool_calls"]] == [
            (t.id, t.function.name, t.function.arguments) for t in msg.tool_calls or []]
        assert data["events"] == len(events_of(path)[0]) and data["problems"] == []


def test_print_anthropic_text_and_json_agree_with_the_anthropic_sdk():
    for path in (ANTHROPIC / "text-usage.sse", ANTHROPIC / "max-tokens.sse", ANTHROPIC / "parallel-tool-uses.sse"):
        snap = sdk_anthropic(path)
        out = cli("print", str(path))
        assert out.returncode == 0, out.stderr
        parts, prev_text = [], False
        for block in snap.content:
            if block.type == "text":
                parts.append(block.text if prev_text else ("\n\n" if parts else "") + block.text)
                prev_text = True
            elif block.type == "tool_use" and block.input:
                parts.append(("\n\n" if parts else "") + f"[tool_use {block.name}] " + json.dumps(block.input, ensure_ascii=False))
                prev_text = False
        assert out.stdout.decode() == "".join(parts) + "\n", path.name
        data = json.loads(cli("print", "--json", str(path)).stdout)
        assert data["protocol"] == "anthropic"
        assert (data["id"], data["model"], data["stop_reason"], data["stop_sequence"]) == (snap.id, snap.model, snap.stop_reason, snap.stop_sequence)
        assert data["usage"]["output_tokens"] == snap.usage.output_tokens and data["usage"]["input_tokens"] == snap.usage.input_tokens
        assert data["status"] == ("incomplete" if snap.stop_reason == "max_tokens" else "completed")


def test_print_failed_streams_exit_1_with_the_servers_words():
    out = cli_process("print", str(CHAT / "error-mid-stream.sse"))
    assert out.returncode == 1
    assert out.stderr.decode().strip().startswith("streamview: stream failed: server_error The server had an error")
    out = cli("print", str(ANTHROPIC / "error-overloaded.sse"))
    assert out.returncode == 1
    assert out.stderr.decode().strip() == "streamview: message failed: overloaded_error Overloaded"
    out = cli("print", str(CHAT / "broken" / "no-done.sse"))
    assert out.returncode == 1
    assert out.stderr.decode().strip() == "streamview: stream ended without a terminal event (data: [DONE] or an error)"


def test_check_uses_each_protocols_checker():
    good = [CHAT / "content-usage.sse", ANTHROPIC / "tool-use-ping.sse"]
    out = cli("check", *map(str, good))
    assert out.returncode == 0, out.stdout
    counts = [len(events_of(p)[0]) for p in good]
    assert out.stdout.decode().splitlines() == [
        f"{good[0]}: ok in {counts[0]} events (Chat Completions)",
        f"{good[1]}: ok in {counts[1]} events (Anthropic Messages)",
        "2 files: 0 error(s), 0 note(s)",
    ]
    for path, rule in ((CHAT / "broken" / "no-done.sse", "no-done"), (ANTHROPIC / "broken" / "no-message-stop.sse", "no-message-stop"),
                       (ANTHROPIC / "broken" / "delta-type-mismatch.sse", "delta-type-mismatch")):
        out = cli("check", str(path))
        assert out.returncode == 1, path
        lines = out.stdout.decode().splitlines()
        assert len(lines) == 2 and f"error {rule}: " in lines[0], lines
        report = json.loads(cli("check", "--json", str(path)).stdout)
        assert [(a["rule"], a["protocol"]) for a in report] == [(rule, path.parent.parent.name)]


def test_check_and_print_can_force_a_protocol():
    path = CHAT / "content-usage.sse"
    out = cli("check", "--protocol", "anthropic", str(path))
    assert out.returncode == 1
    assert "(Anthropic Messages)" in out.stdout.decode().splitlines()[-1]
    out = cli("print", "--protocol", "responses", str(path))
    assert out.returncode == 1 and out.stdout == b""
    out = cli("print", "--protocol", "chat", str(path))
    assert out.returncode == 0 and out.stdout.decode() == sdk_chat(path).choices[0].message.content + "\n"
    assert cli("print", "--protocol", "grpc", str(path)).returncode == 2


def test_unknown_protocol_through_the_cli(tmp_path):
    path = tmp_path / "other.sse"
    path.write_text("".join(f'data: {{"token": "t{i}"}}\n\n' for i in range(7)))
    out = cli("print", str(path))
    assert out.returncode == 2 and out.stdout == b""
    assert out.stderr.decode().strip() == f"streamview: unknown protocol: 7 events, none of them {protocols.titles()} events; nothing assembled (--protocol forces one)"
    data = json.loads(cli("print", "--json", str(path)).stdout)
    assert data["protocol"] == "unknown" and data["note"] == UNKNOWN_NOTE and data["events"] == 7
    out = cli("check", str(path))
    assert out.returncode == 2
    assert out.stdout.decode().splitlines() == [f"{path}: #0 seq -  note unknown-protocol: {UNKNOWN_NOTE}", f"{path}: not checked (unknown protocol) in 7 events (unknown protocol)"]
    out = cli("replay", "--plain", "--instant", str(path))
    assert out.returncode == 2 and out.stdout == b""
    assert f"unknown protocol: 7 events, none of them {protocols.titles()} events; nothing assembled" in out.stderr.decode()


LAID_OUT_LATE = {"delta-before-start.sse", "delta-type-mismatch.sse"}  # broken Anthropic streams


def _words(out: bytes) -> list[str]:
    return sorted(w for w in out.decode().split() if not w.startswith("[") and not w.endswith("]"))


@pytest.mark.parametrize("path", fixtures("chat") + fixtures("anthropic"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_plain_streams_what_print_prints(path):
    printed = cli("print", str(path))
    out = cli("replay", "--plain", "--instant", str(path))
    if path.name in LAID_OUT_LATE:
        # text streamed before its block said what it is: the same text, a label or an order print knows only later
        assert out.stdout != printed.stdout
        assert _words(out.stdout) == _words(printed.stdout)
    else:
        assert out.stdout == printed.stdout
    assert out.returncode == printed.returncode or (printed.returncode == 2 and out.returncode == 1)
    summary = out.stderr.decode().strip().splitlines()[-1]
    assert summary.startswith("streamview: ") and f" · {path.parent.name if path.parent.name != 'broken' else path.parent.parent.name} · " in summary
    assert f"{len(events_of(path)[0])} events" in summary


def test_plain_summary_has_the_usage_and_stop_reason():
    snap = sdk_anthropic(ANTHROPIC / "prompt-cache-stop-sequence.sse")
    out = cli("replay", "--plain", "--instant", str(ANTHROPIC / "prompt-cache-stop-sequence.sse"))
    u = snap.usage
    total = u.input_tokens + (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0) + u.output_tokens
    assert f"{u.input_tokens} in / {u.output_tokens} out / {total} total · stop {snap.stop_reason}" in out.stderr.decode()
    snap = sdk_chat(CHAT / "content-usage.sse")
    out = cli("replay", "--plain", "--instant", str(CHAT / "content-usage.sse"))
    assert f"completed · {snap.model} · chat · {snap.usage.prompt_tokens} in / {snap.usage.completion_tokens} out / {snap.usage.total_tokens} total" in out.stderr.decode()


def test_plain_keeps_interleaved_choices_apart():
    """n=2: the deltas of the two choices interleave on the wire; the output is one choice after the other."""
    path = CHAT / "n2-interleaved.sse"
    snap = sdk_chat(path)
    events, _ = events_of(path)
    first = [ev.payload["choices"][0]["index"] for ev in events if isinstance(ev.payload, dict) and ev.payload.get("choices") and ev.payload["choices"][0]["delta"].get("content")]
    assert len(set(first[:4])) == 2  # they do interleave
    out = cli("replay", "--plain", "--instant", str(path))
    assert out.stdout.decode() == "\n\n".join(c.message.content for c in sorted(snap.choices, key=lambda c: c.index)) + "\n"


def test_demo_plays_the_new_examples():
    for name, protocol in (("chat-tool-calls", "chat"), ("anthropic-thinking", "anthropic"), ("gemini-thinking", "gemini"),
                           ("completions-two-choices", "completions"), ("cohere-citations", "cohere")):
        out = cli("demo", name, "--plain", "--instant")
        assert out.returncode == 0, out.stderr
        assert out.stdout == cli("print", str(EXAMPLES / f"{name}.sse")).stdout != b""
        assert f" · {protocol} · " in out.stderr.decode()


def test_protocol_names_agree():
    from streamview.cli import build_parser

    assert [p.name for p in protocols.with_live()] == list(PROTOCOLS)
    help_text = build_parser().format_help()
    assert "live" in help_text


# -- the panes -----------------------------------------------------------------------------------------------------
def shows(text: str, label: str, value: str) -> bool:
    """A response-pane row: the label, the column's padding, the value."""
    return re.search(re.escape(label) + r" +" + re.escape(value), text) is not None


@pytest.mark.parametrize("name", ["chat-tool-calls", "anthropic-thinking", "gemini-thinking", "completions-two-choices", "cohere-citations"])
async def test_the_panes_show_each_protocols_metadata(name):
    from tests.conftest import make_app, screen_text, wait_until

    path = EXAMPLES / f"{name}.sse"
    data = json.loads(cli("print", "--json", str(path)).stdout)
    app = make_app(path, label=name, instant=True)
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_until(pilot, lambda: app.player.finished and app.model.finished)
        await pilot.pause(0.3)  # the metadata pane redraws counts at most 4 times a second
        text = screen_text(app)
    assert app.model.protocol == data["protocol"]
    assert data["id"][:25] in text and (data["model"] or "")[:25] in text and data["status"] in text  # a long id or model wraps; Cohere names none
    if data["protocol"] == "chat":
        assert "Chat Completions" in text and data["system_fingerprint"] in text
        assert shows(text, "finish", f"{data['choices'][0]['finish_reason']}")
        usage = data["usage"]
        assert shows(text, "input", f"{usage['prompt_tokens']}") and shows(text, "total", f"{usage['total_tokens']}")
        for call in data["choices"][0]["tool_calls"]:
            assert call["name"] in text
    elif data["protocol"] == "cohere":  # its stream names no model
        assert "Cohere Chat v2" in text and shows(text, "finish", data["finish_reason"])
        assert shows(text, "input", f"{data['usage']['input_tokens']}") and shows(text, "total", f"{data['usage']['total_tokens']}")
    elif data["protocol"] == "gemini":
        assert "Google Gemini" in text and "STOP" in text
        assert shows(text, "total", f"{data['usage']['total_tokens']}")
    elif data["protocol"] == "completions":
        assert "Legacy Completions" in text
        for choice in data["choices"]:
            assert shows(text, f"choice {choice['index']}", choice["finish_reason"])
            assert shows(text, f"logprobs {choice['index']}", f"{choice['logprobs']['tokens']} tokens, mean {choice['logprobs']['mean_logprob']:.3f}")
        usage = data["usage"]
        assert shows(text, "input", f"{usage['prompt_tokens']}") and shows(text, "total", f"{usage['total_tokens']}")
        assert "── completion [stop] choice 0" in text and "── completion [stop] choice 1" in text
    else:
        assert "Anthropic Messages" in text
        assert shows(text, "stop", f"{data['stop_reason']}")
        assert shows(text, "pings", f"{data['pings']} (keep-alives)")
        assert shows(text, "output", f"{data['usage']['output_tokens']}")
        assert "17 × 23 = **391**" in text or "17 × 23 = 391" in text
