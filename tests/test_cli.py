"""The command line, run as a user runs it: figures for the seeds, and one clear line for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import SEED_NANO, SEED_O4, make_app, message_stream, screen_text, sse, wait_until


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return subprocess.run([sys.executable, "-m", "streamview", *args], input=stdin, capture_output=True, timeout=60, env=env)


@pytest.mark.parametrize(
    "path,text,model,usage",
    [
        (SEED_O4, "Hello there! How can I assist you today?", "o4-mini-2025-04-16", (18, 16, 34)),
        (SEED_NANO, "Hello, test!", "gpt-4.1-nano-2025-04-14", (45, 5, 50)),
    ],
)
def test_print_seeds(path, text, model, usage):
    out = run("print", str(path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode() == text + "\n"
    assert out.stderr == b""
    out = run("print", "--json", str(path))
    assert out.returncode == 0
    data = json.loads(out.stdout)
    assert data["status"] == "completed"
    assert data["model"] == model
    u = data["usage"]
    assert (u["input_tokens"], u["output_tokens"], u["total_tokens"]) == usage
    assert [o["type"] for o in data["output"]][-1] == "message"
    assert data["output"][-1]["text"] == text


def test_print_reads_stdin():
    out = run("print", "-", stdin=SEED_NANO.read_bytes())
    assert out.returncode == 0
    assert out.stdout.decode() == "Hello, test!\n"


def test_help_and_version_answer_without_textual():
    out = run("--version")
    assert out.returncode == 0 and b"streamview" in out.stdout
    out = run("--help")
    assert out.returncode == 0 and b"replay" in out.stdout and b"demo" in out.stdout


def _one_clean_line(err: bytes) -> str:
    text = err.decode()
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if line]
    assert 1 <= len(lines) <= 4, text
    assert all(line.startswith("streamview") for line in lines), text
    return text


SEED_BYTES = SEED_O4.read_bytes()


@pytest.mark.parametrize(
    "name,content,code,says",
    [
        ("empty", b"", 2, "empty input"),
        ("garbage", bytes(range(256)) * 40, 2, "not an SSE stream"),
        ("truncated", SEED_BYTES[: len(SEED_BYTES) // 2], 1, "cut off"),
        ("notjson", SEED_BYTES.replace(b'"delta":" How"', b'"delta": How"', 1), 1, "the text may be incomplete"),
    ],
)
def test_print_bad_input_gives_clear_lines(tmp_path, name, content, code, says):
    path = tmp_path / f"{name}.sse"
    path.write_bytes(content)
    out = run("print", str(path))
    assert out.returncode == code, out.stderr
    assert says in _one_clean_line(out.stderr)


def test_print_crlf_and_bom_assemble_the_same(tmp_path):
    crlf = tmp_path / "crlf.sse"
    crlf.write_bytes(b"\xef\xbb\xbf" + SEED_BYTES.replace(b"\n", b"\r\n"))
    out = run("print", str(crlf))
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode() == "Hello there! How can I assist you today?\n"
    cr = tmp_path / "cr.sse"
    cr.write_bytes(SEED_BYTES.replace(b"\n", b"\r"))
    assert run("print", str(cr)).stdout.decode() == "Hello there! How can I assist you today?\n"


def test_missing_file_directory_and_bad_usage(tmp_path):
    for args, says in (
        (("print", str(tmp_path / "nope.sse")), "no such file"),
        (("print", str(tmp_path)), "is a directory"),
        (("replay", str(tmp_path / "nope.sse")), "no such file"),
        (("replay", str(tmp_path)), "is a directory"),
        (("--bogus",), "unrecognized arguments"),
        (("bogus prompt",), "OPENAI_API_KEY is not set"),
        (("replay", str(SEED_O4), "--speed", "0"), "--speed"),
        (("demo", "nonexistent"), "no example"),
    ):
        out = run(*args)
        assert out.returncode == 2, (args, out.stderr)
        assert says in _one_clean_line(out.stderr)


def test_failed_stream_exits_1(tmp_path):
    evs = message_stream(["Hel"])[:5]
    evs.append({"type": "error", "sequence_number": 5, "error": {"type": "server_error", "code": "server_error", "message": "boom", "param": None}})
    path = tmp_path / "failed.sse"
    path.write_bytes(sse(evs))
    out = run("print", str(path))
    assert out.returncode == 1
    assert "boom" in _one_clean_line(out.stderr)
    assert out.stdout.decode() == "Hel\n"  # nothing received is lost


def test_replay_to_a_pipe_prints_the_text():
    """Without a terminal there is no UI: replay prints what the stream assembles to."""
    out = run("replay", str(SEED_NANO))
    assert out.returncode == 0
    assert out.stdout.decode() == "Hello, test!\n"


def test_demo_examples_ship_inside_the_package():
    from streamview.cli import example_path, examples

    known = examples()
    assert list(known)[:2] == ["o4-mini-hello", "gpt-4.1-nano-hello"] and len(known) >= 4
    for name, what in known.items():
        assert os.path.getsize(example_path(name)) > 1000
        assert what, f"{name} has no line in examples/index.txt"


def test_demo_list_prints_one_line_per_example():
    from streamview.cli import examples

    out = run("demo", "--list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.decode().splitlines()
    assert [line.split()[0] for line in lines] == list(examples())
    assert all(len(line.split(None, 1)) == 2 for line in lines)


# -- the same bad input in the UI: a visible annotation, never a traceback or a hang ------------------------

BAD_INPUTS = {
    "truncated mid-line": (SEED_BYTES[:3000], "no terminal event"),
    "data not JSON": (SEED_BYTES.replace(b'"delta":" How"', b'"delta": How"', 1), "bad-json"),
    "binary garbage": (bytes(range(256)) * 40, "not SSE"),
    "empty file": (b"", "0/0 events"),
    "CRLF": (SEED_BYTES.replace(b"\n", b"\r\n"), "Hello there! How can I assist you today?"),
    "BOM": (b"\xef\xbb\xbf" + SEED_BYTES, "Hello there! How can I assist you today?"),
    "urandom-like": (bytes((i * 7919 + 13) % 256 for i in range(10000)), "events"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
async def test_bad_input_is_annotated_in_the_ui(name):
    content, says = BAD_INPUTS[name]
    app = make_app(content, instant=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        assert app.is_running
        text = screen_text(app)
        assert says in text, text
        if name == "truncated mid-line":
            assert app.model.events[-1].error.startswith("event cut off at end of input")
        if name in ("CRLF", "BOM"):
            assert app.model.problems == []
            assert app.model.events[0].type == "response.created"
        elif name != "empty file":
            assert app.model.problems and "error(s)" in text
