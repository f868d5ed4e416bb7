"""Time travel from checkpoints (``Session.state_at``): the state as of any event, restored from the nearest
snapshot of the assembler and the events after it folded again, equals a fresh fold of the prefix, on every
fixture of every protocol and every real stream, at seeded random indexes; the live state is not touched; and
the checkpoints are never further apart than ``CHECKPOINT_MAX``, so the cost does not grow with the index."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

import streamview.session as session_module
from streamview.session import read_session
from streamview.state import Chunks, restore, snapshot
from tests.conftest import FIXTURES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_real_streams import real_streams  # noqa: E402

TRANSCRIPTS = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".sse", ".ndjson"))


def _compare(path: Path, picks: int = 12) -> int:
    with path.open("rb") as fp:
        s = read_session(fp, keep=True)
    if s.proto is None or not s.events:
        return 0
    fresh_final = s.proto.assembler().feed_all(s.events).final()
    n = len(s.events)
    indexes = random.Random(path.name).sample(range(n), min(picks, n))
    for i in indexes:
        got = s.state_at(i)
        want = s.proto.assembler().feed_all(s.events[: i + 1])
        assert got.final() == want.final(), (path.name, i)
        assert got.text() == want.text(), (path.name, i)
    assert s.state.final() == fresh_final, path.name  # restoring and folding again left the live state alone
    return len(indexes)


@pytest.fixture
def dense_checkpoints(monkeypatch):
    """A checkpoint every 3 events: every fixture crosses many of them."""
    monkeypatch.setattr(session_module, "CHECKPOINT_MIN", 3)


def test_every_fixture_travels_to_the_same_state_as_a_fresh_fold(dense_checkpoints):
    assert len(TRANSCRIPTS) > 100
    compared = sum(_compare(p) for p in TRANSCRIPTS)
    assert compared > 800


def test_every_real_stream_travels_to_the_same_state_as_a_fresh_fold(dense_checkpoints):
    streams = real_streams()
    assert len(streams) == 63
    assert sum(_compare(p, picks=20) for p in streams) > 1000


def test_checkpoints_are_kept_at_most_checkpoint_max_apart(tmp_path):
    import subprocess

    out = tmp_path / "big.sse"
    subprocess.run([sys.executable, str(Path(__file__).resolve().parents[1] / "benchmarks" / "gen_transcript.py"),
                    "--deltas", "30000", "-o", str(out)], check=True)
    with out.open("rb") as fp:
        s = read_session(fp, keep=True)
    at = list(s._checkpoint_at)
    assert len(at) >= len(s.events) // session_module.CHECKPOINT_MAX
    gaps = [b - a for a, b in zip([-1, *at], [*at, len(s.events) - 1])]
    assert max(gaps) <= session_module.CHECKPOINT_MAX
    lens = s.events._r.len
    big = {i for i in range(len(s.events)) if lens[i] >= session_module.BIG_EVENT}
    assert big and big <= set(at)  # a big event is never folded again: a checkpoint right after each
    regular = [g for g, i in zip(gaps[:-1], at) if i not in big]  # the gap that ends at each checkpoint
    assert regular and min(regular) >= session_module.CHECKPOINT_MIN
    middle = len(s.events) // 2
    assert s.state_at(middle).text() == s.proto.assembler().feed_all(s.events[: middle + 1]).text()


def test_a_snapshot_keeps_a_blocks_deltas_by_reference_and_a_count():
    live = Chunks(["a", "bc", "d"])
    snap = snapshot({"chunks": live})
    live.append("ef")  # the live one goes on growing
    back = restore(snap)["chunks"]
    assert list(back) == ["a", "bc", "d"] and back.text() == "abcd"
    back.append("X")  # a restored one is its own
    assert list(live) == ["a", "bc", "d", "ef"] and live.text() == "abcdef"
    assert list(restore(snap)["chunks"]) == ["a", "bc", "d"]
    many = Chunks(str(i) for i in range(2000))  # joined segments and a tail
    snap = snapshot(many)
    many.append("end")
    assert list(restore(snap)) == [str(i) for i in range(2000)]


def test_text_from_is_the_deltas_from_k_joined():
    """``Chunks.text_from(k)`` (what the message pane reads each frame) equals ``"".join(chunks[k:])``, across
    joined segments, the tail, and after ``text()`` made one segment."""
    import random

    r = random.Random(3)
    for _ in range(100):
        items = ["".join(r.choice("ab日\n") for _ in range(r.randint(0, 5))) for _ in range(r.randint(0, 3000))]
        chunks = Chunks()
        for piece in items:
            chunks.append(piece)
            if r.random() < 0.01:
                chunks.text()
        for k in (0, 1, len(items) // 2, len(items) - 1, len(items), len(items) + 3, r.randint(0, len(items))):
            assert chunks.text_from(k) == "".join(items[k:])
            for m in (k, k + 1, r.randint(0, len(items) + 2), len(items), len(items) + 5):
                assert chunks.text_between(k, m) == "".join(items[k:m])  # what the message pane reads back
