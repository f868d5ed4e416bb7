"""Parsing decoded frames into events: the JSON payload, or the reason it could not be read, kept on the event."""

from __future__ import annotations

import json
from array import array
from typing import Any

from . import bigjson
from .sse import Frame

_UNSET: Any = object()  # the payload is not held: it is parsed from ``data`` when asked
_REPARSED: dict[int, tuple["StreamEvent", Any]] = {}  # the last payloads parsed again from data (rows on screen)
_REPARSED_MAX = 512

# What many events share is kept once, in one tuple per combination:
#   (kind, name, type, t_synthetic, from_data, seq_is_index)
# from_data: the payload is json.loads(data), so it can be let go of and parsed again when asked;
# seq_is_index: the sequence number equals the event's index (the usual case), so it is not stored.
_SHAPES: dict[tuple, tuple] = {}
_SHAPES_MAX = 8192
_PIECE = 1 << 16


def _shape(kind: str, name: str, type_: str, t_synthetic: bool, from_data: bool, seq_is_index: bool) -> tuple:
    key = (kind, name, type_, t_synthetic, from_data, seq_is_index)
    shape = _SHAPES.get(key)
    if shape is None:
        shape = key
        if len(_SHAPES) < _SHAPES_MAX:
            _SHAPES[key] = key
    return shape


_SYNTHETIC: dict[tuple, tuple] = {}  # a shape -> the same shape with t_synthetic set


def schedule(events: list, pace: float) -> None:
    """Give each of ``events`` that has no arrival time its place on a steady schedule (``index * pace``), marked
    synthetic (a transcript without timing replayed): ``ev.t = ...; ev.t_synthetic = True``, the shape found once."""
    synthetic = _SYNTHETIC
    for ev in events:
        if ev.t is None:
            ev.t = ev.index * pace
            sh = ev._shape
            new = synthetic.get(sh)
            if new is None:
                new = _shape(sh[0], sh[1], sh[2], True, sh[4], sh[5])
                if len(synthetic) < _SHAPES_MAX:
                    synthetic[sh] = new
            ev._shape = new


def _pack(data: str | bytes) -> str | bytes:
    """``data`` as stored: UTF-8 bytes (16 bytes smaller than a str, and a quarter of one that holds an emoji).
    A long data line can come as its UTF-8 bytes already (``sse.LineSplitter``): it is kept as it is."""
    if data.__class__ is bytes:
        return data
    try:
        if len(data) <= _PIECE:
            return data.encode()
        # in pieces: str.encode() first allocates 4 bytes per character of a string that holds an emoji
        return b"".join([data[i : i + _PIECE].encode() for i in range(0, len(data), _PIECE)])
    except UnicodeEncodeError:  # a lone surrogate: only a hand-made event can hold one
        return data


class StreamEvent:
    """One row of the raw events pane: an SSE event (parsed or not), a comment, or a run of non-SSE lines.

    Its fields: ``index``, ``kind`` ("event" | "comment" | "junk"), ``name`` (the SSE event name, "message" when the
    stream sends none), ``data``, ``t`` (arrival time, seconds since the request, or the replay's steady schedule),
    ``line``, ``payload``, ``type``, ``seq``, ``error`` (why the payload could not be used; shown on the row) and
    ``t_synthetic``.

    Every event of a stream is kept, so the storage is compact (about 120 bytes plus the data, against 2 KB when
    each event held its parsed payload): ``data`` is kept as UTF-8; the fields many events share (kind, name, type,
    t_synthetic) are one shared tuple; ``seq`` is not stored when it equals ``index``; ``line`` can live in a table
    of the reader's. ``payload`` is the parsed JSON of ``data`` (or what the constructor or a setter gave): a model
    that has folded an event calls ``release_payload()``, and from then on ``payload`` parses ``data`` again when
    read (the last few are cached), returning an equal value.
    """

    __slots__ = ("index", "_shape", "_data", "t", "_line", "_aux")  # _aux: None or (payload, seq, error)

    def __init__(
        self,
        index: int,
        kind: str,
        name: str,
        data: str,
        t: float | None,
        line: int,
        payload: Any = None,
        type: str = "",
        seq: int | None = None,
        error: str | None = None,
        t_synthetic: bool = False,
    ) -> None:
        self.index = index
        self.t = t
        self._line = line
        self._data = _pack(data)
        self._shape = _shape(kind, name, type, bool(t_synthetic), False, False)
        self._aux = None
        self._set(payload, seq, error, False)

    def _set(self, payload: Any, seq: Any, error: str | None, from_data: bool) -> None:
        """Store payload, seq and error (payload ``_UNSET``: parse ``data`` when asked, only ``from_data``)."""
        k, n, t, ts, _, _ = self._shape
        seq_is_index = seq.__class__ is int and seq == self.index
        if seq_is_index:
            seq = None
        if seq is None and error is None and (payload is _UNSET if from_data else payload is None):
            self._aux = None
        else:
            self._aux = (payload, seq, error)
        self._shape = _shape(k, n, t, ts, from_data, seq_is_index)

    def _held(self) -> Any:
        """The payload as stored (``_UNSET`` when it is to be parsed from data), without parsing it."""
        a = self._aux
        if a is None:
            return _UNSET if self._shape[4] else None
        return a[0]

    # -- the shared fields -----------------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self._shape[0]

    @kind.setter
    def kind(self, value: str) -> None:
        sh = self._shape
        self._shape = _shape(value, sh[1], sh[2], sh[3], sh[4], sh[5])

    @property
    def name(self) -> str:
        return self._shape[1]

    @name.setter
    def name(self, value: str) -> None:
        sh = self._shape
        self._shape = _shape(sh[0], value, sh[2], sh[3], sh[4], sh[5])

    @property
    def type(self) -> str:
        return self._shape[2]

    @type.setter
    def type(self, value: str) -> None:
        sh = self._shape
        self._shape = _shape(sh[0], sh[1], value, sh[3], sh[4], sh[5])

    @property
    def t_synthetic(self) -> bool:
        return self._shape[3]

    @t_synthetic.setter
    def t_synthetic(self, value: bool) -> None:
        sh = self._shape
        self._shape = _shape(sh[0], sh[1], sh[2], bool(value), sh[4], sh[5])

    # -- seq, error, line ------------------------------------------------------------------------------------------
    @property
    def seq(self) -> int | None:
        if self._shape[5]:
            return self.index
        a = self._aux
        return None if a is None else a[1]

    @seq.setter
    def seq(self, value: int | None) -> None:
        self._set(self._held(), value, self.error, self._shape[4])

    @property
    def error(self) -> str | None:
        a = self._aux
        return None if a is None else a[2]

    @error.setter
    def error(self, value: str | None) -> None:
        self._set(self._held(), self.seq, value, self._shape[4])

    @property
    def line(self) -> int:
        v = self._line
        return v[self.index] if v.__class__ is array else v

    @line.setter
    def line(self, value: int) -> None:
        self._line = value

    # -- data and payload ------------------------------------------------------------------------------------------
    @property
    def data(self) -> str:
        d = self._data
        return d.decode() if d.__class__ is bytes else d

    @data.setter
    def data(self, value: str) -> None:
        payload = self.payload  # parsed from the old data, if it was to be: it stays what it was
        self._set(payload, self.seq, self.error, False)
        self._data = _pack(value)

    @property
    def payload(self) -> Any:
        a = self._aux
        if a is None:
            return _reparse(self) if self._shape[4] else None
        p = a[0]
        return _reparse(self) if p is _UNSET else p

    @payload.setter
    def payload(self, value: Any) -> None:
        self._set(value, self.seq, self.error, False)

    def release_payload(self) -> None:
        """Let go of the parsed payload if it can be parsed again from ``data`` (``payload`` still reads the same)."""
        if self._shape[4]:
            a = self._aux
            if a is not None and a[0] is not _UNSET:
                self._aux = None if (a[1] is None and a[2] is None) else (_UNSET, a[1], a[2])

    # -- as the dataclass it was -----------------------------------------------------------------------------------
    def _astuple(self) -> tuple:
        return (self.index, self.kind, self.name, self.data, self.t, self.line, self.payload, self.type, self.seq,
                self.error, self.t_synthetic)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._astuple() == other._astuple()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        names = ("index", "kind", "name", "data", "t", "line", "payload", "type", "seq", "error", "t_synthetic")
        return f"StreamEvent({', '.join(f'{n}={v!r}' for n, v in zip(names, self._astuple()))})"


def _reparse(ev: StreamEvent) -> Any:
    hit = _REPARSED.get(id(ev))
    if hit is not None and hit[0] is ev:
        return hit[1]
    data = ev._data
    try:
        payload = bigjson.loads(data) if data.__class__ is bytes and len(data) > _PIECE else _loads_fast(ev.data)
    except ValueError:
        return None
    if len(data) > _PIECE:
        return payload  # not cached: a long event's payload is big, and parsing it again is rare
    if len(_REPARSED) >= _REPARSED_MAX:
        try:
            del _REPARSED[next(iter(_REPARSED))]
        except (KeyError, StopIteration, RuntimeError):
            pass
    _REPARSED[id(ev)] = (ev, payload)
    return payload


_loads = json.loads
_scan = getattr(json.decoder.JSONDecoder(), "scan_once", None)
_new = object.__new__
_TYPES: dict[str, str] = {}  # payload types seen: one string per type, not one per event (json.loads makes new ones)


def _loads_fast(data: str) -> Any:
    """``json.loads(data)``: the same value or the same exception, without json.loads's Python layers for the
    common case (an object with nothing around it)."""
    if _scan is not None and data.startswith("{"):
        try:
            obj, end = _scan(data, 0)
        except (StopIteration, ValueError):
            pass  # json.loads raises the error (with its message) below
        else:
            if end == len(data):
                return obj
    return _loads(data)


def _event(index: int, kind: str, name: str, etype: str, data: str | bytes, t: float | None, line: Any,
           payload: Any, seq: int | None, error: str | None, from_data: bool) -> StreamEvent:
    """A StreamEvent from parsed parts, without the constructor's general path (``seq is index`` when equal)."""
    ev = _new(StreamEvent)
    ev.index = index
    ev.t = t
    ev._line = line
    ev._data = data
    seq_is_index = seq is index
    if seq_is_index:
        seq = None
    # _shape(kind, name, etype, False, from_data, seq_is_index), its lookup inline (this runs once per event)
    key = (kind, name, etype, False, from_data, seq_is_index)
    shape = _SHAPES.get(key)
    if shape is None:
        shape = _shape(*key)
    ev._shape = shape
    ev._aux = None if (payload is None and seq is None and error is None) else (payload, seq, error)
    return ev


def _noted(lines: array, line: int) -> Any:
    """Note ``line`` in the reader's table (4 bytes each) and give the table for the event to read it from; a line
    number past the table's range is given as itself (its place in the table holds 0)."""
    try:
        lines.append(line)
    except OverflowError:
        lines.append(0)
        return line
    return lines


def parse_frame(frame: Frame, index: int, lines: array | None = None) -> StreamEvent:
    """The event for a decoded frame. ``lines``: the reader's table of line numbers by event index (the event's
    line is appended to it and read from it, when the table is that long: 4 bytes, not a 32-byte int)."""
    kind = frame.kind
    line: Any = frame.line
    if lines is not None and len(lines) == index:
        line = _noted(lines, line)
    if kind == "comment":
        return _event(index, kind, frame.event, ": comment", _pack(frame.text), frame.t, line, None, None, None, False)
    if kind == "junk":
        count = "line" if frame.count == 1 else f"{frame.count} lines"
        error = f"{count} at line {frame.line} {frame.why or 'not SSE (no known field name)'}"
        if frame.truncated:
            error += "; input ended mid-line"
        return _event(index, kind, frame.event, "? not SSE", _pack(frame.text), frame.t, line, None, None, error, False)
    cut = (frame.why or _CUT) if frame.truncated else ""
    return _parse_event(index, kind, frame.event, frame.data, frame.t, line, frame.no_data, cut)


def parse_record(rec: tuple, index: int, lines: array | None = None) -> StreamEvent:
    """``parse_frame`` for an event record of ``SSEParser.feed_records``: (name, data, id, retry, t, line, no_data,
    raw), an event that was not cut off."""
    line: Any = rec[5]
    if lines is not None and len(lines) == index:
        line = _noted(lines, line)
    return _parse_event(index, "event", rec[0], rec[1], rec[4], line, rec[6], "")


_CUT = "event cut off at end of input (no blank line after it)"


def _parse_event(index: int, kind: str, name: str, data: str, t: float | None, line: Any, no_data: bool,
                 cut: str) -> StreamEvent:
    """The event for one decoded record; ``cut``: why the end of input cut it off (empty: it was not)."""
    etype = name
    payload = None
    seq = None
    error = None
    from_data = False
    packed = _pack(data)  # before the payload exists: a long event's text is not held three times at once
    if _WORDS is None:
        _words()  # the sentinels and the sequence fields the protocols declare, read once
    if no_data:
        error = "event with no data: field (a WHATWG client would not dispatch it)"
    elif len(data) <= _SENTINEL_LEN and data in _SENTINELS:  # type: ignore[operator]
        etype = data  # a protocol's sentinel ("data: X" that is not JSON but a signal): its type is itself
    else:
        try:
            # a long line that came as bytes is parsed without being made a str (``bigjson``)
            payload = bigjson.loads(data) if data.__class__ is bytes else _loads_fast(data)
        except ValueError as exc:
            msg = getattr(exc, "msg", str(exc))
            col = getattr(exc, "colno", None)
            error = f"data is not JSON: {msg}" + (f" (column {col})" if col else "")
        else:
            from_data = True
            if payload.__class__ is dict:  # json.loads makes plain dicts, ints and strs
                ptype = payload.get("type")
                if ptype.__class__ is str and ptype:
                    etype = _TYPES.get(ptype) or _type_of(ptype)
                seq = payload.get(_SEQ) if _SEQ else None
                if seq.__class__ is not int:
                    seq = _other_seq(payload) if _SEQ_MORE else None
                elif seq == index:
                    seq = index  # not stored: the event's index says it
    if cut:
        error = f"{cut}; {error}" if error else cut
    return _event(index, kind, name, etype, packed, t, line, payload, seq, error, from_data)


_WORDS: tuple[tuple[str, ...], frozenset[str]] | None = None
_SEQ: str | None = None  # the first field that numbers events (what the parser reads for ``seq``)
_SEQ_MORE: tuple[str, ...] = ()  # other protocols' fields, tried when the first is not there
_SENTINELS: frozenset[str] | None = None
_SENTINEL_LEN = 64  # the longest sentinel (set when they are read): a longer data line is not hashed to look


def _words() -> tuple[tuple[str, ...], frozenset[str]]:
    """What the registered protocols declare for the parser: the payload fields that number events (an event's
    ``seq``), and the data values that are sentinels, not JSON. Read from the registry once, on first use."""
    global _WORDS, _SEQ, _SEQ_MORE, _SENTINELS, _SENTINEL_LEN
    if _WORDS is None:
        from .protocols import sentinels, sequence_fields

        fields = sequence_fields()
        _SEQ, _SEQ_MORE = (fields[0] if fields else None), fields[1:]
        _SENTINELS = sentinels()
        _SENTINEL_LEN = max(map(len, _SENTINELS), default=0)
        _WORDS = (fields, _SENTINELS)
    return _WORDS


def _other_seq(payload: dict) -> int | None:
    for field in _SEQ_MORE:
        seq = payload.get(field)
        if seq.__class__ is int:
            return seq
    return None


def is_sentinel(ev: StreamEvent) -> bool:
    """Whether ``ev`` is a protocol's sentinel (its data a declared non-JSON signal)."""
    return ev._shape[0] == "event" and ev._shape[2] in _words()[1]


def _type_of(ptype: str) -> str:
    t = _TYPES.get(ptype)
    if t is None:
        t = ptype
        if len(_TYPES) < 4096:
            _TYPES[ptype] = ptype
    return t
