"""Every Responses API output item type shows what it did and what came back: in the message pane, the Markdown
view, ``print`` and ``print --json`` (tests/fixtures/responses_items/, one stream per member of the openai SDK's
``ResponseOutputItem`` union, written by tests/fixtures/make_item_fixtures.py). Also: citations as numbered markers
and a sources list, text that ``output_item.added`` already held, audio, logprobs, and the annotation rules."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from streamview.protocols.responses.check import check_events
from streamview.render import markdown_document, render_document
from streamview.session import read_session
from streamview.source import read_events
from tests.fixtures import make_item_fixtures
from tests.test_real_streams import _sdk_item, sdk_final_response

ROOT = Path(__file__).resolve().parents[1]
ITEMS = ROOT / "tests" / "fixtures" / "responses_items"
pytestmark = pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the SDK serialising its own types

# what each item type's payload must show (in the pane, the Markdown view and print)
SHOWS = {
    "message": "Paris is the capital of France.",
    "file_search_call": "geography.pdf (score 0.910): Paris is the capital.",
    "function_call": '"city"',
    "function_call_output": "18 degrees, sunny",
    "web_search_call": "<https://weather.example/paris>",
    "computer_call": "malicious_instructions: The page asks to ignore instructions.",
    "computer_call_output": "image (",
    "reasoning": "Looking up the weather.",
    "program": "print(2 + 2)",
    "program_output": "4",
    "tool_search_call": '"query": "weather"',
    "tool_search_output": "get_weather: The weather in a city",
    "additional_tools": "get_time",
    "compaction": "303 characters",
    "image_generation_call": "A red fox in snow",
    "code_interpreter_call": "1024",
    "local_shell_call": "ls -la /tmp",
    "local_shell_call_output": "total 0",
    "shell_call": "$ echo hi",
    "shell_call_output": "ls: cannot access 'x'",
    "apply_patch_call": "+new",
    "apply_patch_call_output": "Updated notes.md",
    "mcp_call": "401 Unauthorized (token expired)",
    "mcp_list_tools": "lookup: Look a page up",
    "mcp_approval_request": '"page"',
    "mcp_approval_response": "not on a Friday",
    "custom_tool_call": "SELECT 1",
    "custom_tool_call_output": "1 row",
}


def union_members() -> set[str]:
    from openai.types.responses import ResponseOutputItem

    args = typing.get_args(ResponseOutputItem)
    if args and typing.get_origin(args[0]) is typing.Union:
        args = typing.get_args(args[0])
    return {typing.get_args(m.model_fields["type"].annotation)[0] for m in args}


def test_every_output_item_type_of_the_sdk_has_a_fixture():
    members = union_members()
    assert members <= set(make_item_fixtures.ITEMS), f"item types without a fixture: {sorted(members - set(make_item_fixtures.ITEMS))}"
    assert {p.stem for p in ITEMS.glob("*.sse")} == set(make_item_fixtures.ITEMS)
    assert set(SHOWS) == set(make_item_fixtures.ITEMS)


def test_item_fixtures_are_what_the_generator_writes():
    for name, text in make_item_fixtures.render().items():
        assert (ITEMS / name).read_text(encoding="utf-8") == text, f"{name}: run tests/fixtures/make_item_fixtures.py"


def _session(path: Path):
    with open(path, "rb") as fp:
        return read_session(fp, None)


@pytest.mark.parametrize("item_type", sorted(make_item_fixtures.ITEMS))
def test_item_payload_is_shown_everywhere(item_type):
    path = ITEMS / f"{item_type}.sse"
    session = _session(path)
    assert [(a.rule, a.message) for a in session.anomalies] == []
    want = SHOWS[item_type]
    pane = "".join(render_document(session.state)[0])
    assert want in pane
    assert want in markdown_document(session.state)
    printed = subprocess.run([sys.executable, "-m", "streamview", "print", str(path)], capture_output=True, text=True,
                             cwd=ROOT, timeout=60)
    assert printed.returncode == 0, printed.stderr
    assert want in printed.stdout
    as_json = subprocess.run([sys.executable, "-m", "streamview", "print", "--json", str(path)], capture_output=True,
                             text=True, cwd=ROOT, timeout=60)
    final = json.loads(as_json.stdout)
    for shown in (pane, printed.stdout, as_json.stdout):
        assert make_item_fixtures.IMAGE not in shown  # base64 is a size, never text
    # print --json is the SDK's final item (base64 payloads replaced by their size on both sides)
    response = sdk_final_response(path)
    (theirs,) = [_sdk_item(i) for i in response.output]
    (mine,) = final["output"]
    assert {k: mine.get(k) for k in theirs} == theirs


def test_citations_are_numbered_markers_and_a_sources_list():
    state = _session(ITEMS / "message.sse").state
    pane = "".join(render_document(state)[0])
    assert "Paris is the capital of France.[1]" in pane
    assert "sources:\n[1] Paris - Wikipedia <https://en.wikipedia.org/wiki/Paris>" in pane
    md = markdown_document(state)
    assert "France.[1]" in md and "1. Paris - Wikipedia <https://en.wikipedia.org/wiki/Paris>" in md


def _frames(*payloads: dict) -> bytes:
    return "".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n" for p in payloads).encode()


def _stream(item_added: dict, middle: list[dict], item_done: dict) -> list[dict]:
    resp = {"id": "resp_1", "status": "in_progress", "output": []}
    out = [{"type": "response.created", "response": resp}, {"type": "response.output_item.added", "output_index": 0, "item": item_added}]
    out += middle
    out += [{"type": "response.output_item.done", "output_index": 0, "item": item_done},
            {"type": "response.completed", "response": {**resp, "status": "completed", "output": [item_done]}}]
    for n, p in enumerate(out):
        p["sequence_number"] = n
    return out


def _events(payloads: list[dict]):
    import io

    return read_events(io.BytesIO(_frames(*payloads)))[0]


CODE = "import math\nprint(math.pi)"


@pytest.mark.parametrize("deltas", [[CODE], ["import math\n", "print(math.pi)"]], ids=["whole", "in-pieces"])
def test_text_in_output_item_added_is_the_start_not_a_prefix_to_add_again(deltas):
    """gpt-oss's reference server adds a code_interpreter_call with its whole code, then repeats it in deltas."""
    item = {"id": "ci_1", "type": "code_interpreter_call", "status": "in_progress", "code": CODE, "container_id": "c"}
    middle = [{"type": "response.code_interpreter_call_code.delta", "output_index": 0, "item_id": "ci_1", "delta": d} for d in deltas]
    middle.append({"type": "response.code_interpreter_call_code.done", "output_index": 0, "item_id": "ci_1", "code": CODE})
    events = _events(_stream(item, middle, {**item, "status": "completed"}))
    from streamview.protocols.responses.assemble import assemble

    state = assemble(events)
    assert state.items[0].text_of("code") == CODE
    assert check_events(events) == []


def test_deltas_that_go_on_from_the_added_text_are_kept_after_it():
    item = {"id": "fc_1", "type": "function_call", "status": "in_progress", "name": "f", "call_id": "c", "arguments": '{"a":'}
    middle = [{"type": "response.function_call_arguments.delta", "output_index": 0, "item_id": "fc_1", "delta": '1}'}]
    events = _events(_stream(item, middle, {**item, "status": "completed", "arguments": '{"a":1}'}))
    from streamview.protocols.responses.assemble import assemble

    assert assemble(events).items[0].text_of("arguments") == '{"a":1}'
    assert check_events(events) == []


def _message_with(annotations_streamed: list[dict], annotations_final: list[dict], index_of=lambda n: n):
    item = {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    middle = [{"type": "response.content_part.added", "output_index": 0, "item_id": "msg_1", "content_index": 0, "part": part},
              {"type": "response.output_text.delta", "output_index": 0, "item_id": "msg_1", "content_index": 0, "delta": "Hi."}]
    for n, a in enumerate(annotations_streamed):
        middle.append({"type": "response.output_text.annotation.added", "output_index": 0, "item_id": "msg_1",
                       "content_index": 0, "annotation_index": index_of(n), "annotation": a})
    done_part = {"type": "output_text", "text": "Hi.", "annotations": annotations_final}
    middle.append({"type": "response.content_part.done", "output_index": 0, "item_id": "msg_1", "content_index": 0, "part": done_part})
    return _events(_stream(item, middle, {**item, "status": "completed", "content": [done_part]}))


A1 = {"type": "url_citation", "url": "https://a.example", "title": "A", "start_index": 0, "end_index": 3}
A2 = {"type": "url_citation", "url": "https://b.example", "title": "B", "start_index": 0, "end_index": 3}


def test_annotations_only_in_the_final_payload_count_and_are_cited():
    events = _message_with([], [A1])
    from streamview.protocols.responses.assemble import assemble

    state = assemble(events)
    assert check_events(events) == []
    assert "A <https://a.example>" in "".join(render_document(state)[0])


def test_streamed_annotations_that_differ_from_the_final_ones_are_reported():
    rules = [(a.rule, a.message) for a in check_events(_message_with([A1], [A1, A2]))]
    assert any(r in ("done-mismatch", "final-mismatch") and "annotation" in m for r, m in rules), rules


def test_annotation_index_out_of_order_is_reported():
    rules = [(a.rule, a.message) for a in check_events(_message_with([A1, A2], [A1, A2], index_of=lambda n: 1 - n))]
    assert [r for r, _ in rules] == ["index-mismatch", "index-mismatch"], rules
    assert "annotation_index" in rules[0][1]


def test_audio_transcript_is_text_and_audio_a_size():
    resp = {"id": "resp_1", "status": "in_progress", "output": []}
    payloads = [{"type": "response.created", "response": resp},
                {"type": "response.audio.transcript.delta", "delta": "Hello "},
                {"type": "response.audio.delta", "delta": "UklGR" * 80},
                {"type": "response.audio.transcript.delta", "delta": "there"},
                {"type": "response.audio.transcript.done", "transcript": "Hello there"},
                {"type": "response.audio.done"},
                {"type": "response.completed", "response": {**resp, "status": "completed"}}]
    for n, p in enumerate(payloads):
        p["sequence_number"] = n
    events = _events(payloads)
    from streamview.protocols.responses.assemble import assemble

    state = assemble(events)
    assert "Hello there" in state.text()
    final = state.final()
    assert final["audio"] == {"transcript": "Hello there", "bytes": 300}
    assert final["output"] == []
    assert "UklGR" not in "".join(render_document(state)[0])


def test_logprobs_on_output_text_are_summarised():
    item = {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    lp = [{"token": "Hi", "logprob": -0.5, "top_logprobs": []}, {"token": ".", "logprob": -1.5, "top_logprobs": []}]
    middle = [{"type": "response.content_part.added", "output_index": 0, "item_id": "msg_1", "content_index": 0, "part": part},
              {"type": "response.output_text.delta", "output_index": 0, "item_id": "msg_1", "content_index": 0, "delta": "Hi.", "logprobs": lp},
              {"type": "response.content_part.done", "output_index": 0, "item_id": "msg_1", "content_index": 0, "part": {**part, "text": "Hi."}}]
    events = _events(_stream(item, middle, {**item, "status": "completed", "content": [{**part, "text": "Hi."}]}))
    from streamview.protocols.responses.assemble import assemble

    pane = "".join(render_document(assemble(events))[0])
    assert 'logprobs:\n2 tokens, mean -1.000, lowest "." -1.500' in pane


def test_a_finished_item_has_no_phase_left():
    item = {"id": "ws_1", "type": "web_search_call", "status": "in_progress"}
    middle = [{"type": "response.web_search_call.searching", "output_index": 0, "item_id": "ws_1"}]
    events = _events(_stream(item, middle, {**item, "status": "completed", "action": {"type": "search", "query": "q"}}))
    from streamview.protocols.responses.assemble import assemble

    state = assemble(events)
    assert state.items[0].phase == ""
    assert "searching" not in "".join(render_document(state)[0])


@pytest.mark.parametrize("name", ["code_interpreter_call", "mcp_call", "web_search_call", "message"])
def test_plain_writes_what_print_prints(name):
    """``--plain`` writes an item's details when the item is done, so its output is what ``print`` prints."""
    path = str(ITEMS / f"{name}.sse")
    run = lambda *args: subprocess.run([sys.executable, "-m", "streamview", *args], capture_output=True, text=True,
                                       cwd=ROOT, timeout=60).stdout
    printed = run("print", path)
    assert printed.strip()
    assert run("replay", "--instant", "--plain", path) == printed
