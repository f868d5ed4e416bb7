"""The wheel installs one import package, ``streamview`` (the repository's replay/, widgets/ and tui/ folders go
inside it), so installing and uninstalling streamview leaves another distribution's top-level ``replay``, ``tui``
or ``widgets`` package alone."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

GENERIC = ("replay", "tui", "widgets")
# pip builds the wheel in the source tree (build/, streamview.egg-info): one worker at a time (pyproject's addopts)
pytestmark = pytest.mark.xdist_group("source-tree-build")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheels = list(out.glob("streamview-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_holds_one_top_level_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"streamview", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    # every source and data file of the repository's four folders, at its place inside streamview (a protocol's
    # folder and its modules included: the package list is found, not written out)
    expected = set()
    for folder, inside in (("streamview", "streamview"), ("replay", "streamview/replay"), ("widgets", "streamview/widgets"),
                           ("tui", "streamview/tui")):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".sse", ".ndjson", ".txt", ".tcss") and "__pycache__" not in path.parts:
                expected.add(f"{inside}/{path.relative_to(ROOT / folder).as_posix()}")
    assert {"streamview/protocols/gemini/__init__.py", "streamview/tui/app.tcss", "streamview/examples/index.txt"} <= expected
    missing = sorted(expected - set(names))
    assert not missing, f"not in the wheel: {missing}"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _other_wheel(where: Path) -> Path:
    """A wheel of another distribution that owns top-level ``replay``, ``tui`` and ``widgets`` packages."""
    files = {f"{name}/__init__.py": f"OWNER = 'other-dist {name}'\n".encode() for name in GENERIC}
    info = "other_dist-1.0.dist-info"
    files[f"{info}/METADATA"] = b"Metadata-Version: 2.1\nName: other-dist\nVersion: 1.0\n"
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = [_record_line(p, d) for p, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = where / "other_dist-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for p, d in files.items():
            z.writestr(p, d)
    return path


def test_install_and_uninstall_leave_another_distributions_packages_alone(wheel, tmp_path):
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"

    def pip(*args: str) -> None:
        proc = subprocess.run([str(py), "-m", "pip", "-q", "--disable-pip-version-check", *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-2000:]

    def owners() -> str:
        probe = "import replay, tui, widgets; print(replay.OWNER, tui.OWNER, widgets.OWNER, sep='|')"
        proc = subprocess.run([str(py), "-c", probe], capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    pip("install", "--no-index", str(_other_wheel(tmp_path)))
    expected = "other-dist replay|other-dist tui|other-dist widgets"
    assert owners() == expected
    pip("install", "--no-index", "--no-deps", str(wheel))
    assert owners() == expected  # installing streamview overwrote nothing
    site = subprocess.run([str(py), "-c", "import streamview, os; print(os.path.dirname(streamview.__file__))"],
                          capture_output=True, text=True, cwd=tmp_path).stdout.strip()
    assert (Path(site) / "tui" / "app.tcss").is_file() and (Path(site) / "replay" / "player.py").is_file()
    pip("uninstall", "-y", "streamview")
    assert owners() == expected  # and uninstalling it deleted nothing of theirs
    assert not Path(site).exists()
