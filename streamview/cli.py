"""The command line: ``streamview demo | replay | print``. Textual is imported only when a command opens the UI."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources

from . import __version__
from .live import RequestError, build_request, check_url
from .memory import keep_mmap_threshold
from .protocols import NAMES as PROTOCOL_NAMES
from .source import SourceError, open_transcript

COMMANDS = ("demo", "replay", "live", "serve", "proxy", "check", "print")
PROTOCOL_HELP = f"the stream's protocol: {', '.join(PROTOCOL_NAMES)}; default: sniffed from its first events"


EXAMPLE_SUFFIXES = (".sse", ".ndjson")  # a bundled example's file: a transcript of either framing


def examples() -> dict[str, str]:
    """The bundled examples: name -> what it shows (``examples/index.txt``, then any other transcript there)."""
    folder = resources.files("streamview") / "examples"
    out: dict[str, str] = {}
    try:
        index = (folder / "index.txt").read_text(encoding="utf-8")
    except OSError:
        index = ""
    for line in index.splitlines():
        name, sep, what = line.partition(":")
        if sep and not line.startswith("#"):
            out[name.strip()] = what.strip()
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        for suffix in EXAMPLE_SUFFIXES:
            if entry.name.endswith(suffix):
                out.setdefault(entry.name[: -len(suffix)], "")
    return out


LIVE_OPTIONS = ("--api", "--model", "--instructions", "--reasoning-effort", "--max-output-tokens", "--temperature",
                "--body", "--base-url", "--header", "--save", "--plain", "--timeout")


class UsageError(Exception):
    pass


# the types of the flags: each refuses a bad value in one line (argparse's error: exit 2), never a traceback
def _number(text: str, kind=float, *, low: float | None = None, above: float | None = None, high: float | None = None):
    import math

    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    if above is not None and value <= above:
        raise argparse.ArgumentTypeError(f"{text!r}: must be greater than {above:g}")
    if low is not None and value < low:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at least {low:g}")
    if high is not None and value > high:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at most {high:g}")
    return value


def port(text: str) -> int:
    return _number(text, int, low=0, high=65535)


def positive(text: str) -> float:
    return _number(text, float, above=0)


def finite(text: str) -> float:
    return _number(text, float)


def count(text: str) -> int:
    return _number(text, int, low=1)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise UsageError(f"{self.prog}: {message}")


def example_path(name: str) -> str:
    known = examples()
    if name not in known:
        raise UsageError(f"no example named {name!r}; examples: {', '.join(known)}")
    folder = resources.files("streamview") / "examples"
    for suffix in EXAMPLE_SUFFIXES:
        if (folder / f"{name}{suffix}").is_file():
            return str(folder / f"{name}{suffix}")
    return str(folder / f"{name}.sse")


def default_example() -> str:
    return next(iter(examples()))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="streamview", description="Watch an LLM SSE stream live: raw events, assembled message, metadata.")
    parser.add_argument("--version", action="version", version=f"streamview {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def pacing(p: argparse.ArgumentParser) -> None:
        p.add_argument("--speed", type=positive, default=1.0, help="playback speed factor (default 1)")
        p.add_argument("--instant", action="store_true", help="no pacing: load every event at once")
        p.add_argument("--paused", action="store_true", help="start paused (space plays, n steps)")
        p.add_argument("--plain", action="store_true", help="no UI: the text to stdout as it streams, a summary to stderr")
        protocol(p)

    def protocol(p: argparse.ArgumentParser) -> None:
        p.add_argument("--protocol", choices=PROTOCOL_NAMES, help=PROTOCOL_HELP)

    demo = sub.add_parser("demo", help="replay a bundled example transcript (no network, no key)")
    demo.add_argument("name", nargs="?", default=None, help="example name (default: the first of `streamview demo --list`)")
    demo.add_argument("--list", action="store_true", help="list the bundled examples, one line each")
    pacing(demo)
    demo.set_defaults(func=cmd_demo)

    replay = sub.add_parser("replay", help="replay a saved transcript (SSE or NDJSON; a file, or - for stdin) in the UI")
    replay.add_argument("file", help="transcript file, or - for stdin")
    pacing(replay)
    replay.add_argument("--follow", action="store_true", help="like tail -f: keep reading as the file grows")
    replay.set_defaults(func=cmd_replay)

    from .protocols import with_live

    apis = with_live()
    live = sub.add_parser("live", help=f"stream a live API call: {', '.join(p.title for p in apis)} (also: streamview PROMPT)")
    live.add_argument("prompt", help="the input text")
    live.add_argument("--api", choices=[p.name for p in apis], default=apis[0].name,
                      help="; ".join(f"{p.name}: {p.live.help}" for p in apis) + f" (default {apis[0].name})")  # type: ignore[union-attr]
    live.add_argument("--model", help="model (default: " + "; ".join(f"{p.live.default_model} for {p.name}" for p in apis) + ")")  # type: ignore[union-attr]
    live.add_argument("--instructions", help="system instructions")
    live.add_argument("--reasoning-effort", choices=["none", "minimal", "low", "medium", "high", "xhigh"], help="reasoning effort (reasoning models)")
    live.add_argument("--max-output-tokens", type=count, help="cap on output tokens (each API's own field for it)")
    live.add_argument("--temperature", type=finite, help="sampling temperature")
    live.add_argument("--body", help="extra request fields: a JSON object, or @FILE holding one")
    live.add_argument("--base-url", help="API base URL (default: " + "; ".join(f"${p.live.base_env} or {p.live.default_base} for {p.name}" for p in apis) + ")")  # type: ignore[union-attr]
    live.add_argument("--header", action="append", default=[], metavar="'K: V'", help="extra request header (repeatable)")
    live.add_argument("--save", metavar="FILE", help="record the transcript to FILE as it arrives")
    live.add_argument("--plain", action="store_true", help="no UI: the text to stdout as it streams, a summary to stderr")
    live.add_argument("--timeout", type=positive, default=120.0, help="seconds to wait for data before giving up (default 120)")
    live.set_defaults(func=cmd_live)

    srv = sub.add_parser("serve", help="serve a transcript over HTTP as the endpoint of its protocol (the route its SDK calls)")
    srv.add_argument("file", nargs="+", help="transcript file; several of different protocols are each served on "
                     "their own route (a fake endpoint for an application that calls more than one)")
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    srv.add_argument("--port", type=port, default=0, help="port (default 0: a free one, printed)")
    srv.add_argument("--speed", type=positive, default=1.0, help="timing speed factor (default 1)")
    protocol(srv)
    srv.set_defaults(func=cmd_serve)

    prx = sub.add_parser("proxy", help="watch your own application's streams: a reverse proxy that forwards each "
                         "request upstream, streams the answer back untouched and records every flow")
    prx.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    prx.add_argument("--port", type=port, default=8899, help="port (default 8899; 0: a free one, printed)")
    for option, default in _proxy_options():
        prx.add_argument(f"--{option}", metavar="URL", default=None,
                         help=f"where those requests go (default {default})")
    rec = prx.add_mutually_exclusive_group()
    rec.add_argument("--record", metavar="DIR", help="the folder flows are recorded to (default: a new "
                     "streamview-proxy-YYYYmmdd-HHMMSS folder here)")
    rec.add_argument("--no-record", action="store_true", help="keep flows in memory only")
    prx.add_argument("--plain", action="store_true", help="no UI: one line per flow on stdout as it ends")
    prx.set_defaults(func=cmd_proxy)

    chk = sub.add_parser("check", help="headless: the ordering and consistency report of one or more transcripts")
    chk.add_argument("files", nargs="+", metavar="FILE", help="transcript files (- for stdin)")
    chk.add_argument("--json", action="store_true", help="print a JSON array of anomalies")
    protocol(chk)
    chk.set_defaults(func=cmd_check)

    prt = sub.add_parser("print", help="headless: print the assembled text (or --json the final response state)")
    prt.add_argument("file", help="transcript file, or - for stdin")
    prt.add_argument("--json", action="store_true", help="print the final response state as JSON")
    protocol(prt)
    prt.set_defaults(func=cmd_print)
    return parser


def _say(message: str) -> None:
    """One line on stderr, for humans: nothing in it (a server's words, a file name) can drive the terminal."""
    from .sanitize import visible_line

    print(visible_line(message), file=sys.stderr)


def _tolerant_streams() -> None:
    # stream text may hold lone surrogates (JSON "\ud800"), which UTF-8 cannot encode: show them escaped
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass


def main(argv: list[str] | None = None) -> int:
    _tolerant_streams()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv:  # the short usage, on stderr: a missing command is a usage error (exit 2); --help is on stdout
            print(build_parser().format_usage().rstrip() + "\n(streamview --help lists the commands; "
                  "streamview demo replays an example)", file=sys.stderr)
            return 2
        first = argv[0]
        if first in ("help", "-h", "--help"):
            build_parser().print_help()
            return 0
        if first == "--" or first in LIVE_OPTIONS:
            argv.insert(0, "live")  # `streamview -- PROMPT`, `streamview --api NAME PROMPT`: live, explicitly
        elif first not in COMMANDS and not first.startswith("-"):
            if not any(c.isspace() for c in first):
                raise UsageError(unknown_command(first))
            argv.insert(0, "live")  # `streamview "a prompt with spaces"` is `streamview live "..."`
        args = build_parser().parse_args(argv)
        if not getattr(args, "func", None):
            build_parser().print_help()
            return 2
        keep_mmap_threshold()  # a huge event's memory goes back to the system once it has gone (``memory``)
        return args.func(args)
    except UsageError as exc:
        _say(f"streamview: {exc}".replace("streamview: streamview", "streamview"))
        return 2
    except (SourceError, RequestError) as exc:
        _say(f"streamview: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def unknown_command(word: str) -> str:
    """``unknown command 'dmeo' (did you mean 'demo'?)``: a single word is never sent as a prompt."""
    import difflib

    from .sanitize import visible_line

    close = difflib.get_close_matches(word, (*COMMANDS, "help"), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (commands: {', '.join(COMMANDS)})"
    return (f"unknown command {visible_line(word)!r}{hint}; a prompt for `live` needs a space in it, "
            "or comes after `--` (streamview -- PROMPT)")


def cmd_demo(args: argparse.Namespace) -> int:
    if args.list:
        known = examples()
        width = max(map(len, known))
        for name, what in known.items():
            print(f"{name:<{width}}  {what}".rstrip())
        return 0
    name = args.name or default_example()
    args.file = example_path(name)
    args.label = f"demo {name}"
    return cmd_replay(args)


def cmd_replay(args: argparse.Namespace) -> int:
    from streamview.replay.proxy import is_recorded_folder

    if is_recorded_folder(args.file):  # a folder the proxy recorded: its flows, as the flow list shows them
        return _replay_flows(args)
    fp = open_transcript(args.file)
    label = getattr(args, "label", None) or ("stdin" if args.file == "-" else args.file)
    from streamview.replay.player import Player

    follow = getattr(args, "follow", False)
    if args.plain or not sys.stdout.isatty():
        # no terminal (or asked for none): the text as it streams, at the replay's pace
        return run_plain(Player(fp, speed=args.speed, instant=args.instant, follow=follow, protocol=args.protocol), label)
    if args.file == "-":
        fp = _take_stdin_for_data()
    from streamview.tui.app import run_app  # the only place the UI is imported

    from .session import Session

    return run_app(Session(label, player=Player(fp, speed=args.speed, instant=args.instant, paused=args.paused, follow=follow, protocol=args.protocol)))


def cmd_live(args: argparse.Namespace) -> int:
    from streamview.replay.player import Player
    from streamview.replay.recorder import Recorder

    from .live import LiveSource
    from .source import framing_of

    if args.base_url is not None:
        from .live import check_url

        check_url(args.base_url, "--base-url")
    request = build_request(
        args.prompt,
        api=args.api,
        model=args.model,
        instructions=args.instructions,
        reasoning_effort=args.reasoning_effort,
        max_output_tokens=args.max_output_tokens,
        temperature=args.temperature,
        body=args.body,
        base_url=args.base_url,
        headers=args.header,
    )
    source = LiveSource(request, read_timeout=args.timeout)
    recorder = None
    if args.save:
        try:
            recorder = Recorder(args.save, source.meta, redact=request.redact, framing=framing_of(args.api))
        except OSError as exc:
            raise SourceError(f"--save {args.save}: {exc.strerror or exc}") from None
    source.start()  # (the reading process starts up while the app does)
    player = Player(live=source, on_frame=recorder.on_frame if recorder else None, protocol=args.api)
    label = f"live {request.body.get('model')}"
    try:
        if args.plain or not sys.stdout.isatty():
            return run_plain(player, label)
        from streamview.tui.app import run_app

        from .session import Session

        return run_app(Session(label, player=player))
    finally:
        source.close()
        if recorder is not None:
            recorder.close()


def cmd_serve(args: argparse.Namespace) -> int:
    from streamview.replay.serve import serve

    for path in args.file:
        open_transcript(path).close()  # a clear one-line error before the server starts
    try:
        return serve(args.file, args.host, args.port, args.speed, protocol=args.protocol)
    except OSError as exc:
        raise SourceError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None


def _proxy_options() -> list[tuple[str, str]]:
    from .protocols import upstream_options  # (not the proxy's module: every command's parser asks this)

    return upstream_options()


def cmd_proxy(args: argparse.Namespace) -> int:
    """The proxy, headless: the lines to paste, then one line per flow as it ends (Ctrl-C stops it: exit 130)."""
    import asyncio
    import time

    from streamview.replay.proxy import Routes, run_headless

    overrides = {}
    for option, _ in _proxy_options():
        value = getattr(args, option.replace("-", "_"))
        if value:
            check_url(value, f"--{option}")
            overrides[option] = value
    record = None if args.no_record else (args.record or time.strftime("streamview-proxy-%Y%m%d-%H%M%S"))
    if not args.plain and sys.stdout.isatty() and sys.stdin.isatty():
        return _proxy_ui(Routes(overrides), args.host, args.port, record)
    try:
        return asyncio.run(run_headless(Routes(overrides), args.host, args.port, record, _say))
    except OSError as exc:
        raise SourceError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        return 130


def _replay_flows(args: argparse.Namespace) -> int:
    from streamview.replay.proxy import RecordedFlows
    from streamview.sanitize import visible_line

    recorded = RecordedFlows(args.file)
    if args.plain or not sys.stdout.isatty():
        for flow in recorded.flows:
            print(visible_line(flow.line()))
        return 0
    from streamview.session import Session
    from streamview.tui.app import StreamviewApp

    app = StreamviewApp(Session("flows"), f"streamview: {len(recorded.flows):,} flows recorded in {args.file}",
                        proxy=recorded)
    app.run()
    return app.return_code or 0


def _proxy_ui(routes, host: str, port: int, record: str | None) -> int:
    """The proxy with its flow list: the server runs in the App's own event loop."""
    import os

    from streamview.replay.proxy import Proxy, Routes
    from streamview.replay.server import EmbeddedServer, bind
    from streamview.session import Session

    try:
        sock = bind(host, port)
    except OSError as exc:
        raise SourceError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    proxy = Proxy(routes, record)
    server = EmbeddedServer(proxy, host, port, sock=sock)
    root = f"http://{host}:{sock.getsockname()[1]}"
    lines = [f"streamview proxy on {root}  ·  " + ("recording to " + os.path.abspath(record) if record else "not recording")]
    lines += [f"  {line}" for line in Routes.exports(root)]
    from streamview.tui.app import StreamviewApp

    app = StreamviewApp(Session("proxy"), "\n".join(lines), proxy=proxy, server=server)
    app.run()
    return app.return_code or 0


def run_plain(player, label: str) -> int:
    """No UI: the assembled text to stdout as it streams, one summary line to stderr."""
    import asyncio

    from .session import Session
    from .plain import PlainPrinter, summary_line

    model = Session(label, player=player)
    printer = PlainPrinter(model, sys.stdout, safe=sys.stdout.isatty())

    def emit(ev) -> None:
        model.add(ev)
        printer.on_event(ev)

    interrupted = False
    try:
        asyncio.run(player.run(emit, until_finished=True))
    except KeyboardInterrupt:
        interrupted = True
    model.finish()  # a stream still undecided is decided now, and its events folded
    printer.finish()
    from .outcome import INTERRUPTED, judge

    verdict = judge(model, ended=not interrupted, read_error=player.read_error, live=player.live is not None)
    if not model.events_seen and not interrupted:
        _say(f"streamview: {verdict.reason}")
        return verdict.code
    _say(summary_line(model, "interrupted by Ctrl-C" if interrupted else verdict.reason))
    return INTERRUPTED if interrupted else verdict.code


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


def cmd_check(args: argparse.Namespace) -> int:
    """Each file's anomalies and verdict; the exit code is the worst file's outcome (``outcome.judge``: 2 for a file
    that cannot be read or is not a stream of a known protocol, else 1 for one with error anomalies, that ended in
    failure or without a terminal event)."""
    from .checks import ERROR
    from .outcome import OK, UNREADABLE, judge
    from .session import read_session

    unreadable = errors = notes = 0
    codes: list[int] = []
    report: list[dict] = []
    for path in args.files:
        try:
            fold = read_session(open_transcript(path), args.protocol)
        except SourceError as exc:
            _say(f"streamview: {exc}")
            unreadable += 1
            codes.append(UNREADABLE)
            continue
        verdict = judge(fold, read_error=fold.read_error)
        codes.append(verdict.code)
        count, anomalies = fold.count, sorted(fold.checker.anomalies, key=lambda a: a.index)
        file_errors = sum(1 for a in anomalies if a.severity == ERROR)
        errors += file_errors
        notes += len(anomalies) - file_errors
        if verdict.code == UNREADABLE:
            unreadable += 1  # nothing could be checked
        if args.json:
            report.extend({"file": path, "protocol": fold.protocol, **a.as_dict()} for a in anomalies)
            continue
        out = sys.stdout
        safe = out.isatty()
        for a in anomalies:
            seq = "-" if a.seq is None else str(a.seq)
            print(visible_line_if(f"{path}: #{a.index} seq {seq}  {a.severity} {a.rule}: {a.message}", safe))
        verdict_text = "ok" if not anomalies else f"{file_errors} error(s), {len(anomalies) - file_errors} note(s)"
        unlisted = sum(getattr(fold.checker.anomalies, "unlisted", {}).values())
        if unlisted:
            verdict_text += f" (and {unlisted:,} more not listed)"
        if verdict.code == UNREADABLE:
            verdict_text = "not checked (unknown protocol)" if fold.events_seen else f"not checked ({verdict.reason})"
        elif verdict.code != OK and not file_errors and verdict.reason:
            verdict_text += f"; {verdict.reason}"
        what = f" ({fold.proto.title})" if fold.proto is not None and fold.proto.announce else ""
        from .render import events_text

        print(visible_line_if(f"{path}: {verdict_text} in {events_text(count)}{what}", safe))
    if args.json:
        _print_json(report)
    elif len(args.files) > 1:
        print(f"{len(args.files)} files: {errors} error(s), {notes} note(s)" + (f", {unreadable} unreadable" if unreadable else ""))
    return UNREADABLE if UNREADABLE in codes else max(codes, default=OK)


def visible_line_if(line: str, safe: bool) -> str:
    if not safe:
        return line
    from .sanitize import visible_line

    return visible_line(line)


def cmd_print(args: argparse.Namespace) -> int:
    try:
        return _print_events(open_transcript(args.file), as_json=args.json, protocol=args.protocol, name=args.file)
    except SourceError as exc:
        message = str(exc)
        raise SourceError(message if message.startswith(args.file) else f"{args.file}: {message}") from None


def _print_events(fp, as_json: bool, protocol: str | None = None, name: str = "-") -> int:
    """Stream the file through the decoder, the assembler and the checker: nothing but the assembled state is kept,
    so a transcript of any size prints in memory proportional to its text. The exit code is the outcome table's
    (``outcome.judge``): a stream with error anomalies prints what it assembled and says why it may be
    incomplete."""
    from .outcome import FAILED, judge
    from .session import read_session

    fold = read_session(fp, protocol)
    verdict = judge(fold, read_error=fold.read_error)
    state, problems = fold.state, [(ev.index, ev.line, ev.error) for ev in fold.problems]
    where = "" if name == "-" else f"{name}: "
    if not fold.events_seen:
        _say(f"streamview: {where}{verdict.reason}")
        return verdict.code
    if as_json:
        out = state.final()
        out["events"] = fold.count
        out["problems"] = [{"index": i, "line": line, "message": msg} for i, line, msg in problems]
        _print_json(out)
    else:
        text = state.text()
        if sys.stdout.isatty():
            from .sanitize import visible

            text = visible(text)
        if text:
            print(text)
    for index, line, msg in problems[:3]:
        _say(f"streamview: event {index} (line {line}): {msg}")
    if len(problems) > 3:
        _say(f"streamview: ... and {len(problems) - 3} more problems")
    if verdict.code == FAILED and verdict.reason and "anomal" in verdict.reason.split(":")[0]:
        _say(f"streamview: the text may be incomplete: {verdict.reason}")
    elif verdict.reason:
        _say(f"streamview: {verdict.reason}")
    return verdict.code


def _print_json(value) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if sys.stdout.isatty():
        from .sanitize import visible

        text = visible(text)  # C1, bidi and zero-width characters are legal raw in JSON: not on a terminal
    print(text)
