"""``/`` search (streamview/search.py, and the App's worker): case-insensitive in data or type, from the cursor on,
wrapping round once; run in slices so keys are answered while it scans, its progress in the status line, and a new
search stops the one running. ``f`` filters over many events scan the same way (widgets/event_list.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from streamview.events import StreamEvent
from streamview.search import Search
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[1]


def _events(texts: list[str]) -> list[StreamEvent]:
    return [StreamEvent(i, "event", "message", t, None, i, type="x.delta") for i, t in enumerate(texts)]


def test_matches_case_insensitively_from_the_start_and_wraps_round_once():
    evs = _events(['{"d":"Hello"}', '{"d":"world"}', '{"d":"HELLO again"}', '{"d":"café Ünïcode"}'])
    assert Search(evs, "hello").run() == 0
    assert Search(evs, "hello", start=1).run() == 2
    assert Search(evs, "hello", start=3).run() == 0  # wrapped round
    assert Search(evs, "ÜNÏ").run() == 3  # not ASCII: the case-folded text
    assert Search(evs, "x.DELTA").run() == 0  # the type too
    s = Search(evs, "absent")
    assert s.run() is None and s.done and s.progress == 1.0


def test_a_scan_runs_in_slices_of_its_budget():
    evs = _events([f'{{"d":"token {i}"}}' for i in range(200_000)] + ['{"d":"the needle"}'])
    s = Search(evs, "NEEDLE")
    slices = 0
    t0 = time.perf_counter()
    while not s.step(0.002):
        slices += 1
        assert 0 < s.progress < 1
    assert s.found == 200_000 and slices >= 2  # it gave the loop back before the end
    assert time.perf_counter() - t0 < 10


async def test_keys_are_answered_while_a_search_runs_and_a_new_search_replaces_it(tmp_path, monkeypatch):
    import streamview.search as search_module
    from streamview.replay.player import Player
    from streamview.session import Session
    from streamview.tui.app import StreamviewApp
    from streamview.widgets.event_list import EventList
    from textual.events import Key
    from textual.widgets import Input

    path = tmp_path / "big.sse"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gen_transcript.py"), "--deltas", "60000", "-o", str(path)],
                   check=True)
    app = StreamviewApp(Session("big", player=Player(path.open("rb"), instant=True)))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: app.player.finished and app.query_one(EventList).count == len(app.model.events),
                         timeout=60)
        n = len(app.model.events)
        step = search_module.Search.step

        def slow_step(self, budget=0.008):  # 2,000 events a slice and 5 ms each: a scan of all takes > 150 ms
            time.sleep(0.005)
            return step(self, 0)

        monkeypatch.setattr(search_module.Search, "step", slow_step)
        events = app.query_one(EventList)
        box = app.query_one("#search", Input)
        app.action_search()
        box.value = "zzznosuchtext"
        box.post_message(Input.Submitted(box, box.value))  # as enter does; the test does not wait for the app to idle

        async def until(condition, timeout=5.0):
            deadline = time.monotonic() + timeout
            while not condition():
                assert time.monotonic() < deadline, "condition not reached in time"
                await asyncio.sleep(0.005)

        await until(lambda: app._search_note.startswith("searching 'zzznosuchtext'"))
        assert "%" in app._search_note  # its progress, in the status line
        events.focus()
        before = events.cursor
        app.post_message(Key("up", None))  # a key while it scans, as the terminal driver posts it
        await until(lambda: events.cursor != before)
        assert app._search_note  # answered before the scan ended
        box.post_message(Input.Submitted(box, "function_call_arguments.done"))  # another search: the first stops
        await wait_until(pilot, lambda: app.travel is not None, timeout=30)
        assert app.model.events[app.travel].type == "response.function_call_arguments.done" and app.travel > n // 2
        assert not app._search_note
        assert not any("no event matches" in str(n.message) for n in app._notifications)  # the first was stopped


async def test_a_filter_over_many_events_scans_in_slices_answering_keys(tmp_path, monkeypatch):
    """``f`` over a long stream: the rows are found a slice at a time (the progress in the pane's subtitle), keys
    are answered meanwhile, a new ``f`` stops the scan, and the rows are those a scan at once would keep."""
    import streamview.widgets.event_list as event_list
    from streamview.replay.player import Player
    from streamview.session import Session
    from streamview.tui.app import StreamviewApp
    from textual.events import Key

    monkeypatch.setattr(event_list, "SCAN_SLICE", 0.0005)  # a slice of 2,000 events at most
    path = tmp_path / "big.sse"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gen_transcript.py"), "--deltas", "60000", "-o", str(path)],
                   check=True)
    app = StreamviewApp(Session("big", player=Player(path.open("rb"), instant=True)))
    async with app.run_test(size=(160, 40)) as pilot:
        events = app.query_one(event_list.EventList)
        await wait_until(pilot, lambda: app.player.finished and events.count == len(app.model.events), timeout=60)
        n = len(app.model.events)
        app.post_message(Key("f", None))  # no deltas

        async def until(condition, timeout=10.0):
            deadline = time.monotonic() + timeout
            while not condition():
                assert time.monotonic() < deadline, "condition not reached in time"
                await asyncio.sleep(0.001)

        await until(lambda: events.filtering and events.filter_name == "no deltas")
        assert "looking:" in events.border_subtitle
        before = events.cursor
        app.post_message(Key("up", None))  # answered while the scan runs
        await until(lambda: events.cursor != before)
        assert events.filtering
        await until(lambda: not events.filtering)
        kinds = app.model
        assert events.rows == [i for i in range(n) if not kinds.is_delta(i)]
        assert "looking:" not in events.border_subtitle and f"of {n:,})" in events.border_subtitle
        events.set_filter("all", None)
        events.set_filter("no deltas", lambda i: not kinds.is_delta(i))
        assert events.filtering
        events.set_filter("anomalies", lambda i: False)  # a new filter: the scan of the last one stops
        await until(lambda: not events.filtering)
        assert events.filter_name == "anomalies" and events.rows == []


def test_the_characters_that_fold_to_ascii_are_pythons_own():
    """``EventStore.may_hold`` passes over a stretch whose lowered bytes lack an ASCII query only when it holds
    none of the characters whose case folding has ASCII in it: the list it keeps is Python's own."""
    from streamview.store import FOLDS_TO_ASCII

    computed = tuple(chr(c).encode() for c in range(0x80, 0x110000)
                     if not 0xD800 <= c < 0xE000 and any(ord(x) < 128 for x in chr(c).casefold()))
    assert FOLDS_TO_ASCII == computed


def test_a_stored_stream_is_searched_in_runs_and_finds_what_a_scan_of_each_event_finds(tmp_path):
    """6,000 events in a file (three runs of the store's 2,000): mixed case, text that is not ASCII, characters
    that fold to ASCII letters (ß to ss, ſ to s, the Kelvin sign to k, ﬁ to fi), bytes that are not UTF-8, data on
    two lines (kept in the spool), comments, another event type, and events with no type of their own (their type,
    "message", is nowhere in the file). Every query, from several starts, finds the event that folding each event's
    data and type finds; and a run with no match is passed over whole."""
    import random

    from streamview.session import read_session

    rng = random.Random(7)
    words = ["alpha", "Beta", "GAMMA", "delta", "café", "naïve", "—", "😀", "stream", "Event"]
    rare = {1234: "MaSSe", 2500: "ma\u00dfe", 3333: "\u017fun", 4100: "\u212aelvin", 4700: "\ufb01ne",
            5100: "needle in the HAY", 5900: "tail\xff"}
    lines: list[bytes] = []
    for i in range(6000):
        text = rare.get(i) or " ".join(rng.choice(words) for _ in range(4))
        data = ('{"i": %d, "t": "%s"}' % (i, text)).encode("utf-8", "surrogateescape")
        if i == 5900:
            data = data.replace("\xff".encode(), b"\xff")  # a byte that is not UTF-8
        kind = "other.thing" if i % 997 == 0 else "x.delta"
        if i % 1500 == 7:
            lines.append(b": a comment with needle and masse in it\n")
        if i == 4321:
            lines.append(b"event: %s\ndata: first line\ndata: second NEEDLE line\n\n" % kind.encode())
            continue
        if i % 1100 == 3:  # no event line: its type is "message", a word the file does not hold
            lines.append(b"data: %s\n\n" % data)
            continue
        lines.append(b"event: %s\ndata: %s\n\n" % (kind.encode(), data))
    path = tmp_path / "mixed.sse"
    path.write_bytes(b"".join(lines))
    with open(path, "rb") as fp:
        session = read_session(fp, keep=True, check=False)
    store = session.events
    assert len(store) == 6000 + 4  # (the comments are events too)
    texts = [store.data_of(i) for i in range(len(store))]
    texts = [(d.decode(errors="replace") if isinstance(d, bytes) else d).casefold() for d in texts]
    types = [store.type_of(i).casefold() for i in range(len(store))]

    def expected(query: str, start: int) -> int | None:
        q = query.casefold()
        n = len(store)
        for k in range(n):
            i = (start + k) % n
            if q in texts[i] or q in types[i]:
                return i
        return None

    queries = ["masse", "MASSE", "sun", "kelvin", "fine", "FI", "needle", "second needle", "hay", "tail",
               "other.THING", "MESSAGE", "absent words", "\u00df", "café", "NAÏVE", '"i": 5999', "data", "\ufffd"]
    starts = [0, 1, 1999, 2000, 2001, 3000, 5999, 6003]
    for query in queries:
        for start in starts:
            assert Search(store, query, start).run() == expected(query, start), (query, start)
    # a run is asked whole: one with no match is passed over without looking at its events (the events after the
    # first comment are one place on: MaSSe is event 1235, maße 2502)
    assert not store.may_hold(100, 1200, "masse") and store.may_hold(100, 1300, "masse")
    assert not store.may_hold(2400, 2480, "masse") and store.may_hold(2400, 2600, "masse")  # (ß folds to ss)
    assert not store.may_hold(100, 1400, "absent words")
