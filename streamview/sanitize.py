"""One sanitizer for all stream text: nothing from a stream reaches the terminal as a control sequence.

C0 controls become Control Pictures (ESC shows as ``␛``), DEL ``␡``; C1 controls, bidi controls, zero-width
characters, line/paragraph separators and lone surrogates become a visible ``⟨U+XXXX⟩`` mark. Markup is not a
concern here: widgets receive ``rich.text.Text`` / ``Content`` objects and never parse stream text as markup.
"""

from __future__ import annotations

import re

_MARKED = (
    list(range(0x80, 0xA0))  # C1 controls (0x9b is a CSI introducer on some terminals)
    + [0x061C, 0x200E, 0x200F, 0x2028, 0x2029]
    + list(range(0x202A, 0x202F))  # LRE RLE PDF LRO RLO
    + list(range(0x2066, 0x206A))  # LRI RLI FSI PDI
    + [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD]
)


def _table(keep_newlines: bool) -> dict[int, str]:
    table: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20)}
    table[0x7F] = "\u2421"  # ␡
    for c in _MARKED:
        table[c] = f"\u27e8U+{c:04X}\u27e9"
    for c in range(0xD800, 0xE000):  # lone surrogates (JSON "\ud800") cannot be encoded for a terminal
        table[c] = f"\u27e8U+{c:04X}\u27e9"
    if keep_newlines:
        del table[0x0A]
        del table[0x09]
    return table


_BLOCK = _table(keep_newlines=True)
_LINE = _table(keep_newlines=False)


def _finder(table: dict[int, str]) -> re.Pattern:
    """A character class of the table's keys: searching for one runs in C, ``str.translate`` with a dict does a
    lookup per character (about 50 ms for a 1 MB message), so text with nothing to replace is returned as it is."""
    return re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(table)) + "]")


_BLOCK_FIND = _finder(_BLOCK)
_LINE_FIND = _finder(_LINE)


def visible(text: str) -> str:
    """Stream text made safe for a multi-line pane: newlines and tabs kept, every other control made visible."""
    return text.translate(_BLOCK) if _BLOCK_FIND.search(text) else text


def visible_line(text: str) -> str:
    """Stream text made safe for a one-line cell: newlines and tabs shown as ␊ and ␉ too."""
    return text.translate(_LINE) if _LINE_FIND.search(text) else text
