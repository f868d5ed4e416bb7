"""Finding an event by text (the UI's ``/``): its data or its type contains the query, case-insensitively, from a
start index on, wrapping round once.

The scan runs in slices (``step(budget)``) so that a caller in an event loop can answer keys between them and
stop it when another search starts. Matching is the case-folded query in the case-folded data (measured faster
here than a case-insensitive regex on the stored bytes).
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
        events, n, needle = self.events, self.total, self._needle
        bytes_ = bytes
        while self.scanned < n:
            stop = min(n, self.scanned + 2_000)  # a look at the clock every 2,000 events
            for k in range(self.scanned, stop):
                i = self.start + k
                if i >= n:
                    i -= n
                ev = events[i]
                d = ev._data  # the data and the type, without the property calls: this runs a million times
                if needle in (d.decode() if d.__class__ is bytes_ else d).casefold() or needle in ev._shape[2].casefold():
                    self.scanned = k + 1
                    self.found = i
                    return True
            self.scanned = stop
            if time.perf_counter() >= until:
                return self.scanned >= n
        return True

    def run(self) -> int | None:
        """The whole scan at once (headless use, tests): the index found, or None."""
        while not self.step(60.0):
            pass
        return self.found
