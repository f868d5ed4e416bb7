"""``json.loads`` for a long data line given as UTF-8 bytes, without the whole line as a str.

A stream's last events can hold the whole message again: the 1M transcript's final event is one 10 MB
line. Decoded as a str it takes 39 MB (one emoji in the text makes every character 4 bytes), and ``json.loads``
makes the text a second 39 MB str beside it. ``loads`` takes the line as bytes, parses it with each long string
(``LONG`` bytes or more) left out, and unescapes those strings a piece at a time into UTF-8, decoded once each:
at most the line's bytes, one string's UTF-8 and that string are held at once.

``loads(data)`` returns what ``json.loads(data.decode())`` returns, and raises what it raises (an error, or input
it does not take piece by piece, is parsed again the plain way). ``data`` is valid UTF-8 (``events`` makes it so).
"""

from __future__ import annotations

import json
import re
import os
from typing import Any

from .held import HeldTexts

LONG = 1 << 16  # a string literal this long (in bytes) is decoded on its own
PIECE = 1 << 20  # bytes of a long string decoded at a time
_CONTROL = re.compile(rb"[\x00-\x1f]")  # JSON allows none of these raw in a string
_NO = object()


def loads(data: bytes) -> Any:
    """``json.loads(data.decode("utf-8"))``, holding less at once when a string in it is long."""
    if len(data) >= LONG:
        value = _loads_in_pieces(data)
        if value is not _NO:
            return value
    return json.loads(data.decode("utf-8", "surrogatepass"))


def _loads_in_pieces(data: bytes) -> Any:
    mark = "\x00streamview-long-" + os.urandom(8).hex() + "-"  # stands for a long string: no input can spell it
    mark_json = b'"\\u0000' + mark[1:].encode()
    parts: list[bytes] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for start, end in _literals(data):
        if end - start < LONG:
            continue
        after = data[end : end + 32].lstrip(b" \t\r\n")
        if after[:1] == b":":  # a long key: left as it is
            continue
        parts.append(data[pos:start])
        parts.append(b'%s%d"' % (mark_json, len(spans)))
        spans.append((start + 1, end - 1))
        pos = end
    if not spans:
        return _NO
    parts.append(data[pos:])
    try:
        skeleton = json.loads(b"".join(parts).decode("utf-8", "surrogatepass"))
    except ValueError:
        return _NO  # the plain parse raises the error, with its place in the whole line
    strings = []
    for start, end in spans:
        text = _string(data, start, end)
        if text is None:
            return _NO
        strings.append(text)
    found = [0]
    try:
        value = _put_back(skeleton, mark, strings, found)
    except RecursionError:
        return _NO
    return value if found[0] == len(strings) else _NO


def _literals(data: bytes):
    """(start, end) of each string literal in ``data``, its quotes included, in order: outside a string each quote
    opens one (in JSON that is valid), and the next quote after an even run of backslashes closes it. One find per
    quote: a regular expression took 31 ms over a 10 MB line of 109 strings, this takes a few."""
    find = data.find
    pos = 0
    while True:
        start = find(b'"', pos)
        if start < 0:
            return
        end = start
        while True:
            end = find(b'"', end + 1)
            if end < 0:
                return  # not closed: the skeleton's parse fails, and the plain one reports it
            k = end - 1
            while data[k] == 0x5C:  # a backslash
                k -= 1
            if (end - 1 - k) % 2 == 0:
                break
        yield start, end + 1
        pos = end + 1


def known(text: str) -> None:
    """Note a long text the caller holds (a block's text): a long string parsed later that equals it is returned
    as that very text, and no copy of it is made. A stream's last events carry the whole message again, three or
    four times over; each is compared with it piece by piece as it is decoded. A text is let go of once nothing
    else holds it."""
    if len(text) >= LONG:
        _KNOWN.forget_unheld()
        _KNOWN.add(text)


_KNOWN = HeldTexts(4)


def _string(data: bytes, start: int, end: int) -> str | None:
    """The string whose literal's inside is ``data[start:end]``, unescaped ``PIECE`` bytes at a time into UTF-8
    and then decoded once (None: it is not a valid JSON string, which the plain parse reports). UTF-8 is the
    smallest form of the pieces: as strs, a text of 2-byte characters would take twice its bytes (measured on the
    1M transcript's end, 25 MB more at the peak than this). A ``known`` text it equals is returned instead."""
    _KNOWN.forget_unheld()
    size = end - start  # a character takes 1 to 12 bytes here (an emoji escaped as a surrogate pair)
    same = [t for t in _KNOWN.values() if size // 12 <= len(t) <= size]
    view = memoryview(data)
    pieces: list = []
    pos = 0
    i = start
    try:
        while i < end:
            j = end if end - i <= PIECE else _cut(data, i + PIECE, end)
            if data.find(b"\\", i, j) < 0:
                if _CONTROL.search(data, i, j):
                    return None
                piece = view[i:j]
                text = str(piece, "utf-8", "surrogatepass") if same else ""
            else:
                text = json.loads(b'"' + view[i:j] + b'"')
                piece = text.encode("utf-8", "surrogatepass")
            if same:
                same = [t for t in same if t.startswith(text, pos)]
                pos += len(text)
            pieces.append(piece)
            i = j
        for t in same:
            if len(t) == pos:
                return t
        joined = b"".join(pieces)
    except ValueError:
        return None
    finally:
        del pieces
        view.release()
    try:
        return joined.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None


def _cut(data: bytes, at: int, end: int) -> int:
    """Where a long string's inside can be cut at or after ``at``: before an ASCII character that is not a
    backslash, with no backslash in the 6 bytes before it, so no escape (``\\uXXXX`` is the longest) and no
    surrogate pair written as two escapes is cut in two, nor a character's UTF-8 bytes. ``end`` if none is near."""
    stop = min(end, at + 4096)
    c = at
    while c < stop:
        b = data[c]
        if b < 0x80 and b != 0x5C and data.find(b"\\", c - 6, c) < 0:
            return c
        c += 1
    return end


def _put_back(value: Any, mark: str, strings: list[str], found: list[int]) -> Any:
    """``value`` with each mark the skeleton's parse made replaced by its long string."""
    if value.__class__ is str:
        if value.startswith(mark):
            n = value[len(mark) :]
            if n.isdigit() and int(n) < len(strings):
                found[0] += 1
                return strings[int(n)]
        return value
    if value.__class__ is dict:
        for k, v in value.items():
            if v.__class__ in (str, dict, list):
                new = _put_back(v, mark, strings, found)
                if new is not v:
                    value[k] = new
        return value
    if value.__class__ is list:
        for i, v in enumerate(value):
            if v.__class__ in (str, dict, list):
                new = _put_back(v, mark, strings, found)
                if new is not v:
                    value[i] = new
        return value
    return value
