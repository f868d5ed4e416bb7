"""Legacy Completions streams (streamview/protocols/completions/): the assembler against the official ``openai`` SDK,
the checker's rules one broken transcript each, describe/classify, the events table, sniffing (over every real
capture: no Chat Completions stream is taken), the command line, the live request builder and a live call to a real
loopback server, and ``serve`` read by the SDK over a real socket.

The SDK has no accumulator for Completions: ``client.completions.create(stream=True)`` yields each chunk as an
``openai.types.Completion`` and a client joins the texts itself. So the oracle is the SDK's own parsing: every chunk
of every valid transcript (the fixtures, the bundled example, the real capture) goes through the SDK's HTTP, SSE and
response path (an httpx MockTransport serves the bytes in odd-sized pieces), must come out as a ``Completion`` whose
choices are ``CompletionChoice`` objects, and after each one streamview's state as of the same event must agree with
what the SDK's chunks said so far: per choice index the concatenation of ``choices[i].text``, the finish_reason, the
logprobs summed up from the SDK's ``Logprobs`` objects; the first chunk's id and model, the latest
system_fingerprint and usage. An error object makes the SDK raise ``APIError``: streamview's error must be its body.
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

import httpx
import httpx2
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from openai.types import Completion, CompletionChoice, CompletionUsage
from openai.types.completion_choice import Logprobs as SDKLogprobs

from streamview import protocols
from streamview.checks import ERROR, NOTE, fold_and_check
from streamview.live import RequestError
from streamview.protocols.base import DELTA, KINDS, LIFECYCLE, TERMINAL, UNKNOWN, LiveOptions, bind_handlers
from streamview.protocols.base import ERROR as ERROR_KIND
from streamview.protocols.completions import PROTOCOL, chunk_summary, logprobs_text
from streamview.protocols.completions.assemble import CompletionsAssembler, CompletionsState, assemble
from streamview.protocols.completions.check import RULES, CompletionsChecker, check_events
from streamview.protocols.completions.events import EVENTS, KNOWN_TYPES, event_type
from streamview.session import Session
from streamview.source import EventReader, read_events
from streamview.state import Chunks
from tests.fixtures.completions import make_fixtures as mf
from tests.livefixtures import ERRORS, FaultServer

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "completions"
VALID = sorted(FIXTURES.glob("*.sse"))
BROKEN = sorted((FIXTURES / "broken").glob("*.sse"))
EXAMPLE = Path(__file__).resolve().parents[1] / "streamview" / "examples" / "completions-two-choices.sse"
REAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "streams" / "real"
REAL_NAME = "63_openai-completions_legacy_text.sse"
KEY = "sk-test-streamview-completions-3b7d1f"
DONE = "data: [DONE]\n\n"


def real_dir() -> Path:
    """The folder of real captures; skipped with the reason when it is absent (never on CI)."""
    if not (REAL_DIR / REAL_NAME).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the real captures are missing from {REAL_DIR} (required on CI)")
        pytest.skip(f"the real captures are not here ({REAL_DIR} is absent): only the fixtures are checked")
    return REAL_DIR


def real_capture() -> Path:
    return real_dir() / REAL_NAME


def test_missing_real_captures_skip_but_fail_on_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "REAL_DIR", tmp_path / "absent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="absent"):
        real_capture()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required on CI"):
        real_capture()


def events_of(source: Path | bytes | str):
    if isinstance(source, Path):
        source = source.read_bytes()
    if isinstance(source, str):
        source = source.encode()
    return read_events(io.BytesIO(source))[0]


def fold(source) -> tuple[CompletionsState, list]:
    events = events_of(source)
    assembler, checker = PROTOCOL.assembler(), PROTOCOL.checker()
    anomalies = fold_and_check(assembler, checker, events)
    return assembler.state, anomalies


def chunk(text: str | None = "x", index: int = 0, finish: str | None = None, cid: str = "cmpl-x", model: str = "m", **extra) -> str:
    choice: dict[str, Any] = {"index": index, "logprobs": None, "finish_reason": finish}
    if text is not None:
        choice["text"] = text
    return "data: " + json.dumps({"id": cid, "object": "text_completion", "created": 1, "model": model, "choices": [choice], **extra}) + "\n\n"


def data(payload: Any) -> str:
    return "data: " + (payload if isinstance(payload, str) else json.dumps(payload)) + "\n\n"


def payloads(path: Path) -> list[dict]:
    return [ev.payload for ev in events_of(path) if isinstance(ev.payload, dict)]


def sdk_texts(path: Path) -> dict[int, str]:
    """Per choice index, the concatenation of the chunks' ``choices[i].text`` (the transcript's own JSON)."""
    out: dict[int, str] = {}
    for p in payloads(path):
        for c in p.get("choices") or []:
            out[c["index"]] = out.get(c["index"], "") + c.get("text", "")
    return out


# -- the fixtures on disk ------------------------------------------------------------------------------------------
def test_the_fixtures_on_disk_are_what_the_script_writes():
    rendered = mf.render()
    assert len(rendered) == len(mf.VALID) + len(mf.BROKEN_FIXTURES) + 1
    for path, text in rendered.items():
        assert path.read_bytes() == text.encode("utf-8"), f"{path}: run tests/fixtures/completions/make_fixtures.py"
    assert set(VALID) == {p for p in rendered if p.parent == FIXTURES}
    assert set(BROKEN) == {p for p in rendered if p.parent == FIXTURES / "broken"}


def test_the_fixtures_are_data_only_sse_ending_in_done():
    for path in VALID + BROKEN + [EXAMPLE]:
        raw = path.read_bytes()
        assert b"event:" not in raw and b"\r" not in raw, path.name
        assert raw.decode().split("\n\n")[-1] == "", path.name  # every frame ends with its blank line
    for path in VALID + [EXAMPLE]:
        raw = path.read_bytes()
        assert raw.endswith(DONE.encode()) or path.stem == "error-mid-stream", path.name


def test_the_example_is_a_commented_two_choice_stream():
    first = EXAMPLE.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first == mf.EXAMPLE_COMMENT
    st, anomalies = fold(EXAMPLE)
    assert anomalies == [] and st.status == "completed" and sorted(st.choices) == [0, 1]
    assert all(c.logprobs is not None for c in st.choices.values())
    assert EXAMPLE.stat().st_size > 1000
    from streamview.cli import examples

    assert "completions-two-choices" in examples()


# -- the SDK as the oracle ------------------------------------------------------------------------------------------
def sdk_stream(body: bytes) -> tuple[list, Any]:
    """What ``client.completions.create(stream=True)`` yields for a transcript's bytes (served in 97-byte pieces,
    so lines, JSON and UTF-8 characters are split as on a real connection), and the APIError it raised, if it did."""
    def handler(request):
        assert request.url.path == "/v1/completions"
        sent = json.loads(request.content)
        assert sent["stream"] is True and sent["prompt"] == "hi"
        step = 97
        return httpx2.Response(200, headers={"content-type": "text/event-stream"},
                               content=iter([body[i : i + step] for i in range(0, len(body), step)]))

    client = openai.OpenAI(api_key="test-key", base_url="http://completions.invalid/v1", max_retries=0,
                           http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    out = []
    try:
        for c in client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi", stream=True):
            out.append(c)
    except openai.APIError as exc:
        return out, exc
    return out, None


def lp_summary(lps: list[SDKLogprobs]) -> dict:
    """The logprobs summary, computed from the SDK's ``Logprobs`` objects of one choice."""
    tokens = [t for lp in lps for t in (lp.tokens or [])]
    values = [v for lp in lps for v in (lp.token_logprobs or [])]
    numeric = [(tokens[i], v) for i, v in enumerate(values) if v is not None]
    lowest = min(numeric, key=lambda tv: tv[1]) if numeric else None
    return {"tokens": max(len(tokens), len(values)),
            "mean_logprob": round(sum(v for _, v in numeric) / len(numeric), 6) if numeric else None,
            "lowest": lowest, "last": list(zip(tokens, values))[-5:]}


class Seen:
    """What the SDK's chunks said so far."""

    def __init__(self) -> None:
        self.text: dict[int, str] = {}
        self.finish: dict[int, str] = {}
        self.logprobs: dict[int, list] = {}
        self.id = self.model = self.fingerprint = None
        self.usage = None

    def add(self, c: Completion) -> None:
        assert isinstance(c, Completion), type(c)
        for pos, choice in enumerate(c.choices):
            assert isinstance(choice, CompletionChoice), type(choice)
            assert isinstance(choice.text, str) and isinstance(choice.index, int)
            k = choice.index
            self.text[k] = self.text.get(k, "") + choice.text
            if choice.finish_reason is not None and k not in self.finish:
                self.finish[k] = choice.finish_reason
            if choice.logprobs is not None:
                assert isinstance(choice.logprobs, SDKLogprobs)
                self.logprobs.setdefault(k, []).append(choice.logprobs)
        if c.usage is not None:
            assert isinstance(c.usage, CompletionUsage)
            self.usage = c.usage.to_dict()
        self.id = self.id or c.id or None
        self.model = self.model or c.model or None
        if c.system_fingerprint is not None:
            self.fingerprint = c.system_fingerprint


def compare(seen: Seen, st: CompletionsState, where: str) -> list[str]:
    out: list[str] = []

    def check(label: str, sdk: Any, ours: Any) -> None:
        if sdk != ours:
            out.append(f"{where}: {label}: sdk {sdk!r} != streamview {ours!r}")

    check("choices", sorted(seen.text), sorted(st.choices))
    for k, text in seen.text.items():
        ours = st.choices.get(k)
        check(f"choice {k} text", text, ours.text if ours else None)
        check(f"choice {k} finish_reason", seen.finish.get(k), ours.finish_reason if ours else None)
        if k in seen.logprobs:
            summary = ours.logprobs.summary() if ours and ours.logprobs else {}
            got = {"tokens": summary.get("tokens"), "mean_logprob": summary.get("mean_logprob"),
                   "lowest": (summary["lowest"]["token"], summary["lowest"]["logprob"]) if summary.get("lowest") else None,
                   "last": [(t["token"], t["logprob"]) for t in summary.get("last", [])]}
            check(f"choice {k} logprobs", lp_summary(seen.logprobs[k]), got)
        else:
            check(f"choice {k} logprobs", None, ours.logprobs if ours else None)
    check("id", seen.id, st.id or None)
    check("model", seen.model, st.model or None)
    check("system_fingerprint", seen.fingerprint, st.response.get("system_fingerprint"))
    check("usage", seen.usage, st.completions_usage)
    return out


def differential(path: Path, drop: int | None = None) -> list[str]:
    """Every disagreement with the SDK on ``path``; with ``drop``, streamview never sees event ``drop``."""
    body = path.read_bytes()
    chunks, error = sdk_stream(body)
    events = events_of(body)
    data_events = [ev for ev in events if ev.kind == "event"]
    stop = next((i for i, ev in enumerate(data_events) if ev.type == "[DONE]" or (isinstance(ev.payload, dict) and ev.payload.get("error"))), len(data_events))
    assert len(chunks) == stop, f"{path.name}: the SDK yielded {len(chunks)} chunks, the transcript has {stop} before its end"
    assembler = CompletionsAssembler()
    seen = Seen()
    problems: list[str] = []
    n = 0
    for ev in events:
        if ev.index != drop:
            assembler.feed(ev)
        if ev.kind != "event" or n >= len(chunks):
            continue
        seen.add(chunks[n])
        n += 1
        problems += compare(seen, assembler.state, f"{path.name} event #{ev.index}")
    st = assembler.state
    if error is not None:
        if st.status != "failed" or st.error != error.body or st.error.get("message") != error.message:
            problems.append(f"error: streamview {st.status} {st.error!r} vs SDK APIError {error.body!r}")
    elif drop is None:
        assert st.status in ("completed", "incomplete"), path.name
    return problems


def oracle_paths() -> list[Path]:
    return VALID + [EXAMPLE]


@pytest.mark.parametrize("path", oracle_paths(), ids=lambda p: p.stem)
def test_the_sdk_parses_every_chunk_and_agrees(path):
    assert differential(path) == []


def test_the_sdk_agrees_on_the_real_capture():
    path = real_capture()
    assert differential(path) == []
    chunks, error = sdk_stream(path.read_bytes())
    assert error is None and "".join(c.choices[0].text for c in chunks if c.choices) == assemble(events_of(path)).text()


def test_the_comparison_can_fail():
    """streamview missing one chunk disagrees with the SDK (the text, or a finish_reason, or the usage)."""
    path = FIXTURES / "text-usage.sse"
    assert differential(path) == []
    diffs = differential(path, drop=4)  # " fox"
    assert diffs and "event #4" in diffs[0] and "choice 0 text" in diffs[0]
    assert any("usage" in d for d in differential(path, drop=11))
    assert any("logprobs" in d for d in differential(FIXTURES / "logprobs-echo.sse", drop=3))


@pytest.mark.parametrize("path", [FIXTURES / "text-usage.sse", FIXTURES / "n2-interleaved.sse", FIXTURES / "logprobs-echo.sse",
                                  FIXTURES / "llamacpp-chatcmpl-id.sse", FIXTURES / "error-mid-stream.sse", EXAMPLE], ids=lambda p: p.stem)
def test_the_sdk_reads_serve_over_a_real_socket(path):
    """``streamview serve`` of a transcript on 127.0.0.1, read by ``openai.OpenAI(base_url=...).completions.create(
    stream=True)``: the texts it joins are streamview's, its chunks the transcript's own JSON."""
    from streamview.replay.serve import serve_in_thread

    srv, base = serve_in_thread(str(path), speed=1000)
    try:
        assert base.endswith("/v1")
        client = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0)
        got: list[dict] = []
        texts: dict[int, str] = {}
        error = None
        try:
            for c in client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi", stream=True):
                assert isinstance(c, Completion)
                got.append(c.model_dump(mode="json", exclude_unset=True))
                for choice in c.choices:
                    texts[choice.index] = texts.get(choice.index, "") + choice.text
        except openai.APIError as exc:
            error = exc
    finally:
        srv.shutdown()
        srv.server_close()
    st = assemble(events_of(path))
    assert texts == {k: c.text for k, c in st.choices.items()}
    expected = [p for p in payloads(path) if not p.get("error")]
    assert got == expected  # every chunk, as sent (the SDK stops at [DONE])
    if error is not None:
        assert st.status == "failed" and error.body == st.error


def test_serve_route_and_its_errors():
    from streamview.replay.serve import serve_in_thread

    route = PROTOCOL.serve
    assert route.matches("/v1/completions") and route.matches("/completions")
    assert not route.matches("/v1/chat/completions") and not route.matches("/v1/responses")
    srv, base = serve_in_thread(str(FIXTURES / "text-usage.sse"), speed=1000)
    try:
        root = base.removesuffix("/v1")
        assert httpx.post(root + "/completions", json={}, timeout=10).status_code == 200
        missing = httpx.post(base + "/chat/completions", json={}, timeout=10)
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == ("no route /v1/chat/completions: this server answers POST /v1/completions "
                                                      "(Legacy Completions transcript)")
        client = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0)
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="x", messages=[{"role": "user", "content": "y"}], stream=True)
    finally:
        srv.shutdown()
        srv.server_close()


# -- the assembled state ---------------------------------------------------------------------------------------------
def test_text_usage_and_metadata():
    path = FIXTURES / "text-usage.sse"
    st, anomalies = fold(path)
    first = payloads(path)[0]
    assert anomalies == [] and isinstance(st, CompletionsState) and st.protocol == "completions"
    assert st.text() == "".join(mf.TEXT_PIECES) and st.status == "completed" and st.stop_reason == "stop"
    assert (st.id, st.model, st.response["created"], st.response["created_at"]) == (first["id"], first["model"], first["created"], first["created"])
    assert st.terminal_type == "[DONE]" and st.terminal_event == len(events_of(path)) - 1
    (item,) = st.ordered_items()
    assert (item.type, item.id, item.status, item.data["finish_reason"]) == ("completion", "choice 0", "stop", "stop")
    assert [b.kind for b in item.ordered_blocks()] == ["output_text"] and item.done_event == 10
    u = mf.usage(9, 11)
    assert st.completions_usage == u and st.usage == {"input_tokens": 9, "output_tokens": 11, "total_tokens": 20}
    final = st.final()
    assert final["usage"] == u and final["usage_normalized"] == st.usage and final["system_fingerprint"] is None
    assert final["choices"] == [{"index": 0, "text": st.text(), "finish_reason": "stop", "logprobs": None}]
    assert json.loads(json.dumps(final)) == final
    assert PROTOCOL.status_rows(st) == [("finish", "stop", "good")]
    # a later "usage": null does not erase it; a later usage replaces it
    later = mf.usage(9, 12)
    st2 = assemble(events_of(path.read_text().replace(DONE, "") + chunk("", usage=None) + data({"id": "cmpl-x", "object": "text_completion", "choices": [], "usage": later}) + DONE))
    assert st2.completions_usage == later and st2.usage["output_tokens"] == 12


def test_incremental_state_and_deltas():
    events = events_of(FIXTURES / "text-usage.sse")
    asm = CompletionsAssembler()
    structure = []
    for ev in events:
        asm.feed(ev)
        structure.append(asm.state.structure)
        if ev.index == 0:
            assert asm.state.status == "in_progress" and asm.state.terminal_event is None
    st = asm.state
    block = st.ordered_items()[0].blocks[("text",)]
    assert st.first_delta_event == 0 and block.first_event == 0 and block.last_event == 10 and len(block.chunks) == 11
    assert st.last_delta == (st.ordered_items()[0], block)
    # the pane rebuilds on structure: when the item appears and when it finishes, not per delta
    assert structure[1:10] == [structure[1]] * 9 and structure[10] > structure[9]


def test_finish_length_is_incomplete():
    st, anomalies = fold(FIXTURES / "finish-length.sse")
    assert anomalies == [] and st.status == "incomplete" and st.response["incomplete_details"] == {"reason": "length"}
    assert st.text() == "".join(mf.LENGTH_PIECES) and st.usage is None and st.completions_usage is None
    assert st.final()["incomplete_details"] == {"reason": "length"} and st.stop_reason == "length"
    assert PROTOCOL.status_rows(st) == [("finish", "length", "warn")]


def test_two_choices_interleaved():
    path = FIXTURES / "n2-interleaved.sse"
    events = events_of(path)
    st = assemble(events)
    items = st.ordered_items()
    assert [(i.id, i.data["choice"], i.status) for i in items] == [("choice 0", 0, "stop"), ("choice 1", 1, "stop")]
    assert [i.position for i in items] == [1, 0]  # choice 1 appeared first; the display is in index order
    a, b = ("".join(x) for x in mf.N2)
    assert sdk_texts(path) == {0: a, 1: b}
    assert st.text() == a + "\n\n" + b
    assert [r.label for r in PROTOCOL.status_rows(st)] == ["choice 0", "choice 1"]
    mid = CompletionsAssembler().feed_all(events[:3])  # choice 1's "The", choice 0's "Roses", choice 1's " sky"
    one = mid.choices[1].item
    assert mid.holds(one) and not mid.holds(mid.choices[0].item)
    first = CompletionsAssembler().feed_all(events[:1])  # only choice 1 so far: held, choice 0 has not appeared
    assert first.holds(first.choices[1].item)
    assert not st.holds(one) and st.stop_reason == "stop"
    assert [c["index"] for c in st.final()["choices"]] == [0, 1]


def test_logprobs_and_echo():
    path = FIXTURES / "logprobs-echo.sse"
    st, anomalies = fold(path)
    assert anomalies == []
    prompt = "".join(mf.ECHO_PROMPT[0])
    assert st.text() == prompt + "".join(mf.ECHO_ANSWER[0])  # echo: the prompt is the first text
    lp = st.choices[0].logprobs.summary()
    values = [v for p in payloads(path) for v in p["choices"][0]["logprobs"]["token_logprobs"]]
    tokens = [t for p in payloads(path) for t in p["choices"][0]["logprobs"]["tokens"]]
    numeric = [v for v in values if v is not None]
    assert lp["tokens"] == len(tokens) == len(mf.ECHO_PROMPT[0]) + len(mf.ECHO_ANSWER[0])
    assert values[0] is None and lp["mean_logprob"] == round(sum(numeric) / len(numeric), 6)
    low = min(numeric)
    assert (lp["lowest"]["token"], lp["lowest"]["logprob"]) == (tokens[values.index(low)], low)
    assert [t["token"] for t in lp["last"]] == tokens[-5:] and all(t["top"] == 2 for t in lp["last"])
    (lp_row,) = [r for r in PROTOCOL.status_rows(st) if r.label == "logprobs"]
    assert lp_row.value == logprobs_text(lp) == f"{len(tokens)} tokens, mean {lp['mean_logprob']:.3f}, lowest {json.dumps(lp['lowest']['token'])} {low}"
    assert st.final()["choices"][0]["logprobs"] == lp
    assert logprobs_text({"tokens": 1, "mean_logprob": None, "lowest": None}) == "1 tokens"


def test_vllm_stop_reason_and_usage_details():
    st, anomalies = fold(FIXTURES / "vllm-stop-reason.sse")
    assert anomalies == [] and st.status == "completed" and st.text() == " Paris is the capital of France."
    (choice,) = st.final()["choices"]
    assert choice["stop_reason"] == "\n\n" and choice["finish_reason"] == "stop"
    assert PROTOCOL.status_rows(st) == [("finish", 'stop (stop_reason "\\n\\n")', "good")]
    assert st.usage["input_tokens_details"] is None and st.id.startswith("cmpl-") and len(st.id) == 37
    assert "stop_reason" not in assemble(events_of(FIXTURES / "text-usage.sse")).final()["choices"][0]


def test_llamacpp_chatcmpl_id_and_fingerprint():
    path = FIXTURES / "llamacpp-chatcmpl-id.sse"
    st, anomalies = fold(path)
    assert anomalies == [] and st.id.startswith("chatcmpl-") and st.text() == " 1, 2, 3, 4, 5"
    assert st.response["system_fingerprint"] == "b6715-5a4ff43e" == st.final()["system_fingerprint"]
    assert ("fingerprint", "b6715-5a4ff43e", "") in PROTOCOL.parameter_rows(st)
    assert st.usage == {"input_tokens": 12, "output_tokens": 9, "total_tokens": 21}
    model = Session("llama")
    for ev in events_of(path):
        model.add(ev)
    assert model.protocol == "completions"  # the object says it, though the id is a chat one


def test_azure_content_filter():
    st, anomalies = fold(FIXTURES / "azure-content-filter.sse")
    assert anomalies == [] and st.status == "incomplete" and st.response["incomplete_details"] == {"reason": "content_filter"}
    assert st.id.startswith("cmpl-") and st.model == "gpt-35-turbo-instruct"  # the prompt-filter chunk's "" taken as nothing
    assert st.text() == "Here is how the story goes:" and st.choices[0].finish_reason == "content_filter"
    model = Session("azure")
    for ev in events_of(FIXTURES / "azure-content-filter.sse"):
        model.add(ev)
        if ev.index == 0:
            assert model.protocol is None  # the prompt-filter chunk says nothing: the next chunk decides
    assert model.protocol == "completions"


def test_an_error_object_fails_the_stream():
    path = FIXTURES / "error-mid-stream.sse"
    err = payloads(path)[-1]["error"]
    st, anomalies = fold(path)
    assert anomalies == []  # a failure, shown as such, not a checker anomaly
    assert st.status == "failed" and st.error == err and st.terminal_type == "error" and st.terminal_event == 5
    assert st.text() == "Here is a long answer" and st.ordered_items()[0].status == "no finish_reason"
    # vLLM's error shape, then its [DONE]: still failed, and no anomaly
    st, anomalies = fold(chunk("Hi") + data({"object": "error", "message": "boom", "type": "BadRequestError", "code": 400}) + DONE)
    assert st.status == "failed" and st.error == {"message": "boom", "type": "BadRequestError", "code": 400} and anomalies == []
    assert st.terminal_type == "error"


def test_text_is_data():
    st = assemble(events_of(FIXTURES / "markup-unicode.sse"))
    assert st.text() == "".join(mf.MARKUP_PIECES)
    assert sdk_texts(FIXTURES / "markup-unicode.sse") == {0: st.text()}


def test_time_travel_is_the_state_after_each_event():
    for path in (FIXTURES / "n2-interleaved.sse", EXAMPLE):
        events = events_of(path)
        built = assemble(events)
        for i in range(len(events)):
            at = PROTOCOL.state_at(events, i, built)
            assert at.events == i + 1
            assert {k: c.text for k, c in at.choices.items()} == {k: c.text for k, c in CompletionsAssembler().feed_all(events[: i + 1]).choices.items()}
        assert built.text() == assemble(events).text()


def test_folding_never_joins_text_per_chunk(monkeypatch):
    """O(1) per delta: no block's text is joined while the events fold."""
    text = "".join(chunk(f"w{n} ") for n in range(600)) + chunk("end", finish="stop") + DONE
    events = events_of(text)
    joins = []
    real = Chunks.text
    monkeypatch.setattr(Chunks, "text", lambda self: joins.append(1) or real(self))
    st = CompletionsAssembler().feed_all(events)
    assert joins == []
    assert len(st.choices[0].item.blocks[("text",)].chunks) == 601 and st.text().endswith("w599 end")


def test_unknown_json_is_counted_not_folded():
    st = assemble(events_of(data({"foo": 1}) + data({"type": "ping"})))
    assert st.unknown_types == {"message": 1, "ping": 1} and not st.items and st.status == ""


# -- the checker -----------------------------------------------------------------------------------------------------
EXPECTED = {  # rule -> the event index of its one anomaly (see make_fixtures.py)
    "after-done": 13,
    "no-done": 11,
    "after-error": 6,
    "after-finish": 11,
    "mixed-ids": 5,
    "no-finish-reason": 12,
    "malformed-field": 4,
    "bad-sse": 4,
    "bad-json": 3,
    "unknown-event": 6,
}
NOTES = {"mixed-ids", "no-finish-reason", "unknown-event"}


def test_every_rule_has_a_broken_fixture_and_is_declared():
    assert set(EXPECTED) == set(RULES) == {p.stem for p in BROKEN}
    assert tuple(PROTOCOL.rules) == RULES


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_each_broken_fixture_raises_exactly_its_rule(path):
    anomalies = check_events(events_of(path))
    assert [(a.rule, a.index) for a in anomalies] == [(path.stem, EXPECTED[path.stem])], [(a.rule, a.index, a.message) for a in anomalies]
    assert anomalies[0].severity == (NOTE if path.stem in NOTES else ERROR) and anomalies[0].message


@pytest.mark.parametrize("path", VALID + [EXAMPLE], ids=lambda p: p.stem)
def test_valid_fixtures_are_clean(path):
    assert [(a.rule, a.index, a.message) for a in check_events(events_of(path))] == []


def test_the_real_capture_is_clean():
    assert check_events(events_of(real_capture())) == []


def _fold_in_chunks(data_: bytes, size: int):
    reader = EventReader()
    asm, checker = CompletionsAssembler(), CompletionsChecker()
    events = []
    for i in range(0, len(data_), size):
        for ev in reader.feed(data_[i : i + size]):
            events.append(ev)
            asm.feed(ev)
            checker.feed(ev, asm.state)
    for ev in reader.finish():
        events.append(ev)
        asm.feed(ev)
        checker.feed(ev, asm.state)
    checker.finish(events)
    return [(a.rule, a.index, a.message, a.severity) for a in checker.anomalies], asm.state.final()


@pytest.mark.parametrize("path", VALID + BROKEN, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_small_byte_chunks_give_the_same_result(path):
    whole = [(a.rule, a.index, a.message, a.severity) for a in check_events(events_of(path))]
    final = assemble(events_of(path)).final()
    for size in (1, 5, 64):
        assert _fold_in_chunks(path.read_bytes(), size) == (whole, final), size


def rules_of(text: str) -> list[tuple[str, int, str]]:
    return [(a.rule, a.index, a.severity) for a in check_events(events_of(text))]


def test_checker_details():
    ok = chunk("a") + chunk("b", finish="stop") + DONE
    assert rules_of(ok) == []
    # cut mid-stream: no [DONE] and no finish_reason are one fault, reported once
    found = check_events(events_of(chunk("Hel") + chunk("lo")))
    assert [(a.rule, a.index) for a in found] == [("no-done", 1)] and "choice 0 got no finish_reason" in found[0].message
    # a second [DONE] and a chunk after [DONE]: after-done each, nothing else looks at them
    assert rules_of(chunk("Hi", finish="stop") + DONE + chunk("x", cid="cmpl-other") + DONE) == [("after-done", 2, ERROR), ("after-done", 3, ERROR)]
    # after an error: [DONE] is fine (vLLM), a chunk is after-error once however many follow
    err = data({"error": {"message": "boom", "type": "server_error"}})
    assert rules_of(chunk("a") + err + DONE) == []
    assert rules_of(chunk("a") + err + chunk("b") + chunk("c") + DONE) == [("after-error", 2, ERROR)]
    # after a finish: the same finish_reason again without text is no fault; text or another reason is, once
    assert rules_of(chunk("a", finish="stop") + chunk("", finish="stop") + DONE) == []
    assert rules_of(chunk("a", finish="stop") + chunk("", finish="length") + chunk("b") + DONE) == [("after-finish", 1, ERROR)]
    # another choice may go on after one finished
    assert rules_of(chunk("a", finish="stop") + chunk("b", index=1) + chunk("", index=1, finish="stop") + DONE) == []
    # mixed ids: one note a field however many ids there are
    text = chunk("a") + chunk("b", cid="cmpl-y") + chunk("c", cid="cmpl-z", model="m2") + chunk("", finish="stop") + DONE
    assert rules_of(text) == [("mixed-ids", 1, NOTE), ("mixed-ids", 2, NOTE)]
    # no finish_reason before [DONE]: a note naming each open choice
    found = check_events(events_of(chunk("a") + chunk("b", index=1) + chunk("", finish="stop") + DONE))
    assert [(a.rule, a.index, a.severity) for a in found] == [("no-finish-reason", 3, NOTE)] and "choice 1" in found[0].message
    assert found[0].item_id == "choice 1" and found[0].position == 1
    # wrong types: one malformed-field per field, never a traceback
    bad = data({"id": "cmpl-x", "object": "text_completion", "choices": {"text": "x"}})
    assert rules_of(bad + bad + DONE) == [("malformed-field", 0, ERROR)]
    assert rules_of(chunk(None, finish="stop", usage=[1]) + DONE) == [("malformed-field", 0, ERROR)]
    text = data({"object": "text_completion", "choices": [7, {"index": "0", "text": "a", "finish_reason": 1, "logprobs": []}]}) + DONE
    found = check_events(events_of(text))  # choices[], and choices[].index, .finish_reason, .logprobs of the other
    assert [a.rule for a in found] == ["malformed-field"] * 4 + ["no-finish-reason"]
    assert sorted(a.message.split(" is ")[0] for a in found[:4]) == ["choices[]", "choices[].finish_reason", "choices[].index", "choices[].logprobs"]
    assert rules_of(chunk(True, finish="stop") + DONE) == [("malformed-field", 0, ERROR)]  # a boolean text
    # a choice without text (a finish chunk some servers send) is no fault
    assert rules_of(chunk(None, finish="stop") + DONE) == []


def test_unreadable_and_foreign_input():
    # a [DONE] cut off at the end of input: bad-sse, and it still ends the stream (no no-done)
    assert rules_of(chunk("Hi", finish="stop") + "data: [DONE]") == [("bad-sse", 1, ERROR)]
    # a named event, JSON that is not an object, a Chat Completions chunk, another protocol's event: notes
    named = chunk("Hi").replace("data: ", "event: delta\ndata: ", 1)
    chat = data({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "x"}}]})
    found = check_events(events_of(named + data("42") + chat + data({"type": "ping"}) + chunk("", finish="stop") + DONE))
    assert [(a.rule, a.index, a.severity) for a in found] == [("unknown-event", i, NOTE) for i in range(4)]
    assert "named event 'delta'" in found[0].message and "Chat Completions chunk" in found[2].message and "'ping'" in found[3].message
    # an event with no data and a keep-alive comment
    assert rules_of(": keep-alive\n\n" + "event: ping\n\n" + chunk("Hi", finish="stop") + DONE) == [("bad-sse", 1, ERROR)]
    # a Responses stream fed to the Completions checker: every event a note, then no-done
    found = rules_of('event: response.created\ndata: {"type":"response.created","sequence_number":0}\n\n')
    assert found == [("unknown-event", 0, NOTE), ("no-done", 0, ERROR)]


def test_checker_works_without_a_state():
    checker = CompletionsChecker()
    for ev in events_of(FIXTURES / "broken" / "after-finish.sse"):
        checker.feed(ev, None)
    assert [a.rule for a in checker.anomalies] == ["after-finish"] and checker.withdrawn == 0
    assert checker.anomalies[0].position is None


def test_anomalies_point_at_the_choices_item():
    (a,) = check_events(events_of(FIXTURES / "broken" / "after-finish.sse"))
    assert a.item_id == "choice 0" and a.position == 0


# -- the events table, describe and classify -------------------------------------------------------------------------
def every_stream() -> list[Path]:
    paths = VALID + BROKEN + [EXAMPLE]
    if (REAL_DIR / REAL_NAME).is_file():
        paths.append(REAL_DIR / REAL_NAME)
    return paths


def test_classify_agrees_with_describe_on_every_event():
    kinds = set()
    for path in every_stream():
        for ev in events_of(path):
            d = PROTOCOL.describe(ev)
            assert PROTOCOL.classify(ev) == tuple(d[:3]), (path.name, ev.index)
            assert d.kind in KINDS and isinstance(d.summary, str) and len(d.summary) <= 120
            kinds.add(d.kind)
    assert {DELTA, LIFECYCLE, TERMINAL, ERROR_KIND, UNKNOWN} <= kinds


def test_describe_shows_what_a_chunk_adds():
    evs = events_of(FIXTURES / "text-usage.sse")
    d0 = PROTOCOL.describe(evs[0])
    assert d0 == ("chunk", DELTA, ("choice", 0), '"\\n\\n"')
    assert PROTOCOL.describe(evs[10]).summary == '"." finish_reason=stop'
    assert PROTOCOL.describe(evs[11])[:3] == ("chunk (usage)", LIFECYCLE, None) and PROTOCOL.describe(evs[11]).summary == "usage 9/11/20"
    assert PROTOCOL.describe(evs[12])[:2] == ("[DONE]", TERMINAL)
    two = events_of(FIXTURES / "n2-interleaved.sse")
    assert PROTOCOL.describe(two[0]).summary == '[1] "The"' and PROTOCOL.describe(two[0]).key == ("choice", 1)
    last = events_of(FIXTURES / "vllm-stop-reason.sse")[7]
    assert PROTOCOL.describe(last)[:2] == ("chunk", LIFECYCLE) and PROTOCOL.describe(last).summary == '"" finish_reason=stop'
    err = PROTOCOL.describe(events_of(FIXTURES / "error-mid-stream.sse")[5])
    assert err[:3] == ("error", ERROR_KIND, None) and err.summary == "server_error: The server had an error while processing your request. Sorry about that!"
    both = {"object": "text_completion", "choices": [{"index": 0, "text": "a"}, {"index": 1, "text": "b", "finish_reason": "stop"}]}
    assert chunk_summary(both, 120) == '[0] "a" [1] "b" finish_reason=stop'
    assert PROTOCOL.describe(events_of(data(both))[0]).key is None
    other = PROTOCOL.describe(events_of(data({"object": "chat.completion.chunk", "choices": []}))[0])
    assert other[:2] == ("chat.completion.chunk", UNKNOWN)


def test_the_events_table_drives_the_dispatch_and_the_checks():
    assembler = CompletionsAssembler()
    assert set(assembler._handlers) == set(EVENTS) == set(KNOWN_TYPES)
    assert set(bind_handlers(assembler, EVENTS)) == set(EVENTS)
    assert PROTOCOL.events is EVENTS
    seen = set()
    for path in every_stream():
        for ev in events_of(path):
            t = event_type(ev)
            assert t is None or t in KNOWN_TYPES
            seen.add(t)
    assert seen >= set(EVENTS) | {None}
    for ev in events_of(FIXTURES / "error-mid-stream.sse")[-1:] + events_of(FIXTURES / "text-usage.sse")[-1:]:
        assert PROTOCOL.classify(ev)[1] == EVENTS[event_type(ev)].kind


# -- bad input never raises ------------------------------------------------------------------------------------------
_json = hs.recursive(
    hs.none() | hs.booleans() | hs.integers(-3, 3) | hs.text(max_size=4) | hs.sampled_from(["text_completion", "[DONE]", "stop", ""]),
    lambda inner: hs.lists(inner, max_size=3) | hs.dictionaries(
        hs.sampled_from(["id", "object", "model", "choices", "index", "text", "finish_reason", "stop_reason", "usage",
                         "logprobs", "tokens", "token_logprobs", "top_logprobs", "text_offset", "error", "type", "created",
                         "system_fingerprint", "message", "delta"]),
        inner, max_size=5),
    max_leaves=20,
)


def _fold_text(text: str) -> tuple[CompletionsState, CompletionsChecker, list]:
    events = events_of(text)
    asm, checker = CompletionsAssembler(), CompletionsChecker()
    fold_and_check(asm, checker, events)
    return asm.state, checker, events


def _exercise(text: str) -> None:
    state, checker, events = _fold_text(text)
    json.dumps(state.final())
    state.text()
    PROTOCOL.status_rows(state)
    PROTOCOL.parameter_rows(state)
    assert {a.rule for a in checker.anomalies} <= set(RULES)
    for ev in events:
        assert PROTOCOL.classify(ev) == tuple(PROTOCOL.describe(ev)[:3])
        PROTOCOL.sniff(ev)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hs.lists(_json, max_size=6))
def test_arbitrary_payloads_never_raise(items):
    _exercise("".join(data(json.dumps(p)) for p in items) + DONE)


def test_shaped_garbage_never_raises():
    rng = random.Random(7)
    base = payloads(FIXTURES / "logprobs-echo.sse") + payloads(FIXTURES / "vllm-stop-reason.sse") + payloads(FIXTURES / "n2-interleaved.sse")
    junk = [None, 0, True, "x", [], {}, [1], {"index": "1"}, -1, 10**12, 1.5]

    def mutate(obj):
        if isinstance(obj, dict) and obj:
            k = rng.choice(list(obj))
            obj[k] = rng.choice(junk) if rng.random() < 0.5 else mutate(obj[k])
        elif isinstance(obj, list) and obj:
            i = rng.randrange(len(obj))
            obj[i] = rng.choice(junk) if rng.random() < 0.5 else mutate(obj[i])
        return obj

    for _ in range(300):
        _exercise("".join(data(json.dumps(mutate(json.loads(json.dumps(p))))) for p in base) + DONE)


# -- sniffing ----------------------------------------------------------------------------------------------------------
def test_sniff_claims_every_fixture_first_and_surest():
    others = [p for p in protocols.registered() if p.name != "completions"]
    for path in every_stream():
        events = [ev for ev in events_of(path) if ev.kind == "event" and ev.error is None and protocols.sniff(ev) is not None]
        first = events[0]
        assert PROTOCOL.sniff(first) >= 0.9, path.name
        assert all(o.sniff(first) < PROTOCOL.sniff(first) for o in others), path.name


def test_sniff_confidence_levels():
    def score(payload: Any) -> float:
        return PROTOCOL.sniff(events_of(data(payload if isinstance(payload, str) else json.dumps(payload)))[0])

    assert score({"object": "text_completion", "choices": []}) == 1.0
    assert score({"id": "cmpl-1", "choices": [{"text": "a"}]}) == 1.0
    assert score({"id": "x", "choices": [{"text": "a"}]}) == 0.9
    assert score({"id": "x", "object": "", "choices": [{"text": "a"}]}) == 0.9
    for p in ({"choices": [{"text": "a", "delta": {}}]}, {"choices": []}, {"choices": [{"index": 0}]}, {"object": "chat.completion.chunk", "choices": [{"text": "a"}]},
              {"error": {"message": "boom"}}, {"object": "error", "message": "boom"}, {"type": "message_start"}, {"candidates": []}, [1], "[DONE]"):
        assert score(p) == 0.0, p
    chat = protocols.get("chat")
    llama = events_of(data({"id": "chatcmpl-abc", "object": "text_completion", "choices": [{"text": "a", "index": 0}]}))[0]
    assert 0 < chat.sniff(llama) < PROTOCOL.sniff(llama)  # llama.cpp's chatcmpl id on a completion: ours
    assert protocols.sniff(llama) is PROTOCOL
    assert PROTOCOL.sniff(events_of(b": a comment\n\n")[0]) == 0.0


def _expected_protocol(name: str) -> str:
    if "-responses_" in name:
        return "responses"
    if "-chat_" in name:
        return "chat"
    if "_anthropic_" in name:
        return "anthropic"
    if "_gemini_" in name:
        return "gemini"
    if "-completions_" in name:
        return "completions"
    if "_cohere-" in name:
        return "cohere"
    return UNKNOWN


def test_every_real_stream_keeps_its_protocol():
    """Over every real capture: the legacy Completions one is decided as completions, and no other is taken from its
    protocol (every Chat Completions stream stays chat)."""
    folder = real_dir()
    decided: dict[str, str] = {}
    for path in sorted(folder.glob("*.sse")):
        events, reader = read_events(io.BytesIO(path.read_bytes()))
        model = Session(path.name, meta=reader.meta)
        for ev in events:
            model.add(ev)
        model.finish()
        decided[path.name] = model.protocol
    assert len(decided) >= 63
    assert {n: p for n, p in decided.items() if p != _expected_protocol(n)} == {}
    assert [n for n, p in decided.items() if p == "completions"] == [REAL_NAME]
    assert sum(1 for p in decided.values() if p == "chat") == sum(1 for n in decided if "-chat_" in n) >= 20


def test_the_protocol_object():
    assert PROTOCOL.name == "completions" and PROTOCOL.title == "Legacy Completions" and PROTOCOL.framing == "sse"
    assert PROTOCOL.name in PROTOCOL.vocabulary and "text_completion" in PROTOCOL.vocabulary
    assert PROTOCOL.terminal_hint == "data: [DONE] or an error" and "[DONE]" in PROTOCOL.sentinels
    assert isinstance(PROTOCOL.assembler(), CompletionsAssembler) and isinstance(PROTOCOL.checker(), CompletionsChecker)
    assert PROTOCOL.status_rows(CompletionsState()) == [] and PROTOCOL.parameter_rows(CompletionsState()) == []
    assert "completions" in protocols.NAMES and protocols.get("completions") is PROTOCOL


# -- the command line ------------------------------------------------------------------------------------------------
def cli(*args: str, env: dict[str, str] | None = None):
    """The command line in this process, with ``env`` as the only OpenAI variables: (code, stdout, stderr)."""
    import contextlib

    from streamview.cli import main

    names = ("OPENAI_API_KEY", "OPENAI_BASE_URL")
    saved = {k: os.environ.pop(k) for k in names if k in os.environ}
    os.environ.update(env or {})
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        for k in names:
            os.environ.pop(k, None)
        os.environ.update(saved)
    return code, out.getvalue(), err.getvalue()


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("path", VALID + [EXAMPLE], ids=lambda p: p.stem)
def test_print_and_json_agree_with_the_sdks_chunks(path):
    texts = sdk_texts(path) if path.stem != "error-mid-stream" else {0: "Here is a long answer"}
    code, out, err = cli("print", str(path))
    failed = path.stem == "error-mid-stream"
    assert code == (1 if failed else 0), err
    assert out == "\n\n".join(texts[k] for k in sorted(texts)) + "\n"
    if failed:
        assert one_line(err) == "streamview: stream failed: server_error The server had an error while processing your request. Sorry about that!"
    else:
        assert err == ""
    code, out, _ = cli("print", "--json", str(path))
    final = json.loads(out)
    assert final["protocol"] == "completions" and final["events"] == len(events_of(path)) and final["problems"] == []
    assert {c["index"]: c["text"] for c in final["choices"]} == texts
    assert final == {**assemble(events_of(path)).final(), "events": final["events"], "problems": []}


def test_check_through_the_cli():
    good = [FIXTURES / "text-usage.sse", EXAMPLE]
    code, out, _ = cli("check", *map(str, good))
    assert code == 0
    assert out.splitlines() == [f"{good[0]}: ok in 13 events (Legacy Completions)", f"{good[1]}: ok in 23 events (Legacy Completions)",
                                "2 files: 0 error(s), 0 note(s)"]
    code, out, _ = cli("check", str(FIXTURES / "broken" / "after-finish.sse"))
    assert code == 1 and "error after-finish: text for choice 0 after its finish_reason stop (event #10)" in out
    code, out, _ = cli("check", "--json", str(FIXTURES / "broken" / "no-finish-reason.sse"))
    (a,) = json.loads(out)
    assert code == 0 and (a["rule"], a["protocol"], a["severity"], a["index"], a["item_id"]) == ("no-finish-reason", "completions", "note", 12, "choice 0")
    code, out, _ = cli("check", str(FIXTURES / "error-mid-stream.sse"))
    assert code == 1 and "ok; stream failed: server_error" in out
    code, out, _ = cli("check", str(FIXTURES / "broken" / "no-done.sse"))
    assert code == 1 and "error no-done" in out
    code, _, err = cli("print", str(FIXTURES / "broken" / "no-done.sse"))
    assert code == 1 and one_line(err) == "streamview: stream ended without a terminal event (data: [DONE] or an error)"
    code, out, _ = cli("print", "--protocol", "completions", str(FIXTURES / "text-usage.sse"))
    assert code == 0 and out == "".join(mf.TEXT_PIECES) + "\n"


@pytest.mark.parametrize("path", VALID + BROKEN + [EXAMPLE], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_plain_streams_what_print_prints(path):
    pcode, printed, _ = cli("print", str(path))
    code, out, err = cli("replay", "--plain", "--instant", str(path))
    assert out == printed
    assert code == pcode
    summary = err.strip().splitlines()[-1]
    assert summary.startswith("streamview: ") and " · completions · " in summary and f"{len(events_of(path))} events" in summary


def test_the_real_capture_through_the_cli():
    path = real_capture()
    code, out, err = cli("print", str(path))
    assert code == 0 and err == "" and out == sdk_texts(path)[0] + "\n"
    code, out, _ = cli("check", str(path))
    assert code == 0 and out.splitlines()[0] == f"{path}: ok in 18 events (Legacy Completions)"
    final = json.loads(cli("print", "--json", str(path))[1])
    assert (final["status"], final["choices"][0]["finish_reason"], final["usage"]["total_tokens"]) == ("incomplete", "length", 30)


def test_demo_plays_the_example():
    code, out, err = cli("demo", "completions-two-choices", "--plain", "--instant")
    assert code == 0 and out == cli("print", str(EXAMPLE))[1] != ""
    assert " · completions · " in err and "stop stop" in err


# -- live --------------------------------------------------------------------------------------------------------------
def build(env: dict | None = None, **kw):
    options = LiveOptions(kw.pop("prompt", "Hello"), **kw)
    return PROTOCOL.live.build(options, {"OPENAI_API_KEY": KEY} if env is None else env)


def test_live_request():
    req = build()
    assert req.url == "https://api.openai.com/v1/completions"
    assert req.headers == {"Authorization": f"Bearer {KEY}"} and KEY in req.secrets
    assert req.body == {"model": "gpt-3.5-turbo-instruct", "prompt": "Hello", "max_tokens": 1024, "stream": True,
                        "stream_options": {"include_usage": True}}
    req = build(model="Qwen/Qwen2.5-1.5B", max_output_tokens=64, temperature=0.2, base_url="http://127.0.0.1:8000/v1/",
                body={"n": 2, "logprobs": 1, "echo": True, "stream": False, "stream_options": {"continuous_usage_stats": True}})
    assert req.url == "http://127.0.0.1:8000/v1/completions"
    assert req.body == {"model": "Qwen/Qwen2.5-1.5B", "prompt": "Hello", "max_tokens": 64, "temperature": 0.2, "n": 2, "logprobs": 1,
                        "echo": True, "stream": True, "stream_options": {"continuous_usage_stats": True, "include_usage": True}}
    assert build(body={"prompt": ["a", "b"], "max_tokens": 5}).body["prompt"] == ["a", "b"]  # --body overrides any field
    assert build({"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "http://proxy.test/v1"}).url == "http://proxy.test/v1/completions"
    assert PROTOCOL.live.key_env == ("OPENAI_API_KEY",) and PROTOCOL.live.base_env == "OPENAI_BASE_URL"
    assert PROTOCOL.live.default_model == "gpt-3.5-turbo-instruct" and PROTOCOL.live.default_base == "https://api.openai.com/v1"


def test_live_refuses_what_a_completions_request_cannot_carry():
    for kw, words in (({"instructions": "be brief"}, "--instructions has no place in a Completions request"),
                      ({"reasoning_effort": "low"}, "--reasoning-effort is not a Completions parameter")):
        with pytest.raises(RequestError) as exc:
            build(**kw)
        assert str(exc.value).startswith(words) and "\n" not in str(exc.value)
    with pytest.raises(RequestError) as exc:
        build({})
    assert str(exc.value) == "OPENAI_API_KEY is not set: export it (or pass --header 'Authorization: Bearer ...')"
    given = build({}, headers={"Authorization": "Bearer from-header"})
    assert given.headers == {"Authorization": "Bearer from-header"} and "from-header" in given.secrets


LIVE = FIXTURES / "text-usage.sse"


@pytest.fixture(scope="module")
def server():
    srv = FaultServer(LIVE)
    yield srv
    srv.close()


def no_secret(*blobs: str) -> None:
    for blob in blobs:
        assert KEY not in blob


def test_live_streams_records_and_replays(server, tmp_path):
    server.requests.clear()
    out = tmp_path / "live.sse"
    code, stdout, stderr = cli("live", "--api", "completions", "Write a sentence.", "--base-url", server.url("chunked"), "--plain",
                               "--save", str(out), "--temperature", "0.5", "--body", '{"n": 1}', "--header", "X-Trace: t1",
                               env={"OPENAI_API_KEY": KEY})
    assert code == 0, stderr
    assert stdout == cli("print", str(LIVE))[1]  # split every 1 to 7 bytes on the wire, assembled whole
    summary = one_line(stderr)
    assert summary.startswith("streamview: completed · gpt-3.5-turbo-instruct:20230824-v2 · completions · 9 in / 11 out / 20 total · stop stop")
    (request,) = server.requests
    assert request["path"] == "/chunked/v1/completions"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}" and request["headers"]["X-Trace"] == "t1"
    assert json.loads(request["body"]) == {"model": "gpt-3.5-turbo-instruct", "prompt": "Write a sentence.", "max_tokens": 1024,
                                           "temperature": 0.5, "n": 1, "stream": True, "stream_options": {"include_usage": True}}
    saved = out.read_text(encoding="utf-8")
    assert saved.startswith(f": streamview transcript 1\n: request POST {server.url('chunked')}/completions\n")
    assert ": status 200" in saved and saved.count(": t=") == len(events_of(LIVE))
    assert cli("print", str(out))[1] == stdout
    no_secret(stdout, stderr, saved)


def test_live_key_and_base_from_the_environment(server):
    server.requests.clear()
    code, stdout, stderr = cli("live", "--api", "completions", "hi", "--plain", "--model", "local-model",
                               env={"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": server.url("plain")})
    assert code == 0, stderr
    (request,) = server.requests
    assert request["path"] == "/plain/v1/completions" and json.loads(request["body"])["model"] == "local-model"
    no_secret(stdout, stderr)


def test_live_refusals_make_no_request(server):
    server.requests.clear()
    for args, env, words in ((["--instructions", "be brief"], {"OPENAI_API_KEY": KEY}, "--instructions has no place"),
                             (["--reasoning-effort", "low"], {"OPENAI_API_KEY": KEY}, "--reasoning-effort is not a Completions parameter"),
                             ([], {}, "OPENAI_API_KEY is not set")):
        code, stdout, stderr = cli("live", "--api", "completions", "hi", "--base-url", server.url("plain"), "--plain", *args, env=env)
        assert code == 2 and words in one_line(stderr) and stdout == ""
    assert server.requests == []


@pytest.mark.parametrize("status", [401, 429, 500])
def test_live_http_errors_in_the_openai_shape(server, tmp_path, status):
    server.requests.clear()
    out = tmp_path / "err.sse"
    code, stdout, stderr = cli("live", "--api", "completions", "hi", "--base-url", server.url(f"status/{status}"), "--plain",
                               "--save", str(out), env={"OPENAI_API_KEY": KEY})
    assert code == 1
    line = one_line(stderr)
    etype, message, ecode = ERRORS[status]
    assert line.startswith(f"streamview: HTTP {status} ") and message.format(key="[redacted]") in line
    assert f"({ecode or etype})" in line
    assert server.requests[0]["path"] == f"/status/{status}/v1/completions"
    saved = out.read_text()
    assert f": status {status}" in saved
    no_secret(stdout, stderr, saved)


def test_live_dropped_mid_stream_keeps_everything_received(server, tmp_path):
    out = tmp_path / "dropped.sse"
    code, stdout, stderr = cli("live", "--api", "completions", "hi", "--base-url", server.url("drop"), "--plain", "--save", str(out),
                               env={"OPENAI_API_KEY": KEY})
    assert code == 1 and "connection dropped mid-stream" in one_line(stderr)
    whole = cli("print", str(LIVE))[1]
    assert stdout and whole.startswith(stdout.rstrip("\n")) and len(stdout) < len(whole)
    assert cli("print", str(out))[1] == stdout


def test_live_against_serve_matches_print():
    from streamview.replay.serve import serve_in_thread

    for path in (FIXTURES / "n2-interleaved.sse", FIXTURES / "markup-unicode.sse"):
        srv, base = serve_in_thread(str(path), speed=1000)
        try:
            code, stdout, stderr = cli("live", "--api", "completions", "hi", "--base-url", base, "--plain", env={"OPENAI_API_KEY": KEY})
        finally:
            srv.shutdown()
            srv.server_close()
        assert code == 0, stderr
        assert stdout == cli("print", str(path))[1]


def test_the_openai_sdk_reads_the_serve_error_body():
    body = PROTOCOL.serve.error_body("no route /v1/x: this server answers POST /v1/completions", 404)
    transport = httpx2.MockTransport(lambda request: httpx2.Response(404, json=body))
    client = openai.OpenAI(api_key="k", base_url="http://x.invalid/v1", max_retries=0, http_client=httpx2.Client(transport=transport))
    with pytest.raises(openai.NotFoundError) as exc:
        client.completions.create(model="m", prompt="hi", stream=True)
    assert exc.value.status_code == 404 and exc.value.code == "not_found" and "no route /v1/x: this server answers" in exc.value.message
