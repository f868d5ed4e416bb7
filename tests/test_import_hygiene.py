"""The core and the transcript layer never import Textual (checked in a fresh interpreter), and the packages
import only downward: streamview <- replay, widgets <- tui."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED_NANO

PROBE = """
import sys
{imports}
bad = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print("TEXTUAL=" + ",".join(bad))
"""


@pytest.mark.parametrize(
    "imports",
    [
        "import streamview, streamview.sse, streamview.events, streamview.assemble, streamview.model, streamview.source, streamview.sanitize",
        "import streamview.cli",
        "import replay, replay.player",
        f"from streamview.cli import main; main(['print', {str(SEED_NANO)!r}])",
    ],
)
def test_core_never_imports_textual(imports):
    out = subprocess.run([sys.executable, "-c", PROBE.format(imports=imports)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    marker = [line for line in out.stdout.splitlines() if line.startswith("TEXTUAL=")]
    assert marker == ["TEXTUAL="], f"textual imported: {out.stdout}"


def test_the_probe_can_see_textual_when_it_is_imported():
    """The probe itself works: importing the UI does pull in Textual."""
    out = subprocess.run([sys.executable, "-c", PROBE.format(imports="import tui.app")], capture_output=True, text=True, cwd=ROOT)
    assert "TEXTUAL=textual" in out.stdout


ALLOWED = {
    "streamview": {"streamview"},
    "replay": {"streamview", "replay"},
    "widgets": {"streamview", "widgets"},
    "tui": {"streamview", "replay", "widgets", "tui"},
}
OURS = set(ALLOWED)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_downward(package):
    for path in (ROOT / package).glob("*.py"):
        if package == "streamview" and path.name in ("cli.py", "__main__.py"):
            continue  # the command line sits on top and dispatches upward (lazily)
        wrong = _imports(path) - ALLOWED[package]
        assert not wrong, f"{path.relative_to(ROOT)} imports {wrong}"
