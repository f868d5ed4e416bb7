"""The event store (streamview/store.py): every event kept in compact arrays, its data read back on demand from
the transcript file (where it is one slice of it) or from the spool, and given back equal to what was read: the
same data byte for byte, time, line, type, sequence number, error and payload, for every fixture and real stream,
and for cut-off, non-UTF-8, multi-line, huge and odd events."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from streamview.events import StreamEvent
from streamview.session import Session, read_session
from streamview.source import EventReader, iter_chunks
from streamview.store import EventStore, FileIndex, Spool
from tests.test_real_streams import real_streams

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).resolve().parents[1] / "streamview" / "examples"


def _reference(path: Path) -> list[StreamEvent]:
    """The events as the reader makes them, kept as objects (the old way: nothing read back)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    reader = EventReader(framing="auto")
    events = []
    for chunk in iter_chunks(io.BytesIO(data)):
        events.extend(reader.feed(chunk))
    events.extend(reader.finish())
    return events


def _stored(path: Path) -> Session:
    with open(path, "rb") as fp:
        return read_session(fp, keep=True)


def _assert_same(session: Session, ref: list[StreamEvent]) -> None:
    store = session.events
    assert isinstance(store, EventStore)
    assert len(store) == len(ref)
    got = list(store)  # read back in runs (``datas``)
    for ev, want in zip(got, ref):
        assert ev == want, f"event {want.index} differs"
        assert ev._data == want._data  # the stored bytes themselves
    for want in ref:  # and one at a time, past the cache
        store._r.cache.clear()
        assert store.data_of(want.index) == want._data
        assert store[want.index] == want
        assert store.type_of(want.index) == want.type
        assert store.error_of(want.index) == want.error
        assert store.t_of(want.index) == want.t


def _all_files() -> list[Path]:
    files = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".sse", ".ndjson", ".gz", ".jsonl", ".txt"))
    return files + sorted(EXAMPLES.glob("*.sse"))


def test_every_fixture_reads_back_as_read():
    files = _all_files()
    assert len(files) > 40
    for path in files:
        _assert_same(_stored(path), _reference(path))


def test_every_real_stream_reads_back_as_read():
    for path in real_streams():
        _assert_same(_stored(path), _reference(path))


def _write(tmp_path: Path, body: bytes, name: str = "t.sse") -> Path:
    p = tmp_path / name
    p.write_bytes(body)
    return p


HUGE = "x" * (3 * 64 * 1024 + 123)  # longer than a read chunk and the bytes kept before it


def _odd_body() -> bytes:
    return b"".join([
        "\ufeffevent: a\ndata: {\"type\":\"a\",\"v\":\"caf\u00e9 \U0001f642\"}\n\n".encode(),
        b"data: line one\ndata: line two\n\n",  # two data lines: not one slice of the file
        b"data: {\"bad\": \"\xff\xfe\"}\n\n",  # invalid UTF-8: U+FFFD, not the bytes read
        b": keep-alive\n\n",
        b"data: crlf\r\n\r\n",
        b"data: cr only\r\r",
        b"not sse at all\nmore junk\n\n",
        f"data: {{\"type\":\"huge\",\"text\":\"{HUGE}\"}}\n\n".encode(),
        b"id: 7\nretry: 10\ndata: {\"type\":\"after\"}\n\n",
        b"data: {\"type\":\"cut\",\"no\":\"end",  # cut off: no line ending, no blank line
    ])


def test_cut_off_non_utf8_multiline_huge_and_junk_events_read_back_as_read(tmp_path):
    path = _write(tmp_path, _odd_body())
    session = _stored(path)
    ref = _reference(path)
    _assert_same(session, ref)
    kinds = [ev.kind for ev in ref]
    assert "junk" in kinds and "comment" in kinds
    assert ref[-1].error and "cut off" in ref[-1].error
    offs = session.events._r.off
    by_data = {ev._data: offs[ev.index] for ev in ref}
    # where each one's data is read from: the file (>= 0) where it is one slice of it, else the spool
    assert by_data[f'{{"type":"huge","text":"{HUGE}"}}'.encode()] >= 0  # found in the file, not copied
    assert by_data[b'{"type":"after"}'] >= 0
    assert by_data[b"line one\nline two"] < 0
    assert by_data['{"bad": "\ufffd\ufffd"}'.encode()] < 0
    raw = path.read_bytes()
    assert not session.events._r.held  # comments and junk too: all in the arrays
    for ev in ref:
        off = offs[ev.index]
        if off >= 0 and ev._data:
            assert raw[off : off + len(ev._data)] == ev._data


def test_a_plain_stream_is_read_from_the_file_and_holds_no_payloads(tmp_path):
    path = EXAMPLES / "o4-mini-hello.sse"
    session = _stored(path)
    r = session.events._r
    assert all(off >= 0 for off, n in zip(r.off, r.len) if n)  # every event's data is a slice of the file
    assert not r.held and not r.aux  # nothing kept as an object, no payload held


def test_gzip_and_stdin_like_sources_go_to_the_spool(tmp_path):
    body = _odd_body()
    gz = _write(tmp_path, gzip.compress(body), "t.sse.gz")
    from streamview.source import open_transcript

    session = read_session(open_transcript(str(gz)), keep=True)
    r = session.events._r
    assert all(off < 0 for off, n in zip(r.off, r.len) if n)
    _assert_same(session, _reference(gz))
    session = read_session(io.BytesIO(body), keep=True)  # not a file on disk
    assert all(off < 0 for off, n in zip(session.events._r.off, session.events._r.len) if n)
    _assert_same(session, _reference(_write(tmp_path, body)))


@pytest.mark.parametrize("batches", [False, True], ids=["one-by-one", "in-batches"])
def test_the_player_and_its_session_share_one_store_and_a_restart_reads_it_again(tmp_path, batches):
    import asyncio

    from replay.player import Player

    path = _write(tmp_path, _odd_body())
    ref = _reference(path)

    async def play() -> Session:
        with open(path, "rb") as fp:
            player = Player(fp, instant=True)
            session = Session("t", player=player)
            many = session.add_many if batches else None
            await player.run(session.add, until_finished=True, emit_many=many)
            assert session.events._r is player.buffer._r  # one set of records
            first = list(session.events)
            session.reset()
            player.restart()
            await player.run(session.add, until_finished=True, emit_many=many)
            assert list(session.events) == first
        return session

    session = asyncio.run(play())
    got = list(session.events)
    assert [e.index for e in got] == [e.index for e in ref]
    for ev, want in zip(got, ref):
        assert (ev.kind, ev.name, ev._data, ev.type, ev.error, ev.line, ev.payload) == (
            want.kind, want.name, want._data, want.type, want.error, want.line, want.payload)
    assert session.events.seen == sum(1 for e in ref if e.kind == "event")


def test_events_the_arrays_cannot_describe_are_kept_as_they_are():
    store = EventStore()
    odd = [
        StreamEvent(0, "event", "message", "lone \ud800 surrogate", None, 1),
        StreamEvent(5, "event", "message", "{}", 1.0, 2),  # index out of order
        StreamEvent(2, "event", "message", "{}", float("nan"), 3),
    ]
    for ev in odd:
        store.append(ev)
    store._r.cache.clear()
    assert store[0] is odd[0] and store[1] is odd[1] and store[2] is odd[2]
    plain = StreamEvent(3, "event", "message", '{"a": 1}', None, 4, payload={"a": 1}, seq=9, error="why")
    store.append(plain)
    store._r.cache.clear()
    back = store[3]
    assert back is not plain and back == plain
    assert (back.t, back.line, back.seq, back.error, back.payload) == (None, 4, 9, "why", {"a": 1})
    assert store.times(0, 4) == [1.0]


def test_a_view_grows_only_with_the_next_event():
    store = EventStore()
    evs = [StreamEvent(i, "event", "message", f'{{"i": {i}}}', i * 0.1, i + 1) for i in range(3)]
    for ev in evs:
        store.append(ev)
    view = store.view()
    assert len(view) == 0
    view.append(evs[0])
    assert len(view) == 1 and view[0] == evs[0] and view[-1] == evs[0]
    with pytest.raises(IndexError):
        view[1]
    with pytest.raises(ValueError):
        view.append(evs[2])


def test_a_view_counts_the_sse_events_and_finds_the_last_one_at_every_length(tmp_path):
    """A view is told only how far it reaches (``extend`` is O(1)): what it says of the events it holds is worked
    out from the records' list of the others (comments, junk), at any length, the same as a store appended to."""
    body = _odd_body() + b": one\n\n: two\n\njunk line\n\n"
    ref = _reference(_write(tmp_path, body))
    kinds = [e.kind for e in ref]
    assert "comment" in kinds and "junk" in kinds and kinds[-1] != "event"
    store = EventStore()
    for ev in ref:
        store.append(ev)
    for n in range(len(ref) + 1):
        view = store.view()
        view.extend(ref[:n])
        whole = EventStore()
        for ev in ref[:n]:
            whole.append(ev)
        events = [i for i, k in enumerate(kinds[:n]) if k == "event"]
        assert view.seen == whole.seen == len(events)
        assert view.last_event_index == whole.last_event_index == (events[-1] if events else -1)
    view = store.view()
    view.extend(ref[:2])
    with pytest.raises(ValueError):
        view.extend(ref[3:5])  # not the next ones
    with pytest.raises(ValueError):
        view.extend(ref[2:4] + ref[5:6])  # not in order
    assert len(view) == 2
    with pytest.raises(ValueError):
        store.view().extend(ref + ref[:1])  # past the records


def test_a_batch_folds_as_the_events_one_by_one():
    """``Session.add_many`` (what the App's player hands its batches to) leaves the session as ``add`` per event
    does: the events, their kinds and keys, the problems, the anomalies, the state and the checkpoints."""
    files = _all_files()
    assert len(files) > 20
    for path in files:
        ref = _reference(path)
        one, many = Session(path.name), Session(path.name)
        for ev in _reference(path):
            one.add(ev)
        evs = _reference(path)
        for a in range(0, len(evs), 7):  # batches of 7, as the player's cut them anywhere
            many.add_many(evs[a : a + 7])
        one.finish()
        many.finish()
        assert list(many.events) == list(one.events) == ref, path.name
        assert (bytes(many._kinds), list(many._keys), many._key_table) == (bytes(one._kinds), list(one._keys), one._key_table)
        assert [e.index for e in many.problems] == [e.index for e in one.problems], path.name
        assert [a.as_dict() for a in many.anomalies] == [a.as_dict() for a in one.anomalies], path.name
        assert many.state.final() == one.state.final(), path.name
        assert [i for i, _ in many._checkpoints] == [i for i, _ in one._checkpoints]
        assert (many.events.seen, many.events.last_event_index) == (one.events.seen, one.events.last_event_index)


def test_the_fold_notes_the_longest_label_the_first_delta_and_the_problems_as_the_rows_say():
    """What the fold notes as it goes (the type column's width, the first token, the events with an error) equals
    what the rows and the events say afterwards, for every fixture and real stream, batched as the player does."""
    files = _all_files()
    assert len(files) > 20
    firsts = 0
    for path in files:
        s = Session(path.name)
        evs = _reference(path)
        for a in range(0, len(evs), 7):
            s.add_many(evs[a : a + 7])
        s.finish()
        n = len(s.events)
        assert s.longest_label == max((len(s.describe(i).label) for i in range(n)), default=0), path.name
        first = next((i for i in range(n) if s.is_delta(i)), None)
        assert (s.first_delta.index if s.first_delta is not None else None) == first, path.name
        firsts += first is not None
        assert [e.index for e in s.problems] == [e.index for e in evs if e.error is not None], path.name
    assert firsts > 20  # (most have a delta: the check above is not of None against None)


def test_a_schedule_gives_the_events_without_a_time_theirs_and_marks_them():
    from streamview.events import schedule

    evs = [StreamEvent(i, "comment" if i == 3 else "event", f"n{i % 2}", f'{{"type": "t{i}"}}', None if i % 2 else 9.5, i + 1)
           for i in range(6)]
    before = [(e.kind, e.name, e.type, e.data) for e in evs]
    schedule(evs, 0.25)
    assert [e.t for e in evs] == [9.5, 0.25, 9.5, 0.75, 9.5, 1.25]
    assert [e.t_synthetic for e in evs] == [False, True, False, True, False, True]
    assert [(e.kind, e.name, e.type, e.data) for e in evs] == before


def test_the_spool_reads_back_what_was_appended_from_its_buffer_the_file_or_memory(monkeypatch):
    sp = Spool()
    monkeypatch.setattr(Spool, "FLUSH", 100)
    parts = [bytes([i % 256]) * (i * 7 % 300 + 1) for i in range(200)]
    offs = [sp.append(p) for p in parts]
    for off, p in zip(offs, parts):
        assert sp.read(off, len(p)) == p

    def no_file(*a, **k):
        raise OSError("read-only file system")

    import tempfile

    monkeypatch.setattr(tempfile, "TemporaryFile", no_file)
    mem = Spool()
    assert mem._fd is None
    off = mem.append(b"kept in memory")
    assert mem.read(off, 14) == b"kept in memory"


def test_a_file_cut_short_after_it_was_read_gives_what_is_left(tmp_path):
    path = _write(tmp_path, b'data: {"a": 1}\n\ndata: {"b": 2}\n\n')
    session = _stored(path)
    path.write_bytes(b'data: {"a": 1}\n\nda')  # truncated in place
    store = session.events
    store._r.cache.clear()
    assert store.data_of(0) == b'{"a": 1}'
    assert store.data_of(1) == b""  # what is left of it: nothing, and no exception
    assert FileIndex.of(io.BytesIO(b"x")) is None


def test_the_player_reads_ahead_at_most_a_few_megabytes_of_big_events(tmp_path, monkeypatch):
    """Each event read ahead holds its parsed payload until it is played; big ones are not read ahead together
    (paused, the reader stops once the events waiting hold more than ``READ_AHEAD_BYTES``)."""
    import asyncio

    from replay import player as player_mod
    from replay.player import Player

    monkeypatch.setattr(player_mod, "READ_AHEAD_BYTES", 300_000)
    big = "y" * 200_000
    body = b"".join(f'data: {{"type":"big","n":{i},"text":"{big}"}}\n\n'.encode() for i in range(12))
    path = _write(tmp_path, body)

    async def play() -> tuple[int, int, int]:
        with open(path, "rb") as fp:
            player = Player(fp, paused=True)
            session = Session("t", player=player)
            task = asyncio.ensure_future(player.run(session.add, until_finished=True))
            for _ in range(100):  # let the reader go as far as it will
                await asyncio.sleep(0.01)
            waiting, read = player._ahead_bytes, len(player.buffer)
            player.to_end()
            await task
            return waiting, read, len(session.events)

    waiting, read, played = asyncio.run(play())
    assert played == 12
    assert 0 < read < 12 and waiting <= 300_000 + 200_100  # the limit, and the event that went past it


def test_without_positioned_reads_every_event_goes_to_the_spool_and_reads_back(tmp_path, monkeypatch):
    """Where ``os.pread`` is missing (Windows), no transcript is read in place (its descriptor would share the
    reader's position): the spool is read with a seek under a lock."""
    import os

    from streamview import store as store_mod

    monkeypatch.delattr(os, "pread")
    monkeypatch.setattr(store_mod, "_pread", store_mod._seek_read)
    monkeypatch.setattr(store_mod, "_pwrite", store_mod._seek_write)
    monkeypatch.setattr(store_mod, "_SPOOL", None)  # a spool of its own, written with the seek too
    monkeypatch.setattr(Spool, "FLUSH", 64)
    path = _write(tmp_path, _odd_body())
    session = _stored(path)
    r = session.events._r
    assert r.index is None and all(off < 0 for off, n in zip(r.off, r.len) if n)
    _assert_same(session, _reference(path))


def test_line_numbers_are_kept_in_four_bytes_and_one_past_that_range_as_itself():
    from array import array

    from streamview.events import parse_record

    lines = array("I")
    near = parse_record(("message", '{"a": 1}', "", None, None, 7, False, ""), 0, lines)
    far = parse_record(("message", '{"a": 2}', "", None, None, 5_000_000_000, False, ""), 1, lines)
    after = parse_record(("message", '{"a": 3}', "", None, None, 5_000_000_003, False, ""), 2, lines)
    assert (near.line, far.line, after.line) == (7, 5_000_000_000, 5_000_000_003)
    assert list(lines) == [7, 0, 0] and lines.itemsize == 4
    store = EventStore()
    for ev in (near, far, after):
        store.append(ev)
    store._r.cache.clear()
    assert [store[i].line for i in range(3)] == [7, 5_000_000_000, 5_000_000_003]


def test_a_batch_appended_to_a_store_keeps_the_records_one_by_one_would(tmp_path):
    """``EventStore.extend`` (the player's batches: the usual events in one loop) leaves the same records as
    ``append`` per event, for every fixture and for the odd events (cut off, not UTF-8, several data lines, huge,
    junk, comments, no time), read from a file in place and from the spool."""
    from array import array

    from streamview.events import schedule

    more = b": one\n\n: two\n\njunk line\n\n: three\n\nmore junk\n\n"  # the same shapes again: the one loop's
    paths = _all_files() + [_write(tmp_path, _odd_body() + more)]
    for path in paths:
        for in_place, timed in ((True, 2), (True, 1), (False, 2), (False, 0)):  # every other event, all, none timed
            stores = []
            for batch in (False, True):
                data = path.read_bytes()
                fp = open(path, "rb") if in_place else io.BytesIO(data)
                index = FileIndex.of(fp)
                reader = EventReader(framing="auto", index=index)
                store = EventStore(index)
                for chunk in iter_chunks(fp):
                    evs = reader.feed(chunk)
                    if timed:
                        schedule(evs[::timed], 0.5)
                    if batch:
                        store.extend(evs)
                    else:
                        for ev in evs:
                            store.append(ev)
                store.extend(reader.finish()) if batch else [store.append(e) for e in reader.finish()]
                stores.append(store)
                fp.close()
            one, many = (s._r for s in stores)
            for name in ("off", "len", "t", "sh", "others"):
                a, b = getattr(one, name), getattr(many, name)
                if name == "off":  # what went to the spool went to the one spool, one store after the other
                    a, b = array("q", [max(x, -1) for x in a]), array("q", [max(x, -1) for x in b])
                assert a.tobytes() == b.tobytes(), f"{path.name}: {name}"
            assert (one.shapes, one.line_odd, one.aux, one.untimed) == (many.shapes, many.line_odd, many.aux, many.untimed), path.name
            assert sorted(one.held) == sorted(many.held), path.name
            assert (stores[0].seen, stores[0].last_event_index) == (stores[1].seen, stores[1].last_event_index)
            assert list(stores[0]) == list(stores[1]), path.name


def test_the_player_reads_the_same_events_when_each_chunk_is_parsed_a_turn_later(tmp_path, monkeypatch):
    """The player decodes a chunk, and when that took long (a huge line put together) parses it in a thread, the
    loop free meanwhile. Always splitting gives the same events; cancelled while the parse runs (or before it
    started), the reader still makes the decoded frames events, once (nothing read is lost, nothing twice)."""
    import asyncio

    from replay import player as player_mod
    from replay.player import Player

    monkeypatch.setattr(player_mod, "SPLIT_AFTER", -1.0)  # every chunk split
    path = _write(tmp_path, _odd_body() * 3)
    ref = _reference(path)

    async def play() -> list:
        with open(path, "rb") as fp:
            player = Player(fp, instant=True)
            session = Session("t", player=player)
            await player.run(session.add, until_finished=True, emit_many=session.add_many)
            return list(session.events)

    got = asyncio.run(play())
    assert [(e.index, e.kind, e._data, e.line) for e in got] == [(e.index, e.kind, e._data, e.line) for e in ref]

    async def cancelled() -> tuple:
        with open(path, "rb") as fp:
            player = Player(fp, instant=True)
            reader = player._reader
            calls = {"frames": 0, "events": 0}
            frames_of, events_of = reader.frames_of, reader.events_of

            def frames(chunk):
                calls["frames"] += 1
                return frames_of(chunk)

            def events(frames, chunk):
                calls["events"] += 1
                return events_of(frames, chunk)

            reader.frames_of, reader.events_of = frames, events
            reading = asyncio.ensure_future(player._read())
            while calls["frames"] == 0:
                await asyncio.sleep(0)
            assert calls["frames"] == 1 and calls["events"] <= 1  # the first chunk decoded, parsed in its thread
            reading.cancel()
            try:
                await reading
            except asyncio.CancelledError:
                pass
            return list(player.buffer), calls, player.eof

    reader = EventReader(framing="auto")
    want = reader.feed(path.read_bytes()[: 64 * 1024]) + reader.finish()
    assert len(want) > 3
    kept, calls, eof = asyncio.run(cancelled())
    assert eof and calls == {"frames": 1, "events": 1}
    assert [(e.index, e.kind, e._data) for e in kept] == [(e.index, e.kind, e._data) for e in want]

    import concurrent.futures

    class NeverStarted:  # the parser's thread busy: the chunk's parse has not begun when the cancel comes
        def submit(self, fn, *args):
            return concurrent.futures.Future()

    monkeypatch.setattr(player_mod, "_parser", NeverStarted)
    kept, calls, eof = asyncio.run(cancelled())
    assert eof and calls == {"frames": 1, "events": 1}
    assert [(e.index, e.kind, e._data) for e in kept] == [(e.index, e.kind, e._data) for e in want]
