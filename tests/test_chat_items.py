"""Chat Completions beyond text and tool calls (issue 12, section 3): ``delta.annotations``, ``delta.audio``, Mistral's
typed content parts; and ``print --json`` equal to the official SDK's final state on every real Chat stream and every
fixture.

The oracle is openai's ``ChatCompletionStreamState`` (each data payload parsed as a ``ChatCompletionChunk`` with the
SDK's own ``construct_type``, then ``handle_chunk``; at the end ``get_final_completion()``). As the SDK's stream does,
the fold stops at ``[DONE]``, skips chunks whose ``object`` is not ``chat.completion.chunk`` (Azure's prompt-filter
chunk) and stops at an error object (the SDK raises ``APIError`` there: the snapshot so far is compared, and
streamview must say ``failed`` with that error). Where the SDK cannot accumulate a stream as it was sent, the chunks
it is fed are changed in one documented way, and only for that stream (``Oracle.changed`` says which):

- ``annotations``: the SDK's ``accumulate_delta`` merges a list delta into a list by each entry's ``index`` key, and
  OpenRouter's annotation entries (one a chunk, 40_openrouter) have none: the SDK raises ``RuntimeError``
  ("Expected list delta entry to have an `index` key"). The SDK is then fed the chunks without their annotations,
  and the annotations expected are each chunk's ``delta.annotations`` as the SDK parsed them, in order, each once;
- ``content parts``: a ``delta.content`` list (Mistral's typed parts) added to a str content matches no branch of
  ``accumulate_delta``: the SDK silently drops it (and a list first makes the content a list it cannot extend). The
  SDK is then fed each list as what it says: its text parts as the string ``content``, its thinking parts' text as
  ``reasoning_content`` (an extra field the SDK accumulates like any string), and the other parts not at all (they
  are compared with streamview's ``content_parts`` counts instead);
- ``reasoning details``: OpenRouter's ``delta.reasoning_details`` (a list of ``reasoning.text`` / ``summary`` /
  ``encrypted`` entries) is a list the SDK merges by ``index`` into a list it never reads as text; Snowflake sends
  its reasoning only there (44_snowflake). The SDK is then fed each such entry's text as ``reasoning_content`` where
  the delta says no ``reasoning`` of its own (encrypted entries: a size on streamview's side, nothing to feed);
- ``audio.id``: the SDK concatenates every string of ``delta.audio``; gpt-4o-audio sends the audio's id twice (with
  the first transcript fragment and with the first data fragment), so the SDK's id is the id twice over, where
  streamview keeps the id once. Compared as "the SDK's id is streamview's id repeated once per chunk that sent it".
  The data is compared as its decoded size (streamview never keeps the base64);
- ``usage``: the SDK's snapshot takes every chunk's ``usage``, ``null`` too (``completion_snapshot.usage =
  chunk.usage``); OpenAI sends its moderation chunk (31_openai) after the usage chunk with ``"usage": null``, which
  erases the usage in the SDK's final completion. streamview keeps the last usage sent: compared with the last
  non-null ``usage`` of the chunks the SDK parsed (``changed`` says ``usage`` where that differs from the SDK's).

Everything else is compared as it is: id, model, usage; per choice content, refusal, reasoning (the SDK's
``reasoning_content`` or ``reasoning`` extra), tool_calls (id, type, function name and arguments), annotations,
audio (transcript, expires_at, size), finish_reason, logprobs (content and refusal token counts).
"""

from __future__ import annotations

import base64
import copy
import io
import json
import os
import sys
import warnings
from pathlib import Path

import openai
import pytest
from openai._models import construct_type
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from streamview.checks import NOTE
from streamview.protocols.chat.assemble import ChatAssembler, assemble
from streamview.protocols.chat.check import check_events
from streamview.source import read_events
from streamview.state import Citation

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "chat"
VALID = sorted(FIXTURES.glob("*.sse"))
REAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "streams" / "real"
REAL_NAMES = tuple(f"{n}_{rest}" for n, rest in (
    (25, "openai-chat_n3_choices"), (26, "openai-chat_max_tokens_length"), (27, "openai-chat_refusal"),
    (28, "openai-chat_content_logprobs"), (29, "openai-chat_refusal_logprobs"), (30, "openai-chat_parallel_tool_calls"),
    (31, "openai-chat_moderation_chunk"), (32, "azure-chat_content_filter_empty_first_chunk"),
    (33, "deepseek-chat_reasoning_content"), (34, "groq-chat_reasoning_then_error_event"),
    (35, "groq-chat_compound_web_search"), (36, "groq-chat_tool_call_x_groq"), (37, "mistral-chat_thinking"),
    (38, "openrouter-chat_processing_comments_error"), (39, "openrouter-chat_reasoning_details"),
    (40, "openrouter-chat_web_search_annotations"), (41, "xai-chat_reasoning_tool_call"),
    (42, "huggingface-together-chat_thinking"), (43, "zai-chat_thinking"), (44, "snowflake-chat_thinking"),
    (45, "crusoe-chat_text"), (46, "alibaba-chat_tool_call")))


def real(name: str) -> Path:
    """One real capture; skipped with the reason when the shared folder is absent (never on CI)."""
    path = REAL_DIR / f"{name}.sse"
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the real Chat captures are missing from {REAL_DIR} (required on CI)")
        pytest.skip(f"the real Chat captures are not here ({REAL_DIR} is absent): only the fixtures are checked")
    return path


def test_real_streams_are_required_on_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "REAL_DIR", tmp_path / "absent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        real(REAL_NAMES[0])
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required on CI"):
        real(REAL_NAMES[0])


def events_of(source: Path | str):
    if isinstance(source, Path):
        with open(source, "rb") as fp:
            return read_events(fp)[0]
    return read_events(io.BytesIO(source.encode()))[0]


# -- the oracle ----------------------------------------------------------------------------------------------------
def _text_parts(parts: list) -> tuple[str, str]:
    """A typed-parts content as (text, thinking text)."""
    text, thinking = [], []
    for part in parts:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            text.append(part["text"])
        elif part.get("type") == "thinking":
            inner = part.get("thinking")
            inner = [{"type": "text", "text": inner}] if isinstance(inner, str) else inner
            for sub in inner if isinstance(inner, list) else []:
                if isinstance(sub, dict) and sub.get("type") == "text" and isinstance(sub.get("text"), str):
                    thinking.append(sub["text"])
    return "".join(text), "".join(thinking)


class Oracle:
    """The SDK's final completion for a stream, and what had to change for the SDK to read it (module docstring)."""

    def __init__(self, events) -> None:
        self.changed: set[str] = set()
        self.error = None
        self.annotations: dict[int, list] = {}  # choice -> annotations as the SDK parsed them (when stripped)
        self.audio_ids: dict[int, int] = {}  # choice -> chunks that sent an audio id
        self.usage = None  # the last non-null usage of the chunks the SDK parsed
        payloads = []
        for ev in events:
            if ev.kind != "event":
                continue
            if ev.type == "[DONE]":
                break  # the SDK stops reading at [DONE]
            p = ev.payload
            if isinstance(p, dict) and p.get("error"):
                self.error = p["error"]  # the SDK raises APIError here
                break
            if not isinstance(p, dict):
                continue  # (the SDK's SSE decoder would raise on it; none of the streams compared has one)
            payloads.append(p)
        if any(isinstance(c, dict) and isinstance(c.get("delta"), dict) and isinstance(c["delta"].get("content"), list)
               for p in payloads for c in p.get("choices") or ()):
            self.changed.add("content parts")
            payloads = [self._join_parts(p) for p in payloads]
        if any(_details_text(c.get("delta")) for p in payloads for c in p.get("choices") or () if isinstance(c, dict)):
            self.changed.add("reasoning details")
            payloads = [self._details_as_reasoning(p) for p in payloads]
        try:
            self.final = self._fold(payloads, strip=False)
        except RuntimeError as exc:
            assert "index" in str(exc), exc  # the one way the SDK fails on these streams: annotations without index
            self.changed.add("annotations")
            self.final = self._fold(payloads, strip=True)

    @staticmethod
    def _details_as_reasoning(p: dict) -> dict:
        p = copy.deepcopy(p)
        for c in p.get("choices") or ():
            delta = c.get("delta") if isinstance(c, dict) else None
            text = _details_text(delta)
            if text:
                delta["reasoning_content"] = text
        return p

    @staticmethod
    def _join_parts(p: dict) -> dict:
        p = copy.deepcopy(p)
        for c in p.get("choices") or ():
            delta = c.get("delta") if isinstance(c, dict) else None
            if isinstance(delta, dict) and isinstance(delta.get("content"), list):
                text, thinking = _text_parts(delta["content"])
                delta["content"] = text
                if thinking:
                    delta["reasoning_content"] = thinking
        return p

    def _fold(self, payloads: list[dict], strip: bool):
        sdk = ChatCompletionStreamState()
        self.annotations = {}
        self.audio_ids = {}
        handled = 0
        for p in payloads:
            c = construct_type(type_=ChatCompletionChunk, value=p)
            if c.object != "chat.completion.chunk":
                continue  # the SDK's stream skips these (Azure's content-filter chunks)
            for choice in c.choices:
                extra = choice.delta.model_extra or {}
                if choice.delta.audio is not None and choice.delta.audio.id:
                    self.audio_ids[choice.index] = self.audio_ids.get(choice.index, 0) + 1
                if strip and extra.get("annotations"):
                    kept = self.annotations.setdefault(choice.index, [])
                    kept.extend(a for a in extra["annotations"] if a not in kept)
            if c.usage is not None:
                self.usage = c.usage.to_dict()
            if strip:
                c = construct_type(type_=ChatCompletionChunk, value=_without_annotations(p))
            sdk.handle_chunk(c)
            handled += 1
        if not handled:
            return None
        try:
            return sdk.get_final_completion()
        except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
            return exc.completion  # finish_reason length / content_filter: the completion it accumulated


def _without_annotations(p: dict) -> dict:
    p = copy.deepcopy(p)
    for c in p.get("choices") or ():
        if isinstance(c, dict) and isinstance(c.get("delta"), dict):
            c["delta"].pop("annotations", None)
    return p


def _lp_counts(lp) -> tuple[int, int]:
    if lp is None:
        return (0, 0)
    return (len(lp.content or ()), len(lp.refusal or ()))


def _sdk_reasoning(message) -> str | None:
    extra = message.model_extra or {}
    for key in ("reasoning_content", "reasoning"):
        if isinstance(extra.get(key), str):
            return extra[key] or None
    return None


def differences(events) -> tuple[list[str], set[str]]:
    """Every disagreement between ``print --json``'s final state and the SDK's, and what the SDK was fed changed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydantic's serializer warns on a list content (Mistral)
        oracle = Oracle(events)
    st = assemble(events)
    ours = json.loads(json.dumps(st.final()))  # exactly what print --json writes
    diffs: list[str] = []
    if oracle.error is not None and (ours["status"] != "failed" or ours["error"] != oracle.error):
        diffs.append(f"error: streamview {ours['status']} {ours['error']!r} vs SDK APIError {oracle.error!r}")
    final = oracle.final
    if final is None:
        return diffs + ([] if oracle.error is not None else ["the SDK saw no chunk"]), oracle.changed
    usage = final.usage.to_dict() if final.usage is not None else None
    if usage != oracle.usage:
        oracle.changed.add("usage")
        usage = oracle.usage
    for key, want in (("id", final.id), ("model", final.model), ("usage", usage)):
        if ours[key] != want:
            diffs.append(f"{key}: streamview {ours[key]!r} vs SDK {want!r}")
    by_index = {c["index"]: c for c in ours["choices"]}
    if sorted(by_index) != sorted(c.index for c in final.choices):
        diffs.append(f"choices: streamview {sorted(by_index)} vs SDK {[c.index for c in final.choices]}")
    for fc in final.choices:
        oc = by_index.get(fc.index, {})
        m = fc.message
        annotations = [a.to_dict() for a in m.annotations] if m.annotations else None
        if "annotations" in oracle.changed:
            annotations = oracle.annotations.get(fc.index) or None
        want = {
            "content": m.content,
            "refusal": m.refusal,
            "reasoning": _sdk_reasoning(m),
            "finish_reason": fc.finish_reason,
            "tool_calls": [(t.id, t.type, t.function.name, t.function.arguments) for t in m.tool_calls or []],
            "annotations": annotations,
            "logprobs": _lp_counts(fc.logprobs),
        }
        lp = oc.get("logprobs") or {"content_tokens": 0, "refusal_tokens": 0}
        got = {
            "content": oc.get("content"),
            "refusal": oc.get("refusal"),
            "reasoning": oc.get("reasoning") or None,
            "finish_reason": oc.get("finish_reason"),
            "tool_calls": [(t["id"], t["type"], t["name"], t["arguments"]) for t in oc.get("tool_calls", [])],
            "annotations": oc.get("annotations"),
            "logprobs": (lp["content_tokens"], lp["refusal_tokens"]),
        }
        if m.audio is not None:
            a = m.audio
            repeats = oracle.audio_ids.get(fc.index, 0)
            mine = oc.get("audio") or {}
            want["audio"] = (a.id, a.transcript, a.expires_at, len(base64.b64decode(a.data or "")))
            got["audio"] = ((mine.get("id") or "") * repeats, mine.get("transcript"), mine.get("expires_at"), mine.get("data_bytes"))
        elif oc.get("audio") is not None:
            want["audio"], got["audio"] = None, oc["audio"]
        for key in want:
            if got[key] != want[key]:
                diffs.append(f"choice {fc.index} {key}: streamview {got[key]!r} vs SDK {want[key]!r}")
    return diffs, oracle.changed


# which streams the SDK cannot read as sent, and why (module docstring); every other stream is compared as sent
def _details_text(delta) -> str:
    """The reasoning text of a delta's ``reasoning_details``, where the delta has no ``reasoning`` string."""
    if not isinstance(delta, dict) or not isinstance(delta.get("reasoning_details"), list):
        return ""
    if any(isinstance(delta.get(k), str) and delta[k] for k in ("reasoning", "reasoning_content")):
        return ""
    out = []
    for d in delta["reasoning_details"]:
        kind = d.get("type") if isinstance(d, dict) else None
        text = d.get("text") if kind == "reasoning.text" else d.get("summary") if kind == "reasoning.summary" else None
        if isinstance(text, str):
            out.append(text)
    return "".join(out)


CHANGED = {"31_openai-chat_moderation_chunk": {"usage"}, "37_mistral-chat_thinking": {"content parts"},
           "40_openrouter-chat_web_search_annotations": {"annotations"}, "content-parts": {"content parts"},
           "44_snowflake-chat_thinking": {"reasoning details"}}


@pytest.mark.parametrize("name", REAL_NAMES)
def test_print_json_equals_the_sdk_on_real_streams(name):
    diffs, changed = differences(events_of(real(name)))
    assert diffs == []
    assert changed == CHANGED.get(name, set())


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_print_json_equals_the_sdk_on_fixtures(path):
    diffs, changed = differences(events_of(path))
    assert diffs == []
    assert changed == CHANGED.get(path.stem, set())


def test_the_comparison_notices_a_lost_annotation_or_transcript():
    """The comparison can fail: an annotation, a transcript fragment or a thinking part streamview missed."""
    for stem, needle in (("annotations", '"annotations":[{'), ("audio", '"transcript":" scarecrow"'),
                         ("content-parts", '"text":" 42"')):
        text = (FIXTURES / f"{stem}.sse").read_text(encoding="utf-8")
        frames = text.split("\n\n")
        hit = next(i for i, f in enumerate(frames) if needle in f)
        events = events_of(text)
        asm_events = [ev for ev in events if ev.index != hit]
        oracle_diffs, _ = differences(events)
        assert oracle_diffs == []
        # streamview without that event, the SDK with it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            oracle = Oracle(events)
        st = ChatAssembler().feed_all(asm_events)
        ours = st.final()["choices"][0]
        m = oracle.final.choices[0].message
        if stem == "annotations":
            assert ours.get("annotations") is None and m.annotations
        elif stem == "audio":
            assert ours["audio"]["transcript"] != m.audio.transcript
        else:
            assert ours["reasoning"] != _sdk_reasoning(m)


# -- annotations ---------------------------------------------------------------------------------------------------
def test_openrouter_annotations_are_kept_once_and_cited_after_the_text():
    events = events_of(real("40_openrouter-chat_web_search_annotations"))
    sent = [a for ev in events if ev.kind == "event" and isinstance(ev.payload, dict)
            for c in ev.payload.get("choices") or () for a in c["delta"].get("annotations") or ()]
    urls = [a["url_citation"]["url"] for a in sent]
    assert len(urls) == 5 and len(set(urls)) == 5
    # the same stream with every annotation chunk sent twice: still five, in order
    raw = real("40_openrouter-chat_web_search_annotations").read_text(encoding="utf-8")
    frames = [f for f in raw.split("\n\n") if f]
    doubled = "".join(f + "\n\n" + (f + "\n\n" if '"annotations"' in f else "") for f in frames)
    for st in (assemble(events), assemble(events_of(doubled))):
        (message,) = st.ordered_items()
        block = message.blocks[("content",)]
        assert block.annotations == sent
        assert st.final()["choices"][0]["annotations"] == sent
        cites = [st.citation(a) for a in block.annotations]
        assert [c.source for c in cites] == [f"{a['url_citation']['title']} <{u}>" if a["url_citation"]["title"] else f"<{u}>"
                                            for a, u in zip(sent, urls)]
        assert all(c.at is None for c in cites)  # start_index = end_index = 0: no place in the text, after it
    assert check_events(events) == []


def test_openai_annotations_are_cited_at_their_end_index():
    st = assemble(events_of(FIXTURES / "annotations.sse"))
    (message,) = st.ordered_items()
    block = message.blocks[("content",)]
    assert len(block.annotations) == 2
    text = block.text
    for a in block.annotations:
        u = a["url_citation"]
        cited = st.citation(a)
        assert cited == Citation(f"{u['title']} <{u['url']}>", u["end_index"])
        assert text[u["start_index"]:u["end_index"]].startswith("[") and text[u["end_index"] - 1] == ")"
    # the empty annotations list of the first delta adds nothing
    assert st.final()["choices"][0]["annotations"] == block.annotations


def test_annotations_before_any_text_keep_content_as_the_sdk_does():
    """An annotation delta with no content makes the text block, but the content stays None as the SDK's."""
    chunk = {"id": "chatcmpl-a", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"annotations": [{"type": "url_citation", "url_citation": {
                 "url": "https://example.com", "title": "Example", "start_index": 0, "end_index": 0}}]}, "finish_reason": "stop"}]}
    text = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"
    diffs, changed = differences(events_of(text))
    assert diffs == [] and not changed
    c = assemble(events_of(text)).final()["choices"][0]
    assert c["content"] is None and c["annotations"][0]["url_citation"]["url"] == "https://example.com"


# -- audio -----------------------------------------------------------------------------------------------------------
def test_audio_transcript_is_text_the_data_a_size_and_the_expiry_marker_ends_the_choice():
    path = FIXTURES / "audio.sse"
    payloads = [json.loads(f[6:]) for f in path.read_text().split("\n\n") if f.startswith("data: {")]
    audio = [p["choices"][0]["delta"]["audio"] for p in payloads]
    transcript = "".join(a.get("transcript", "") for a in audio)
    data = "".join(a.get("data", "") for a in audio)
    events = events_of(path)
    st = assemble(events)
    assert st.status == "completed" and st.terminal_type == "[DONE]"
    (item,) = st.ordered_items()
    assert item.type == "audio" and item.id == audio[0]["id"] and item.status == "completed"
    assert item.done_event == events[-2].index  # the expires_at-only chunk
    block = item.blocks[("transcript",)]
    assert block.kind == "output_text" and block.text == transcript
    assert len(block.chunks) == sum(1 for a in audio if a.get("transcript"))  # counted as deltas
    summary = st.final()["choices"][0]["audio"]
    assert summary == {"id": audio[0]["id"], "transcript": transcript, "expires_at": audio[-1]["expires_at"],
                       "data_bytes": len(base64.b64decode(data)), "data_chunks": sum(1 for a in audio if a.get("data"))}
    assert st.final()["choices"][0]["finish_reason"] is None  # none was sent (the SDK says None too)
    out = json.dumps(st.final())
    assert data[:40] not in out and data[-40:] not in out  # never the base64
    (detail,) = st.details(item)
    assert detail.label == "audio" and f"{len(base64.b64decode(data)):,} bytes" in detail.text and "expires_at" in detail.text
    assert st.text() == "[audio] " + transcript + "\n\n[audio · audio] " + detail.text  # print: the text, then its detail
    assert check_events(events) == []  # no no-finish-reason note: the marker finished the choice


def test_audio_without_its_expiry_marker_is_still_unfinished():
    """Only the expires_at-only delta as a choice's last one finishes it: without it, or with text after it, the
    stream's [DONE] leaves the choice without a finish_reason (the note), as any other."""
    frames = [f + "\n\n" for f in (FIXTURES / "audio.sse").read_text().split("\n\n") if f]
    marker = frames[-2]
    assert '"expires_at"' in marker
    cut = "".join(frames[:-2] + frames[-1:])
    later = marker.replace('{"audio":{"expires_at":1760003900}}', '{"audio":{"transcript":" more"}}')
    for text in (cut, "".join(frames[:-1]) + later + frames[-1]):
        found = check_events(events_of(text))
        assert [(a.rule, a.severity) for a in found] == [("no-finish-reason", NOTE)]
        (item,) = assemble(events_of(text)).ordered_items()
        assert item.status == "no finish_reason"
    # cut before [DONE]: no-done, and the choice finished by its marker is not listed as open
    found = check_events(events_of("".join(frames[:-1])))
    assert [a.rule for a in found] == ["no-done"] and "finish_reason" not in found[0].message


# -- Mistral's typed content parts -----------------------------------------------------------------------------------
def test_mistral_thinking_parts_are_reasoning():
    path = real("37_mistral-chat_thinking")
    payloads = [json.loads(line[6:]) for line in path.read_text().splitlines() if line.startswith("data: {")]
    thinking = "".join(_text_parts(c["delta"]["content"])[1] for p in payloads for c in p["choices"]
                       if isinstance(c["delta"].get("content"), list))
    content = "".join(c["delta"]["content"] for p in payloads for c in p["choices"] if isinstance(c["delta"].get("content"), str))
    assert len(thinking) == 421
    st = assemble(events_of(path))
    reasoning, message = st.ordered_items()
    assert reasoning.type == "reasoning" and reasoning.text_of("reasoning_text") == thinking
    assert message.text_of("output_text") == content
    choice = st.final()["choices"][0]
    assert choice["reasoning"] == thinking and choice["content"] == content
    assert choice["content_parts"] == {"thinking": 58} and "other_content_parts" not in choice
    assert st.text() == f"[reasoning] {thinking}\n\n{content}"


def test_text_parts_are_text_and_other_parts_are_shown_compactly():
    st = assemble(events_of(FIXTURES / "content-parts.sse"))
    reasoning, message = st.ordered_items()
    assert reasoning.text_of("reasoning_text") == "The user wants 6×7. That is 42."
    assert message.text_of("output_text") == "6 × 7 = **42**\n\n(Six sevens.)"
    choice = st.final()["choices"][0]
    assert choice["content_parts"] == {"thinking": 12, "text": 2, "reference": 1}
    assert choice["other_content_parts"] == ['{"type": "reference", "reference_ids": [0, 2]}']
    assert [(d.label, d.text) for d in st.details(message)] == [("content part", '{"type": "reference", "reference_ids": [0, 2]}')]
    assert st.details(reasoning) == []


def test_many_or_long_other_parts_stay_compact():
    part = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 5000}}
    chunk = {"id": "x", "object": "chat.completion.chunk", "model": "m",
             "choices": [{"index": 0, "delta": {"content": [part] * 30}, "finish_reason": "stop"}]}
    st = assemble(events_of(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"))
    choice = st.final()["choices"][0]
    assert choice["content_parts"] == {"image_url": 30}
    assert len(choice["other_content_parts"]) == 20 and all(len(p) < 300 for p in choice["other_content_parts"])
    assert choice["other_content_parts_left_out"] == 10
    details = st.details(st.ordered_items()[0])
    assert len(details) == 21 and details[-1].text == "… 10 more"
    assert len(json.dumps(st.final())) < 10_000


# -- logprobs and phase ------------------------------------------------------------------------------------------------
def test_logprobs_are_summarised_not_kept():
    path = real("28_openai-chat_content_logprobs")
    st = assemble(events_of(path))
    lp = st.final()["choices"][0]["logprobs"]
    assert lp["content_tokens"] > 0 and lp["mean_logprob"] is not None and len(lp["last"]) <= 5
    assert set(lp) == {"content_tokens", "refusal_tokens", "mean_logprob", "lowest", "last"}
    st = assemble(events_of(real("29_openai-chat_refusal_logprobs")))
    assert st.final()["choices"][0]["logprobs"]["refusal_tokens"] > 0


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_no_finished_item_keeps_a_phase(path):
    """Chat sets no item phase; a finished item never shows one."""
    st = assemble(events_of(path))
    assert all(not item.phase for item in st.ordered_items())


# -- the panes -------------------------------------------------------------------------------------------------------
async def test_panes_show_the_audio_transcript_and_mistral_reasoning():
    from streamview.widgets.message_view import MessageView
    from tests.conftest import make_app, screen_text, wait_until

    for stem, wanted in (("audio", ["audio [completed] audio_0136864e7c124f2b36a20e1998c104de", "outstanding in his field!"]),
                         ("content-parts", ["reasoning [stop] choice 0", "The user wants 6×7.", "(Six sevens.)"])):
        app = make_app(FIXTURES / f"{stem}.sse", instant=True)
        async with app.run_test(size=(200, 50)) as pilot:
            await wait_until(pilot, lambda: app.player.finished)
            await pilot.pause(0.1)
            shown = app.query_one(MessageView).text_view.text
            for want in wanted:
                assert want in shown, (stem, want, shown)
            assert app.model.state.status == "completed"
            text = screen_text(app)
            assert "no terminal" not in text
            if stem == "audio":
                assert "audio expires_at=1760003900" in text and 'audio " scarecrow"' in text


# -- serve -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stem", ["audio", "annotations"])
def test_the_sdk_reads_the_audio_and_annotations_fixtures_from_serve(stem):
    """Served on a real loopback socket, the official client reads every chunk as sent, and its accumulated
    message agrees with print --json (the audio id once, the data as its size)."""
    from streamview.replay.serve import serve_in_thread

    path = FIXTURES / f"{stem}.sse"
    srv, base = serve_in_thread(str(path), speed=100)
    try:
        client = openai.OpenAI(base_url=base, api_key="sk-test-not-a-key", max_retries=0)
        got = [c.model_dump(mode="json", exclude_unset=True)
               for c in client.chat.completions.create(model="x", messages=[{"role": "user", "content": "y"}], stream=True)]
        assert got == [ev.payload for ev in events_of(path) if isinstance(ev.payload, dict)]
        with client.chat.completions.stream(model="x", messages=[{"role": "user", "content": "y"}]) as stream:
            message = stream.get_final_completion().choices[0].message
    finally:
        srv.shutdown()
        srv.server_close()
    ours = assemble(events_of(path)).final()["choices"][0]
    if stem == "audio":
        a = ours["audio"]
        assert message.audio.id == a["id"] * 2  # sent twice, concatenated by the SDK (module docstring)
        assert (message.audio.transcript, message.audio.expires_at) == (a["transcript"], a["expires_at"])
        assert len(base64.b64decode(message.audio.data)) == a["data_bytes"]
    else:
        assert [x.to_dict() for x in message.annotations] == ours["annotations"]


# -- what else servers put in a delta -------------------------------------------------------------------------------

def _printed(path: Path) -> tuple[str, dict]:
    state = assemble(events_of(path))
    return state.text(), state.final()


def test_groq_executed_tools_show_what_ran_and_what_came_back():
    text, final = _printed(real("35_groq-chat_compound_web_search"))
    assert '[message · ran search] {"query": "What is the weather in San Francisco today?"}' in text
    assert "Weather in San Francisco <https://www.weatherapi.com/>" in text
    (tool,) = final["choices"][0]["executed_tools"]
    assert tool["type"] == "search" and tool["output"].startswith("Title: Weather in San Francisco")
    assert {"title", "url"} <= set(tool["search_results"][0])


def test_openrouter_reasoning_details_text_is_reasoning_and_encrypted_is_a_size():
    text, _ = _printed(real("44_snowflake-chat_thinking"))
    assert text.startswith("[reasoning] 15 * 27 = 405")  # sent only in reasoning_details
    text, final = _printed(real("39_openrouter-chat_reasoning_details"))
    assert "[reasoning · encrypted reasoning] 1,164 characters" in text
    assert final["choices"][0]["encrypted_reasoning_characters"] == 1164
    assert "gAAAAABpCCSI" not in json.dumps(final)
