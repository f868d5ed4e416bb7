"""SSE decoding for every source (live HTTP, transcript file, stdin): one path, built on httpx-sse's decoders.

httpx-sse's ``SSELineDecoder`` splits lines on CRLF, LF and CR only (the WHATWG rule) and its ``SSEDecoder`` applies
the field rules. Around them this module adds what a protocol debugger needs and httpx-sse leaves out:

- a leading UTF-8 BOM is removed (httpx-sse keeps it and loses the first event's name);
- invalid UTF-8 becomes U+FFFD instead of an exception;
- comment lines are kept: ``: t=SECONDS`` times the next event, the transcript header comments (``: request``,
  ``: status``, ``: header``...) fill ``TranscriptMeta``, and any other comment (a server keep-alive) is a frame;
- a blank line with no field since the last dispatch dispatches nothing (httpx-sse would emit an empty event once an
  ``id:`` was seen); an event with fields but no ``data:`` line is kept and flagged ``no_data``;
- lines that are not SSE (binary garbage, a field name SSE does not know) are kept as ``junk`` frames, a run of
  them merged into one, so nothing read is silently dropped;
- an event cut off at the end of input (no blank line after it, or a last line with no line ending) is kept and
  flagged ``truncated``, where the WHATWG rules would drop it.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from httpx_sse._decoders import SSEDecoder, SSELineDecoder

_FIELDS = frozenset({"event", "data", "id", "retry"})
JUNK_SAMPLE = 200


@dataclass(slots=True)
class Frame:
    """One thing decoded from the wire: an event, a comment, or a run of lines that are not SSE."""

    kind: str  # "event" | "comment" | "junk"
    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None
    t: float | None = None  # arrival time from a ": t=" comment, seconds since the request
    line: int = 0  # 1-based line number where the frame starts
    no_data: bool = False
    truncated: bool = False
    text: str = ""  # comment text, or the first line of a junk run
    count: int = 1  # number of lines in a junk run
    raw: str = ""  # the lines as received (only when the parser keeps them, for recording)


@dataclass
class TranscriptMeta:
    """What a streamview transcript's header comments (or a live response) say about the request."""

    recorded: bool = False  # the file starts with ": streamview transcript"
    request: str = ""  # "POST https://..."
    request_body: str = ""
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


class SSEParser:
    """Incremental decoder: ``feed(bytes)`` / ``feed_text(str)`` return the frames completed so far; ``finish()``
    returns what the end of input completes (a cut-off event included)."""

    def __init__(self, keep_raw: bool = False) -> None:
        self.keep_raw = keep_raw
        self._raw: list[str] = []
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lines = SSELineDecoder()
        self._sse = SSEDecoder()
        self._started = False
        self._line_no = 0
        self._fields = 0  # field lines since the last dispatch
        self._data_lines = 0
        self._event_line = 0
        self._next_t: float | None = None
        self._junk: Frame | None = None
        self.meta = TranscriptMeta()
        self.bom = False

    # -- input -------------------------------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> list[Frame]:
        return self.feed_text(self._utf8.decode(chunk))

    def feed_text(self, text: str) -> list[Frame]:
        if not text:
            return []
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":
                self.bom = True
                text = text[1:]
                if not text:
                    return []
        out: list[Frame] = []
        for line in self._lines.decode(text):
            self._line(line, out)
        return out

    def finish(self) -> list[Frame]:
        out: list[Frame] = []
        tail = self._utf8.decode(b"", final=True)
        if tail:
            out.extend(self.feed_text(tail))
        cut_line = False
        for line in self._lines.flush():
            cut_line = True
            self._line(line, out)
        if self._fields:
            frame = self._dispatch()
            if frame is not None:
                frame.truncated = True
                out.append(frame)
        if cut_line and self._junk is not None:
            self._junk.truncated = True
        self._flush_junk(out)
        return out

    # -- lines -------------------------------------------------------------------------------------------------
    def _line(self, line: str, out: list[Frame]) -> None:
        self._line_no += 1
        if not line:
            self._flush_junk(out)
            if self._fields:
                frame = self._dispatch()
                if frame is not None:
                    out.append(frame)
            return
        if line[0] == ":":
            self._flush_junk(out)
            self._comment(line[1:].removeprefix(" "), out)
            if self.keep_raw and out and out[-1].kind == "comment" and out[-1].line == self._line_no:
                out[-1].raw = line
            return
        name = line.partition(":")[0]
        if name not in _FIELDS:
            if self._junk is None:
                self._junk = Frame(kind="junk", line=self._line_no, text=line[:JUNK_SAMPLE], count=1)
                if self.keep_raw:
                    self._junk.raw = line
            else:
                self._junk.count += 1
                if self.keep_raw:
                    self._junk.raw += "\n" + line
            return
        self._flush_junk(out)
        if self.keep_raw:
            self._raw.append(line)
        if self._fields == 0:
            self._event_line = self._line_no
        self._fields += 1
        if name == "data":
            self._data_lines += 1
        self._sse.decode(line)

    def _dispatch(self) -> Frame:
        sse = self._sse.decode("")
        fields, data_lines = self._fields, self._data_lines
        self._fields = self._data_lines = 0
        t, self._next_t = self._next_t, None
        raw = "\n".join(self._raw)
        self._raw.clear()
        if sse is None:
            # httpx-sse dispatches nothing for fields that set nothing (`event:` empty, `retry: abc`, an `id:`
            # holding NUL): keep the block anyway, flagged as carrying no data
            return Frame(kind="event", t=t, line=self._event_line, no_data=True, raw=raw)
        return Frame(
            raw=raw,
            kind="event",
            event=sse.event,
            data=sse.data,
            id=sse.id,
            retry=sse.retry,
            t=t,
            line=self._event_line,
            no_data=data_lines == 0 and fields > 0,
        )

    def _comment(self, text: str, out: list[Frame]) -> None:
        if text.startswith("t="):
            try:
                self._next_t = float(text[2:])
                return
            except ValueError:
                pass
        meta = self.meta
        if text.startswith("streamview transcript"):
            meta.recorded = True
            return
        if meta.recorded and self._fields == 0:
            key, _, value = text.partition(" ")
            if key == "request":
                meta.request = value
                return
            if key == "request-body":
                meta.request_body = value
                return
            if key == "status" and value.strip().isdigit():
                meta.status = int(value)
                return
            if key == "header":
                name, _, hval = value.partition(":")
                meta.headers.append((name.strip(), hval.strip()))
                return
        t, self._next_t = self._next_t, None
        out.append(Frame(kind="comment", text=text, line=self._line_no, t=t))

    def _flush_junk(self, out: list[Frame]) -> None:
        if self._junk is not None:
            out.append(self._junk)
            self._junk = None


def decode_bytes(chunks: Iterable[bytes]) -> Iterator[Frame]:
    """Decode an iterable of byte chunks (a file read in blocks) into frames."""
    parser = SSEParser()
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.finish()
