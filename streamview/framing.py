"""The framing seam: how a byte stream is cut into events, behind one small interface.

A protocol declares its framing (``Protocol.framing``); the readers (``EventReader``, and through it the player,
``print``, ``check`` and live) ask ``framer(name)`` for a decoder and never look inside it. Every framer hands out
the same things, so nothing after it knows which one ran:

- ``feed(bytes) -> list[Frame]`` and ``finish() -> list[Frame]``: the frames completed so far, and what the end of
  input completes (a cut-off event flagged ``truncated``);
- ``feed_records(bytes) -> list``: ``feed`` where a complete event may come as the cheaper tuple
  ``(name, data, id, retry, t, line, no_data, raw)`` (comments and junk stay frames);
- ``meta`` (a ``TranscriptMeta``: a streamview transcript's header comments) and ``bom``;
- for serving what was read: ``media_type`` and ``wire_end(frame)``, what follows a frame's raw lines;
- for recording: ``framing`` (its name), ``suffix`` (a transcript file's) and ``transcript_line(text)``, how a
  streamview transcript line (``t=0.41``, ``request POST ...``) is written in this framing.

``framer("auto")`` is for a stream whose protocol is not known yet (a transcript given without ``--protocol``): it
holds the bytes until the first line that says which framing it is, then hands everything to that framer (see
``AutoFramer``).
"""

from __future__ import annotations

from typing import Protocol as _Interface

import codecs

from .ndjson import NDJSONParser, streamview_line
from .sse import _STATUS_LINE, Frame, LineSplitter, SSEParser, TranscriptMeta


class Framer(_Interface):
    meta: TranscriptMeta
    bom: bool
    media_type: str
    framing: str
    suffix: str

    @staticmethod
    def wire_end(frame: Frame) -> str: ...

    @staticmethod
    def transcript_line(text: str) -> str: ...

    def feed(self, chunk: bytes) -> list[Frame]: ...

    def feed_records(self, chunk: bytes) -> list: ...

    def finish(self) -> list[Frame]: ...


FRAMINGS: dict[str, type] = {"sse": SSEParser, "ndjson": NDJSONParser}
DEFAULT = "sse"
AUTO = "auto"  # not a framing: the framer that finds out which (``AutoFramer``)


def framer(name: str = DEFAULT, keep_raw: bool = False) -> Framer:
    """A new decoder for ``name`` (``sse``, ``ndjson``, or ``auto``: found from the first line); ``keep_raw``:
    frames keep their lines as received."""
    if name == AUTO:
        return AutoFramer(keep_raw=keep_raw)  # type: ignore[return-value]
    try:
        cls = FRAMINGS[name]
    except KeyError:
        raise ValueError(f"unknown framing {name!r} (known: {', '.join(FRAMINGS)}, or {AUTO})") from None
    return cls(keep_raw=keep_raw)


_MEDIA = {"text/event-stream": "sse", "application/x-ndjson": "ndjson", "application/jsonl": "ndjson",
          "application/json-lines": "ndjson"}


class AutoFramer:
    """The framer of a stream whose framing is not known: the bytes are held (nothing is decoded into frames yet)
    until the first line that tells, then the framer of that framing is made and given everything from the start,
    and from then on this object only hands its calls on (its ``feed``, ``feed_records`` and ``finish`` become the
    framer's own). ``framing`` is None until then.

    What tells, line by line from the start (a leading BOM removed): blank lines and ``:`` comment lines say
    nothing (both framings read them alike); a leading HTTP head (``curl -i``) says nothing either, unless its
    ``Content-Type`` names a framing; the first other line decides: a streamview NDJSON transcript line
    (``{"streamview": ...}``), or a JSON line that a protocol of another framing claims (``protocols.sniff_framing``),
    is that framing; anything else is SSE (an SSE stream's first field line, or a line that is no stream at all:
    the SSE framer says what it is). Input that ends before any such line is SSE."""

    def __init__(self, keep_raw: bool = False) -> None:
        self.keep_raw = keep_raw
        self.meta = TranscriptMeta()
        self.framing: str | None = None
        self._inner: Framer | None = None
        self._held: list[bytes] = []
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lines = LineSplitter()
        self._first = True
        self._head = "maybe"  # "maybe": the first line may be an HTTP status line; "in": its headers; None: the body

    # -- what the framer it became has ----------------------------------------------------------------------------
    @property
    def bom(self) -> bool:
        return self._inner.bom if self._inner is not None else False

    @property
    def media_type(self) -> str:
        return FRAMINGS[self.framing or DEFAULT].media_type

    @property
    def suffix(self) -> str:
        return FRAMINGS[self.framing or DEFAULT].suffix

    def wire_end(self, frame: Frame) -> str:
        return FRAMINGS[self.framing or DEFAULT].wire_end(frame)

    def transcript_line(self, text: str) -> str:
        return FRAMINGS[self.framing or DEFAULT].transcript_line(text)

    # -- input --------------------------------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> list[Frame]:
        return self._take(chunk, "feed")

    def feed_records(self, chunk: bytes) -> list:
        return self._take(chunk, "feed_records")

    def finish(self) -> list[Frame]:
        if self._inner is None:
            tail = self._utf8.decode(b"", final=True)
            lines = self._lines.decode(tail) if tail else []
            lines += self._lines.flush()
            found = self._scan(lines)
            self._become(found or DEFAULT)
            out = self._inner.feed(b"".join(self._held))  # type: ignore[union-attr]
            self._held = []
            return out + self._inner.finish()  # type: ignore[union-attr]
        return self._inner.finish()

    def _take(self, chunk: bytes, how: str) -> list:
        if self._inner is not None:  # only reached by a caller that kept a bound method from before the decision
            return getattr(self._inner, how)(chunk)
        self._held.append(chunk)
        text = self._utf8.decode(chunk)
        found = self._scan(self._lines.decode(text)) if text else None
        if found is None:
            return []
        self._become(found)
        held, self._held = b"".join(self._held), []
        return getattr(self._inner, how)(held)

    def _become(self, name: str) -> None:
        inner = FRAMINGS[name](keep_raw=self.keep_raw)
        inner.meta = self.meta  # the one TranscriptMeta: whoever read ``meta`` before the decision sees it filled
        self._inner, self.framing = inner, name
        self.feed, self.feed_records, self.finish = inner.feed, inner.feed_records, inner.finish  # type: ignore[method-assign]

    def _scan(self, lines: list[str]) -> str | None:
        """The framing the first telling line among ``lines`` says (None: none of them tells)."""
        for line in lines:
            if self._first:
                self._first = False
                line = line.removeprefix("\ufeff")
            if self._head is not None:
                told = self._head_line(line)
                if told:
                    return told
                if told is not None:
                    continue  # a line of the head that says nothing
            data = line.strip()
            if data and data[0] != ":":
                return _framing_of_line(data)
        return None

    def _head_line(self, line: str) -> str | None:
        """One line while an HTTP head may be read: the framing its Content-Type names, "" for a head line that
        names none, None for a line that is not one (the body starts there: ``_head`` becomes None)."""
        if self._head == "maybe":
            m = _STATUS_LINE.match(line)
            if m is None:
                self._head = None
                return None
            self._head = "interim" if m.group(1).startswith("1") else "in"
            return ""
        if not line.strip():  # the blank line after the headers: the body (or, after an interim status, a head)
            self._head = "maybe" if self._head == "interim" else None
            return ""
        name, _, value = line.partition(":")
        if self._head == "in" and name.strip().lower() == "content-type":
            return _MEDIA.get(value.split(";")[0].strip().lower(), "")
        return ""


def _framing_of_line(data: str) -> str:
    """The framing of the first line of a stream that is neither blank nor a comment (see ``AutoFramer``)."""
    if data[0] != "{":
        return DEFAULT
    if streamview_line(data) is not None:
        return "ndjson"
    from .protocols import sniff_framing

    return sniff_framing(data) or DEFAULT
