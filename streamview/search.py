"""Finding an event by text (the UI's ``/``): its data or its type contains the query, case-insensitively, from a
start index on, wrapping round once.

The scan runs in slices (``step(budget)``) so that a caller in an event loop can answer keys between them and
stop it when another search starts. Matching is the case-folded query in the case-folded data (measured faster
here than a case-insensitive regex on the stored bytes). For a query that is ASCII, a run of stored events is
first asked of the store as a whole (``EventStore.may_hold``: one read of the stretch of the file it lies in,
lowered as bytes), and looked at event by event only when it may hold the query.
"""

from __future__ import annotations

import time
from typing import Sequence

from .events import StreamEvent


class Search:
    def __init__(self, events: Sequence[StreamEvent], query: str, start: int = 0) -> None:
        self.events = events
        self.query = query
        self.total = len(events)  # the events there were when it started (a live stream goes on growing)
        self.start = start % self.total if self.total else 0
        self.scanned = 0
        self.found: int | None = None
        self._needle = query.casefold()

    @property
    def done(self) -> bool:
        return self.found is not None or self.scanned >= self.total

    @property
    def progress(self) -> float:
        return self.scanned / self.total if self.total else 1.0

    def step(self, budget: float = 0.008) -> bool:
        """Scan for up to ``budget`` seconds; True once it is done (``found`` is the index, or None: no match)."""
        until = time.perf_counter() + budget
        events, n = self.events, self.total
        datas = getattr(events, "datas", None)  # an EventStore: the data read in runs, not event by event
        types: dict[str, bool] = {}
        while self.scanned < n:
            stop = min(n, self.scanned + 2_000)  # a look at the clock every 2,000 events
            first = self.start + self.scanned
            if first >= n:
                first -= n
            count = min(stop - self.scanned, n - first)  # one run, not across the wrap
            stop = self.scanned + count
            if datas is not None:
                if self._skip(events, first, count, types):
                    found = None  # (none of them holds the query: not looked at one by one)
                else:
                    found = self._scan_store(events, datas(first, first + count), first, types)
            else:
                found = self._scan_list(events, first, count)
            if found is not None:
                self.scanned = found - first + self.scanned + 1
                self.found = found
                return True
            self.scanned = stop
            if time.perf_counter() >= until:
                return self.scanned >= n
        return True

    def _scan_store(self, events, datas: list, first: int, types: dict[str, bool]) -> int | None:
        needle = self._needle
        bytes_ = bytes
        for k, d in enumerate(datas):
            if needle in (d.decode(errors="replace") if d.__class__ is bytes_ else d).casefold():
                return first + k
            if self._type_hit(events.type_of(first + k), types):
                return first + k
        return None

    def _type_hit(self, t: str, types: dict[str, bool]) -> bool:
        """Whether type ``t`` holds the query (``types``: the answers so far, a type's once)."""
        hit = types.get(t)
        if hit is None:
            hit = types[t] = self._needle in t.casefold()
        return hit

    def _skip(self, events, first: int, count: int, types: dict[str, bool]) -> bool:
        """Whether none of events ``first`` to ``first + count`` can match: no type of theirs holds the query, and
        the store says none of their data does (``EventStore.may_hold``, for an ASCII query: one read for the run)."""
        may_hold, types_in = getattr(events, "may_hold", None), getattr(events, "types_in", None)
        needle = self._needle
        if may_hold is None or types_in is None or not needle.isascii():
            return False
        if any(self._type_hit(t, types) for t in types_in(first, first + count)):
            return False
        return not may_hold(first, first + count, needle)

    def _scan_list(self, events, first: int, count: int) -> int | None:
        needle = self._needle
        bytes_ = bytes
        for i in range(first, first + count):
            ev = events[i]
            d = ev._data  # the data and the type, without the property calls: this runs a million times
            if needle in (d.decode() if d.__class__ is bytes_ else d).casefold() or needle in ev._shape[2].casefold():
                return i
        return None

    def run(self) -> int | None:
        """The whole scan at once (headless use, tests): the index found, or None."""
        while not self.step(60.0):
            pass
        return self.found
