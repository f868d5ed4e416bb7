"""Chat Completions streams (streamview/chat.py): the assembler against the official ``openai`` SDK, the checker's
rules (one broken fixture per rule, the valid fixtures clean, byte-chunked input), and unreadable input.

The differential oracle is the SDK's own accumulator, two ways:

- chunk by chunk: every data payload becomes a ``ChatCompletionChunk`` (built as the SDK builds it,
  ``construct_type``) and goes to ``ChatCompletionStreamState.handle_chunk``; after each chunk the SDK's snapshot
  (content, refusal, tool-call arguments of every choice) must equal what streamview assembled from the same event,
  and at the end ``get_final_completion()`` must agree on content, refusal, tool calls (id, type, name, arguments),
  finish_reason, usage, system_fingerprint, id, model, created and logprobs;
- end to end: ``client.chat.completions.stream(...)`` reads the fixture's bytes through the SDK's own HTTP and SSE
  path (an in-process transport, no socket), so its SSE decoding and its ``error`` handling are compared too.

As the SDK's stream does, the chunk-by-chunk fold stops at ``[DONE]``, skips chunks whose ``object`` is not
``chat.completion.chunk`` (Azure's prompt-filter chunk) and stops at an ``error`` object (it raises ``APIError``).
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import httpx2
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from openai._models import construct_type
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from streamview.protocols.chat.assemble import ChatAssembler, ChatState, assemble
from streamview.protocols.chat.check import RULES, ChatChecker, check_events
from streamview.checks import ERROR, NOTE
from streamview.source import EventReader, read_events
from tests.fixtures.chat import make_chat_fixtures

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "chat"
VALID = sorted(FIXTURES.glob("*.sse"))
# the fixtures the SDK reads as sent; content-parts (Mistral's typed content parts) it cannot: accumulate_delta drops
# a list delta added to a str content, so tests/test_chat_items.py compares it with the parts fed as strings
SDK_AS_SENT = [p for p in VALID if p.stem != "content-parts"]
BROKEN = FIXTURES / "broken"


def events_of(source: Path | bytes | str):
    if isinstance(source, Path):
        return read_events(open(source, "rb"))[0]
    if isinstance(source, str):
        source = source.encode()
    return read_events(io.BytesIO(source))[0]


def chunk_frame(**fields) -> str:
    return "data: " + json.dumps(fields, separators=(",", ":")) + "\n\n"


def chunk(content=None, index=0, finish=None, cid="chatcmpl-x", model="m", **delta) -> str:
    if content is not None:
        delta["content"] = content
    return chunk_frame(id=cid, object="chat.completion.chunk", created=1, model=model,
                       choices=[{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}])


DONE = "data: [DONE]\n\n"


# -- the fixtures on disk ------------------------------------------------------------------------------------------
def test_fixtures_are_what_the_generator_writes():
    rendered = make_chat_fixtures.render()
    on_disk = set(FIXTURES.glob("*.sse")) | set(BROKEN.glob("*.sse"))
    assert set(rendered) == on_disk
    for path, text in rendered.items():
        assert path.read_bytes() == text.encode("utf-8"), f"{path.name}: run tests/fixtures/chat/make_chat_fixtures.py"


def test_fixtures_are_data_only_sse_ending_in_done():
    for path in VALID + sorted(BROKEN.glob("*.sse")):
        raw = path.read_bytes()
        assert b"event:" not in raw and b"\r" not in raw, path.name
        frames = raw.decode().split("\n\n")
        assert frames[-1] == "", path.name  # every frame ends with its blank line
    for path in VALID:
        raw = path.read_bytes()
        assert raw.endswith(b"data: [DONE]\n\n") or path.stem == "error-mid-stream", path.name
        assert all(f.startswith("data: ") for f in raw.decode().split("\n\n")[:-1]), path.name


# -- the differential test against the SDK's accumulator ------------------------------------------------------------
def _lp_summary(tokens) -> tuple:
    """What streamview's logprobs summary says, computed from the SDK's full list."""
    if not tokens:
        return (0, None, [])
    values = [t.logprob for t in tokens]
    return (len(tokens), round(sum(values) / len(values), 6), [(t.token, t.logprob) for t in tokens[-5:]])


def differences(events, drop: int | None = None) -> list[str]:
    """Every disagreement between streamview and the SDK's ``ChatCompletionStreamState`` on ``events``. With
    ``drop``, streamview never sees event ``drop`` (the SDK does): a mutation the comparison must notice."""
    asm = ChatAssembler()
    sdk = ChatCompletionStreamState()
    diffs: list[str] = []
    sdk_error = None
    handled = 0
    for ev in events:
        if ev.index != drop:
            asm.feed(ev)
        if ev.kind != "event":
            continue
        if ev.type == "[DONE]":
            break  # the SDK stops reading at [DONE]
        p = ev.payload
        if isinstance(p, dict) and p.get("error"):
            sdk_error = p["error"]  # the SDK raises APIError here
            break
        c = construct_type(type_=ChatCompletionChunk, value=p)
        if c.object != "chat.completion.chunk":
            continue  # the SDK's stream skips these (Azure's content-filter chunks)
        sdk.handle_chunk(c)
        handled += 1
        for sc in sdk.current_completion_snapshot.choices:
            ours = asm.state.choices.get(sc.index)
            got = (ours.content or "", ours.refusal or "", [t["arguments"] for t in ours.tool_calls()]) if ours else ("", "", [])
            want = (sc.message.content or "", sc.message.refusal or "", [t.function.arguments for t in sc.message.tool_calls or []])
            if got != want:
                diffs.append(f"after event #{ev.index}, choice {sc.index}: streamview {got!r} vs SDK {want!r}")
    st = asm.state
    if sdk_error is not None:
        if st.status != "failed" or st.error != sdk_error:
            diffs.append(f"error: streamview {st.status} {st.error!r} vs SDK APIError {sdk_error!r}")
        return diffs
    if not handled:
        return diffs + ["the SDK saw no chunk"]
    final = _final_completion(sdk.get_final_completion)
    ours_final = st.final()
    for key, want in (("id", final.id), ("model", final.model), ("created", final.created),
                      ("system_fingerprint", final.system_fingerprint),
                      ("usage", final.usage.to_dict() if final.usage is not None else None)):
        if ours_final[key] != want:
            diffs.append(f"{key}: streamview {ours_final[key]!r} vs SDK {want!r}")
    ours_choices = {c["index"]: c for c in ours_final["choices"]}
    if sorted(ours_choices) != sorted(c.index for c in final.choices):
        diffs.append(f"choices: streamview {sorted(ours_choices)} vs SDK {[c.index for c in final.choices]}")
    for fc in final.choices:
        oc = ours_choices.get(fc.index, {})
        want = {
            "content": fc.message.content,
            "refusal": fc.message.refusal,
            "finish_reason": fc.finish_reason,
            "tool_calls": [(t.id, t.type, t.function.name, t.function.arguments) for t in fc.message.tool_calls or []],
            "logprobs": _lp_summary(fc.logprobs.content if fc.logprobs else None),
        }
        lp = oc.get("logprobs") or {"content_tokens": 0, "mean_logprob": None, "last": []}
        got = {
            "content": oc.get("content"),
            "refusal": oc.get("refusal"),
            "finish_reason": oc.get("finish_reason"),
            "tool_calls": [(t["id"], t["type"], t["name"], t["arguments"]) for t in oc.get("tool_calls", [])],
            "logprobs": (lp["content_tokens"], lp["mean_logprob"], [(t["token"], t["logprob"]) for t in lp["last"]]),
        }
        for key in want:
            if got[key] != want[key]:
                diffs.append(f"choice {fc.index} {key}: streamview {got[key]!r} vs SDK {want[key]!r}")
    return diffs


def _final_completion(get):
    """The SDK's final completion; for ``finish_reason: length`` (or ``content_filter``) ``get_final_completion``
    raises, carrying the completion it accumulated."""
    try:
        return get()
    except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
        assert exc.completion is not None
        return exc.completion


@pytest.mark.parametrize("path", SDK_AS_SENT, ids=lambda p: p.stem)
def test_agrees_with_sdk_chunk_by_chunk(path):
    assert differences(events_of(path)) == []


def test_dropping_a_delta_is_noticed():
    """The comparison can fail: streamview missing one content chunk (or one argument fragment) disagrees."""
    events = events_of(FIXTURES / "content-usage.sse")
    assert differences(events) == []
    diffs = differences(events, drop=4)  # " can"
    assert diffs and "after event #4" in diffs[0] and any(d.startswith("choice 0 content") for d in diffs)
    events = events_of(FIXTURES / "tool-calls-parallel.sse")
    diffs = differences(events, drop=12)  # the second call's second fragment
    assert any("choice 0 tool_calls" in d for d in diffs)


def _sdk_stream(data: bytes):
    def handler(request):
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=data)

    client = openai.OpenAI(api_key="test-key", base_url="http://chat.invalid/v1", max_retries=0,
                           http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    return client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("path", SDK_AS_SENT, ids=lambda p: p.stem)
def test_agrees_with_sdk_end_to_end(path):
    """The SDK reads the same bytes through its own HTTP and SSE decoding: same final message, or the same error."""
    st = assemble(events_of(path))
    try:
        with _sdk_stream(path.read_bytes()) as stream:
            for _ in stream:
                pass
            final = _final_completion(stream.get_final_completion)
    except openai.APIError as exc:
        assert st.status == "failed" and st.error == exc.body and st.error["message"] == exc.message
        return
    assert st.status in ("completed", "incomplete")
    ours = {c["index"]: c for c in st.final()["choices"]}
    assert sorted(ours) == sorted(c.index for c in final.choices)
    for c in final.choices:
        assert ours[c.index]["content"] == c.message.content
        assert ours[c.index]["refusal"] == c.message.refusal
        assert ours[c.index]["finish_reason"] == c.finish_reason
        assert [(t["id"], t["name"], t["arguments"]) for t in ours[c.index]["tool_calls"]] == \
            [(t.id, t.function.name, t.function.arguments) for t in c.message.tool_calls or []]
    assert st.chat_usage == (final.usage.to_dict() if final.usage else None)


# -- the assembled state ----------------------------------------------------------------------------------------
def _payloads(path: Path) -> list[dict]:
    return [json.loads(f[len("data: "):]) for f in path.read_text(encoding="utf-8").split("\n\n") if f.startswith("data: {")]


def test_usage_is_normalised_for_the_panes_and_kept_as_sent():
    path = FIXTURES / "content-usage.sse"
    sent = [p["usage"] for p in _payloads(path) if p.get("usage")]
    assert len(sent) == 1
    st = assemble(events_of(path))
    u = sent[0]
    assert st.chat_usage == u and st.final()["usage"] == u
    assert st.usage["input_tokens"] == u["prompt_tokens"] and st.usage["output_tokens"] == u["completion_tokens"]
    assert st.usage["total_tokens"] == u["total_tokens"]
    assert st.usage["input_tokens_details"] == u["prompt_tokens_details"]
    assert st.usage["output_tokens_details"] == u["completion_tokens_details"]
    assert st.final()["usage_normalized"] == st.usage
    # a later "usage": null does not erase it; a later usage replaces it (last wins)
    frames = path.read_text(encoding="utf-8")
    later = {**u, "completion_tokens": u["completion_tokens"] + 5}
    st2 = assemble(events_of(frames.replace(DONE, "") + chunk("") + chunk_frame(id="chatcmpl-x", object="chat.completion.chunk", choices=[], usage=later) + DONE))
    assert st2.chat_usage == later and st2.usage["output_tokens"] == later["completion_tokens"]


def test_metadata_status_and_terminal():
    path = FIXTURES / "content-usage.sse"
    first = _payloads(path)[0]
    events = events_of(path)
    asm = ChatAssembler()
    asm.feed(events[0])
    assert asm.state.status == "in_progress" and asm.state.terminal_event is None
    for ev in events[1:]:
        asm.feed(ev)
    st = asm.state
    assert isinstance(st, ChatState) and st.protocol == "chat"
    assert (st.id, st.model) == (first["id"], first["model"])
    for key in ("created", "system_fingerprint", "service_tier"):
        assert st.response[key] == first[key]
    assert st.response["created_at"] == first["created"]  # the key the metadata pane formats as a time
    assert st.status == "completed" and st.terminal_type == "[DONE]" and st.terminal_event == events[-1].index
    assert st.final()["protocol"] == "chat" and json.dumps(st.final())


def test_length_finish_is_incomplete():
    st = assemble(events_of(FIXTURES / "finish-length.sse"))
    assert st.status == "incomplete" and st.response["incomplete_details"] == {"reason": "length"}
    (item,) = st.ordered_items()
    assert item.status == "length" and item.data["finish_reason"] == "length"
    filtered = assemble(events_of(chunk("Hi", role="assistant") + chunk(finish="content_filter") + DONE))
    assert filtered.status == "incomplete" and filtered.response["incomplete_details"] == {"reason": "content_filter"}


def test_items_per_choice_and_tool_call():
    st = assemble(events_of(FIXTURES / "n2-interleaved.sse"))
    items = st.ordered_items()
    assert [(i.type, i.data["choice"], i.id) for i in items] == [("message", 0, "choice 0"), ("message", 1, "choice 1")]
    # output indexes follow first appearance (choice 1's text came first), the display groups by choice
    assert [i.position for i in items] == [1, 0]
    assert all(i.status == "stop" for i in items)
    texts = {c: "".join(ch["delta"].get("content", "") for p in _payloads(FIXTURES / "n2-interleaved.sse") for ch in p["choices"] if ch["index"] == c) for c in (0, 1)}
    assert [i.text_of("output_text") for i in items] == [texts[0], texts[1]]
    assert st.text() == texts[0] + "\n\n" + texts[1]

    st = assemble(events_of(FIXTURES / "tool-calls-parallel.sse"))
    calls = st.ordered_items()
    assert [i.type for i in calls] == ["function_call", "function_call"]
    assert [i.name for i in calls] == ["get_weather", "get_time"]
    assert all(i.id == i.data["call_id"] and i.id.startswith("call_") for i in calls)
    assert all(i.status == "tool_calls" and i.done_event is not None for i in calls)
    assert st.text() == "\n\n".join(f"[function_call {i.name}] {i.text_of('arguments')}" for i in calls)
    assert st.final()["choices"][0]["content"] is None  # content: null throughout, as the SDK's message says


def test_refusal_and_reasoning_blocks():
    st = assemble(events_of(FIXTURES / "refusal.sse"))
    (item,) = st.ordered_items()
    assert [b.kind for b in item.ordered_blocks()] == ["refusal"]
    assert st.text() == "[refusal] " + st.choices[0].refusal

    path = FIXTURES / "reasoning-content.sse"
    payloads = _payloads(path)
    reasoning = "".join(c["delta"].get("reasoning_content", "") for p in payloads for c in p["choices"])
    content = "".join(c["delta"].get("content", "") for p in payloads for c in p["choices"])
    st = assemble(events_of(path))
    items = st.ordered_items()
    assert [i.type for i in items] == ["reasoning", "message"]
    assert items[0].text_of("reasoning_text") == reasoning and items[1].text_of("output_text") == content
    assert st.final()["choices"][0]["reasoning"] == reasoning


def test_error_mid_stream_fails_the_stream():
    path = FIXTURES / "error-mid-stream.sse"
    err = _payloads(path)[-1]["error"]
    st = assemble(events_of(path))
    assert st.status == "failed" and st.error == err and st.terminal_type == "error"
    assert st.ordered_items()[0].status == "no finish_reason"
    assert check_events(events_of(path)) == []  # a failure, shown as such, not a checker anomaly
    # vLLM's error shape, then its [DONE]: still failed
    st = assemble(events_of(chunk("Hi") + chunk_frame(object="error", message="boom", type="BadRequestError", code=400) + DONE))
    assert st.status == "failed" and st.error["message"] == "boom" and st.terminal_type == "[DONE]"


def test_state_is_built_incrementally_and_deltas_are_tracked():
    events = events_of(FIXTURES / "content-usage.sse")
    asm = ChatAssembler()
    structure = []
    for ev in events:
        asm.feed(ev)
        structure.append(asm.state.structure)
    st = asm.state
    block = st.ordered_items()[0].blocks[("content",)]
    assert st.first_delta_event == 1 and block.first_event == 1 and block.last_event == 9
    assert st.last_delta == (st.ordered_items()[0], block)
    assert len(block.chunks) == 9  # the role chunk's "" is not a chunk
    # the pane rebuilds on structure: it moves when the item appears and when it finishes, not per delta
    assert structure[2:9] == [structure[2]] * 7 and structure[10] > structure[9]


# -- the checker ------------------------------------------------------------------------------------------------
EXPECTED = {  # rule -> the event index of its one anomaly (see make_chat_fixtures.py)
    "after-done": 13,
    "no-done": 11,
    "tool-call-no-id": 10,
    "mixed-ids": 5,
    "no-finish-reason": 11,
    "bad-sse": 4,
    "bad-json": 3,
    "unknown-event": 6,
}


def test_every_rule_has_a_broken_fixture():
    assert set(EXPECTED) == set(RULES)
    assert sorted(p.stem for p in BROKEN.glob("*.sse")) == sorted(RULES)


@pytest.mark.parametrize("rule", RULES)
def test_broken_fixture_triggers_exactly_its_rule(rule):
    anomalies = check_events(events_of(BROKEN / f"{rule}.sse"))
    assert [(a.rule, a.index) for a in anomalies] == [(rule, EXPECTED[rule])], [(a.rule, a.index, a.message) for a in anomalies]
    # notes: a new event type; a server that varies chunk ids (issue 12: Groq); a finish_reason left out of a stream
    # that did end with [DONE] (issue 12: Snowflake)
    assert anomalies[0].severity == (NOTE if rule in ("unknown-event", "mixed-ids", "no-finish-reason") else ERROR)
    assert anomalies[0].message


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_fixtures_are_clean(path):
    assert [(a.rule, a.index, a.message) for a in check_events(events_of(path))] == []


def _fold_in_chunks(data: bytes, size: int):
    reader = EventReader()
    asm, checker = ChatAssembler(), ChatChecker()
    events = []
    for i in range(0, len(data), size):
        for ev in reader.feed(data[i : i + size]):
            events.append(ev)
            asm.feed(ev)
            checker.feed(ev, asm.state)
    for ev in reader.finish():
        events.append(ev)
        asm.feed(ev)
        checker.feed(ev, asm.state)
    checker.finish(events)
    return [(a.rule, a.index, a.message, a.severity) for a in checker.anomalies], asm.state.final()


@pytest.mark.parametrize("path", VALID + sorted(BROKEN.glob("*.sse")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_small_byte_chunks_give_the_same_result(path):
    data = path.read_bytes()
    whole = [(a.rule, a.index, a.message, a.severity) for a in check_events(events_of(path))]
    final = assemble(events_of(path)).final()
    for size in (1, 3, 64):
        assert _fold_in_chunks(data, size) == (whole, final), size


def rules_of(text: str) -> list[tuple[str, int]]:
    return [(a.rule, a.index) for a in check_events(events_of(text))]


def test_no_cascades():
    # cut mid-stream: no [DONE] and no finish_reason are one fault, reported once as no-done
    assert rules_of(chunk("Hel", role="assistant") + chunk("lo")) == [("no-done", 1)]
    # a second [DONE], and chunks after [DONE]: after-done for each, and no other rule looks at them
    assert rules_of(chunk("Hi") + chunk(finish="stop") + DONE + chunk("x", cid="chatcmpl-other") + DONE) == [("after-done", 3), ("after-done", 4)]
    # mixed ids: one note a stream for the ids however many there are, one for a model change
    text = chunk("a") + chunk("b", cid="chatcmpl-y") + chunk("c", cid="chatcmpl-y") + chunk("d", cid="chatcmpl-z", model="m2") + chunk(finish="stop") + DONE
    found = check_events(events_of(text))
    assert [(a.rule, a.index, a.severity) for a in found] == [("mixed-ids", 1, NOTE), ("mixed-ids", 3, NOTE)]
    assert "'m2'" in found[1].message
    # a tool call reported once, at its first fragment, even when later fragments lack the id as usual
    text = chunk(tool_calls=[{"index": 0, "id": "call_1", "type": "function", "function": {"arguments": ""}}]) \
        + chunk(tool_calls=[{"index": 0, "function": {"arguments": "{}"}}]) + chunk(finish="tool_calls") + DONE
    found = check_events(events_of(text))
    assert [(a.rule, a.index) for a in found] == [("tool-call-no-id", 0)] and "function.name" in found[0].message
    assert found[0].position == 0 and found[0].item_id == "call_1"


def test_no_finish_reason_names_each_open_choice():
    text = chunk("a", index=0) + chunk("b", index=1) + chunk(index=0, finish="stop") + DONE
    found = check_events(events_of(text))
    assert [(a.rule, a.index) for a in found] == [("no-finish-reason", 3)] and "choice 1" in found[0].message


def test_unreadable_and_foreign_input():
    # a [DONE] cut off at the end of input: bad-sse, and it still ends the stream (no no-done)
    assert rules_of(chunk("Hi") + chunk(finish="stop") + "data: [DONE]") == [("bad-sse", 2)]
    # a named event, JSON that is not an object, a chat.completion object: notes
    named = chunk("Hi").replace("data: ", "event: delta\ndata: ", 1)
    found = check_events(events_of(named + 'data: 42\n\n' + chunk_frame(object="chat.completion", choices=[]) + chunk(finish="stop") + DONE))
    assert [(a.rule, a.index, a.severity) for a in found] == [("unknown-event", 0, NOTE), ("unknown-event", 1, NOTE), ("unknown-event", 2, NOTE)]
    assert "named event 'delta'" in found[0].message
    # an event with no data, and a keep-alive comment (nothing)
    assert rules_of(": keep-alive\n\n" + "event: ping\n\n" + chunk("Hi") + chunk(finish="stop") + DONE) == [("bad-sse", 1)]
    # a Responses stream fed to the Chat checker: every event a note, then no-done
    found = rules_of('event: response.created\ndata: {"type":"response.created","sequence_number":0}\n\n')
    assert found == [("unknown-event", 0), ("no-done", 0)]


def test_checker_works_without_a_chat_state():
    checker = ChatChecker()
    for ev in events_of(BROKEN / "tool-call-no-id.sse"):
        checker.feed(ev, None)
    assert [a.rule for a in checker.anomalies] == ["tool-call-no-id"] and checker.withdrawn == 0


# -- bad input never raises ----------------------------------------------------------------------------------------
_json = hs.recursive(
    hs.none() | hs.booleans() | hs.integers(-3, 3) | hs.text(max_size=4) | hs.sampled_from(["chat.completion.chunk", "[DONE]", "stop", ""]),
    lambda inner: hs.lists(inner, max_size=3) | hs.dictionaries(
        hs.sampled_from(["id", "object", "model", "choices", "delta", "index", "content", "refusal", "tool_calls",
                         "function", "name", "arguments", "finish_reason", "usage", "logprobs", "error", "type",
                         "reasoning_content", "function_call", "created", "token", "logprob", "role",
                         "annotations", "url_citation", "audio", "transcript", "data", "expires_at", "thinking",
                         "text", "url", "end_index"]),
        inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hs.lists(_json, max_size=6))
def test_arbitrary_payloads_never_raise(payloads):
    state, checker = _fold("".join("data: " + json.dumps(p) + "\n\n" for p in payloads) + DONE)
    json.dumps(state.final())
    state.text()
    for item in state.ordered_items():
        state.details(item)
        for block in item.blocks.values():
            for a in block.annotations:
                state.citation(a)
    assert {a.rule for a in checker.anomalies} <= set(RULES)


def _fold(text: str) -> tuple[ChatState, ChatChecker]:
    events = events_of(text)
    asm, checker = ChatAssembler(), ChatChecker()
    for ev in events:
        asm.feed(ev)
        checker.feed(ev, asm.state)
    checker.finish(events)
    return asm.state, checker


def test_shaped_garbage_never_raises():
    rng = random.Random(6)
    base = _payloads(FIXTURES / "tool-calls-parallel.sse") + _payloads(FIXTURES / "logprobs.sse") \
        + _payloads(FIXTURES / "content-parts.sse") + _payloads(FIXTURES / "annotations.sse") + _payloads(FIXTURES / "audio.sse")
    junk = [None, 0, True, "x", [], {}, [1], {"index": "1"}, -1, 10**12]

    def mutate(obj):
        if isinstance(obj, dict) and obj:
            k = rng.choice(list(obj))
            obj[k] = rng.choice(junk) if rng.random() < 0.5 else mutate(obj[k])
        elif isinstance(obj, list) and obj:
            i = rng.randrange(len(obj))
            obj[i] = rng.choice(junk) if rng.random() < 0.5 else mutate(obj[i])
        return obj

    for _ in range(300):
        payloads = [mutate(json.loads(json.dumps(p))) for p in base]
        state, checker = _fold("".join("data: " + json.dumps(p) + "\n\n" for p in payloads) + DONE)
        json.dumps(state.final())
        for item in state.ordered_items():
            state.details(item)
            for block in item.blocks.values():
                for a in block.annotations:
                    state.citation(a)
        assert {a.rule for a in checker.anomalies} <= set(RULES)


def test_varying_chunk_ids_are_one_note_however_many_there_are():
    """A server that gives every chunk its own id (Groq compound) is not broken: one note for the stream."""
    chunks = [{"id": f"chatcmpl-{i}", "object": "chat.completion.chunk", "model": "m",
               "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": "stop" if i == 9 else None}]}
              for i in range(10)]
    data = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    anomalies = check_events(events_of(data.encode()))
    assert [(a.rule, a.index, a.severity) for a in anomalies] == [("mixed-ids", 1, NOTE)]
