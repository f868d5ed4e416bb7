"""Where a stream's events are kept: compact arrays per event, and each event's data outside the Python heap.

A kept event costs about 30 bytes here (the data's offset and length, the arrival time, a shape id, the line
number), whatever the size of its payload. Its data is read back on demand with ``os.pread`` (reads through the
page cache do not count in the process's memory, as pages of an ``mmap`` touched once would) when a row is drawn,
a detail opens, a search runs, time travel folds again, or the stream is saved:

- a transcript file replayed is its own store: the reader notes where each event's data lies in the file
  (``FileIndex``), and the store reads it there;
- anything else (a live or proxied stream, a gzip transcript, stdin, an event whose data is not a plain slice of
  the file, such as one of several ``data:`` lines or invalid UTF-8 made into U+FFFD) is appended to the process's
  spool, one unnamed temporary file (``Spool``) that the system removes when the process ends, however it ends.

``store[i]`` gives back a ``StreamEvent`` equal to the one appended (the same index, kind, name, data, time, line,
type, sequence number, error; the payload is parsed again from the data when read, as a folded event's is); the
latest few are kept as objects. An event the arrays cannot describe (data holding a lone surrogate, an index out of
order, a NaN time) is kept as the object it is. Nothing read is dropped.
"""

from __future__ import annotations

import os
import stat
import threading
from array import array
from bisect import bisect_left
from operator import le
from typing import Any, Iterator

from .events import _UNSET, StreamEvent

_new = object.__new__
_NAN = float("nan")
CACHE = 2048  # events kept as objects once read back (rows on screen come from here)
CACHE_DATA = 64 * 1024  # a bigger event is not kept as an object: its data is read again when asked
READ_SPAN = 1 << 20  # bulk reads (search, save, a slice) read up to this many bytes at a go
# (may_hold) the characters that case-fold to something with ASCII in it (19: ß, İ, ŉ, ſ, ǰ, ẖ-ẚ, ẞ, the Kelvin
# sign, ﬀ-ﬆ), as UTF-8; and the ASCII bytes, to be deleted
# (tests/test_search.py works them out from Python's own case folding)
FOLDS_TO_ASCII = tuple(c.encode() for c in "\u00df\u0130\u0149\u017f\u01f0\u1e96\u1e97\u1e98\u1e99\u1e9a\u1e9e\u212a"
                       "\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06")
_ASCII = bytes(range(128))
GAP = 4096  # ...and read across a gap this small between two events' data rather than make two reads
MAX_FILES = 256  # transcript files read in place at once; past this a file's events go to the spool


_SEEK_LOCK = threading.Lock()


def _seek_read(fd: int, n: int, off: int) -> bytes:
    with _SEEK_LOCK:
        os.lseek(fd, off, os.SEEK_SET)
        return os.read(fd, n)


def _seek_write(fd: int, data: Any, off: int) -> int:
    with _SEEK_LOCK:
        os.lseek(fd, off, os.SEEK_SET)
        return os.write(fd, data)


# positioned reads and writes (POSIX); where there are none (Windows), a seek and a read under a lock, for the
# spool's own file only: a transcript's duplicated descriptor shares its position with the reader's file, so there
# no transcript is read in place (``FileIndex.of``) and its events go to the spool
_pread = getattr(os, "pread", None) or _seek_read
_pwrite = getattr(os, "pwrite", None) or _seek_write


def _read_at(fd: int, n: int, off: int) -> bytes:
    """``n`` bytes at ``off``, in as many reads as it takes (fewer only where the file ends: a transcript cut short
    after it was read gives what is left of it)."""
    out = _pread(fd, n, off)
    while len(out) < n:
        more = _pread(fd, n - len(out), off + len(out))
        if not more:
            break
        out += more
    return out


class Spool:
    """Bytes appended to one unnamed temporary file, read back by offset. Appends are buffered (up to 1 MB) and
    written when the buffer is full or a read needs them. When no temporary file can be made (a read-only system),
    the bytes stay in memory: nothing is lost, only the saving."""

    FLUSH = 1 << 20

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buf = bytearray()
        self._size = 0  # bytes appended
        self._written = 0  # bytes in the file
        self._fd: int | None = None
        self._mem: bytearray | None = None
        import tempfile  # (not at start-up: only a stream that spools needs it)

        try:
            self._file = tempfile.TemporaryFile(prefix="streamview-spool-")
            self._fd = self._file.fileno()
        except OSError:
            self._mem = bytearray()

    @property
    def size(self) -> int:
        return self._size

    def append(self, data: bytes) -> int:
        with self._lock:
            off = self._size
            self._size += len(data)
            if self._mem is not None:
                self._mem += data
                return off
            self._buf += data
            if len(self._buf) >= self.FLUSH:
                self._flush()
            return off

    def _flush(self) -> None:
        buf = self._buf
        if not buf:
            return
        try:
            view = memoryview(buf)
            done = 0
            while done < len(buf):
                done += _pwrite(self._fd, view[done:], self._written + done)  # type: ignore[arg-type]
            view.release()
        except OSError:  # a full disk: what is not written stays in memory from here on
            self._mem = bytearray(self._read_file(0, self._written)) + buf
            self._fd = None
            self._buf = bytearray()
            return
        self._written += len(buf)
        self._buf = bytearray()

    def _read_file(self, off: int, n: int) -> bytes:
        return _read_at(self._fd, n, off)  # type: ignore[arg-type]

    def read(self, off: int, n: int) -> bytes:
        with self._lock:
            if self._mem is not None:
                return bytes(self._mem[off : off + n])
            if off + n > self._written:
                if off >= self._written:  # all of it still in the buffer
                    start = off - self._written
                    return bytes(self._buf[start : start + n])
                self._flush()
                if self._mem is not None:
                    return bytes(self._mem[off : off + n])
            return self._read_file(off, n)


_SPOOL: Spool | None = None
_SPOOL_LOCK = threading.Lock()


def spool() -> Spool:
    """The process's spool (made when first needed)."""
    global _SPOOL
    if _SPOOL is None:
        with _SPOOL_LOCK:
            if _SPOOL is None:
                _SPOOL = Spool()
    return _SPOOL


_open_files = 0


class FileIndex:
    """Where each event's data lies in the transcript file being read (``EventReader`` fills it as it reads):
    ``offsets[i]`` is the byte offset of event ``i``'s data in the file, or -1 where it is not a slice of the file.
    Holds its own descriptor of the file (``os.dup``), so it can be read after the reader's file is closed."""

    __slots__ = ("fd", "offsets", "__weakref__")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.offsets = array("q")

    @classmethod
    def of(cls, fp: Any) -> "FileIndex | None":
        """An index for ``fp`` if it is a regular file read from its start, as it is on disk (not stdin, a pipe or
        a gzip file), and not too many are open; else None (its events go to the spool)."""
        global _open_files
        if _open_files >= MAX_FILES or fp.__class__.__name__ == "GzipFile" or not hasattr(os, "pread"):
            return None
        try:
            fd = fp.fileno()
            if not stat.S_ISREG(os.fstat(fd).st_mode) or fp.tell() != 0:
                return None
            fd = os.dup(fd)
        except (AttributeError, OSError, ValueError):
            return None
        _open_files += 1
        index = cls(fd)
        import weakref

        weakref.finalize(index, _close, fd)
        return index

    def read(self, off: int, n: int) -> bytes:
        return _read_at(self.fd, n, off)


def _close(fd: int) -> None:
    global _open_files
    _open_files -= 1
    try:
        os.close(fd)
    except OSError:
        pass


class _Records:
    """What a store and its views share: the arrays, and the tables beside them."""

    __slots__ = ("index", "off", "len", "t", "sh", "shapes", "shape_ids", "lines", "line_odd", "aux", "held", "cache",
                 "others", "untimed")

    def __init__(self, index: FileIndex | None) -> None:
        self.index = index
        # >= 0: in the file; < 0: -1 - the offset in the spool (a file's index is this array itself: the reader
        # notes the file offsets in it, the store the spool's where there is none)
        self.off = index.offsets if index is not None else array("q")
        self.len = array("I")
        self.t = array("d")  # NaN: no time
        self.sh = array("H")  # shape ids
        self.shapes: list[tuple] = []
        self.shape_ids: dict[tuple, int] = {}
        self.lines: array | None = None  # the reader's table of line numbers by index, when the events came with it
        self.line_odd: dict[int, int] = {}  # a line number that is not in that table
        self.aux: dict[int, tuple] = {}  # (payload or _UNSET, seq, error), for the events that have any
        self.held: dict[int, StreamEvent] = {}  # events kept as objects (what the arrays cannot describe)
        self.cache: dict[int, StreamEvent] = {}
        self.others = array("q")  # the indexes of the events that are not SSE events (comments, junk): few, in order
        self.untimed: int | None = None  # the index of the first event without a time (None: every one has one)


class EventStore:
    """Every event of one stream, in order (a sequence: ``len``, ``[i]``, ``[a:b]``, iteration, ``append``).

    ``index``: the ``FileIndex`` of the file the events are read from (None: their data goes to the spool).
    ``view()``: a store that shares these records and grows as the events are appended to it again (a session
    fed by a player reads the player's store: nothing is kept twice)."""

    __slots__ = ("_r", "_limit")

    def __init__(self, index: FileIndex | None = None) -> None:
        self._r = _Records(index)
        self._limit: int | None = None  # a view: the events appended to it so far

    # -- as a sequence -----------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._r.len) if self._limit is None else self._limit

    def __iter__(self) -> Iterator[StreamEvent]:
        n = len(self)
        for a in range(0, n, 1024):
            yield from self._range(a, min(n, a + 1024))

    def __getitem__(self, i: Any) -> Any:
        if i.__class__ is slice:
            a, b, step = i.indices(len(self))
            if step != 1:
                return [self[k] for k in range(a, b, step)]
            return self._range(a, b) if a < b else []
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("event index out of range")
        r = self._r
        ev = r.cache.get(i)
        if ev is not None:
            return ev
        held = r.held.get(i) if r.held else None
        if held is not None:
            return held
        data = self._read(i)
        ev = self._make(i, data)
        if len(data) <= CACHE_DATA:  # a big one is read again when asked: its bytes are not held
            self._keep(i, ev)
        return ev

    def __repr__(self) -> str:
        return f"<EventStore {len(self):,} events>"

    def __eq__(self, other: object) -> bool:  # as the list of events it stands for
        if isinstance(other, (list, tuple, EventStore)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    # -- appending ---------------------------------------------------------------------------------------------
    def append(self, ev: StreamEvent) -> None:
        if self._limit is not None:
            self._append_view(ev)
            return
        r = self._r
        i = len(r.len)
        data = ev._data
        t = ev.t
        shape = ev._shape
        sid = r.shape_ids.get(shape)
        if sid is None and len(r.shapes) <= 0xFFFF:
            sid = r.shape_ids[shape] = len(r.shapes)
            r.shapes.append(shape)
        line = ev._line
        off_at = r.off
        shared = r.index is not None and i < len(off_at)  # the reader noted this one's place in the file
        if (sid is None or ev.index != i or data.__class__ is not bytes or len(data) > 0xFFFFFFFF
                or (t is not None and (t.__class__ is not float or t != t))):
            r.held[i] = ev  # what the arrays cannot say: kept as it is
            if shared:
                off_at[i] = 0
            else:
                off_at.append(0)
            r.len.append(0)
        else:
            n = len(data)
            off = off_at[i] if shared else -1
            if off < 0:
                off = -1 - spool().append(data) if n else 0
                if shared:
                    off_at[i] = off
            if not shared:
                off_at.append(off)
            r.len.append(n)
            if line.__class__ is array:
                if r.lines is None and i == 0:
                    r.lines = line
                elif line is not r.lines:
                    r.line_odd[i] = line[ev.index]
            else:
                r.line_odd[i] = line
            a = ev._aux
            if a is not None:
                if shape[4]:  # the payload is parsed from the data when read
                    if a[1] is not None or a[2] is not None:
                        r.aux[i] = (_UNSET, a[1], a[2])
                else:
                    r.aux[i] = a
        if t is None or t != t:
            r.t.append(_NAN)
            if r.untimed is None:
                r.untimed = i
        else:
            r.t.append(t)
        r.sh.append(sid or 0)
        if shape[0] != "event":
            r.others.append(i)

    def _extend(self, events: list[StreamEvent]) -> None:
        """``append`` each of ``events``, the usual ones in one loop: the reader noted where its data lies in the
        file, it has a time, its line is in the reader's table, it has no sequence number or error of its own to
        keep. Any other goes through ``append``, in its turn."""
        r = self._r
        off_at, lens, ts, shs, others = r.off, r.len, r.t, r.sh, r.others
        shape_ids, table = r.shape_ids, r.lines
        i = len(lens)
        noted = len(off_at) if r.index is not None else 0  # the events whose place the reader noted
        flt = float
        for ev in events:
            shape = ev._shape
            sid = shape_ids.get(shape)
            a = ev._aux
            t = ev.t
            data = ev._data
            if (sid is None or ev.index != i or i >= noted or ev._line is not table or table is None
                    or t.__class__ is not flt or t != t or off_at[i] < 0 or data.__class__ is not bytes
                    or not 0 < len(data) <= 0xFFFFFFFF
                    or not (a is None or (shape[4] and a[1] is None and a[2] is None))):
                self.append(ev)
                i += 1
                table = r.lines
                continue
            lens.append(len(data))
            ts.append(t)
            shs.append(sid)
            if shape[0] != "event":
                others.append(i)
            i += 1

    def _append_view(self, ev: StreamEvent) -> None:
        """A view: the event must be the next of the shared records (a session fed by the store's player)."""
        n = self._limit
        if ev.index != n or n >= len(self._r.len):  # type: ignore[operator]
            raise ValueError(f"event {ev.index} is not the next of this stream's stored events ({n})")
        self._limit = n + 1  # type: ignore[operator]

    def extend(self, events: list[StreamEvent]) -> None:
        """Append each of ``events`` (for a view, in O(1): they must be the next of the shared records, in order)."""
        n = self._limit
        if n is None:
            self._extend(events)
            return
        if not events:
            return
        k = len(events)
        if events[0].index != n or events[-1].index != n + k - 1 or n + k > len(self._r.len):
            raise ValueError(f"events {events[0].index}-{events[-1].index} are not the next {k} of this stream's "
                             f"stored events ({n})")
        self._limit = n + k

    def view(self) -> "EventStore":
        """A store over these records that holds none of them until they are appended to it (in order)."""
        v = _new(EventStore)
        v._r, v._limit = self._r, 0
        return v

    # -- what the arrays answer without reading the data -----------------------------------------------------------
    @property
    def seen(self) -> int:
        """How many of the events are SSE events (not comments, not junk): those held less the others among them."""
        n = len(self)
        return n - bisect_left(self._r.others, n)

    @property
    def last_event_index(self) -> int:
        """The index of the last SSE event (-1: none)."""
        n = len(self)
        others = self._r.others
        k = bisect_left(others, n)  # others[:k] are this store's; walk back over those just before its end
        i = n - 1
        while k and i >= 0 and others[k - 1] == i:
            k -= 1
            i -= 1
        return i

    def t_of(self, i: int) -> float | None:
        r = self._r
        held = r.held.get(i) if r.held else None
        if held is not None:
            return held.t
        t = r.t[i]
        return None if t != t else t

    def times(self, a: int, b: int) -> list[float]:
        """The arrival times of events ``a`` to ``b`` (those that have one), in order."""
        b = min(b, len(self))
        r = self._r
        if r.held and any(a <= k < b for k in r.held):
            return [t for k in range(a, b) if (t := self.t_of(k)) is not None and t == t]
        return [t for t in r.t[a:b] if t == t]

    def timed(self) -> memoryview | None:
        """The arrival times of every event, in order, as a view of the store's own array (no copy), when each has
        a time; None when one has none (``times`` gives those that have). Release the view (``with``) before the
        store grows: an array that is viewed cannot be appended to."""
        n = len(self)
        r = self._r
        if r.untimed is not None and r.untimed < n:
            return None
        return memoryview(r.t)[:n]

    def type_of(self, i: int) -> str:
        r = self._r
        held = r.held.get(i) if r.held else None
        return held.type if held is not None else r.shapes[r.sh[i]][2]

    def may_hold(self, a: int, b: int, folded: str) -> bool:
        """Whether the data of any of events ``a`` to ``b`` may hold ``folded`` (case-folded ASCII text), as
        ``folded in data.decode(errors="replace").casefold()`` finds it: False only when none does.

        Events whose data lie in the file one after another are looked at in one read of the stretch they lie in,
        lowered as bytes (what case folding does to ASCII): the query found there is a maybe (a field name or a
        comment may hold it too). Not found there, the data can hold it only through a character that folds to
        ASCII letters (ß, ſ, the Kelvin sign: ``FOLDS_TO_ASCII``), so a stretch without one of those holds none.
        Any other run (the spool, events held as objects, data out of order) says maybe."""
        b = min(b, len(self))
        if a >= b:
            return False
        r = self._r
        if r.held or r.index is None:
            return True
        offs, lens = r.off, r.len
        start, last = offs[a], offs[b - 1]
        end = last + lens[b - 1]
        if start < 0 or last < start or end - start > 8 * READ_SPAN:
            return True
        places = offs[a:b]
        if min(places) < 0 or not all(map(le, places, places[1:])):  # (in the file's order, as read)
            return True
        stretch = r.index.read(start, end - start)
        if folded.encode() in stretch.lower():
            return True
        if stretch.isascii():
            return False
        rest = stretch.translate(None, _ASCII)  # the bytes that are not ASCII (a few hundred in a stretch)
        return any(seq in rest for seq in FOLDS_TO_ASCII)

    def types_in(self, a: int, b: int) -> set[str]:
        """The types of events ``a`` to ``b``, each once (read from the array of shapes: no event made)."""
        r = self._r
        b = min(b, len(self))
        types = {r.shapes[sid][2] for sid in set(r.sh[a:b])}
        if r.held:
            types.update(held.type for i, held in r.held.items() if a <= i < b)
        return types

    def error_of(self, i: int) -> str | None:
        r = self._r
        held = r.held.get(i) if r.held else None
        if held is not None:
            return held.error
        a = r.aux.get(i) if r.aux else None
        return None if a is None else a[2]

    def data_of(self, i: int) -> bytes | str:
        """Event ``i``'s data as stored: UTF-8 bytes (a str only for an event held as an object that holds a lone
        surrogate)."""
        if not 0 <= i < len(self):
            raise IndexError("event index out of range")
        r = self._r
        held = r.held.get(i) if r.held else None
        if held is not None:
            return held._data
        ev = r.cache.get(i)
        return ev._data if ev is not None else self._read(i)

    def datas(self, a: int, b: int) -> list:
        """The data of events ``a`` to ``b`` (as ``data_of``), read in as few reads as their places allow."""
        b = min(b, len(self))
        out: list = []
        r = self._r
        offs, lens, held = r.off, r.len, r.held
        k = a
        while k < b:
            if held and k in held:
                out.append(held[k]._data)
                k += 1
                continue
            off = offs[k]
            # a run of events in the same place (the file, or the spool), each close after the one before
            start = off if off >= 0 else -1 - off
            end = start + lens[k]
            j = k + 1
            while j < b and not (held and j in held):
                o = offs[j]
                if (o >= 0) != (off >= 0) or not lens[j]:
                    break
                s = o if o >= 0 else -1 - o
                e = s + lens[j]
                if s < end or s - end > GAP or e - start > READ_SPAN:
                    break
                end = e
                j += 1
            if j == k + 1 or not lens[k]:
                out.append(self._read(k))
                k += 1
                continue
            block = r.index.read(start, end - start) if off >= 0 else spool().read(start, end - start)  # type: ignore[union-attr]
            for m in range(k, j):
                o = offs[m]
                s = (o if o >= 0 else -1 - o) - start
                out.append(block[s : s + lens[m]])
            k = j
        return out

    # -- reading -------------------------------------------------------------------------------------------------
    def _read(self, i: int) -> bytes:
        r = self._r
        n = r.len[i]
        if not n:
            return b""
        off = r.off[i]
        if off >= 0:
            return r.index.read(off, n)  # type: ignore[union-attr]
        return spool().read(-1 - off, n)

    def _make(self, i: int, data: bytes) -> StreamEvent:
        r = self._r
        ev = _new(StreamEvent)
        ev.index = i
        t = r.t[i]
        ev.t = None if t != t else t
        line = r.line_odd.get(i) if r.line_odd else None
        ev._line = r.lines if line is None else line
        ev._data = data
        ev._shape = r.shapes[r.sh[i]]
        ev._aux = r.aux.get(i) if r.aux else None
        return ev

    def _range(self, a: int, b: int) -> list[StreamEvent]:
        r = self._r
        cache, held = r.cache, r.held
        if b - a <= 4:
            return [self[k] for k in range(a, b)]
        datas = self.datas(a, b)
        out = []
        for k, d in zip(range(a, b), datas):
            ev = cache.get(k)
            if ev is None:
                ev = held.get(k) if held else None
                if ev is None:
                    ev = self._make(k, d)
            out.append(ev)
        return out

    def _keep(self, i: int, ev: StreamEvent) -> None:
        cache = self._r.cache
        if len(cache) >= CACHE:
            try:
                del cache[next(iter(cache))]
            except (StopIteration, KeyError, RuntimeError):
                pass
        cache[i] = ev
