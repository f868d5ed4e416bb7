"""The stream model: every event received, what they assemble to, and the problems seen. No UI here."""

from __future__ import annotations

from typing import Any

from .assemble import ResponseAssembler, ResponseState, assemble, assemble_prefix  # noqa: F401  (re-exported)
from .checks import Anomaly, Checker  # noqa: F401  (Checker: re-exported)
from .events import StreamEvent
from .protocols import PROTOCOLS, UNKNOWN, NullAssembler, NullChecker, PendingState, Sniffer, is_delta, make
from .sse import TranscriptMeta


class StreamModel:
    """Events in arrival order plus the assembled state. ``add`` is O(1) per delta; panes read it on a timer.

    Every event is kept, with its ``data``; once folded into the state its parsed payload is released
    (``StreamEvent.release_payload``) and parsed again only when something reads ``ev.payload``.

    ``protocol``: "responses", "chat", "anthropic" (or "unknown") forces the assembler and checker; None sniffs it
    from the events as they arrive (``protocols.Sniffer``): until the protocol is decided the events are only kept
    (``state`` is an empty ``PendingState``), then every event so far is folded, so nothing is lost."""

    def __init__(self, source: str = "", meta: TranscriptMeta | None = None, protocol: str | None = None) -> None:
        if protocol is not None and protocol not in PROTOCOLS and protocol != UNKNOWN:
            raise ValueError(f"unknown protocol {protocol!r}: one of {', '.join(PROTOCOLS)}")
        self.source = source
        self.meta = meta or TranscriptMeta()
        self.forced = protocol
        self.reset()

    def reset(self) -> None:
        self.events: list[StreamEvent] = []
        self.problems: list[StreamEvent] = []
        self.delta_count = 0
        self.first_delta: StreamEvent | None = None
        self.finished = False
        self._marks: dict[int, list[Anomaly]] = {}
        self._marks_key: tuple[int, int] = (0, 0)
        self.protocol: str | None = None  # decided: "responses" | "chat" | "anthropic" | "unknown"
        self.assembler: Any = NullAssembler()
        self.checker: Any = NullChecker()
        self._sniffer = Sniffer()
        if self.forced is not None:
            self._decide(self.forced)

    @property
    def state(self) -> ResponseState:
        return self.assembler.state

    def add(self, ev: StreamEvent) -> None:
        self.events.append(ev)
        if ev._aux is not None and ev.error is not None:  # no _aux: no error (StreamEvent keeps it there)
            self.problems.append(ev)
        if self.protocol is None:
            found = self._sniffer.feed(ev)
            if found is not None:
                self._decide(found)
            return
        self._fold(ev)

    def _fold(self, ev: StreamEvent) -> None:
        protocol = self.protocol
        if protocol == "responses":
            if ev._shape[2].endswith(".delta"):  # ev.type, without the property call: this runs for every event
                self.delta_count += 1
                if self.first_delta is None:
                    self.first_delta = ev
        elif is_delta(ev, protocol):
            self.delta_count += 1
            if self.first_delta is None:
                self.first_delta = ev
        self.assembler.feed(ev)
        self.checker.feed(ev, self.assembler.state)
        # folded: keep the event's data, not its parsed payload (it is parsed again when a pane asks for it)
        ev.release_payload()

    def _decide(self, protocol: str) -> None:
        """Set the protocol and fold the events that arrived before the decision (``events`` stays the same
        list: the raw events pane holds it)."""
        self.protocol = protocol
        self.assembler, self.checker = make(protocol)
        for ev in self.events:
            self._fold(ev)

    def finish(self) -> None:
        """The end of input: rules that need the whole stream (no terminal event). A stream still undecided is
        "unknown" if it held readable JSON, else checked as a Responses stream (``Sniffer.finish``)."""
        if not self.finished:
            if self.protocol is None:
                self._decide(self._sniffer.finish())
            self.finished = True
            self.checker.finish(self.events)

    @property
    def anomalies(self) -> list[Anomaly]:
        return self.checker.anomalies

    def marks(self) -> dict[int, list[Anomaly]]:
        """Anomalies by the event index they point at (rebuilt only when the list changed)."""
        key = (len(self.checker.anomalies), self.checker.withdrawn)
        if key != self._marks_key:
            marks: dict[int, list[Anomaly]] = {}
            for a in self.checker.anomalies:
                marks.setdefault(a.index, []).append(a)
            self._marks, self._marks_key = marks, key
        return self._marks

    def state_at(self, index: int) -> ResponseState:
        """The assembled state right after event ``index`` (time travel). The deltas are replayed from the state's
        own blocks rather than parsed again (their payloads were let go of). For Chat Completions and Anthropic a
        fresh assembler folds ``events[: index + 1]`` (their payloads parse again, lazily)."""
        if self.protocol == "responses":
            return assemble_prefix(self.events[: index + 1], self.assembler.state)
        if self.protocol is None:
            return PendingState()
        return make(self.protocol)[0].feed_all(self.events[: index + 1])

    # -- timings (seconds on the stream's own clock: the transcript's t= times, or the replay schedule) ------
    @property
    def time_to_first_event(self) -> float | None:
        return self.events[0].t if self.events else None

    @property
    def time_to_first_delta(self) -> float | None:
        return self.first_delta.t if self.first_delta is not None else None

    @property
    def duration(self) -> float | None:
        return self.events[-1].t if self.events else None

    @property
    def rate(self) -> float | None:
        if len(self.events) < 2:
            return None
        first, last = self.events[0].t, self.events[-1].t
        if first is None or last is None or last <= first:
            return None
        return (len(self.events) - 1) / (last - first)
