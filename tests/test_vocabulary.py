"""Nothing outside ``streamview/protocols/`` names a protocol: every other Python file of the project (tests and
benchmarks excepted) is scanned for each registered protocol's own vocabulary (``Protocol.vocabulary``: its name,
its event types and prefixes, its field names). A hit means protocol knowledge leaked out of its package."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streamview.protocols import NAMES, registered
from tests.conftest import ROOT

SCANNED = ("streamview", "replay", "widgets", "tui", "docs")
EXEMPT = ("streamview/protocols/",)


def sources() -> list[Path]:
    out = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith(EXEMPT):
                out.append(path)
    return out


def pattern(word: str) -> re.Pattern:
    """A plain word matches whole (``chat`` is not found in ``chatter``); anything else as a substring."""
    if re.fullmatch(r"[A-Za-z]+", word):
        return re.compile(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", re.IGNORECASE)
    return re.compile(re.escape(word), re.IGNORECASE)


def hits(text: str, words) -> list[str]:
    return sorted({w for w in words if pattern(w).search(text)})


def test_every_protocol_declares_its_vocabulary():
    for proto in registered():
        assert proto.name in proto.vocabulary, proto
        assert len(proto.vocabulary) >= 5, f"{proto.name}: name its event types, prefixes and field names"
    assert [p.name for p in registered()] == list(NAMES)


def test_the_scan_covers_the_layers():
    rels = {p.relative_to(ROOT).as_posix() for p in sources()}
    for needed in ("streamview/cli.py", "streamview/session.py", "streamview/render.py", "replay/serve.py",
                   "widgets/event_list.py", "widgets/response_view.py", "tui/app.py"):
        assert needed in rels


@pytest.mark.parametrize("proto", NAMES)
def test_no_file_outside_protocols_names_a_protocol(proto):
    from streamview.protocols import get

    words = get(proto).vocabulary
    found = {}
    for path in sources():
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines, 1):
            bad = hits(line, words)
            if bad:
                found[f"{path.relative_to(ROOT)}:{n}"] = bad
    assert not found, f"{proto} vocabulary outside streamview/protocols/: {found}"


def test_the_scan_finds_a_literal_put_back_into_a_widget():
    """The check can fail: a widget line as it was before the protocols had their packages is caught."""
    leaked = 'return t.removeprefix("response.")  # if ev.type.startswith("content_block_"): p.get("choices")'
    found = {p.name: hits(leaked, p.vocabulary) for p in registered()}
    assert '"response.' in found["responses"]
    assert "content_block" in found["anthropic"]
    assert '"choices"' in found["chat"]
    assert hits("chatter about anthropics", ["chat", "anthropic"]) == []
