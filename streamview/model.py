"""The stream model: every event received, what they assemble to, and the problems seen. No UI here."""

from __future__ import annotations

from .assemble import ResponseAssembler, ResponseState, assemble, assemble_prefix  # noqa: F401  (assemble: re-exported)
from .checks import Anomaly, Checker
from .events import StreamEvent
from .sse import TranscriptMeta


class StreamModel:
    """Events in arrival order plus the assembled state. ``add`` is O(1) per delta; panes read it on a timer.

    Every event is kept, with its ``data``; once folded into the state its parsed payload is released
    (``StreamEvent.release_payload``) and parsed again only when something reads ``ev.payload``."""

    def __init__(self, source: str = "", meta: TranscriptMeta | None = None) -> None:
        self.source = source
        self.meta = meta or TranscriptMeta()
        self.reset()

    def reset(self) -> None:
        self.events: list[StreamEvent] = []
        self.assembler = ResponseAssembler()
        self.problems: list[StreamEvent] = []
        self.delta_count = 0
        self.first_delta: StreamEvent | None = None
        self.checker = Checker()
        self.finished = False
        self._marks: dict[int, list[Anomaly]] = {}
        self._marks_key: tuple[int, int] = (0, 0)

    @property
    def state(self) -> ResponseState:
        return self.assembler.state

    def add(self, ev: StreamEvent) -> None:
        self.events.append(ev)
        if ev._aux is not None and ev.error is not None:  # no _aux: no error (StreamEvent keeps it there)
            self.problems.append(ev)
        if ev._shape[2].endswith(".delta"):  # ev.type, without the property call: this runs for every event
            self.delta_count += 1
            if self.first_delta is None:
                self.first_delta = ev
        self.assembler.feed(ev)
        self.checker.feed(ev, self.assembler.state)
        # folded: keep the event's data, not its parsed payload (it is parsed again when a pane asks for it)
        ev.release_payload()

    def finish(self) -> None:
        """The end of input: rules that need the whole stream (no terminal event)."""
        if not self.finished:
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
        own blocks rather than parsed again (their payloads were let go of)."""
        return assemble_prefix(self.events[: index + 1], self.assembler.state)

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
