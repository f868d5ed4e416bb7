"""One stream: its events, the protocol they speak, what they fold to, the problems seen, time travel, and how
each event is described. No UI here: ``check``, ``print``, ``--plain``, ``serve`` and the App all hold a ``Session``.

``add`` is O(1) per delta. Every event is kept (``keep=True``, what the panes need), with its ``data``; once folded
its parsed payload is released (``StreamEvent.release_payload``) and parsed again only when something reads it.
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
from .events import StreamEvent
from .protocols.base import DELTA, KINDS, Description, Protocol
from .protocols.unknown import NullAssembler, NullChecker, PendingState
from .sse import TranscriptMeta
from .state import StreamState

_KIND_CODE = {k: i for i, k in enumerate(KINDS)}
_DELTA_CODE = _KIND_CODE[DELTA]
_INT_KEYS = 1 << 30  # int keys below this are stored as themselves


class Session:
    def __init__(self, source: str = "", meta: TranscriptMeta | None = None, protocol: str | None = None, *,
                 keep: bool = True, check: bool = True, describe: bool | None = None, player: Any = None) -> None:
        """``source``: what the stream is, in words (a file name, ``live MODEL``). ``player``: where its events
        come from (``replay.player.Player``, which paces a file or plays a live source), when the session is
        played rather than fed by hand; its ``meta`` and ``protocol`` are the session's unless given."""
        if player is not None:
            meta = meta or player.meta
            protocol = protocol or player.protocol
        if protocol is not None:
            protocols.get(protocol)  # ValueError for a name that is not registered
        self.source = source
        self.player = player
        self.meta = meta or TranscriptMeta()
        self.forced = protocol
        self.keep = keep
        self.check = check
        self.describes = keep if describe is None else describe
        self.reset()

    def reset(self) -> None:
        self.events: list[StreamEvent] = []  # every event (keep), or those waiting for the protocol (not keep)
        self.problems: list[StreamEvent] = []
        self.count = 0  # events added
        self.events_seen = 0  # of them, SSE events (not comments, not junk)
        self.last: StreamEvent | None = None
        self.last_event: StreamEvent | None = None
        self.first: StreamEvent | None = None
        self.delta_count = 0
        self.first_delta: StreamEvent | None = None
        self.finished = False
        self._marks: dict[int, list[Anomaly]] = {}
        self._marks_key: tuple[int, int] = (0, 0)
        self.proto: Protocol | None = None  # decided
        self.assembler: Any = NullAssembler()
        self.checker: Any = NullChecker()
        self._sniffer = protocols.Sniffer()
        self._kinds = bytearray()  # the kind of each folded event (KINDS index)
        self._keys = array("i")  # the key of each folded event: an index into _key_table, -1 for none
        self._key_table: list[Hashable] = []
        self._key_ids: dict[Hashable, int] = {}
        if self.forced is not None:
            self._decide(protocols.get(self.forced))

    # -- what it holds -------------------------------------------------------------------------------------------
    @property
    def protocol(self) -> str | None:
        """The decided protocol's name (None: not decided yet)."""
        return self.proto.name if self.proto is not None else None

    @property
    def state(self) -> StreamState:
        return self.assembler.state

    @property
    def anomalies(self) -> list[Anomaly]:
        return self.checker.anomalies

    # -- folding ---------------------------------------------------------------------------------------------------
    def add(self, ev: StreamEvent) -> None:
        self.count += 1
        self.last = ev
        if self.first is None:
            self.first = ev
        if ev._shape[0] == "event":
            self.events_seen += 1
            self.last_event = ev
        if ev._aux is not None and ev.error is not None:  # no _aux: no error (StreamEvent keeps it there)
            self.problems.append(ev)
        if self.proto is None:
            self.events.append(ev)
            found = self._sniffer.feed(ev)
            if found is not None:
                self._decide(found)
            return
        if self.keep:
            self.events.append(ev)
        self._fold(ev)

    def _fold(self, ev: StreamEvent) -> None:
        if self.describes:
            _label, kind, key = self.proto.classify(ev)  # type: ignore[union-attr]
            code = _KIND_CODE[kind]
            self._kinds.append(code)
            # the key: an int key (a position) as itself, None as -1, any other as -2 - its place in the table
            if key.__class__ is int and 0 <= key < _INT_KEYS:
                self._keys.append(key)
            elif key is None:
                self._keys.append(-1)
            else:
                kid = self._key_ids.get(key)
                if kid is None:
                    kid = self._key_ids[key] = len(self._key_table)
                    self._key_table.append(key)
                self._keys.append(-2 - kid)
            if code == _DELTA_CODE:
                self.delta_count += 1
                if self.first_delta is None:
                    self.first_delta = ev
        self.assembler.feed(ev)
        if self.check:
            self.checker.feed(ev, self.assembler.state)
        # folded: keep the event's data, not its parsed payload (it is parsed again when a pane asks for it)
        ev.release_payload()

    def _decide(self, proto: Protocol) -> None:
        """Set the protocol and fold the events that arrived before the decision (``events`` stays the same list:
        the raw events pane holds it)."""
        self.proto = proto
        self.assembler, self.checker = proto.assembler(), proto.checker()
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
        if self.check:
            if self.keep:
                self.checker.finish(self.events)
            else:  # the checkers read the last event (and whether any was a real event), not the whole list
                tail = [self.last] if self.last is not None else []
                if self.last_event is not None and self.last_event is not self.last:
                    tail.insert(0, self.last_event)
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

    def state_at(self, index: int) -> StreamState:
        """The assembled state right after event ``index`` (time travel)."""
        if self.proto is None:
            return PendingState()
        return self.proto.state_at(self.events, index, self.assembler.state)

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
        """The full description of event ``index`` (its summary is made now, for the row that shows it)."""
        ev = self.events[index]
        proto = self.proto
        if proto is None:
            from .protocols.unknown import describe_plain

            return describe_plain(ev)
        return proto.describe(ev)

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


def read_session(fp, protocol: str | None = None, *, check: bool = True) -> Session:
    """Headless: a transcript decoded, sniffed, assembled (and checked) as it is read, keeping no list of events
    (``print`` and ``check``)."""
    from .source import EventReader, iter_chunks

    reader = EventReader()
    session = Session(protocol=protocol, keep=False, check=check)
    with fp:
        for chunk in iter_chunks(fp):
            for ev in reader.feed(chunk):
                session.add(ev)
        for ev in reader.finish():
            session.add(ev)
    session.meta = reader.meta
    session.finish()
    return session
