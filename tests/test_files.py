"""Files as a user meets them: a FIFO, a device that fails to read, a huge file that must stream, a file that grows
while it is replayed (--follow)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time

from streamview.replay.player import Player
from tests.conftest import ROOT, SEED_O4, message_stream, screen_text, sse, wait_until
from streamview.tui.app import StreamviewApp
from streamview.widgets.message_view import MessageView

TEXT = "Hello there! How can I assist you today?"


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streamview", *args], capture_output=True, timeout=timeout, cwd=ROOT)


def test_fifo_streams(tmp_path):
    fifo = tmp_path / "stream.fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as fh:
            for block in SEED_O4.read_bytes().split(b"\n\n"):
                fh.write(block + b"\n\n")
                fh.flush()
                time.sleep(0.01)

    threading.Thread(target=writer, daemon=True).start()
    r = cli("print", str(fifo))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == TEXT + "\n"


def test_a_read_error_is_one_line():
    r = cli("print", "/proc/self/mem")  # opens, then every read fails with EIO
    assert r.returncode == 2
    assert r.stderr.decode().strip() == "streamview: /proc/self/mem: read failed: Input/output error"


async def test_playback_reads_ahead_a_bounded_number_of_events():
    data = sse(message_stream([f"w{i} " for i in range(3000)]))
    player = Player(io.BytesIO(data), paused=True, read_ahead=200)
    app = StreamviewApp(player, label="bounded")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.5)
        assert 0 < len(player.buffer) < 1500  # paused: the reader stopped well before the end
        assert player.total is None
        await pilot.press("e")  # play to the end: the reader resumes as playback consumes
        await wait_until(pilot, lambda: player.finished, timeout=20)
        assert len(app.model.events) == 3008
        assert app.model.state.text() == "".join(f"w{i} " for i in range(3000))


async def test_follow_shows_events_appended_to_the_file(tmp_path):
    path = tmp_path / "growing.sse"
    blocks = SEED_O4.read_bytes().split(b"\n\n")
    path.write_bytes(b"\n\n".join(blocks[:8]) + b"\n\n")
    app = StreamviewApp(Player(open(path, "rb"), instant=True, follow=True), label="growing")
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: len(app.model.events) == 8)
        assert "following" in screen_text(app)
        with open(path, "ab") as fh:
            fh.write(b"\n\n".join(blocks[8:]))
        await wait_until(pilot, lambda: len(app.model.events) == 20, timeout=10)
        assert TEXT in app.query_one(MessageView).text_view.text
        assert not app.player.finished  # still following: a file can grow again


def test_follow_in_plain_mode_until_ctrl_c(tmp_path):
    path = tmp_path / "growing.sse"
    blocks = SEED_O4.read_bytes().split(b"\n\n")
    path.write_bytes(b"\n\n".join(blocks[:8]) + b"\n\n")
    proc = subprocess.Popen([sys.executable, "-m", "streamview", "replay", str(path), "--follow", "--plain", "--instant"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    time.sleep(1.0)
    with open(path, "ab") as fh:
        fh.write(b"\n\n".join(blocks[8:]))
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert out.decode() == TEXT + "\n"
    assert "interrupted by Ctrl-C" in err.decode() and "Traceback" not in err.decode()


def test_print_of_a_large_file_keeps_no_event_list(tmp_path):
    """print streams: its memory follows the assembled text, not the file (a 2 GB transcript of small deltas prints
    in a few hundred MB; here 60 MB must not cost more than a fraction of itself)."""
    path = tmp_path / "large.sse"
    one = sse(message_stream(["ab"] * 20000))
    with open(path, "wb") as fh:
        for _ in range(10):  # ten streams back to back: 200k deltas, only the last assembles
            fh.write(one)
    size = path.stat().st_size
    def peak_kb(target) -> int:
        probe = (
            "import resource, sys; from streamview.cli import main; sys.stdout = open('/dev/null', 'w'); "
            f"code = main(['print', {str(target)!r}]); "
            "sys.stderr.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))"
        )
        r = subprocess.run([sys.executable, "-c", probe], capture_output=True, cwd=ROOT, timeout=120)
        return int(r.stderr.decode().strip().splitlines()[-1])

    growth = (peak_kb(path) - peak_kb(SEED_O4)) * 1024
    assert growth < size // 2, (growth, size)
