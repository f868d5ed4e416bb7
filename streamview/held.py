"""A few long texts remembered by identity, each only while something else holds it.

``render.shown`` remembers the block texts it had nothing to change in, ``bigjson.known`` the texts the state
holds: each is looked up or compared again later, and neither memory may be what keeps a 40 MB string alive.
"""

from __future__ import annotations

from sys import getrefcount


class HeldTexts(dict):
    """At most ``limit`` texts, by ``id`` (each is held, so its id is not reused while it is here), the oldest going
    first; ``forget_unheld()`` lets go of those nothing else holds any more."""

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def holds(self, text: str) -> bool:
        return self.get(id(text)) is text

    def add(self, text: str) -> None:
        if self.get(id(text)) is text:
            return
        if len(self) >= self.limit:
            del self[next(iter(self))]
        self[id(text)] = text

    def forget_unheld(self) -> None:
        for key in list(self):
            text = self[key]
            if getrefcount(text) <= 3:  # the memory's, this name's and the call's own
                del self[key]
