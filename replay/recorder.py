"""Recording a stream as a transcript (DESIGN.md section 2): the stream as received, with streamview's own lines
in the form its framing allows (``Framer.transcript_line``): SSE comment lines (``: t=0.4123``) in an SSE
transcript; in an NDJSON one, one JSON object a line (``{"streamview": "t=0.4123"}``), so that every line of the
file is still a JSON value, as NDJSON requires (NDJSON has no comments).

Each event is written and flushed as it arrives, so Ctrl-C, a crash or a dropped connection loses nothing that was
received. The request's headers are never written (they hold the key); response headers that can carry secrets
are left out too, and every line passes through the request's redaction.
"""

from __future__ import annotations

from typing import Callable, Iterable, TextIO

from streamview.events import StreamEvent
from streamview.framing import DEFAULT, FRAMINGS
from streamview.secrets import is_secret_header, redact_url
from streamview.sse import Frame, TranscriptMeta


def header_lines(meta: TranscriptMeta, framing: str = DEFAULT) -> list[str]:
    texts = ["streamview transcript 1"]
    if meta.request:
        texts.append(f"request {redact_url(meta.request)}")
    if meta.request_body:
        texts.append(f"request-body {meta.request_body}")
    if meta.status is not None:
        texts.append(f"status {meta.status}")
    for k, v in meta.headers:
        if not is_secret_header(k):
            texts.append(f"header {k}: {v}")
    line = FRAMINGS[framing].transcript_line
    return [line(text) for text in texts]


def _timing(ev: StreamEvent, line: Callable[[str], str]) -> str:
    return line(f"t={ev.t:.4f}") + "\n"


class Recorder:
    """Writes frames as they are decoded (``on_frame``), each with its ``t=`` arrival time, in the transcript form
    of ``framing`` (the stream's: ``sse`` or ``ndjson``)."""

    def __init__(self, path: str, meta: TranscriptMeta, redact: Callable[[str], str] = lambda s: s,
                 framing: str = DEFAULT) -> None:
        self.path = path
        self.meta = meta
        self.redact = redact
        self.framing = framing
        self._framer = FRAMINGS[framing]
        self.events = 0
        self._fh: TextIO = open(path, "w", encoding="utf-8", newline="\n")
        self._header_written = False

    def _header(self) -> None:
        if not self._header_written:
            self._header_written = True
            self._fh.write(self.redact("\n".join(header_lines(self.meta, self.framing))) + _header_end(self.framing))

    def on_frame(self, frame: Frame, ev: StreamEvent) -> None:
        self._header()
        timing = _timing(ev, self._framer.transcript_line) if ev.t is not None else ""
        end = self._framer.wire_end(frame)  # a cut-off event stays cut off when replayed
        self._fh.write(timing + self.redact(frame.raw) + end)
        self._fh.flush()
        self.events += 1

    def close(self) -> None:
        self._header()  # an HTTP error still leaves the request, status and headers on record
        self._fh.flush()
        self._fh.close()


def _header_end(framing: str) -> str:
    """What ends the header: a blank line in SSE (as streamview always wrote it); in NDJSON its last line's end."""
    return "\n\n" if framing == DEFAULT else "\n"


def write_transcript(fh: TextIO, events: Iterable[StreamEvent], meta: TranscriptMeta, framing: str | None = None) -> int:
    """Write events already received (the TUI's `s`) as a transcript in the form of ``framing`` (the stream's;
    None: SSE); returns how many were written."""
    framing = framing or DEFAULT
    line = FRAMINGS[framing].transcript_line
    ndjson = framing != DEFAULT
    fh.write("\n".join(header_lines(meta, framing)) + _header_end(framing))
    n = 0
    for ev in events:
        timing = _timing(ev, line) if ev.t is not None and not ev.t_synthetic else ""
        if ev.kind == "comment":
            body = line(ev.data)
        elif ev.kind == "junk" or ndjson:
            body = ev.data  # an NDJSON event is its line; only the first line of a junk run is kept in memory
        else:
            body = "".join(f"data: {piece}\n" for piece in ev.data.split("\n")).rstrip("\n")
            if ev.name != "message":
                body = f"event: {ev.name}\n{body}"
        fh.write(f"{timing}{body}\n" + ("" if ndjson else "\n"))
        n += 1
    return n
