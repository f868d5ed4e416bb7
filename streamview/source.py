"""Reading a transcript (a file or stdin) into events, headless: the same decoder the live path uses."""

from __future__ import annotations

import os
import stat
import sys
import zlib
from array import array
from typing import BinaryIO, Callable, Iterator

from .events import StreamEvent, parse_frame, parse_record
from .framing import AUTO, DEFAULT, framer
from .sse import Frame
from .store import FileIndex

CHUNK = 64 * 1024
SLACK = 4096  # bytes between one event's data and the next one's that are looked through for it
_FFFD = "\ufffd".encode()
TAIL = 64 * 1024  # bytes of the previous chunk kept to find an event's data that began there


class SourceError(Exception):
    """A transcript that cannot be read: the message is one plain line."""


GZIP_MAGIC = b"\x1f\x8b"
READ_ERRORS = (OSError, EOFError, zlib.error)  # what reading a (gzip) transcript can raise


def open_transcript(path: str) -> BinaryIO:
    """Open a transcript for reading, or raise SourceError with a one-line reason. ``-`` is stdin. A gzip-compressed
    transcript (``.sse.gz``, or any input that starts with gzip's magic bytes) is read decompressed."""
    return _maybe_gzip(_open(path), path)


def _maybe_gzip(fp: BinaryIO, path: str) -> BinaryIO:
    peek = getattr(fp, "peek", None)
    try:
        start = peek(2)[:2] if peek is not None else b""
    except OSError:
        return fp  # the first read says why
    if start != GZIP_MAGIC:
        return fp
    import gzip

    return gzip.GzipFile(filename="" if path == "-" else path, mode="rb", fileobj=fp)  # type: ignore[return-value]


def read_failure(exc: BaseException) -> SourceError:
    """A read that failed, in one line (an I/O error, or gzip data that is corrupt or cut off)."""
    if isinstance(exc, EOFError):
        return SourceError("gzip data cut off before its end (the compressed file is truncated)")
    if isinstance(exc, zlib.error) or exc.__class__.__name__ == "BadGzipFile":
        return SourceError(f"gzip data is corrupt: {exc}")
    return SourceError(f"read failed: {getattr(exc, 'strerror', None) or exc}")


def _open(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except OSError as exc:
        raise SourceError(f"{path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise SourceError(f"{path}: is a directory, not a transcript file")
    try:
        return open(path, "rb")
    except OSError as exc:
        raise SourceError(f"{path}: {exc.strerror or exc}") from None


def iter_chunks(fp: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    read = getattr(fp, "read1", fp.read)
    while True:
        try:
            chunk = read(size)
        except READ_ERRORS as exc:
            raise read_failure(exc) from None
        if not chunk:
            return
        yield chunk


class EventReader:
    """Turns byte chunks into numbered ``StreamEvent``s; keeps the transcript header (``meta``).

    ``clock`` (live sources) stamps each event with its arrival time; ``on_frame`` sees every decoded frame with its
    event as it is decoded, with the raw lines kept (the recorder writes them). ``framing``: how the bytes are cut
    into events (``framing.FRAMINGS``: the protocol's, when it is known; ``auto``: found from the first line).
    """

    def __init__(self, clock: Callable[[], float] | None = None, on_frame: Callable[[Frame, StreamEvent], None] | None = None,
                 framing: str = DEFAULT, index: FileIndex | None = None) -> None:
        """``index``: the file being read is a regular file, read from its start: where each event's data lies in
        it is noted there (``store.FileIndex``), so that a store can read it back from the file."""
        self.parser = framer(framing, keep_raw=on_frame is not None)
        self.count = 0
        self._lines = array("I")  # each event's line number, by index (StreamEvent.line reads it)
        self.clock = clock
        self.on_frame = on_frame
        self.index = index
        self._pos = 0  # bytes read so far (the offset of the next chunk in the file)
        self._cur = 0  # where the last event's data that was found ended
        self._tail = b""  # the end of the bytes before this chunk (an event's data may have begun there)

    @property
    def meta(self):
        return self.parser.meta

    @property
    def framing(self) -> str | None:
        """The framing the bytes are read with (None: not found yet, for ``auto``, before the first line that tells)."""
        return self.parser.framing

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        return self.events_of(self.frames_of(chunk), chunk)

    def frames_of(self, chunk: bytes) -> list:
        """The first half of ``feed``: the chunk decoded and cut into frames (a line that spanned chunks is put
        together here), not yet events. ``events_of`` makes them events; each chunk goes through both, in order."""
        if self.on_frame is not None:
            return self.parser.feed(chunk)
        return self.parser.feed_records(chunk)  # events as tuples, not Frames: less to make

    def events_of(self, frames: list, chunk: bytes) -> list[StreamEvent]:
        """The second half of ``feed``: ``frames_of(chunk)``'s frames numbered and parsed as events (and, reading
        a file, where each one's data lies in it noted)."""
        events = self._number(frames)
        if self.index is not None:
            self._locate(chunk, events)
        return events

    def finish(self) -> list[StreamEvent]:
        events = self._number(self.parser.finish())
        if self.index is not None:
            self._locate(b"", events)
        return events

    def _locate(self, chunk: bytes, events: list[StreamEvent]) -> None:
        """Note where each event's data lies in the file (``index.offsets``, -1 where it is not one slice of it).
        Each is looked for just after the one before: its bytes, within ``SLACK`` bytes of where that one ended (a
        field name, a comment, a blank line lie between). A long event whose data began before the bytes kept is
        looked for in the file itself. A find can only be the same bytes: the store reads back what was read."""
        offs = self.index.offsets  # type: ignore[union-attr]
        tail = self._tail
        window = tail + chunk if tail else chunk
        base = self._pos - len(tail)
        cur = self._cur
        for ev in events:
            d = ev._data
            p = -1
            if d.__class__ is bytes and d:
                n = len(d)
                lo = cur - base
                if lo < 0:
                    lo = 0
                # first where it usually is, after the next "data:" (and one space): a compare of its bytes,
                # where a find of them costs as much again as the rest of reading the event
                p = window.find(b"data:", lo, lo + SLACK)
                if p >= 0:
                    p += 6 if window.startswith(b" ", p + 5) else 5
                if p < 0 or not window.startswith(d, p):
                    p = window.find(d, lo, lo + n + SLACK)
                if p >= 0:
                    p += base
                elif cur < base and n > SLACK:  # a long one that began before the bytes kept: look in the file
                    p = self._find_in_file(d, cur)
                if p >= 0:
                    cur = p + n
                else:  # not one slice of the file: its lines took at least its bytes (less 2 for each U+FFFD,
                    cur += n - 2 * d.count(_FFFD)  # which stood for at least one byte)
            if ev.index == len(offs):  # (a store that shares the array may have noted it already)
                offs.append(p)
        self._cur = cur
        self._pos += len(chunk)
        self._tail = window[-TAIL:] if chunk else window

    def _find_in_file(self, d: bytes, cur: int) -> int:
        try:
            span = self.index.read(cur, len(d) + SLACK)  # type: ignore[union-attr]
        except OSError:
            return -1
        p = span.find(d)
        return cur + p if p >= 0 else -1

    def _number(self, frames: list) -> list[StreamEvent]:
        """Number frames (or ``feed_records`` records) as events."""
        if not frames:
            return []
        out = []
        now = self.clock() if self.clock is not None else None
        on_frame = self.on_frame
        lines = self._lines
        count = self.count
        for frame in frames:
            if frame.__class__ is tuple:
                ev = parse_record(frame, count, lines)
            else:
                ev = parse_frame(frame, count, lines)
            if now is not None and ev.t is None:
                ev.t = now
            if on_frame is not None:
                on_frame(frame, ev)
            out.append(ev)
            count += 1
            self.count = count
        return out


def framing_of(protocol: str | None) -> str:
    """The framing a stream known to speak ``protocol`` is read with (``auto`` when it is not known: the first line
    that tells decides, ``framing.AutoFramer``)."""
    if protocol is None:
        return AUTO
    from .protocols import get

    return get(protocol).framing


def read_events(fp: BinaryIO, protocol: str | None = None) -> tuple[list[StreamEvent], EventReader]:
    reader = EventReader(framing=framing_of(protocol))
    events: list[StreamEvent] = []
    for chunk in iter_chunks(fp):
        events.extend(reader.feed(chunk))
    events.extend(reader.finish())
    return events, reader
