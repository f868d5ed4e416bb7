"""The states of a stream that is not (yet) assembled, and the pseudo-protocol of a stream of no known protocol:
its events are all kept and shown, nothing is assembled, and the state's ``note`` says why."""

from __future__ import annotations

from typing import Any, Sequence

from ..checks import ERROR, NOTE, Anomaly, AnomalyList, unreadable
from ..events import StreamEvent
from ..state import StreamState
from .base import COMMENT, JUNK, UNKNOWN, Description, Protocol

NAME = UNKNOWN


class PendingState(StreamState):
    """The state before the protocol is known: empty (status "", no items)."""

    protocol = ""
    note = ""


class UnknownState(StreamState):
    """A stream of no known protocol: nothing is assembled; ``note`` says why (the message pane shows it)."""

    protocol = NAME

    def __init__(self, note: str = "") -> None:
        super().__init__()
        self.note = note

    def final(self) -> dict[str, Any]:
        return super().final() | {"note": self.note}


class NullAssembler:
    """Folds nothing: counts the events. ``state`` is a ``PendingState`` or an ``UnknownState``."""

    def __init__(self, state: StreamState | None = None) -> None:
        self.state = state if state is not None else PendingState()

    def feed(self, ev: StreamEvent) -> None:
        self.state.events += 1

    def feed_all(self, events) -> StreamState:
        for ev in events:
            self.feed(ev)
        return self.state


class NullChecker:
    """No rules: the checker before the protocol is known."""

    def __init__(self) -> None:
        self.anomalies: list[Anomaly] = AnomalyList()
        self.withdrawn = 0

    def feed(self, ev: StreamEvent, state: Any) -> list[Anomaly]:
        return []

    def finish(self, events: Sequence[StreamEvent]) -> list[Anomaly]:
        return []


class UnknownChecker(NullChecker):
    """For a stream of no known protocol: the generic rules for unreadable input (``bad-sse``, ``bad-json``) and
    one ``unknown-protocol`` note at the first event."""

    RULES = ("unknown-protocol", "bad-sse", "bad-json")

    def __init__(self, note: str) -> None:
        super().__init__()
        self.note = note
        self._noted = False

    def _add(self, out: list[Anomaly], ev: StreamEvent, rule: str, message: str, severity: str = ERROR) -> None:
        a = Anomaly(rule, ev.index, ev.seq, message, severity)
        out.append(a)
        self.anomalies.append(a)

    def feed(self, ev: StreamEvent, state: Any) -> list[Anomaly]:
        out: list[Anomaly] = []
        kind = ev._shape[0]
        if kind == "comment":
            return out
        if not self._noted:
            self._noted = True
            self._add(out, ev, "unknown-protocol", self.note, NOTE)
        bad = unreadable(ev)
        if bad is not None:
            self._add(out, ev, *bad)
        return out


class UnknownProtocol(Protocol):
    """A stream none of the registered protocols claims. ``known``: their titles in words, for the note."""

    name = NAME
    title = "unknown protocol"
    rules = UnknownChecker.RULES
    terminal_hint = "a terminal event"

    def __init__(self, known: str) -> None:
        self.note = (f"streamview does not know how to assemble this stream: its events are not {known} events "
                     "(the raw events are all shown; --protocol forces one)")

    def sniff(self, ev: StreamEvent) -> float:
        return 0.0

    def assembler(self) -> NullAssembler:
        return NullAssembler(UnknownState(self.note))

    def checker(self) -> UnknownChecker:
        return UnknownChecker(self.note)

    def describe(self, ev: StreamEvent) -> Description:
        return describe_plain(ev)


def describe_plain(ev: StreamEvent, limit: int = 120) -> Description:
    """An event as the events pane shows it when no protocol claims it: its type, and the start of its data."""
    kind = ev._shape[0]
    if kind == "comment":
        return Description(ev.type, COMMENT, None, ev.data[:limit])
    if kind == "junk":
        return Description(ev.type, JUNK, None, ev.data[:limit])
    return Description(ev.type, UNKNOWN, None, ev.data[:limit])
