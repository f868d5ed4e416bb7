"""NDJSON decoding (newline-delimited JSON, one JSON value a line, as some servers stream): the same frames and
event records the SSE framer hands out, so everything after the framer is the same for both.

The rules, chosen to lose nothing and to read what such servers send:

- a line ends at LF, CRLF or CR (a JSON text cannot hold a raw CR or LF, so no value is split); a leading UTF-8
  BOM is removed and invalid UTF-8 becomes U+FFFD, as for SSE;
- each line that holds something is one event (event name ``message``), its data the line less surrounding
  whitespace; a line that is not valid JSON is still an event, and the parser says why its data is not JSON;
- blank (whitespace-only) lines are skipped: they separate nothing in NDJSON;
- a streamview transcript line, ``{"streamview": TEXT}`` (an object with that one member, a string), carries what
  an SSE transcript's comment line carries (``t=0.4123`` times the next event; ``streamview transcript 1``,
  ``request ...``, ``status ...``, ``header ...`` fill ``meta``; any other text is a comment frame), in a form NDJSON
  allows: every line of a recorded NDJSON transcript is still one JSON value. Such lines count only in a
  transcript, one whose first line is ``{"streamview": "streamview transcript ..."}``; a stream's own line of that
  shape elsewhere is an event like any other;
- a line that starts with ``:`` is a comment, read as the SSE framer reads one (``: t=`` times the next event,
  header comments fill ``meta``): not NDJSON, but read, since a JSON text never starts with ``:``;
- a run of lines that cannot start a JSON value (binary garbage, an HTML error page) is one junk frame, like
  SSE's lines that are not SSE;
- the last line, when input ends without a line ending after it, is an event if it holds a whole JSON value (a
  file saved without a final newline is complete), and is flagged cut off when it does not.
"""

from __future__ import annotations

import codecs
import json

from .sse import JUNK_SAMPLE, Frame, LineFramer, LineSplitter, TranscriptMeta, _frames

# what a JSON text can start with (after whitespace): an object, an array, a string, a number, true/false/null
_STARTS = frozenset('{["-0123456789tfn')
NOT_NDJSON = "not JSON lines (cannot start a JSON value)"
CUT = "event cut off at end of input (no line ending after it)"
TRANSCRIPT_KEY = "streamview"
_PREFIX = '{"' + TRANSCRIPT_KEY + '"'


def streamview_line(data: str) -> str | None:
    """The text of a streamview transcript line (``{"streamview": TEXT}``, ``data`` stripped), or None when
    ``data`` is not one."""
    if not data.startswith(_PREFIX):
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    if value.__class__ is dict and len(value) == 1:
        text = value.get(TRANSCRIPT_KEY)
        if isinstance(text, str):
            return text
    return None


class NDJSONParser(LineFramer):
    """Incremental NDJSON framer with the SSE framer's interface: ``feed(bytes)``, ``feed_records(bytes)``,
    ``finish()``, ``meta`` and ``bom``."""

    media_type = "application/x-ndjson"
    framing = "ndjson"
    suffix = ".ndjson"  # a transcript file's

    @staticmethod
    def wire_end(frame: Frame) -> str:
        """What follows a frame's raw line on the wire (a cut-off last line: nothing)."""
        return "" if frame.truncated else "\n"

    @staticmethod
    def transcript_line(text: str) -> str:
        """A streamview transcript line (``t=0.41``, ``request POST ...``) as NDJSON carries it: one JSON object."""
        return json.dumps({TRANSCRIPT_KEY: text}, ensure_ascii=False, separators=(",", ":"))

    def __init__(self, keep_raw: bool = False) -> None:
        self.keep_raw = keep_raw
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lines = LineSplitter()
        self._started = False
        self._line_no = 0
        self._fields = 0  # always 0: an NDJSON event is one line, never part-read between lines
        self._next_t: float | None = None
        self._junk: Frame | None = None
        self._begun = False  # an event or a junk line was read (a transcript's first line comes before either)
        self.meta = TranscriptMeta()
        self.bom = False

    def _take(self, lines: list[str], out: list) -> None:
        for line in lines:
            self._line(line, out)

    def finish(self) -> list[Frame]:
        out: list = []
        tail = self._utf8.decode(b"", final=True)
        if tail:
            out.extend(self._records(tail))
        ended = self._lines.trailing_cr
        for line in self._lines.flush():
            self._line(line, out, last=not ended)
        self._flush_junk(out)
        return _frames(out)

    def _line(self, line: str, out: list, last: bool = False) -> None:
        self._line_no += 1
        data = line.strip()
        if not data:
            self._flush_junk(out)
            return
        if data[0] == ":":
            self._flush_junk(out)
            self._comment(data[1:].removeprefix(" "), out)
            if self.keep_raw and out and out[-1].__class__ is Frame and out[-1].line == self._line_no:
                out[-1].raw = line
            return
        if data[0] == "{" and (not self._begun or self.meta.recorded) and data.startswith(_PREFIX):
            text = streamview_line(data)
            if text is not None and (self.meta.recorded or text.startswith("streamview transcript")):
                self._flush_junk(out)
                self._comment(text, out)
                if self.keep_raw and out and out[-1].__class__ is Frame and out[-1].line == self._line_no:
                    out[-1].raw = line
                return
        self._begun = True
        if data[0] not in _STARTS:
            if self._junk is None:
                self._junk = Frame(kind="junk", line=self._line_no, text=line[:JUNK_SAMPLE], why=NOT_NDJSON)
                if self.keep_raw:
                    self._junk.raw = line
            else:
                self._junk.count += 1
                if self.keep_raw:
                    self._junk.raw += "\n" + line
            if last:
                self._junk.truncated = True
            return
        self._flush_junk(out)
        t, self._next_t = self._next_t, None
        raw = line if self.keep_raw else ""
        if last and not _whole(data):
            out.append(Frame("event", "message", data, "", None, t, self._line_no, False, True, "", 1, raw, CUT))
            return
        out.append(("message", data, "", None, t, self._line_no, False, raw))

    def _flush_junk(self, out: list) -> None:
        if self._junk is not None:
            out.append(self._junk)
            self._junk = None


def _whole(data: str) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True
