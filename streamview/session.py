"""One stream: its events, the protocol they speak, what they fold to, the problems seen, time travel, and how
each event is described. No UI here: ``check``, ``print``, ``--plain``, ``serve`` and the App all hold a ``Session``.

``add`` is O(1) per delta. Every event is kept (``keep=True``, what the panes need) in an ``EventStore``
(``store.py``: a few tens of bytes of arrays each, the data read back from the transcript file or the spool when
asked); an event given back by it has no parsed payload, which is parsed again only when something reads it.
Headless commands keep no list (``keep=False``): only the events that arrive before the protocol is decided, and
the last two, which the checkers' end-of-input rules read.

``protocol``: a registered name (or "unknown") forces the protocol; None sniffs it from the events as they arrive
(``protocols.Sniffer``): until it is decided the events are only kept (``state`` is an empty ``PendingState``), then
every event so far is folded, so nothing is lost.

Each folded event is classified once (``Protocol.classify``: its kind and the key of the item it belongs to), into
compact arrays, so the panes' filters and marks read what the fold knew instead of parsing payloads again.
``describe(i)`` gives the full description (with its one-line summary) of event ``i`` for the row that shows it.
"""

from __future__ import annotations

from array import array
from typing import Any, Hashable

from . import protocols
from .checks import Anomaly
from .events import _UNSET, StreamEvent
from .protocols.base import DELTA, KINDS, Description, Protocol
from .protocols.unknown import NullAssembler, NullChecker, PendingState
from .sse import TranscriptMeta
from .state import StreamState
from .store import EventStore, FileIndex

_KIND_CODE = {k: i for i, k in enumerate(KINDS)}
_DELTA_CODE = _KIND_CODE[DELTA]
_INT_KEYS = 1 << 30  # int keys below this are stored as themselves
# time travel: the assembler is snapshotted every so many events (``state.snapshot``), at least CHECKPOINT_MIN
# apart and further when a snapshot costs more (CHECKPOINT_COST events per second of snapshot), at most
# CHECKPOINT_MAX: the state as of any event is a restore and at most that many events folded again
CHECKPOINT_MIN, CHECKPOINT_MAX, CHECKPOINT_COST = 2_000, 50_000, 4_000_000
BIG_EVENT = 64 * 1024  # bytes of data from which an event's row description is made by the fold and kept


class Session:
    def __init__(self, source: str = "", meta: TranscriptMeta | None = None, protocol: str | None = None, *,
                 keep: bool = True, check: bool = True, describe: bool | None = None, player: Any = None,
                 framing: Any = None, index: Any = None) -> None:
        """``source``: what the stream is, in words (a file name, ``live MODEL``). ``player``: where its events
        come from (``replay.player.Player``, which paces a file or plays a live source), when the session is
        played rather than fed by hand; its ``meta``, ``protocol`` and framing are the session's unless given.
        ``framing``: what the events are read with, a name or a callable that says it (None: not known), so that
        sniffing asks only the protocols of that framing. ``index``: the ``store.FileIndex`` of the transcript
        file the events are read from (their data is read back from there, not kept)."""
        if player is not None:
            meta = meta or player.meta
            protocol = protocol or player.protocol
            if framing is None:
                framing = lambda: player.framing  # noqa: E731 - found from the first line: asked when sniffing
        if protocol is not None:
            protocols.get(protocol)  # ValueError for a name that is not registered
        self.source = source
        self.player = player
        self.meta = meta or TranscriptMeta()
        self.forced = protocol
        self.keep = keep
        self.check = check
        self.describes = keep if describe is None else describe
        self.framing = framing
        self._index = index
        self.reset()

    def reset(self) -> None:
        # every event (keep: an EventStore, the player's records when there is one), or those waiting for the
        # protocol (not keep)
        self.events: Any = self._store() if self.keep else []
        self.problems: list[StreamEvent] = []
        self._count = 0  # events added (counted when they are not kept: ``count``)
        self._events_seen = 0
        self._last: StreamEvent | None = None
        self._last_event: StreamEvent | None = None
        self._first: StreamEvent | None = None
        self.first_delta: StreamEvent | None = None
        self.longest_label = 0  # the longest event label classified so far (the rows' type column follows it)
        self.finished = False
        self.read_error: str | None = None  # why reading stopped before the end of input (read_session)
        self._marks: dict[int, list[Anomaly]] = {}
        self._marks_key: tuple[int, int] = (0, 0)
        self.proto: Protocol | None = None  # decided
        self.assembler: Any = NullAssembler()
        self.checker: Any = NullChecker()
        self._sniffer = protocols.Sniffer(framing=self.framing)
        self._kinds = bytearray()  # the kind of each folded event (KINDS index)
        self._keys = array("i")  # the key of each folded event: an index into _key_table, -1 for none
        self._key_table: list[Hashable] = []
        self._key_ids: dict[Hashable, int] = {}
        self._described: dict[int, Description] = {}  # big events' descriptions, made as they were folded
        self._checkpoints: list[tuple[int, Any]] = []  # (event index, assembler snapshot just after it)
        self._checkpoint_at = array("q")  # their event indexes, for bisect
        self._every = CHECKPOINT_MIN
        if self.forced is not None:
            self._decide(protocols.get(self.forced))

    # -- what it holds -------------------------------------------------------------------------------------------
    @property
    def protocol(self) -> str | None:
        """The decided protocol's name (None: not decided yet)."""
        return self.proto.name if self.proto is not None else None

    @property
    def delta_count(self) -> int:
        """The folded events that are deltas (counted in the kinds array when asked: a C loop, not a Python add)."""
        return self._kinds.count(_DELTA_CODE)

    @property
    def state(self) -> StreamState:
        return self.assembler.state

    @property
    def anomalies(self) -> list[Anomaly]:
        return self.checker.anomalies

    # -- folding ---------------------------------------------------------------------------------------------------
    def add(self, ev: StreamEvent) -> None:
        a = ev._aux  # (payload, seq, error); None: no error (StreamEvent.error, without the property call)
        if a is not None and a[2] is not None:
            self.problems.append(ev)
        if self.keep:  # what the counts read is the list itself
            self.events.append(ev)
            if self.proto is None:
                found = self._sniffer.feed(ev)
                if found is not None:
                    self._decide(found)
                return
            self._fold(ev)
            return
        self._count += 1
        self._last = ev
        if self._first is None:
            self._first = ev
        if ev._shape[0] == "event":  # ev.kind, without the property call
            self._events_seen += 1
            self._last_event = ev
        if self.proto is None:
            self.events.append(ev)
            found = self._sniffer.feed(ev)
            if found is not None:
                self._decide(found)
            return
        self._fold(ev)

    def add_many(self, events: list[StreamEvent]) -> None:
        """``add`` each of ``events``, in order (a player's batch: one call, and the store's view told once)."""
        if not (self.keep and self.proto is not None and self.events.__class__ is EventStore):
            for ev in events:
                self.add(ev)
            return
        self.events.extend(events)
        problems, fold = self.problems, self._fold
        for ev in events:
            a = ev._aux  # (payload, seq, error): StreamEvent.error, inline
            if a is not None and a[2] is not None:
                problems.append(ev)
            fold(ev)

    def _store(self) -> EventStore:
        store = getattr(self.player, "buffer", None)
        if isinstance(store, EventStore):
            return store.view()
        return EventStore(self._index)

    # what was added: read from the store when every event is kept, counted as they come when not
    @property
    def count(self) -> int:
        return len(self.events) if self.keep else self._count

    @property
    def first(self) -> StreamEvent | None:
        if self.keep:
            return self.events[0] if self.events else None
        return self._first

    @property
    def last(self) -> StreamEvent | None:
        if self.keep:
            return self.events[-1] if self.events else None
        return self._last

    @property
    def events_seen(self) -> int:
        """Of the events added, the SSE events (not comments, not junk)."""
        if self.keep:
            return self.events.seen
        return self._events_seen

    @property
    def last_event(self) -> StreamEvent | None:
        """The last SSE event added (not a comment, not junk)."""
        if self.keep:
            i = self.events.last_event_index
            return self.events[i] if i >= 0 else None
        return self._last_event

    def _fold(self, ev: StreamEvent) -> None:
        """Fold one event (``_decide`` replaces this with ``_folder()``'s closure once the protocol is known)."""
        raise AssertionError("folding before the protocol is decided")

    def _folder(self):
        """The fold of one event for the decided protocol, as a closure over everything it touches (this runs once
        per event: locals, not attribute lookups): classify it into the arrays, feed the assembler and the checker,
        then let go of its parsed payload (it is parsed again when a pane asks for it)."""
        classify = self.proto.classify  # type: ignore[union-attr]
        assembler = self.assembler
        feed = assembler.feed
        check = self.checker.feed if self.check else None
        describes = self.describes
        kinds_append, keys_append = self._kinds.append, self._keys.append
        key_ids, key_table = self._key_ids, self._key_table
        codes, delta, int_keys, unset = _KIND_CODE, _DELTA_CODE, _INT_KEYS, _UNSET
        session = self
        checkpoints = self.keep  # time travel reads the kept events from the nearest checkpoint
        labels: set[str] = set()  # the labels seen (the longest one sets the rows' type column)
        left = self._every  # events to fold before the next checkpoint
        no_delta = self.first_delta is None

        def fold(ev: StreamEvent) -> None:
            nonlocal left, no_delta
            if describes:
                label, kind, key = classify(ev)
                if label not in labels:
                    labels.add(label)
                    if len(label) > session.longest_label:
                        session.longest_label = len(label)
                code = codes[kind]
                kinds_append(code)
                # the key: an int key (a position) as itself, None as -1, any other as -2 - its place in the table
                if key.__class__ is int and 0 <= key < int_keys:
                    keys_append(key)
                elif key is None:
                    keys_append(-1)
                else:
                    kid = key_ids.get(key)
                    if kid is None:
                        kid = key_ids[key] = len(key_table)
                        key_table.append(key)
                    keys_append(-2 - kid)
                if no_delta and code == delta:
                    no_delta = False
                    session.first_delta = ev
            feed(ev)
            if check is not None:
                check(ev, assembler.state)
            big = len(ev._data) >= BIG_EVENT
            if describes and big:  # described now, while its payload is parsed (``describe``)
                session._described[ev.index] = session.proto.describe(ev)
            if checkpoints:
                left -= 1
                if left <= 0 or big:  # after a big one too: it is not folded again
                    session._checkpoint(ev.index)
                    left = session._every
            if ev._shape[4]:  # StreamEvent.release_payload, inline
                a = ev._aux
                if a is not None and a[0] is not unset:
                    ev._aux = None if (a[1] is None and a[2] is None) else (unset, a[1], a[2])

        return fold

    def _decide(self, proto: Protocol) -> None:
        """Set the protocol and fold the events that arrived before the decision (``events`` stays the same list:
        the raw events pane holds it)."""
        self.proto = proto
        self.assembler, self.checker = proto.assembler(), proto.checker()
        self._fold = self._folder()
        waiting = self.events
        if not self.keep:
            self.events = []
        for ev in waiting:
            self._fold(ev)

    def finish(self) -> None:
        """The end of input: rules that need the whole stream (no terminal event). A stream still undecided is
        "unknown" if it held readable JSON, else checked as the first protocol's (``Sniffer.finish``)."""
        if self.finished:
            return
        if self.proto is None:
            self._decide(self._sniffer.finish())
        self.finished = True
        if self.check:  # the checkers read the last event (and whether any was a real event), not the whole list
            last, last_event = self.last, self.last_event
            tail = [last] if last is not None else []
            if last_event is not None and (last is None or last_event.index != last.index):
                tail.insert(0, last_event)
            self.checker.finish(tail)

    def marks(self) -> dict[int, list[Anomaly]]:
        """Anomalies by the event index they point at (rebuilt only when the list changed)."""
        key = (len(self.checker.anomalies), self.checker.withdrawn)
        if key != self._marks_key:
            marks: dict[int, list[Anomaly]] = {}
            for a in self.checker.anomalies:
                marks.setdefault(a.index, []).append(a)
            self._marks, self._marks_key = marks, key
        return self._marks

    def _checkpoint(self, index: int) -> None:
        """Snapshot the assembler as it is after event ``index`` (its texts by reference: ``state.snapshot``)."""
        import time

        from .state import snapshot

        if index.__class__ is not int or (self._checkpoint_at and index <= self._checkpoint_at[-1]):
            return
        t0 = time.perf_counter()
        self._checkpoints.append((index, snapshot(self.assembler)))
        self._checkpoint_at.append(index)
        cost = time.perf_counter() - t0
        self._every = max(CHECKPOINT_MIN, min(CHECKPOINT_MAX, int(cost * CHECKPOINT_COST)))

    def state_at(self, index: int) -> StreamState:
        """The assembled state right after event ``index`` (time travel): from the nearest checkpoint at or before
        it, with the events after that folded again, so the cost does not grow with the index; before the first
        checkpoint, the protocol's own (a fold of the prefix)."""
        if self.proto is None:
            return PendingState()
        if self.finished and self.keep and index >= len(self.events) - 1:
            return self.assembler.state  # the state after the last event is the one built (and it changes no more)
        from bisect import bisect_right

        at = bisect_right(self._checkpoint_at, index) - 1
        if at < 0 or not self.keep:
            return self.proto.state_at(self.events, index, self.assembler.state)
        from .state import restore

        start, snap = self._checkpoints[at]
        asm = restore(snap)
        for ev in self.events[start + 1 : index + 1]:
            asm.feed(ev)
        return asm.state

    @property
    def numbered(self) -> bool:
        """Whether the stream's events carry a sequence number (its protocol has one, or it is not decided yet)."""
        return self.proto is None or bool(self.proto.sequence_field)

    # -- per-event descriptions --------------------------------------------------------------------------------
    def kind_of(self, index: int) -> str | None:
        """The kind of event ``index`` as the fold classified it (None: not folded yet)."""
        return KINDS[self._kinds[index]] if index < len(self._kinds) else None

    def key_of(self, index: int) -> Hashable | None:
        """The key of the item event ``index`` belongs to (None: none, or not folded yet)."""
        if index >= len(self._keys):
            return None
        kid = self._keys[index]
        if kid >= 0:
            return kid
        return None if kid == -1 else self._key_table[-2 - kid]

    def is_delta(self, index: int) -> bool:
        return index < len(self._kinds) and self._kinds[index] == _DELTA_CODE

    def describe(self, index: int) -> Description:
        """The full description of event ``index`` (its summary is made now, for the row that shows it); a big
        event's was made by the fold, while its payload was parsed (parsing 20 MB again per redraw of its row took
        300 ms)."""
        ev = self.events[index]
        proto = self.proto
        if proto is None:
            from .protocols.unknown import describe_plain

            return describe_plain(ev)
        kept = self._described.get(index) if self._described else None
        return kept if kept is not None else proto.describe(ev)

    # -- timings (seconds on the stream's own clock: the transcript's t= times, or the replay schedule) ------
    @property
    def time_to_first_event(self) -> float | None:
        return self.first.t if self.first is not None else None

    @property
    def time_to_first_delta(self) -> float | None:
        return self.first_delta.t if self.first_delta is not None else None

    @property
    def duration(self) -> float | None:
        return self.last.t if self.last is not None else None

    @property
    def rate(self) -> float | None:
        if self.count < 2 or self.first is None or self.last is None:
            return None
        first, last = self.first.t, self.last.t
        if first is None or last is None or last <= first:
            return None
        return (self.count - 1) / (last - first)


def read_session(fp, protocol: str | None = None, *, check: bool = True, keep: bool = False, source: str = "") -> Session:
    """Headless: a transcript decoded, sniffed, assembled (and checked) as it is read, keeping no list of events
    (``print`` and ``check``; ``keep``: the events too, for panes that show them). A read that fails part way (a
    cut-off gzip file) keeps what was read before it and says why in ``read_error``."""
    from .source import EventReader, SourceError, framing_of, iter_chunks

    index = FileIndex.of(fp) if keep else None
    reader = EventReader(framing=framing_of(protocol), index=index)
    session = Session(source, protocol=protocol, keep=keep, check=check, framing=lambda: reader.framing, index=index)
    with fp:
        try:
            for chunk in iter_chunks(fp):
                for ev in reader.feed(chunk):
                    session.add(ev)
        except SourceError as exc:  # what was read before stays folded: the reason is kept, not raised
            session.read_error = str(exc)
        for ev in reader.finish():
            session.add(ev)
    session.meta = reader.meta
    session.finish()
    return session
