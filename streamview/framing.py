"""The framing seam: how a byte stream is cut into events, behind one small interface.

A protocol declares its framing (``Protocol.framing``); the readers (``EventReader``, and through it the player,
``print``, ``check`` and live) ask ``framer(name)`` for a decoder and never look inside it. Every framer hands out
the same things, so nothing after it knows which one ran:

- ``feed(bytes) -> list[Frame]`` and ``finish() -> list[Frame]``: the frames completed so far, and what the end of
  input completes (a cut-off event flagged ``truncated``);
- ``feed_records(bytes) -> list``: ``feed`` where a complete event may come as the cheaper tuple
  ``(name, data, id, retry, t, line, no_data, raw)`` (comments and junk stay frames);
- ``meta`` (a ``TranscriptMeta``: a streamview transcript's header comments) and ``bom``;
- for serving what was read: ``media_type`` and ``wire_end(frame)``, what follows a frame's raw lines.
"""

from __future__ import annotations

from typing import Protocol as _Interface

from .ndjson import NDJSONParser
from .sse import Frame, SSEParser, TranscriptMeta


class Framer(_Interface):
    meta: TranscriptMeta
    bom: bool
    media_type: str

    @staticmethod
    def wire_end(frame: Frame) -> str: ...

    def feed(self, chunk: bytes) -> list[Frame]: ...

    def feed_records(self, chunk: bytes) -> list: ...

    def finish(self) -> list[Frame]: ...


FRAMINGS: dict[str, type] = {"sse": SSEParser, "ndjson": NDJSONParser}
DEFAULT = "sse"


def framer(name: str = DEFAULT, keep_raw: bool = False) -> Framer:
    """A new decoder for ``name`` (``sse`` or ``ndjson``); ``keep_raw``: frames keep their lines as received."""
    try:
        cls = FRAMINGS[name]
    except KeyError:
        raise ValueError(f"unknown framing {name!r} (known: {', '.join(FRAMINGS)})") from None
    return cls(keep_raw=keep_raw)
