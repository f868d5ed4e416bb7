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
        "import streamview, streamview.sse, streamview.events, streamview.state, streamview.session, streamview.render, streamview.source, streamview.sanitize, streamview.protocols, streamview.protocols.responses.assemble",
        "import streamview.cli",
        "import streamview.replay, streamview.replay.player, streamview.replay.serve",
        f"from streamview.cli import main; main(['print', {str(SEED_NANO)!r}])",
    ],
)
def test_core_never_imports_textual(imports):
    out = subprocess.run([sys.executable, "-c", PROBE.format(imports=imports)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    marker = [line for line in out.stdout.splitlines() if line.startswith("TEXTUAL=")]
    assert marker == ["TEXTUAL="], f"textual imported: {out.stdout}"


LOADED = """
import contextlib, io, sys
from streamview.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main({argv!r})
    except SystemExit:
        pass
print("PROXY=" + ",".join(sorted(m for m in sys.modules if m == "streamview.replay.proxy")))
print("HELP=" + " ".join(w for w in out.getvalue().split() if w.startswith("--") and w.endswith("upstream")))
"""


@pytest.mark.parametrize("argv", [["--help"], ["print", str(SEED_NANO)], ["proxy", "--help"]], ids=" ".join)
def test_the_command_line_loads_the_proxy_only_to_run_it(argv):
    """Every command's parser lists the proxy's upstream options (from the protocols), without importing the
    proxy's module (asyncio, the session, the recorder: a quarter of start-up) for ``--help`` or ``print``."""
    out = subprocess.run([sys.executable, "-c", LOADED.format(argv=argv)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    assert lines["PROXY"] == "", out.stdout
    if argv == ["proxy", "--help"]:
        from streamview.replay.proxy import Routes

        assert lines["HELP"].split() == [f"--{o}" for o, _ in Routes.options()] and "--upstream" in lines["HELP"]


def test_the_probe_can_see_textual_when_it_is_imported():
    """The probe itself works: importing the UI does pull in Textual."""
    out = subprocess.run([sys.executable, "-c", PROBE.format(imports="import streamview.tui.app")], capture_output=True, text=True, cwd=ROOT)
    assert "TEXTUAL=textual" in out.stdout


# the four folders of the repository, each installed inside the one import package ``streamview``
LAYERS = {"core": "streamview", "replay": "replay", "widgets": "widgets", "tui": "tui"}
ALLOWED = {
    "core": {"core"},
    "replay": {"core", "replay"},
    "widgets": {"core", "widgets"},
    "tui": {"core", "replay", "widgets", "tui"},
}


def _layer(module: str) -> str | None:
    """The layer an absolute module name belongs to (``streamview.tui.app`` -> tui), None: not ours."""
    parts = module.split(".")
    if parts[0] in ("replay", "widgets", "tui"):
        return "outside"  # the folders are not top-level packages once installed: import them as streamview.X
    if parts[0] != "streamview":
        return None
    if len(parts) > 1 and parts[1] in ("replay", "widgets", "tui"):
        return parts[1]
    return "core"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {_layer(a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(_layer(node.module))
    return found - {None}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_packages_import_only_downward(layer):
    paths = list((ROOT / LAYERS[layer]).rglob("*.py"))
    assert paths
    for path in paths:
        if layer == "core" and path.relative_to(ROOT).as_posix() in ("streamview/cli.py", "streamview/__main__.py"):
            continue  # the command line sits on top and dispatches upward (lazily)
        wrong = _imports(path) - ALLOWED[layer]
        assert not wrong, f"{path.relative_to(ROOT)} imports {wrong}"


def test_the_import_rule_sees_a_wrong_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from streamview.tui.app import StreamviewApp\nimport replay.player\n")
    assert _imports(bad) == {"tui", "outside"}
