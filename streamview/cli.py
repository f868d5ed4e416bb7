"""The command line: ``streamview demo | replay | print``. Textual is imported only when a command opens the UI."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources

from . import __version__
from .source import SourceError, open_transcript, read_events

EXAMPLES = {
    "o4-mini-hello": "o4-mini-hello.sse",
    "gpt-4.1-nano-hello": "gpt-4.1-nano-hello.sse",
}
DEFAULT_EXAMPLE = "o4-mini-hello"


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise UsageError(f"{self.prog}: {message}")


def example_path(name: str) -> str:
    try:
        filename = EXAMPLES[name]
    except KeyError:
        raise UsageError(f"no example named {name!r}; examples: {', '.join(EXAMPLES)}") from None
    return str(resources.files("streamview") / "examples" / filename)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="streamview", description="Watch an LLM SSE stream live: raw events, assembled message, metadata.")
    parser.add_argument("--version", action="version", version=f"streamview {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def pacing(p: argparse.ArgumentParser) -> None:
        p.add_argument("--speed", type=float, default=1.0, help="playback speed factor (default 1)")
        p.add_argument("--instant", action="store_true", help="no pacing: load every event at once")
        p.add_argument("--paused", action="store_true", help="start paused (space plays, n steps)")

    demo = sub.add_parser("demo", help="replay a bundled example transcript (no network, no key)")
    demo.add_argument("name", nargs="?", default=DEFAULT_EXAMPLE, help=f"example name: {', '.join(EXAMPLES)}")
    pacing(demo)
    demo.set_defaults(func=cmd_demo)

    replay = sub.add_parser("replay", help="replay a saved SSE transcript (a file, or - for stdin) in the UI")
    replay.add_argument("file", help="transcript file, or - for stdin")
    pacing(replay)
    replay.set_defaults(func=cmd_replay)

    prt = sub.add_parser("print", help="headless: print the assembled text (or --json the final response state)")
    prt.add_argument("file", help="transcript file, or - for stdin")
    prt.add_argument("--json", action="store_true", help="print the final response state as JSON")
    prt.set_defaults(func=cmd_print)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "func", None):
            build_parser().print_help()
            return 2
        if getattr(args, "speed", 1.0) <= 0:
            raise UsageError("--speed must be greater than 0")
        return args.func(args)
    except UsageError as exc:
        print(f"streamview: {exc}".replace("streamview: streamview", "streamview"), file=sys.stderr)
        return 2
    except SourceError as exc:
        print(f"streamview: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def cmd_demo(args: argparse.Namespace) -> int:
    args.file = example_path(args.name)
    args.label = f"demo {args.name}"
    return cmd_replay(args)


def cmd_replay(args: argparse.Namespace) -> int:
    fp = open_transcript(args.file)
    label = getattr(args, "label", None) or ("stdin" if args.file == "-" else args.file)
    if args.file == "-":
        fp = _take_stdin_for_data()
    if not sys.stdout.isatty():
        # the UI needs a terminal; a pipe gets the assembled text instead
        return _print_events(fp, as_json=False)
    from tui.app import run_replay  # the only place the UI is imported

    return run_replay(fp, label=label, speed=args.speed, instant=args.instant, paused=args.paused)


def _take_stdin_for_data():
    """Keep piped stdin as the data source and give the UI the terminal for keys."""
    import os

    if sys.stdin.isatty():
        raise UsageError("replay -: stdin is a terminal; pipe a transcript in (cat FILE | streamview replay -)")
    data_fd = os.dup(0)
    try:
        tty = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        raise UsageError("replay -: no terminal to read keys from (/dev/tty); use `streamview print -`") from None
    os.dup2(tty, 0)
    os.close(tty)
    sys.stdin = open(0, "r", closefd=False)
    return os.fdopen(data_fd, "rb", buffering=0)


def cmd_print(args: argparse.Namespace) -> int:
    return _print_events(open_transcript(args.file), as_json=args.json)


def _print_events(fp, as_json: bool) -> int:
    from .model import StreamModel

    events, reader = read_events(fp)
    model = StreamModel(meta=reader.meta)
    for ev in events:
        model.add(ev)
    state = model.state
    if not any(ev.kind == "event" for ev in events):
        what = "empty input" if not events else "not an SSE stream"
        print(f"streamview: {what}: no events decoded", file=sys.stderr)
        return 2
    if as_json:
        out = state.final()
        out["events"] = len(events)
        out["problems"] = [{"index": ev.index, "line": ev.line, "message": ev.error} for ev in model.problems]
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        text = state.text()
        if sys.stdout.isatty():
            from .sanitize import visible

            text = visible(text)
        if text:
            print(text)
    for ev in model.problems[:3]:
        print(f"streamview: event {ev.index} (line {ev.line}): {ev.error}", file=sys.stderr)
    if len(model.problems) > 3:
        print(f"streamview: ... and {len(model.problems) - 3} more problems", file=sys.stderr)
    if state.status == "failed":
        err = state.error or {}
        print(f"streamview: response failed: {err.get('code') or ''} {err.get('message') or ''}".rstrip(), file=sys.stderr)
        return 1
    if state.terminal_event is None:
        print("streamview: stream ended without a terminal event (completed, failed or incomplete)", file=sys.stderr)
        return 1
    return 0
