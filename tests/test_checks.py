"""The checker (streamview/checks.py): one broken transcript per rule, the valid fixtures clean, hand-broken seeds,
``streamview check`` as a user runs it, and the incremental path (Session) agreeing with ``check_events``."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from streamview.checks import ERROR, NOTE
from streamview.protocols.responses.check import RULES, check_events
from streamview.session import Session
from streamview.source import EventReader, read_events
from tests.conftest import FIXTURES, SEED_NANO, SEED_O4
from tests.fixtures import make_broken_fixtures

BROKEN = FIXTURES / "broken"
VALID = sorted((FIXTURES / "responses").glob("*.sse"))
SEEDS = [SEED_O4, SEED_NANO]


def events_of(source: Path | bytes | str):
    if isinstance(source, Path):
        source = source.read_bytes()
    if isinstance(source, str):
        source = source.encode()
    events, _ = read_events(io.BytesIO(source))
    return events


def found(source) -> list[tuple[str, int, int | None, str]]:
    """(rule, event index, sequence number, severity) of every anomaly, in the checker's order."""
    return [(a.rule, a.index, a.seq, a.severity) for a in check_events(events_of(source))]


# -- (a) one broken fixture per rule ------------------------------------------------------------------------------

# rule -> (event index, sequence_number) of the one anomaly its fixture must raise; see make_broken_fixtures.py
EXPECTED = {
    "seq-gap": (1, 2),  # in_progress (1) lost: seq 2 is event #1
    "seq-duplicate": (2, 1),  # in_progress sent twice
    "seq-out-of-order": (4, 3),  # reasoning output_item.done (3) after the message's added (4)
    "before-added": (5, 5),  # first delta before its content_part.added
    "after-done": (18, 18),  # content_part.done after output_item.done
    "done-mismatch": (16, 16),  # output_text.done text
    "index-mismatch": (17, 17),  # content_part.done with the reasoning item's output_index
    "no-terminal": (18, 18),  # the last event left: the message's output_item.done
    "multiple-terminal": (20, 20),  # a second response.completed
    "after-terminal": (19, 19),  # output_item.done after response.completed
    "final-mismatch": (19, 19),  # response.completed's output text
    "bad-json": (1, None),  # in_progress's data line cut: no sequence number can be read
    "bad-sse": (2, None),  # a junk line between events #1 and #2
    "unknown-event": (19, 19),  # response.future_thing before response.completed
    "item-not-done": (18, 18),  # the reasoning item never done: reported at response.completed
    "response-id-changed": (1, 1),  # response.in_progress names another response
    "item-id-rotated": (8, 8),  # a delta names the message under a new id (a note)
}
NOTES = ("unknown-event", "item-id-rotated")



def test_every_rule_has_a_broken_fixture():
    assert set(EXPECTED) == set(RULES)
    assert sorted(p.stem for p in BROKEN.glob("*.sse")) == sorted(RULES)


def test_broken_fixtures_are_what_the_generator_writes():
    for name, text in make_broken_fixtures.render().items():
        assert (BROKEN / name).read_text(encoding="utf-8") == text, f"{name}: run tests/fixtures/make_broken_fixtures.py"


@pytest.mark.parametrize(
    "rule",
    list(RULES),
)
def test_broken_fixture_triggers_exactly_its_rule(rule):
    anomalies = check_events(events_of(BROKEN / f"{rule}.sse"))
    assert {a.rule for a in anomalies} == {rule}, [(a.rule, a.index, a.seq, a.message) for a in anomalies]
    index, seq = EXPECTED[rule]
    severity = NOTE if rule in NOTES else ERROR
    assert [(a.rule, a.index, a.seq, a.severity) for a in anomalies] == [(rule, index, seq, severity)]
    assert anomalies[0].message


def test_bad_json_rule_alone():
    """bad-json without the cascade above: an extra event whose data is not JSON, between two good events."""
    blocks = make_broken_fixtures.seed_blocks()
    text = make_broken_fixtures.join(blocks[:1] + ["event: response.in_progress\ndata: {not json"] + blocks[1:])
    anomalies = check_events(events_of(text))
    assert [(a.rule, a.index, a.seq, a.severity) for a in anomalies] == [("bad-json", 1, None, ERROR)]
    assert "not JSON" in anomalies[0].message


def test_multiple_terminal_is_not_also_after_terminal():
    rules = [a.rule for a in check_events(events_of(BROKEN / "multiple-terminal.sse"))]
    assert "after-terminal" not in rules


# -- (b) valid streams are clean -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", VALID + SEEDS, ids=lambda p: p.name)
def test_valid_stream_has_no_error(path):
    anomalies = check_events(events_of(path))
    assert [a for a in anomalies if a.severity == ERROR] == []


def test_valid_fixture_set_is_complete():
    assert len(VALID) == 9


# -- (c) hand-broken seed ------------------------------------------------------------------------------------------

def seed_blocks() -> list[str]:
    """The o4-mini seed split into its event blocks on blank lines (block i has sequence_number i)."""
    blocks = [b for b in SEED_O4.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    assert [int(re.search(r'"sequence_number":(\d+)', b).group(1)) for b in blocks] == list(range(20))
    return blocks


def join(blocks: list[str]) -> str:
    return "\n\n".join(blocks) + "\n\n"


def seed_removed_8() -> str:
    b = seed_blocks()
    return join(b[:8] + b[9:])


def seed_swapped_7_8() -> str:
    b = seed_blocks()
    return join(b[:7] + [b[8], b[7]] + b[9:])


def seed_duplicated_9() -> str:
    b = seed_blocks()
    return join(b[:10] + [b[9]] + b[10:])


def seed_corrupt_done() -> str:
    b = seed_blocks()
    assert '"text":"Hello there! How can I assist you today?"' in b[16]
    b[16] = b[16].replace("assist you", "help you")
    return join(b)


def seed_cut_off() -> str:
    text = join(seed_blocks())
    return text[: text.index('"sequence_number":19') + 40]  # inside response.completed's data line, no newline


def test_seed_splits_back_to_itself():
    assert join(seed_blocks()) == SEED_O4.read_text(encoding="utf-8")


def test_seed_event_8_removed():
    anomalies = check_events(events_of(seed_removed_8()))
    assert [(a.rule, a.index, a.seq) for a in anomalies] == [
        ("seq-gap", 8, 9),
        # the lost delta "!" is really missing from the text the deltas build: the done disagrees
        ("done-mismatch", 15, 16),
    ]
    assert "8 missing" in anomalies[0].message
    assert "at character 11" in anomalies[1].message


def test_seed_events_7_and_8_swapped():
    anomalies = check_events(events_of(seed_swapped_7_8()))
    assert [(a.rule, a.index, a.seq) for a in anomalies] == [
        ("seq-out-of-order", 8, 7),
        # the deltas really build "Hello! there ...": the done text disagrees from character 5
        ("done-mismatch", 16, 16),
    ]
    assert "seq-gap" not in {a.rule for a in anomalies}  # the gap at seq 8 was withdrawn when 7 arrived
    assert "7 arrived after 8" in anomalies[0].message
    assert "at character 5" in anomalies[1].message


def test_seed_event_9_duplicated():
    anomalies = check_events(events_of(seed_duplicated_9()))
    assert [(a.rule, a.index, a.seq) for a in anomalies] == [
        ("seq-duplicate", 10, 9),
        # the repeated delta " How" is folded in twice: the done (event #17 now) disagrees from character 17
        ("done-mismatch", 17, 16),
    ]
    assert "9 was already seen" in anomalies[0].message
    assert "at character 17" in anomalies[1].message


def test_seed_corrupt_done_text():
    anomalies = check_events(events_of(seed_corrupt_done()))
    assert [(a.rule, a.index, a.seq) for a in anomalies] == [("done-mismatch", 16, 16)]
    assert "at character 23: 'help you today?' vs 'assist you today?'" in anomalies[0].message


def test_seed_cut_off_mid_event():
    anomalies = check_events(events_of(seed_cut_off()))
    assert [(a.rule, a.index, a.seq) for a in anomalies] == [("bad-sse", 19, None), ("no-terminal", 19, None)]
    assert "cut off" in anomalies[0].message


def test_content_part_added_before_its_item_is_one_fault():
    b = seed_blocks()
    text = make_broken_fixtures.join(make_broken_fixtures.renumber(b[:4] + [b[5], b[4]] + b[6:]))
    assert found(text) == [("before-added", 4, 4, ERROR)]


def test_wrong_output_index_on_part_added_is_one_fault():
    b = seed_blocks()
    b[5] = b[5].replace('"output_index":1', '"output_index":0', 1)
    assert found(join(b)) == [("index-mismatch", 5, 5, ERROR)]


# -- (e) error then response.failed is one failure -----------------------------------------------------------------

def test_error_then_failed_is_not_multiple_terminal():
    path = FIXTURES / "responses" / "failed-error-event-mid-output.sse"
    events = events_of(path)
    assert [ev.type for ev in events[-2:]] == ["error", "response.failed"]
    anomalies = check_events(events)
    assert "multiple-terminal" not in {a.rule for a in anomalies}
    assert "after-terminal" not in {a.rule for a in anomalies}
    assert anomalies == []


def test_second_failed_after_the_pair_is_multiple_terminal():
    text = (FIXTURES / "responses" / "failed-error-event-mid-output.sse").read_text(encoding="utf-8")
    blocks = [b for b in text.split("\n\n") if b.strip()]
    blocks.append(blocks[-1].replace('"sequence_number":16', '"sequence_number":17', 1))
    assert found(join(blocks)) == [("multiple-terminal", 17, 17, ERROR)]


# -- (f) incremental: Session.add one by one, then finish() == check_events ----------------------------------

HAND_BROKEN = {
    "removed-8": seed_removed_8,
    "swapped-7-8": seed_swapped_7_8,
    "duplicated-9": seed_duplicated_9,
    "corrupt-done": seed_corrupt_done,
    "cut-off": seed_cut_off,
}
ALL_STREAMS = [pytest.param(p, id=p.name) for p in VALID + SEEDS + sorted(BROKEN.glob("*.sse"))] + [
    pytest.param(make, id=name) for name, make in HAND_BROKEN.items()
]


def _source(stream) -> bytes:
    return stream.read_bytes() if isinstance(stream, Path) else stream().encode()


@pytest.mark.parametrize("stream", ALL_STREAMS)
def test_incremental_model_agrees_with_check_events(stream):
    data = _source(stream)
    events = events_of(data)
    model = Session("test")
    for ev in events:
        model.add(ev)
    model.finish()
    expected = check_events(events)
    assert sorted(model.anomalies, key=lambda a: a.index) == expected
    model.finish()  # a second finish adds nothing
    assert sorted(model.anomalies, key=lambda a: a.index) == expected


@pytest.mark.parametrize("stream", ALL_STREAMS)
def test_incremental_model_from_small_chunks_agrees(stream):
    """As a live source delivers it: 7 bytes at a time through the EventReader, each event added as decoded."""
    data = _source(stream)
    reader = EventReader()
    model = Session("test")
    for i in range(0, len(data), 7):
        for ev in reader.feed(data[i:i + 7]):
            model.add(ev)
    for ev in reader.finish():
        model.add(ev)
    model.finish()
    expected = check_events(events_of(data))
    assert sorted(model.anomalies, key=lambda a: a.index) == expected


# -- (d) the command line ------------------------------------------------------------------------------------------

def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return subprocess.run([sys.executable, "-m", "streamview", *args], input=stdin, capture_output=True, timeout=60, env=env)


def test_cli_check_seeds_ok():
    out = run("check", str(SEED_O4), str(SEED_NANO))
    assert out.returncode == 0, out.stdout.decode() + out.stderr.decode()
    assert out.stderr == b""
    text = out.stdout.decode()
    assert f"{SEED_O4}: ok in 20 events" in text
    assert f"{SEED_NANO}: ok in 12 events" in text


@pytest.mark.parametrize("rule", ["done-mismatch", "seq-gap", "no-terminal"])
def test_cli_check_broken_fixture_exits_1(rule):
    path = BROKEN / f"{rule}.sse"
    out = run("check", str(path))
    assert out.returncode == 1
    assert out.stderr == b""
    index, seq = EXPECTED[rule]
    assert f"{path}: #{index} seq {seq}  error {rule}: " in out.stdout.decode()
    assert f"{path}: 1 error(s), 0 note(s)" in out.stdout.decode()


def test_cli_check_note_only_exits_0():
    out = run("check", str(BROKEN / "unknown-event.sse"))
    assert out.returncode == 0
    assert "note unknown-event" in out.stdout.decode()


def test_cli_check_json():
    path = BROKEN / "after-done.sse"
    out = run("check", "--json", str(SEED_O4), str(path))
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert isinstance(data, list) and len(data) == 1
    obj = data[0]
    assert {"file", "rule", "index", "sequence_number", "message", "severity"} <= set(obj)
    assert (obj["file"], obj["rule"], obj["index"], obj["sequence_number"], obj["severity"]) == (str(path), "after-done", 18, 18, "error")
    assert isinstance(obj["message"], str) and obj["message"]


def test_cli_check_json_seed_is_empty_list():
    out = run("check", "--json", str(SEED_NANO))
    assert out.returncode == 0
    assert json.loads(out.stdout) == []


def test_cli_check_json_null_sequence_number():
    out = run("check", "--json", str(BROKEN / "bad-sse.sse"))
    assert out.returncode == 1
    [obj] = json.loads(out.stdout)
    assert (obj["rule"], obj["index"], obj["sequence_number"]) == ("bad-sse", 2, None)


def test_cli_check_missing_file_exit_2_others_still_reported(tmp_path):
    missing = tmp_path / "nope.sse"
    broken = BROKEN / "final-mismatch.sse"
    out = run("check", str(SEED_O4), str(missing), str(broken))
    assert out.returncode == 2
    err = out.stderr.decode().splitlines()
    assert len(err) == 1 and str(missing) in err[0] and "Traceback" not in err[0]
    text = out.stdout.decode()
    assert f"{SEED_O4}: ok in 20 events" in text
    assert f"{broken}: #19 seq 19  error final-mismatch: " in text


def test_cli_check_missing_file_json_still_reports_others(tmp_path):
    missing = tmp_path / "nope.sse"
    out = run("check", "--json", str(missing), str(BROKEN / "seq-duplicate.sse"))
    assert out.returncode == 2
    assert len(out.stderr.decode().splitlines()) == 1
    assert [(o["rule"], o["index"], o["sequence_number"]) for o in json.loads(out.stdout)] == [("seq-duplicate", 2, 1)]


def test_cli_check_stdin():
    out = run("check", "-", stdin=(BROKEN / "multiple-terminal.sse").read_bytes())
    assert out.returncode == 1
    assert "-: #20 seq 20  error multiple-terminal: " in out.stdout.decode()
    out = run("check", "-", stdin=SEED_O4.read_bytes())
    assert out.returncode == 0
    assert "-: ok in 20 events" in out.stdout.decode()


@pytest.mark.parametrize("drop", ["response.output_text.delta", "response.function_call_arguments.delta"])
def test_content_that_arrives_only_in_its_done_event_is_valid_for_every_part(drop):
    """One rule for every kind of part (issue 12: LM Studio sends function arguments only in .done): a part with
    no delta at all is not compared with the "" it never streamed, and it assembles to what its done event says."""
    from streamview.protocols.responses.assemble import ResponseAssembler

    data = (FIXTURES / "responses" / "function-calls-parallel.sse").read_bytes() if "function" in drop else SEED_O4.read_bytes()
    blocks = [b for b in data.split(b"\n\n") if b.strip() and f"event: {drop}\n".encode() not in b + b"\n"]
    stripped = b"\n\n".join(blocks) + b"\n\n"
    assert stripped != data, "no delta was dropped: the test proves nothing"
    events = events_of(stripped)
    assert [a for a in check_events(events) if a.severity == ERROR and a.rule == "done-mismatch"] == []
    whole = ResponseAssembler().feed_all(events_of(data)).text()
    assert ResponseAssembler().feed_all(events).text() == whole


def test_a_final_output_that_only_renames_an_item_is_a_note():
    """OpenRouter's response.completed names an item with another temporary id than the stream did, with the same
    content: compared by position and content, the id change alone is a note; changed content is still an error."""
    data = SEED_O4.read_text()
    final, rest = data.rsplit("event: response.completed", 1)
    renamed = final + "event: response.completed" + rest.replace('"id":"msg_687937d95cc08191aa918aa59c886a270d28eb600b6e01a0"', '"id":"msg_renamed"')
    assert renamed != data
    anomalies = check_events(events_of(renamed))
    assert [(a.rule, a.severity) for a in anomalies] == [("final-mismatch", NOTE)]
    assert "msg_renamed" in anomalies[0].message
    changed = renamed.replace('"text":"Hello there! How can I assist you today?"}],"role":"assistant"}],"parallel',
                              '"text":"Hello there! How can I help you today?"}],"role":"assistant"}],"parallel')
    assert changed != renamed
    rules = [(a.rule, a.severity) for a in check_events(events_of(changed))]
    assert ("final-mismatch", ERROR) in rules and ("final-mismatch", NOTE) in rules
