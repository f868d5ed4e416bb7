"""Every Anthropic content block, as the official SDK knows them: ``print --json`` equals the SDK's final message
(the beta accumulator ``anthropic.lib.streaming._beta_messages.accumulate_event``, which knows every beta block),
each block type of the SDK's unions has a fixture, and the message pane's blocks or ``details()`` show its payload.

Real captures (``shared/streams/real/47..59_anthropic_*.sse``) are read in place: skipped with the reason when the
folder is absent, a failure on CI.

Where ``print --json`` is not the SDK's message, on purpose (asserted below, the same on both sides):
- opaque values (signatures, redacted thinking, ``encrypted_*`` fields, base64 document data) are shown by their
  size, ``"present (N chars)"`` (``blocks.masked``, applied to the SDK's message too);
- ``usage`` adds ``total_tokens`` (every token the request processed);
- streamview's own fields sit beside the message's: protocol, status, error, incomplete_details, pings, events,
  problems, and ``blocks`` (each block's index and status, and why it is unusual).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import httpx2
import pytest
from anthropic._models import construct_type
from anthropic.lib.streaming._beta_messages import accumulate_event
from anthropic.types.beta import BetaContentBlock, BetaRawContentBlockDelta, BetaRawContentBlockStartEvent, BetaRawMessageStreamEvent
from pydantic import TypeAdapter

from streamview.events import StreamEvent
from streamview.protocols.anthropic import PROTOCOL, container_rows
from streamview.protocols.anthropic.assemble import KNOWN_BLOCK_TYPES, KNOWN_DELTAS, AnthropicAssembler, AnthropicState
from streamview.protocols.anthropic.blocks import blob_marker, masked
from streamview.protocols.anthropic.check import check_events
from streamview.source import read_events

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "anthropic"
VALID = sorted(FIXTURES.glob("*.sse"))
REAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "streams" / "real"
REAL_NAMES = (
    "47_anthropic_thinking.sse", "48_anthropic_redacted_thinking.sse", "49_anthropic_web_search_citations.sse",
    "50_anthropic_code_execution.sse", "51_anthropic_mcp_tool_use.sse", "52_anthropic_web_fetch.sse",
    "53_anthropic_pause_turn_web_search.sse", "54_anthropic_tool_use_input_json.sse", "55_anthropic_compaction_block.sse",
    "56_anthropic_advisor_tool.sse", "57_anthropic_text_editor_code_execution.sse",
    "58_anthropic_tool_search_regex_step1.sse", "59_anthropic_tool_search_regex_step2.sse",
)
SDK_EVENTS = ("message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta")


def real(name: str) -> Path:
    """One real capture; skipped with the reason when the shared folder is absent (never on CI)."""
    path = REAL_DIR / name
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the real Anthropic capture {name} is missing from {REAL_DIR} (required on CI)")
        pytest.skip(f"the real Anthropic captures are not here ({REAL_DIR} is absent): only the fixtures are checked")
    return path


def test_missing_real_captures_skip_but_fail_on_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "REAL_DIR", tmp_path / "absent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="absent"):
        real(REAL_NAMES[0])
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required on CI"):
        real(REAL_NAMES[0])


def events_of(source: Path | str) -> list[StreamEvent]:
    data = source.read_bytes() if isinstance(source, Path) else source.encode()
    return read_events(io.BytesIO(data))[0]


def assemble(source: Path | str) -> AnthropicState:
    return AnthropicAssembler().feed_all(events_of(source))


def sdk_message(events: list[StreamEvent]) -> dict[str, Any]:
    """The SDK's final message: its beta accumulator fed every event it reads (``ping`` and ``error`` are not
    message events), as ``to_dict(mode="json")``."""
    snapshot, bufs = None, {}
    for ev in events:
        p = ev.payload
        if ev.kind == "event" and isinstance(p, dict) and p.get("type") in SDK_EVENTS:
            event = construct_type(type_=BetaRawMessageStreamEvent, value=p)
            snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=bufs, request_headers=httpx2.Headers())
    assert snapshot is not None
    return snapshot.to_dict(mode="json")


def print_json(path: Path) -> dict[str, Any]:
    """``streamview print --json PATH``, run in this process."""
    from streamview.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["print", "--json", str(path)])
    assert code in (0, 1), err.getvalue()  # 1: a stream that failed (an error event), still printed
    return json.loads(out.getvalue())


def differences(sdk: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """Every field of the SDK's final message that ``print --json`` does not say the same (see the module doc)."""
    out = []
    for key, want in sdk.items():
        got = ours.get(key, "<absent>")
        if key == "content":
            want = masked(want)
            if len(want) != len(got):
                out.append(f"content: {len(got)} blocks, the SDK {len(want)}")
            out += [f"content[{n}]: {g!r}\n  != sdk {w!r}" for n, (w, g) in enumerate(zip(want, got)) if w != g]
            continue
        if key == "usage" and isinstance(got, dict):
            assert got.get("total_tokens") == sum(got.get(k) or 0 for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens"))
            got = {k: v for k, v in got.items() if k != "total_tokens"}
        if got != want:
            out.append(f"{key}: {got!r} != sdk {want!r}")
    return out


# -- print --json is the SDK's final message ------------------------------------------------------------------------
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_print_json_is_the_sdks_final_message_for_every_fixture(path: Path):
    assert differences(sdk_message(events_of(path)), print_json(path)) == []


@pytest.mark.parametrize("name", REAL_NAMES)
def test_print_json_is_the_sdks_final_message_for_every_real_stream(name: str):
    path = real(name)
    sdk = sdk_message(events_of(path))
    ours = print_json(path)
    assert differences(sdk, ours) == []
    for key in ("id", "model", "stop_reason", "usage", "content"):  # the brief's fields, all among them
        assert key in sdk


def test_the_comparison_sees_a_wrong_block():
    """A text, a citation, a tool result or an opaque value that differs is caught."""
    path = FIXTURES / "web-search-citations.sse"
    sdk, ours = sdk_message(events_of(path)), print_json(path)
    for n, change in ((0, lambda b: b.update(text=b["text"] + "!")), (4, lambda b: b["citations"][0].update(url="https://other")),
                      (2, lambda b: b["content"].pop()), (2, lambda b: b["content"][0].update(encrypted_content="x" * 5))):
        wrong = json.loads(json.dumps(ours))
        change(wrong["content"][n])
        assert differences(sdk, wrong), n
    wrong = json.loads(json.dumps(ours))
    wrong["usage"]["output_tokens"] += 1
    wrong["usage"]["total_tokens"] += 1
    assert [d.split(":")[0] for d in differences(sdk, wrong)] == ["usage"]


def test_opaque_values_are_said_by_their_size_in_print_json():
    path = FIXTURES / "web-fetch-pdf-errors.sse"
    text = json.dumps(print_json(path))
    pdf = next(ev.payload["content_block"]["content"]["content"]["source"]["data"] for ev in events_of(path)
               if ev.type == "content_block_start" and ev.payload["content_block"]["type"] == "web_fetch_tool_result"
               and ev.payload["content_block"]["content"]["type"] == "web_fetch_result")
    assert pdf not in text and blob_marker(pdf) in text
    for name in ("compaction-summary.sse", "code-execution-files.sse", "advisor-redacted.sse", "thinking-signature-text.sse", "redacted-thinking.sse"):
        raw = (FIXTURES / name).read_text(encoding="utf-8")
        shown = json.dumps(print_json(FIXTURES / name))
        for key in ("encrypted_content", "encrypted_stdout", "signature", "data"):
            for piece in raw.split(f'"{key}":"')[1:]:
                value = piece.split('"', 1)[0]
                if len(value) > 40:
                    assert value not in shown and blob_marker(value) in shown, (name, key)


def test_masking_leaves_a_tool_input_alone():
    """A tool's input is the caller's data: a parameter called ``signature`` or ``encrypted_note`` is shown."""
    block = {"type": "tool_use", "id": "toolu_1", "name": "sign", "input": {"signature": "mine", "encrypted_note": "abc"}}
    assert masked(block) == block
    assert masked({"type": "thinking", "thinking": "", "signature": ""}) == {"type": "thinking", "thinking": "", "signature": ""}
    assert masked({"type": "thinking", "signature": "xyz"})["signature"] == "present (3 chars)"


# -- every block type of the SDK has a fixture, and its payload is shown ---------------------------------------------
def _union_types(annotation: Any) -> set[str]:
    """The ``type`` literals of a discriminated union of SDK models (``Annotated[Union[...], discriminator]``)."""
    union = get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation
    members = get_args(union) or (union,)
    out = set()
    for cls in members:
        literal = cls.model_fields["type"].annotation
        assert get_origin(literal) is Literal, cls
        out.update(get_args(literal))
    return out


SDK_BLOCK_TYPES = _union_types(BetaContentBlock) | _union_types(BetaRawContentBlockStartEvent.model_fields["content_block"].annotation)
SDK_DELTA_TYPES = _union_types(BetaRawContentBlockDelta)


def test_the_sdk_unions_are_read():
    assert {"text", "thinking", "tool_use", "compaction", "fallback", "mcp_tool_listing"} <= SDK_BLOCK_TYPES
    assert {"text_delta", "compaction_delta"} <= SDK_DELTA_TYPES


def test_streamview_knows_every_block_and_delta_type_of_the_sdk():
    """A block or delta type the SDK gains is a note in `check` until streamview knows it: this fails first."""
    assert set(KNOWN_BLOCK_TYPES) == SDK_BLOCK_TYPES
    assert set(KNOWN_DELTAS) == SDK_DELTA_TYPES


def _fixture_blocks() -> dict[str, list[tuple[Path, int]]]:
    """Block type -> (fixture, index) of each content_block_start of that type in the valid fixtures."""
    found: dict[str, list[tuple[Path, int]]] = {}
    for path in VALID:
        for ev in events_of(path):
            if ev.type == "content_block_start" and isinstance(ev.payload, dict):
                found.setdefault(ev.payload["content_block"]["type"], []).append((path, ev.payload["index"]))
    return found


def test_every_sdk_block_type_has_a_fixture():
    missing = SDK_BLOCK_TYPES - set(_fixture_blocks())
    assert not missing, f"no fixture under tests/fixtures/anthropic/ has a {sorted(missing)} block: write one in make_fixtures.py"


def test_the_sdks_own_types_parse_every_fixture_event():
    adapter = TypeAdapter(BetaRawMessageStreamEvent)
    for path in VALID:
        for ev in events_of(path):
            if ev.kind == "event" and isinstance(ev.payload, dict) and ev.payload.get("type") in SDK_EVENTS + ("message_stop",):
                adapter.validate_python(ev.payload)


def _results(block: dict) -> list[str]:
    """What a block's payload is, in the words a reader must see (the SDK's final block, this test's reading)."""
    c = block.get("content")
    if isinstance(c, dict) and "error_code" in c:
        return [c["error_code"]] + ([c["error_message"]] if c.get("error_message") else [])
    t = block["type"]
    if t == "text":
        return [block["text"]]
    if t == "thinking":
        return [block["thinking"]]
    if t == "redacted_thinking":
        return [f"[redacted thinking, {len(block['data'])} bytes]"]
    if t in ("tool_use", "server_tool_use", "mcp_tool_use"):
        return [json.dumps(block["input"], ensure_ascii=False)] if block["input"] else []
    if t == "web_search_tool_result":
        return [r[k] for r in c for k in ("title", "url")]
    if t == "web_fetch_tool_result":
        doc = c["content"]
        data = doc["source"]["data"]
        return [c["url"], doc["title"]] + ([data.strip()[:200]] if doc["source"]["type"] == "text" else [f"{len(data):,} characters of base64"])
    if t in ("code_execution_tool_result", "bash_code_execution_tool_result"):
        out = [c["stdout"].strip()] if c.get("stdout") else [f"encrypted ({len(c['encrypted_stdout'])} chars)"]
        return out + [str(c["return_code"])] + [f["file_id"] for f in c["content"]] + ([c["stderr"].strip()] if c["stderr"] else [])
    if t == "text_editor_code_execution_tool_result":
        if c["type"].endswith("_view_result"):
            return [c["content"]] if c["file_type"] == "text" else [f"{len(c['content']):,} characters of {c['file_type']} data"]
        if c["type"].endswith("_create_result"):
            return ["file updated" if c["is_file_update"] else "file created"]
        return c["lines"]
    if t == "tool_search_tool_result":
        return [r["tool_name"] for r in c["tool_references"]]
    if t == "mcp_tool_result":
        return [x["text"] for x in c] if isinstance(c, list) else [c]
    if t == "advisor_tool_result":
        return [c["text"].strip()] if "text" in c else [f"redacted (encrypted, {len(c['encrypted_content'])} chars)"]
    if t == "container_upload":
        return [block["file_id"]]
    if t == "compaction":
        return [block["content"]]
    if t == "fallback":
        return [block["from"]["model"], block["to"]["model"], block["trigger"]["category"]]
    if t == "mcp_tool_listing":
        return [block["mcp_server_name"]] + [x["name"] for x in block["tools"]]
    raise AssertionError(f"this test does not know what a {t} block's payload is: say it in _results")


def _opaque(block: Any) -> list[str]:
    """The opaque values inside a block (they must never be shown)."""
    if isinstance(block, list):
        return [v for b in block for v in _opaque(b)]
    if not isinstance(block, dict):
        return []
    out = []
    for k, v in block.items():
        if isinstance(v, str) and len(v) > 40 and (k.startswith("encrypted_") or k == "signature" or (k == "data" and block.get("type") in ("redacted_thinking", "base64"))):
            out.append(v)
        elif k != "input":
            out += _opaque(v)
    return out


def _shown(st: AnthropicState, position: int) -> str:
    """What the message pane shows of a block: its blocks' text and its details (label: text)."""
    item = st.items[position]
    return "\n".join([b.text for b in item.ordered_blocks()] + [f"{d.label}: {d.text}" for d in st.details(item)])


@pytest.mark.parametrize("btype", sorted(SDK_BLOCK_TYPES))
def test_the_pane_or_details_show_each_block_types_payload(btype: str):
    found = _fixture_blocks().get(btype)
    assert found, f"no fixture has a {btype} block"
    for path, index in found:
        st = assemble(path)
        block = sdk_message(events_of(path))["content"][index]
        shown = _shown(st, index)
        for piece in _results(block):
            assert piece in shown, f"{path.name} block {index} ({btype}): {piece!r} not in {shown!r}"
        for blob in _opaque(block):
            assert blob not in shown, f"{path.name} block {index}: an opaque value is shown"
        assert all(len(d.text) <= 2100 for d in st.details(st.items[index]))


def test_a_failed_mcp_call_says_why():
    st = assemble(FIXTURES / "mcp-listing-error.sse")
    [detail] = st.details(st.items[2])
    assert detail == ("error", "Error: repository pydantic/pydantic-ai is not indexed yet; try again in a few minutes.")
    assert st.details(st.items[1]) == [("server", "deepwiki")]
    assert st.details(st.items[0]) == [("tools", "deepwiki: read_wiki_structure, ask_question")]


def test_results_are_details_not_blocks():
    """A tool result has no block: the pane draws its details (one place, never twice)."""
    for path in VALID:
        st = assemble(path)
        for item in st.ordered_items():
            if item.type.endswith("_tool_result") or item.type in ("container_upload", "fallback", "mcp_tool_listing"):
                assert item.blocks == {} and st.details(item), (path.name, item.position)


# -- the text, the compaction, the container, the citations ----------------------------------------------------------
def _paragraphs(text: str) -> list[str]:
    """``print``'s paragraphs that are neither a labelled block nor a detail (``[type ...] ...``): the answer's."""
    return [p for p in text.split("\n\n") if not p.startswith("[")]


def test_text_blocks_split_by_a_tool_call_are_two_paragraphs():
    text = assemble(FIXTURES / "code-execution-files.sse").text()
    assert _paragraphs(text) == ["I'll compute the mean and plot it.", "The mean is **2.8**; the plot is in `plot.png`. The 2 GB file was too large to write."]
    # adjacent text blocks (split around citations) still run on
    assert assemble(FIXTURES / "document-citations.sse").text() == (
        "According to the documents: the grass is green, revenue grew 12%, the API has two endpoints and the office opens at 9.")


def test_real_advisor_answer_is_two_paragraphs():
    text = assemble(real("56_anthropic_advisor_tool.sse")).text()
    assert "finalizing.The answer" not in text
    assert _paragraphs(text)[0].endswith("before finalizing.") and _paragraphs(text)[-1] == "The answer is **4**."


def test_compaction_summary_is_the_blocks_text():
    st = assemble(FIXTURES / "compaction-summary.sse")
    item = st.items[0]
    [block] = item.ordered_blocks()
    assert block.kind == "summary_text" and block.text.startswith("The user and the assistant planned a trip to Lisbon")
    assert st.text() == f"[compaction] {block.text}\n\nTake the train from Rossio station: about 40 minutes to Sintra."
    assert st.details(item) == []


def test_real_compaction_prints_its_summary():
    text = assemble(real("55_anthropic_compaction_block.sse")).text()
    assert text.startswith('[compaction] The user provided a very long context') and text.endswith("Next step: Say hello to the user.\n\nHello! 👋")


def test_a_compaction_delta_replaces_the_summary_and_a_null_one_is_said():
    start = ('event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",'
             '"model":"claude-sonnet-4-6","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}}\n\n'
             'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"compaction","content":null}}\n\n')
    delta = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"compaction_delta","content":%s}}\n\n'
    stop = 'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    st = assemble(start + delta % '"first"' + delta % '"second"' + stop)
    assert st.items[0].blocks[("compaction",)].text == "second"
    assert st.final()["content"] == [{"type": "compaction", "content": "second", "encrypted_content": None}]
    failed = assemble(start + stop)
    assert failed.details(failed.items[0]) == [("summary", "none: the compaction produced no summary")]


def test_the_container_is_kept_and_shown():
    path = FIXTURES / "code-execution-files.sse"
    st = assemble(path)
    box = st.final()["container"]
    assert box["id"].startswith("container_011C") and box["expires_at"] == "2026-04-24T11:40:02.118302Z"
    rows = PROTOCOL.status_rows(st)
    assert rows[-1] == ("container", f"{box['id']} (expires 2026-04-24T11:40:02.118302Z)", "")
    assert container_rows(None) == [] and container_rows({"id": "c", "skills": [{"skill_id": "pptx", "type": "anthropic"}]}) == [("container", "c, skills: pptx", "")]
    assert print_json(path)["container"] == box


def test_real_container_rows():
    for name, cid in (("50_anthropic_code_execution.sse", "container_011CaNRFAbjdPf4rmBarZzqQ"),
                      ("57_anthropic_text_editor_code_execution.sse", "container_011CaNRJmpe9Tf6C69Paxy7b")):
        st = assemble(real(name))
        assert PROTOCOL.status_rows(st)[-1].value.startswith(f"{cid} (expires 2026-04-24T")


def test_citations_of_every_shape():
    st = assemble(FIXTURES / "document-citations.sse")
    cited = [st.citation(a) for item in st.ordered_items() for b in item.ordered_blocks() for a in b.annotations]
    report = st.final()["content"][3]["citations"][0]["file_id"]
    assert cited == [
        ("Nature facts, characters 0-20: “The grass is green.”", None),
        (f"document 1 ({report}), pages 3-4: “Revenue grew 12% year over year.”", None),
        ("API notes, blocks 0-1: “GET /items POST /items”", None),
        ("Office hours (https://intranet.example.com/office), block 0: “Opening hours: 9:00-17:00.”", None),
    ]
    assert st.citation({"type": "page_location", "document_index": 0, "start_page_number": 2, "end_page_number": 3}) == ("document 0, page 2", None)
    assert st.citation({"type": "future_location", "url": "https://x.example", "end_char_index": 5}) == ("<https://x.example>", None)
    assert st.citation("not a citation") is None and st.citation({"type": "web_search_result_location"}) is None


def test_real_web_search_citations():
    st = assemble(real("49_anthropic_web_search_citations.sse"))
    annotations = [a for item in st.ordered_items() for b in item.ordered_blocks() for a in b.annotations]
    assert len(annotations) > 5
    for a in annotations:
        source, at = st.citation(a)
        assert at is None and source.endswith(f"<{a['url']}>") and a["encrypted_index"] not in source
    assert all(item.phase == "" for item in st.ordered_items())  # every block stopped: no phase left


def test_real_web_fetch_title_and_text():
    st = assemble(real("52_anthropic_web_fetch.sse"))
    details = dict(st.details(st.items[2]))
    assert details["url"].startswith("https://ai.pydantic.dev (retrieved 2025-11-14")
    assert details["title"] == "Pydantic AI"
    assert details["text"].startswith("Pydantic AI\nGenAI Agent Framework, the Pydantic way") and "more characters)" in details["text"]


def test_real_tool_search_names_the_tools_found():
    st = assemble(real("58_anthropic_tool_search_regex_step1.sse"))
    assert st.details(st.items[1]) == [("tools found", "get_temp_data")]


def test_a_fallback_names_the_serving_model():
    st = assemble(FIXTURES / "fallback-refusal.sse")
    assert st.model == "claude-sonnet-4-5-20250929"
    assert st.details(st.items[0]) == [("fallback", "claude-opus-4-5 -> claude-sonnet-4-5-20250929"), ("trigger", "refusal (cyber)")]


@pytest.mark.parametrize("name", REAL_NAMES)
def test_real_streams_check_clean(name: str):
    """Every block and delta type of the real captures is known: no note, no error."""
    assert [(a.rule, a.index, a.message) for a in check_events(events_of(real(name)))] == []
