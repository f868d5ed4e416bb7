"""What every protocol's checks share: the ``Anomaly`` they report, its severities, how an unreadable event is
worded, and the fold that runs an assembler and a checker over a whole stream. The rules themselves live with each
protocol (``streamview/protocols/<name>/``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .events import StreamEvent, is_sentinel

ERROR, NOTE = "error", "note"


@dataclass(slots=True)
class Anomaly:
    rule: str
    index: int  # the event it points at
    seq: int | None
    message: str
    severity: str = ERROR
    item_id: str | None = None
    position: int | None = None  # the position of the item it concerns

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "index": self.index, "sequence_number": self.seq, "message": self.message,
                "severity": self.severity, "item_id": self.item_id, "position": self.position}


LISTED_PER_RULE = 1000  # anomalies of one rule listed at most; the rest are counted (a file of streams appended
# to one another, or a server that breaks one rule on every event, would otherwise hold one object per event)


class AnomalyList(list):
    """A checker's anomalies: a list that lists at most ``LISTED_PER_RULE`` of each rule and counts the rest in
    ``unlisted`` (rule -> count). When a rule reaches the cap, one note says so, at the event where it did."""

    def __init__(self) -> None:
        super().__init__()
        self.per_rule: dict[str, int] = {}
        self.unlisted: dict[str, int] = {}

    def append(self, a: Anomaly) -> None:  # type: ignore[override]
        n = self.per_rule.get(a.rule, 0) + 1
        self.per_rule[a.rule] = n
        if n <= LISTED_PER_RULE:
            super().append(a)
            return
        self.unlisted[a.rule] = self.unlisted.get(a.rule, 0) + 1
        if n == LISTED_PER_RULE + 1:
            super().append(Anomaly(a.rule, a.index, a.seq, f"more than {LISTED_PER_RULE:,} {a.rule} anomalies: the "
                                   "later ones are counted, not listed", NOTE))

    def remove(self, a: Anomaly) -> None:  # type: ignore[override]
        if a in self:  # one that was counted but not listed has nothing to remove
            super().remove(a)
            self.per_rule[a.rule] -= 1


def first_difference(a: str, b: str) -> str:
    """Where two texts first differ, in words: ``at character 12: 'lo w' vs 'lo W'``."""
    n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    if n == len(a) == len(b):
        return "identical"
    return f"at character {n}: {a[n:n + 24]!r} vs {b[n:n + 24]!r} ({len(a)} vs {len(b)} characters)"


def unreadable(ev: StreamEvent) -> tuple[str, str] | None:
    """``(rule, message)`` for an event that cannot be read, the same for every protocol's checker: ``bad-sse`` for
    a junk line, an event cut off at the end of input or one with no data; ``bad-json`` for data that is not JSON.
    None for an event that was read."""
    kind = ev._shape[0]
    error = None if ev._aux is None else ev.error
    if kind == "junk":
        return "bad-sse", error or "not SSE"
    if not error:
        return None
    if "cut off" in error or "no data" in error or is_sentinel(ev) or ev.payload is not None:
        return "bad-sse", error
    return "bad-json", error


def fold_and_check(assembler: Any, checker: Any, events: list[StreamEvent]) -> list[Anomaly]:
    """Headless: fold ``events`` with a protocol's assembler and checker; the anomalies in event order."""
    for ev in events:
        assembler.feed(ev)
        checker.feed(ev, assembler.state)
    checker.finish(events)
    return sorted(checker.anomalies, key=lambda a: a.index)


