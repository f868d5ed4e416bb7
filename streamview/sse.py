"""SSE decoding for every source (live HTTP, transcript file, stdin): one path, built on httpx-sse's line decoder.

httpx-sse's ``SSELineDecoder`` splits lines on CRLF, LF and CR only (the WHATWG rule); the field rules are those
of httpx-sse's ``SSEDecoder``, applied here in one pass (see ``SSEParser``). Around them this module adds what a
protocol debugger needs and httpx-sse leaves out:

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
import re
from typing import Iterable, Iterator

from .secrets import is_secret_header

_FIELDS = frozenset({"event", "data", "id", "retry"})
JUNK_SAMPLE = 200
_STATUS_LINE = re.compile(r"HTTP/\d(?:\.\d)? (\d{3})(?: .*)?\Z")
HEAD = 1024  # characters of the input kept as it began (TranscriptMeta.head)
_LONG_LINE = 1 << 16  # a line this long came in pieces over several chunks: it is let go of as soon as it is read


class LineSplitter:
    """httpx-sse's ``SSELineDecoder``, line for line (CRLF, LF and CR end a line; a CR at the end of a chunk waits
    for the next one; ``flush()`` returns the unended last line), except that a line that spans chunks is joined
    once, not joined and then copied again: a 10 MB line costs 10 MB more while it is put together, not 20."""

    __slots__ = ("buffer", "trailing_cr", "strip_data", "stripped", "as_bytes", "_size", "_bytes", "_prefix")

    def __init__(self) -> None:
        self.buffer: list = []
        self.trailing_cr = False
        # ``strip_data`` (the SSE parser sets it): a ``data:`` line that spans chunks is joined without its field
        # name, which goes in ``stripped``, and the line returned first is the value (slicing a 10 MB line's value
        # off it afterwards copied 40 MB more)
        self.strip_data = False
        self.stripped: str | None = None
        # ``as_bytes`` (with ``strip_data``): a data line that reaches ``_LONG_LINE`` characters is held, and its
        # value returned, as UTF-8 bytes: a 10 MB line whose text holds one emoji is 10 MB, not 40 as a str
        self.as_bytes = False
        self._size = 0  # characters held in ``buffer`` (while they are a str's)
        self._bytes = False  # ``buffer`` holds the UTF-8 of a data line's value, less ``_prefix``
        self._prefix = ""

    def decode(self, text: str) -> list:
        if self.trailing_cr:
            text = "\r" + text
            self.trailing_cr = False
        if text.endswith("\r"):
            self.trailing_cr = True
            text = text[:-1]
        if not text:
            return []
        trailing_newline = text[-1] in "\n\r"
        if "\r" not in text:
            lines = text.split("\n")
        else:
            lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if trailing_newline:
            lines.pop()
        if len(lines) == 1 and not trailing_newline:
            self._hold(lines[0])
            return []
        if self.buffer:
            self._hold(lines[0])
            if self._bytes:
                lines[0] = b"".join(self.buffer)
                self.stripped = self._prefix
                self._bytes = False
            else:
                first = self.buffer[0]
                if self.strip_data and len(first) > 5 and first.startswith("data:"):  # (its 6th character is here)
                    cut = 6 if first.startswith(" ", 5) else 5
                    self.buffer[0] = first[cut:]
                    self.stripped = first[:cut]
                lines[0] = "".join(self.buffer)
            self.buffer = []
            self._size = 0
        if not trailing_newline:
            last = lines.pop()
            self.buffer = [last]
            self._size = len(last)
        return lines

    def _hold(self, piece: str) -> None:
        """Keep ``piece`` of a line that is not yet ended (as UTF-8 once it is a long data line's)."""
        buffer = self.buffer
        if self._bytes:
            buffer.append(piece.encode("utf-8", "surrogatepass"))
            return
        buffer.append(piece)
        self._size += len(piece)
        if self._size >= _LONG_LINE and self.as_bytes and self.strip_data:
            if len(buffer[0]) < 6 and len(buffer) > 1:
                buffer[0:2] = [buffer[0] + buffer[1]]
            first = buffer[0]
            if len(first) > 5 and first.startswith("data:"):
                cut = 6 if first.startswith(" ", 5) else 5
                self._prefix = first[:cut]
                buffer[0] = first[cut:]
                self.buffer = [p.encode("utf-8", "surrogatepass") for p in buffer]
                self._bytes = True

    def flush(self) -> list[str]:
        if not self.buffer and not self.trailing_cr:
            return []
        if self._bytes:
            lines = [self._prefix + b"".join(self.buffer).decode("utf-8", "surrogatepass")]
            self._bytes = False
        else:
            lines = ["".join(self.buffer)]
        self.buffer = []
        self.trailing_cr = False
        return lines


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
    why: str = ""  # a framing's own words for a junk run or a cut-off event (empty: SSE's)


@dataclass
class TranscriptMeta:
    """What a streamview transcript's header comments (or a live response) say about the request."""

    recorded: bool = False  # the file starts with ": streamview transcript"
    request: str = ""  # "POST https://..."
    request_body: str = ""
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    head: str = ""  # the input's first characters, as decoded (to say what an input that is not a stream looks like)


class LineFramer:
    """What every line-based framer shares: bytes decoded as UTF-8 (U+FFFD for what is not), a leading BOM removed,
    lines split by ``LineSplitter``, and what is done with a comment line (``:`` first): ``: t=`` times the next
    event; a streamview transcript's header comments fill ``meta``; any other comment is a frame. A framer sets
    ``_utf8``, ``_lines``, ``_started``, ``bom``, ``meta``, ``_next_t``, ``_fields`` (field lines of an event not
    yet complete) and ``_line_no``, and reads the lines of each chunk in ``_take``."""

    meta: TranscriptMeta
    bom: bool
    keep_raw: bool
    _strips_data = False  # whether a data line that spans chunks comes as its value (``LineSplitter.strip_data``)
    _utf8: codecs.IncrementalDecoder
    _lines: LineSplitter
    _started: bool
    _next_t: float | None
    _fields: int
    _line_no: int

    def feed(self, chunk: bytes) -> list[Frame]:
        return _frames(self._records(self._utf8.decode(chunk)))

    def feed_text(self, text: str) -> list[Frame]:
        return _frames(self._records(text))

    def feed_records(self, chunk: bytes) -> list:
        """``feed`` for ``EventReader``: an event comes as a tuple ``(name, data, id, retry, t, line, no_data,
        raw)`` instead of a ``Frame`` (comments and junk are still frames); a tuple costs less to make. An event's
        long data line (``_LONG_LINE`` characters or more, over several chunks) comes as its UTF-8 bytes, which
        ``events`` parses without making the line a str."""
        return self._records(self._utf8.decode(chunk), True)

    def _records(self, text: str, as_bytes: bool = False) -> list:
        if not text:
            return []
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":
                self.bom = True
                text = text[1:]
                if not text:
                    return []
        if len(self.meta.head) < HEAD:
            self.meta.head += text[: HEAD - len(self.meta.head)]
        out: list = []
        self._lines.strip_data = self._strips_data and self._http is None and not self.keep_raw
        self._lines.as_bytes = as_bytes
        lines = self._lines.decode(text)
        if lines and self._http is not None:
            lines = self._http_head(lines)
        if lines:
            self._take(lines, out)
        return out

    def _take(self, lines: list[str], out: list) -> None:
        raise NotImplementedError

    # -- a capture that starts with the HTTP response head (``curl -i``) -----------------------------------------
    _http: str | None = "maybe"  # "maybe": the first line may be a status line; "in": reading headers; None: body

    def _http_head(self, lines: list[str]) -> list[str]:
        """Read a leading HTTP status line and headers (``curl -i``, ``curl -v`` to a file, ``http --print=hb``)
        into ``meta`` (``status``, ``headers``; secret headers are dropped as read), and return the lines after the
        blank line that ends them. An interim response (``HTTP/1.1 100 Continue``) may come first; the last status
        is kept. Anything else first: there is no head, and every line is the body's."""
        i, n = 0, len(lines)
        meta = self.meta
        while i < n:
            line = lines[i]
            if self._http == "maybe":
                m = _STATUS_LINE.match(line)
                if m is None:
                    self._http = None
                    break
                meta.status = int(m.group(1))
                meta.headers = []
                self._http = "in"
            elif not line.strip():
                interim = meta.status is not None and 100 <= meta.status < 200
                self._http = "maybe" if interim else None
                self._line_no += 1
                i += 1
                if self._http is None:
                    break
                continue
            else:
                name, sep, value = line.partition(":")
                if sep and name.strip() and not is_secret_header(name.strip()):
                    meta.headers.append((name.strip(), value.strip()))
            self._line_no += 1
            i += 1
        return lines[i:] if i else lines

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


class SSEParser(LineFramer):
    """Incremental decoder: ``feed(bytes)`` / ``feed_text(str)`` return the frames completed so far; ``finish()``
    returns what the end of input completes (a cut-off event included).

    Lines are split by ``LineSplitter`` (httpx-sse's ``SSELineDecoder`` rules, one call per chunk). The field lines
    are read here in one pass with the same rules as httpx-sse's ``SSEDecoder`` (calling it per line cost more than
    the rest of the decoding): ``name:value`` with one leading space removed from the value, ``event`` sets the name (empty: the
    default ``message``), ``data`` lines are joined by LF, ``id`` is kept across events and ignored when it holds
    NUL, ``retry`` is kept only when ``int()`` reads it, and a block that sets nothing dispatches nothing.
    """

    media_type = "text/event-stream; charset=utf-8"  # what a server of this framing answers with
    framing = "sse"
    _strips_data = True
    suffix = ".sse"  # a transcript file's

    @staticmethod
    def wire_end(frame: Frame) -> str:
        """What follows a frame's raw lines on the wire (a cut-off event: only its last line's ending)."""
        return "\n" if frame.truncated else "\n\n"

    @staticmethod
    def transcript_line(text: str) -> str:
        """A streamview transcript line (``t=0.41``, ``request POST ...``) as SSE carries it: a comment line."""
        return f": {text}"

    def __init__(self, keep_raw: bool = False) -> None:
        self.keep_raw = keep_raw
        self._raw: list[str] = []
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lines = LineSplitter()
        self._started = False
        self._line_no = 0
        self._fields = 0  # field lines since the last dispatch
        self._data: list[str] = []  # the data lines' values since the last dispatch
        self._event = ""  # the event field's value since the last dispatch
        self._id = ""  # the last event id (kept across events, as the SSE rules say)
        self._retry: int | None = None
        self._event_line = 0
        self._next_t: float | None = None
        self._junk: Frame | None = None
        self._names: dict[str, str] = {}  # event names seen, so every frame shares one string per name
        self.meta = TranscriptMeta()
        self.bom = False

    # -- input -------------------------------------------------------------------------------------------------
    def _take(self, lines: list[str], out: list) -> None:
        if self._lines.stripped is not None:  # the first line, which spanned chunks, is a data line's value
            self._lines.stripped = None
            self._data_value(lines.pop(0), out)
        elif len(lines[0]) >= _LONG_LINE:  # only the first line can span chunks: read it, then let it go
            self._line(lines.pop(0), out)
        if lines:
            self._run(lines, out)

    def _data_value(self, value: str, out: list[Frame]) -> None:
        """A ``data:`` line given as its value (``LineSplitter.strip_data``): what ``_line`` does with one."""
        self._line_no += 1
        self._flush_junk(out)
        if self._fields == 0:
            self._event_line = self._line_no
        self._fields += 1
        self._data.append(value)

    def finish(self) -> list[Frame]:
        out: list = []
        tail = self._utf8.decode(b"", final=True)
        if tail:
            out.extend(self.feed_text(tail))
        cut_line = False
        ended = self._lines.trailing_cr  # the last line was ended by a CR held back for a possible LF: not cut
        for line in self._lines.flush():
            cut_line = not ended
            self._line(line, out)
        if self._fields:
            frame = _frame(self._dispatch())
            frame.truncated = True
            out.append(frame)
        if cut_line and self._junk is not None:
            self._junk.truncated = True
        self._flush_junk(out)
        return _frames(out)

    # -- lines -------------------------------------------------------------------------------------------------
    def _run(self, lines: list[str], out: list[Frame]) -> None:
        """The hot loop: blank, ``data:`` and ``event:`` lines are handled inline, anything else by ``_line``."""
        if self.keep_raw:
            for line in lines:
                self._line(line, out)
            return
        n = self._line_no
        data = self._data
        for line in lines:
            n += 1
            if not line:
                if self._junk is not None:
                    self._flush_junk(out)
                if self._fields:
                    self._line_no = n
                    out.append(self._dispatch())
                continue
            if self._junk is None:
                if line.startswith("data:"):
                    if not self._fields:
                        self._event_line = n
                    self._fields += 1
                    data.append(line[6:] if line.startswith(" ", 5) else line[5:])
                    continue
                if line.startswith("event:"):
                    if not self._fields:
                        self._event_line = n
                    self._fields += 1
                    self._event = line[7:] if line.startswith(" ", 6) else line[6:]
                    continue
            self._line_no = n - 1
            self._line(line, out)
        self._line_no = n

    def _line(self, line: str, out: list[Frame]) -> None:
        self._line_no += 1
        if not line:
            self._flush_junk(out)
            if self._fields:
                out.append(self._dispatch())
            return
        if line[0] == ":":
            self._flush_junk(out)
            self._comment(line[1:].removeprefix(" "), out)
            if self.keep_raw and out and out[-1].__class__ is Frame and out[-1].kind == "comment" and out[-1].line == self._line_no:
                out[-1].raw = line
            return
        colon = line.find(":")
        name = line if colon < 0 else line[:colon]
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
        # the value after the colon, less one leading space (one slice: a data line can be megabytes long)
        value = "" if colon < 0 else line[colon + 2 :] if line.startswith(" ", colon + 1) else line[colon + 1 :]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        else:  # retry
            try:
                self._retry = int(value)
            except (TypeError, ValueError):
                pass

    def _dispatch(self) -> tuple:
        """The event the blank line completes, as a record: (name, data, id, retry, t, line, no_data, raw)."""
        data_lines = self._data
        event, retry = self._event, self._retry
        self._fields = 0
        t, self._next_t = self._next_t, None
        if self._raw:
            raw = "\n".join(self._raw)
            self._raw.clear()
        else:
            raw = ""
        if not event and not data_lines and not self._id and retry is None:
            # nothing was set (`event:` empty, `retry: abc`, an `id:` holding NUL): a WHATWG client (and httpx-sse)
            # dispatches nothing; keep the block anyway, flagged as carrying no data
            return ("message", "", "", None, t, self._event_line, True, raw)
        self._event = ""
        self._retry = None
        if data_lines:
            if len(data_lines) == 1:
                data = data_lines[0]
            elif any(x.__class__ is bytes for x in data_lines):  # a long one came as bytes (``as_bytes``)
                data = b"\n".join(x if x.__class__ is bytes else x.encode("utf-8", "surrogatepass") for x in data_lines)
            else:
                data = "\n".join(data_lines)
            data_lines.clear()
            no_data = False
        else:
            data = ""
            no_data = True
        if event:
            name = self._names.get(event)
            if name is None:
                name = event
                if len(self._names) < 1024:
                    self._names[event] = event
        else:
            name = "message"
        return (name, data, self._id, retry, t, self._event_line, no_data, raw)

    def _flush_junk(self, out: list[Frame]) -> None:
        if self._junk is not None:
            out.append(self._junk)
            self._junk = None


def _frame(rec: tuple) -> Frame:
    name, data, id_, retry, t, line, no_data, raw = rec
    if data.__class__ is bytes:  # (a long data line read by ``feed_records``)
        data = data.decode("utf-8", "surrogatepass")
    return Frame("event", name, data, id_, retry, t, line, no_data, False, "", 1, raw, "")


def _frames(out: list) -> list[Frame]:
    """Event records made into frames (``feed_records`` hands them out as they are)."""
    for i, x in enumerate(out):
        if x.__class__ is tuple:
            out[i] = _frame(x)
    return out


def decode_bytes(chunks: Iterable[bytes]) -> Iterator[Frame]:
    """Decode an iterable of byte chunks (a file read in blocks) into frames."""
    parser = SSEParser()
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.finish()
