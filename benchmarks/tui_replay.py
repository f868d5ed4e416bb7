#!/usr/bin/env python3
"""How fast does streamview load a big transcript, how much memory does it take, and does it answer keys meanwhile?

For each transcript size (``--deltas``, default 20000; a comma list runs several) a transcript is generated with
``benchmarks/gen_transcript.py`` (seeded, so every run measures the same bytes), then each case runs in a fresh
subprocess, so peak memory is per case:

  check      ``streamview check FILE`` in a process of its own: the baseline issue 14 judges the TUI's time against
             (a 1M-event transcript on screen within 1.5x of it). After the TUI case, its figures are printed beside
             the issue's targets for the 1M and 100k transcripts (told apart by their event counts).
  baseline   headless decode + assemble: ``streamview.source.read_events`` on the file, then
             ``Session.add`` for every event. No asyncio, no UI: the floor the app cannot beat.
  player     ``streamview.replay.player.Player(fp, instant=True).run(model.add, emit_many=model.add_many)`` in a
             bare asyncio loop, no UI, with ``model = Session(name, player=player)`` as the App makes it (before
             2026-12-03 the session was made without ``player=``: a second store of its own, every event's bytes
             spooled again, 0.5 s more per 100k events): the same work through the reader task
             (``asyncio.to_thread`` reads) and the batched playback loop.
  tui        ``StreamviewApp(Player(fp, instant=True))`` in a headless ``App.run_test(size=(200, 50))``. Timed from
             just before ``run_test`` (app start) until the player has finished, ``EventList.count`` equals the
             number of events (= ``player.total``) and the screen has refreshed once more ("last event on screen").
             Meanwhile a background thread posts a key every 50 ms (``--keys``, default alternating ``down``/``up``)
             through ``app._driver.send_message(events.Key(...))``, the path a real terminal's input thread takes.
             The EventList action the key is bound to (``action_cursor`` for up/down) is wrapped on the instance to
             stamp when the app ran it: key latency = post -> handler, key->paint = post -> first refresh after
             the handler. Keys still queued when loading ends are drained and counted. A 5 ms ticker task records
             the worst event-loop stall (loop lag).
             Note: the first ``down`` puts the cursor on a row and stops follow mode (as a user would), so the
             events pane stops auto-scrolling; ``--keys end`` keeps it following instead.

Each case runs ``--repeat`` times (default 3), each time in a new process: the run with the median time is
reported with the range of times; peak RSS is the highest of the runs; key latencies are pooled over all runs (so
"max" is the worst wait seen in any run).

Peak RSS is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the case's process (the interpreter and its imports
included; "+MB" is growth over the RSS measured just before loading). tracemalloc slows Python down several times,
so its peak (Python allocations traced from just before loading) is measured in a second, separate subprocess per
case whose timings are thrown away; ``--no-tracemalloc`` skips it.

Every case also times each garbage collection (``gc.callbacks``): total GC time and the worst single pause.

``--breakdown`` additionally runs the TUI case once with perf_counter timers wrapped around the main functions (the
frame, the screen refresh, TextArea rendering, load_text, decoding...) and around ``Widget.render_lines`` per widget,
and prints where the wall time goes; this costs a few microseconds per call, so the shares are close to an
unprofiled run. ``--profile cprofile|pyinstrument`` runs the TUI case once under that profiler (several times
slower, and it inflates small hot functions) and writes the report next to the transcript (path printed); the top
entries are printed.

Usage:
    python benchmarks/tui_replay.py                          # 20,000 deltas
    python benchmarks/tui_replay.py --deltas 20000,100000
    python benchmarks/tui_replay.py --deltas 100000 --breakdown --profile pyinstrument
    python benchmarks/tui_replay.py --deltas 100000 --cases tui --keys end   # keep the events pane following
    python benchmarks/tui_replay.py --file my.sse            # an existing transcript instead of a generated one
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import datetime
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

CASES = ("baseline", "player", "tui")
CASE_LABEL = {
    "baseline": "baseline headless decode+assemble",
    "player": "Player instant, no UI",
    "tui": "TUI instant replay",
}
# EventList binding key -> the action method it runs (the probe wraps that method)
KEY_ACTIONS = {
    "up": "action_cursor", "down": "action_cursor", "k": "action_cursor", "j": "action_cursor",
    "pageup": "action_page", "pagedown": "action_page", "home": "action_first", "g": "action_first",
    "end": "action_follow", "G": "action_follow",
}


def vm_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """Peak RSS of this process's own memory (VmHWM, MB). ``ru_maxrss`` is not used: Linux carries the parent's
    peak over ``exec`` into the child, so a case run after generating a 100k transcript reported the generator's
    peak (about 298 MB) whatever the case itself used."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, math.ceil(len(s) * p) - 1)]  # nearest rank


def start_tracing(enabled: bool) -> None:
    if enabled:
        import tracemalloc

        tracemalloc.start()


def traced_peak_mb(enabled: bool) -> float | None:
    if not enabled:
        return None
    import tracemalloc

    return tracemalloc.get_traced_memory()[1] / 1e6


# ---------------------------------------------------------------------------------------------------- breakdown
# Inclusive wall time of a few named functions during the TUI run (``--breakdown``). Each is wrapped with a
# perf_counter timer: a few microseconds per call, unlike a deterministic profiler, whose per-call overhead inflates
# small hot functions several times. Nested entries are included in their parents (indentation shows nesting).
BREAKDOWN = [
    ("streamview.tui.app:StreamviewApp.render_frame", 0),
    ("streamview.widgets.event_list:EventList.sync", 1),
    ("streamview.widgets.message_view:MessageView.update_live", 1),
    ("streamview.widgets.message_view:MessageView._rebuild", 2),
    ("streamview.widgets.message_text:WrappedText.replace", 3),
    ("streamview.widgets.message_text:WrappedText.replace_from", 3),
    ("streamview.widgets.message_text:WrappedText.append", 2),
    ("streamview.widgets.response_view:ResponseView.update_from", 1),
    ("streamview.tui.app:StreamviewApp._update_status", 1),
    ("textual.screen:Screen._refresh_layout", 0),
    ("textual._compositor:Compositor.reflow", 1),
    ("textual._compositor:Compositor.render_update", 1),
    ("streamview.widgets.message_text:MessageText.render_line", 2),
    ("streamview.widgets.event_list:EventList.render_line", 2),
    ("streamview.widgets.response_view:ResponseView.render_body", 0),
    ("streamview.tui.keybar:KeyBar._rebuild", 0),
    ("streamview.source:EventReader.feed", 0),
    ("streamview.session:Session.add", 0),
    ("streamview.session:Session.add_many", 0),
]


def install_breakdown() -> dict:
    import importlib

    stats: dict[str, list] = {}
    for target, _ in BREAKDOWN:
        mod_name, _, qual = target.partition(":")
        cls_name, _, attr = qual.rpartition(".")
        try:
            cls = getattr(importlib.import_module(mod_name), cls_name)
            raw = cls.__dict__[attr]
        except (ImportError, AttributeError, KeyError):
            continue  # renamed since: skip it
        entry = stats[target] = [0.0, 0, 0.0]  # total s, calls, max s
        depth = [0]

        def timed(fn, entry=entry, depth=depth):
            def wrapper(*args, **kwargs):
                if depth[0]:  # recursion: count the outermost call only
                    return fn(*args, **kwargs)
                depth[0] += 1
                t = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    dt = time.perf_counter() - t
                    depth[0] -= 1
                    entry[0] += dt
                    entry[1] += 1
                    if dt > entry[2]:
                        entry[2] = dt

            wrapper.__wrapped__ = fn
            wrapper.__name__ = getattr(fn, "__name__", attr)
            return wrapper

        if isinstance(raw, property):
            setattr(cls, attr, property(timed(raw.fget), raw.fset, raw.fdel, raw.__doc__))
        elif isinstance(raw, staticmethod):
            setattr(cls, attr, staticmethod(timed(raw.__func__)))
        else:
            setattr(cls, attr, timed(raw))
    # compositor render time per widget (Widget.render_lines, keyed by class#id)
    from textual.widget import Widget

    per_widget: dict[str, list] = {}
    stats["__per_widget__"] = per_widget  # type: ignore[assignment]
    original = Widget.render_lines

    def render_lines(self, crop):
        t = time.perf_counter()
        try:
            return original(self, crop)
        finally:
            key = type(self).__name__ + (f"#{self.id}" if self.id else "")
            e = per_widget.setdefault(key, [0.0, 0, 0.0])
            dt = time.perf_counter() - t
            e[0] += dt
            e[1] += 1
            e[2] = max(e[2], dt)

    Widget.render_lines = render_lines
    return stats


def install_gc_monitor() -> dict:
    """Time every garbage collection (gc.callbacks): total, worst pause, and collections per generation."""
    import gc

    out = {"gc_total_s": 0.0, "gc_max_ms": 0.0, "gc_counts": [0, 0, 0], "gc_gen2_max_ms": 0.0}
    start = [0.0]

    def cb(phase: str, info: dict) -> None:
        if phase == "start":
            start[0] = time.perf_counter()
            return
        dt = time.perf_counter() - start[0]
        out["gc_total_s"] += dt
        out["gc_max_ms"] = max(out["gc_max_ms"], dt * 1000)
        gen = info.get("generation", 0)
        out["gc_counts"][gen] += 1
        if gen == 2:
            out["gc_gen2_max_ms"] = max(out["gc_gen2_max_ms"], dt * 1000)

    gc.callbacks.append(cb)
    return out


def print_breakdown(r: dict) -> None:
    stats = r.get("breakdown") or {}
    if not stats:
        return
    wall = r["wall_s"]
    print(f"   wall-time breakdown of the TUI run ({wall:.2f} s; inclusive, nested rows are part of their parent):")
    print(f"   {'function':<62} {'total s':>8} {'share':>6} {'calls':>7} {'mean ms':>8} {'max ms':>8}")
    for target, level in BREAKDOWN:
        if target not in stats or target.startswith("__"):
            continue
        total, calls, mx = stats[target]
        name = "  " * level + target.split(":")[1]
        mean = total / calls * 1000 if calls else 0.0
        print(f"   {name:<62} {total:8.3f} {total / wall:6.1%} {calls:7d} {mean:8.2f} {mx * 1000:8.1f}")
    per_widget = stats.get("__per_widget__") or {}
    if per_widget:
        print("   compositor render time per widget (Widget.render_lines):")
        for key, (total, calls, mx) in sorted(per_widget.items(), key=lambda kv: -kv[1][0])[:8]:
            mean = total / calls * 1000 if calls else 0.0
            print(f"   {'  ' + key:<62} {total:8.3f} {total / wall:6.1%} {calls:7d} {mean:8.2f} {mx * 1000:8.1f}")


# ----------------------------------------------------------------------------------------------------- children


def child_baseline(path: str, trace: bool) -> dict:
    from streamview.session import Session
    from streamview.source import read_events

    gc_stats = install_gc_monitor()
    rss0 = vm_rss_mb()
    start_tracing(trace)
    t0 = time.perf_counter()
    with open(path, "rb") as fp:
        events, reader = read_events(fp)
    t1 = time.perf_counter()
    model = Session(os.path.basename(path), meta=reader.meta)
    for ev in events:
        model.add(ev)
    t2 = time.perf_counter()
    model.finish()  # as a replay that has ended: time travel to the first, a middle and the last event
    travel = {}
    for name, index in (("first", 0), ("middle", len(model.events) // 2), ("last", len(model.events) - 1)):
        t = time.perf_counter()
        model.state_at(index).text()
        travel[name] = (time.perf_counter() - t) * 1000
    return {
        "events": len(model.events), "wall_s": t2 - t0, "decode_s": t1 - t0, "assemble_s": t2 - t1,
        "rss_base_mb": rss0, "peak_rss_mb": peak_rss_mb(), "traced_peak_mb": traced_peak_mb(trace),
        "travel_ms": travel, **gc_stats,
    }


def child_player(path: str, trace: bool) -> dict:
    from streamview.replay.player import Player
    from streamview.session import Session

    async def run() -> dict:
        gc_stats = install_gc_monitor()
        rss0 = vm_rss_mb()
        start_tracing(trace)
        t0 = time.perf_counter()
        fp = open(path, "rb")
        player = Player(fp, instant=True)
        model = Session(os.path.basename(path), player=player)  # as the App's session: it reads the player's store
        done = asyncio.Event()
        task = asyncio.create_task(player.run(model.add, done.set, emit_many=model.add_many))
        await done.wait()
        t1 = time.perf_counter()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        fp.close()
        return {
            "events": len(model.events), "wall_s": t1 - t0, "rss_base_mb": rss0, "peak_rss_mb": peak_rss_mb(),
            "traced_peak_mb": traced_peak_mb(trace), **gc_stats,
        }

    return asyncio.run(run())


async def tui_main(path: str, size: tuple[int, int], keys: list[str], interval: float, timeout: float,
                   trace: bool, breakdown: bool = False) -> dict:
    from textual import events as tevents

    from streamview.replay.player import Player
    from streamview.tui.app import StreamviewApp
    from streamview.widgets.event_list import EventList

    stats = install_breakdown() if breakdown else None
    gc_stats = install_gc_monitor()
    rss0 = vm_rss_mb()
    start_tracing(trace)
    fp = open(path, "rb")
    player = Player(fp, instant=True)
    app = StreamviewApp(player, label=os.path.basename(path))

    sent: collections.deque[float] = collections.deque()
    handled: list[float] = []
    handled_at: list[float] = []  # when each handled key was posted, seconds since app start
    painted: list[float] = []
    lags: list[float] = []
    result: dict = {}

    t0 = time.perf_counter()
    async with app.run_test(size=size) as pilot:
        t_ready = time.perf_counter()
        event_list = app.query_one(EventList)

        # -- probe: wrap the EventList actions the keys are bound to, on this instance only
        def wrap(name: str) -> None:
            original = getattr(event_list, name)

            def probe(*args, **kwargs):
                now = time.perf_counter()
                ts = sent.popleft() if sent else now
                handled.append((now - ts) * 1000)
                handled_at.append(ts - t0)
                app.call_after_refresh(lambda: painted.append((time.perf_counter() - ts) * 1000))
                return original(*args, **kwargs)

            setattr(event_list, name, probe)

        for name in {KEY_ACTIONS[k] for k in keys}:
            wrap(name)

        running = True

        async def lag_monitor() -> None:
            while running:
                t = time.perf_counter()
                await asyncio.sleep(0.005)
                lags.append((time.perf_counter() - t - 0.005) * 1000)

        stop = threading.Event()

        def key_sender() -> None:
            driver = app._driver
            i = 0
            while not stop.is_set():
                key = keys[i % len(keys)]
                i += 1
                ev = tevents.Key(key, key if len(key) == 1 else None)
                sent.append(time.perf_counter())
                driver.send_message(ev)  # what a real driver's input thread does
                stop.wait(interval)

        lag_task = asyncio.create_task(lag_monitor())
        sender = threading.Thread(target=key_sender, daemon=True)
        sender.start()

        t_model = None
        dnf = False
        while True:
            now = time.perf_counter()
            n = len(app.model.events)
            if player.finished and t_model is None:
                t_model = now
            if player.finished and event_list.count == n and n == player.total:
                break
            if player.read_error or now - t0 > timeout:
                dnf = True
                break
            await asyncio.sleep(0.005)
        await app.wait_for_refresh()
        t_end = time.perf_counter()
        stop.set()
        sender.join()
        keys_sent = len(handled) + len(sent)
        drain_until = time.perf_counter() + 30
        while sent and time.perf_counter() < drain_until:
            await asyncio.sleep(0.01)
        await pilot.pause()
        running = False
        await lag_task
        result.update(
            events=len(app.model.events),
            shown=event_list.count,
            total=player.total,
            dnf=dnf,
            read_error=player.read_error,
            wall_s=t_end - t0,
            startup_s=t_ready - t0,
            model_s=(t_model - t0) if t_model is not None else None,
            rss_base_mb=rss0,
            peak_rss_mb=peak_rss_mb(),
            traced_peak_mb=traced_peak_mb(trace),
            keys_sent=keys_sent,
            keys_handled=len(handled),
            key_p50_ms=statistics.median(handled) if handled else float("nan"),
            key_p95_ms=pct(handled, 0.95),
            key_max_ms=max(handled) if handled else float("nan"),
            paint_p95_ms=pct(painted, 0.95),
            paint_max_ms=max(painted) if painted else float("nan"),
            lag_max_ms=max(lags) if lags else float("nan"),
            handled_ms=handled,
            handled_at_s=handled_at,
            worst_key_at_s=handled_at[handled.index(max(handled))] if handled else None,
            painted_ms=painted,
            breakdown=stats,
            **gc_stats,
        )
    fp.close()
    return result


def child_tui(path: str, trace: bool, args: argparse.Namespace) -> dict:
    w, h = (int(x) for x in args.size.split("x"))
    keys = [k for k in args.keys.split(",") if k]
    coro = lambda: tui_main(path, (w, h), keys, args.key_interval, args.timeout, trace,
                            args.child_breakdown)  # noqa: E731
    if args.child_profile == "cprofile":
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        res = asyncio.run(coro())
        prof.disable()
        prof.dump_stats(args.profile_out + ".prof")
        with open(args.profile_out + ".txt", "w") as f:
            st = pstats.Stats(prof, stream=f)
            st.sort_stats("tottime").print_stats(40)
            st.sort_stats("cumulative").print_stats(60)
        return res
    if args.child_profile == "pyinstrument":
        from pyinstrument import Profiler

        prof = Profiler(interval=0.001, async_mode="disabled")
        prof.start()
        res = asyncio.run(coro())
        prof.stop()
        from pyinstrument.renderers import ConsoleRenderer

        session = prof.last_session
        with open(args.profile_out + ".txt", "w") as f:
            f.write(ConsoleRenderer(unicode=False, color=False, time="percent_of_total").render(session))
        with open(args.profile_out + ".full.txt", "w") as f:
            f.write(ConsoleRenderer(unicode=False, color=False, show_all=True).render(session))
        with open(args.profile_out + ".flat.txt", "w") as f:
            f.write(ConsoleRenderer(unicode=False, color=False, flat=True, time="percent_of_total").render(session))
        with open(args.profile_out + ".html", "w") as f:
            f.write(prof.output_html())
        return res
    return asyncio.run(coro())


# ------------------------------------------------------------------------------------------------------- parent


def run_child(case: str, path: str, args: argparse.Namespace, trace: bool = False, profile: str = "",
              profile_out: str = "", breakdown: bool = False) -> dict:
    cmd = [
        sys.executable, os.path.abspath(__file__), "--child", case, "--file", path, "--size", args.size,
        "--keys", args.keys, "--key-interval", str(args.key_interval), "--timeout", str(args.timeout),
    ]
    if trace:
        cmd.append("--child-trace")
    if breakdown:
        cmd.append("--child-breakdown")
    if profile:
        cmd += ["--child-profile", profile, "--profile-out", profile_out]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout + 120, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"case": case, "error": "hard timeout (app frozen?)"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            res = json.loads(line)
            res["case"] = case
            return res
    err = (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]
    return {"case": case, "error": err}


def run_repeated(case: str, path: str, args: argparse.Namespace) -> dict:
    """Run a case ``--repeat`` times: the median run by wall time, with the range; keys pooled over all runs."""
    runs = [run_child(case, path, args) for _ in range(max(1, args.repeat))]
    bad = [r for r in runs if "error" in r]
    if bad:
        return bad[0]
    runs.sort(key=lambda r: r["wall_s"])
    r = dict(runs[(len(runs) - 1) // 2])
    r["runs"] = len(runs)
    r["wall_min_s"], r["wall_max_s"] = runs[0]["wall_s"], runs[-1]["wall_s"]
    r["peak_rss_mb"] = max(x["peak_rss_mb"] for x in runs)
    r["rss_base_mb"] = min(x["rss_base_mb"] for x in runs)
    if case == "tui":
        handled = [v for x in runs for v in x["handled_ms"]]
        painted = [v for x in runs for v in x["painted_ms"]]
        r["dnf"] = any(x["dnf"] for x in runs)
        r["keys_sent"] = sum(x["keys_sent"] for x in runs)
        r["keys_handled"] = len(handled)
        r["key_p50_ms"] = statistics.median(handled) if handled else float("nan")
        r["key_p95_ms"] = pct(handled, 0.95)
        r["key_max_ms"] = max(handled) if handled else float("nan")
        worst = max(runs, key=lambda x: max(x["handled_ms"] or [0.0]))
        r["worst_key_at_s"], r["worst_key_run_wall_s"] = worst.get("worst_key_at_s"), worst["wall_s"]
        r["paint_p95_ms"] = pct(painted, 0.95)
        r["paint_max_ms"] = max(painted) if painted else float("nan")
        r["lag_max_ms"] = max(x["lag_max_ms"] for x in runs)
    return r


def fnum(v, spec: str = ".2f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, spec)


def worst_at(r: dict) -> str:
    at = r.get("worst_key_at_s")
    if at is None:
        return ""
    return f"; worst key posted at {at:.2f} s of {r.get('worst_key_run_wall_s', r['wall_s']):.2f} s"


def describe(r: dict) -> str:
    label = CASE_LABEL[r["case"]]
    if "error" in r:
        return f"{label}: ERROR {r['error']}"
    mem = f"peak {r['peak_rss_mb']:.0f} MB RSS (+{r['peak_rss_mb'] - r['rss_base_mb']:.0f})"
    if r.get("traced_peak_mb") is not None:
        mem += f", tracemalloc peak {r['traced_peak_mb']:.0f} MB"
    if "gc_total_s" in r:
        mem += f", GC {r['gc_total_s']:.2f} s (worst pause {r['gc_max_ms']:.0f} ms)"
    rng = f" [{r['wall_min_s']:.2f}-{r['wall_max_s']:.2f} in {r['runs']} runs]" if r.get("runs", 1) > 1 else ""
    if r["case"] == "baseline":
        travel = r.get("travel_ms") or {}
        tt = ", ".join(f"{k} {v:.1f} ms" for k, v in travel.items())
        met = "MET" if travel and max(travel.values()) < 100 else "NOT MET"
        return (f"{label}: {r['wall_s']:.2f} s{rng} (decode {r['decode_s']:.2f} s + assemble {r['assemble_s']:.2f} s), "
                f"{mem}; time travel to the {tt} (target under 100 ms each: {met})")
    if r["case"] == "player":
        return f"{label}: {r['wall_s']:.2f} s{rng}, {mem}"
    status = "DNF " if r["dnf"] else ""
    return (
        f"{label}: {status}{r['wall_s']:.2f} s{rng} to last event on screen (startup {r['startup_s']:.2f} s, "
        f"model complete at {fnum(r['model_s'])} s), {mem}, key p50/p95/max "
        f"{fnum(r['key_p50_ms'], '.0f')}/{fnum(r['key_p95_ms'], '.0f')}/{fnum(r['key_max_ms'], '.0f')} ms "
        f"({r['keys_handled']}/{r['keys_sent']} keys handled{worst_at(r)}), key->paint max {fnum(r['paint_max_ms'], '.0f')} ms, "
        f"loop lag max {fnum(r['lag_max_ms'], '.0f')} ms"
    )


TABLE_HEADER = (
    "| deltas | events | case | time s | ev/s | peak RSS MB (+growth) | tracemalloc peak MB | GC s (worst ms) | "
    "key p50/p95/max ms | key->paint p95/max ms | loop lag max ms | keys handled |\n"
    "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def table_row(deltas: str, r: dict) -> str:
    if "error" in r:
        return f"| {deltas} | - | {r['case']} | ERROR: {r['error']} ||||||||"
    time_s = f"{r['wall_s']:.2f}" + (" DNF" if r.get("dnf") else "")
    evs = f"{r['events'] / r['wall_s']:,.0f}" if r["wall_s"] else "-"
    mem = f"{r['peak_rss_mb']:.0f} (+{r['peak_rss_mb'] - r['rss_base_mb']:.0f})"
    traced = fnum(r.get("traced_peak_mb"), ".0f")
    if r["case"] == "tui":
        keys = f"{fnum(r['key_p50_ms'], '.0f')} / {fnum(r['key_p95_ms'], '.0f')} / {fnum(r['key_max_ms'], '.0f')}"
        paint = f"{fnum(r['paint_p95_ms'], '.0f')} / {fnum(r['paint_max_ms'], '.0f')}"
        lag = fnum(r["lag_max_ms"], ".0f")
        handled = f"{r['keys_handled']}/{r['keys_sent']}"
    else:
        keys = paint = lag = handled = "-"
    gcs = f"{r['gc_total_s']:.2f} ({r['gc_max_ms']:.0f})" if "gc_total_s" in r else "-"
    return (f"| {deltas} | {r['events']:,} | {r['case']} | {time_s} | {evs} | {mem} | {traced} | {gcs} | {keys} | {paint} | "
            f"{lag} | {handled} |")


def run_check(path: str, repeat: int) -> dict:
    """``streamview check FILE`` (the issue's baseline for the TUI's time), each run a process of its own: wall time."""
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "streamview", "check", path], capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if done.returncode not in (0, 1):
            return {"error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return {"wall_s": statistics.median(times), "wall_min_s": min(times), "wall_max_s": max(times), "runs": len(times)}


def targets(tui: dict, check: dict | None) -> list[str]:
    """The TUI figures beside issue 14's targets, for its two transcript sizes (by their event counts)."""
    def verdict(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    lines = []
    events, wall, rss = tui["events"], tui["wall_s"], tui["peak_rss_mb"]
    if events >= 1_000_000:
        if check and "wall_s" in check:
            ratio = wall / check["wall_s"]
            lines.append(f"all on screen in {wall:.2f} s = {ratio:.2f}x `check` ({check['wall_s']:.2f} s, same run): "
                         f"target 1.5x, {verdict(ratio <= 1.5)}")
        lines.append(f"peak RSS {rss:.1f} MB: target under 250 MB, {verdict(rss < 250)}")
        p95, mx = tui.get("key_p95_ms"), tui.get("key_max_ms")
        if p95 is not None and mx is not None:
            lines.append(f"key wait p95 {p95:.1f} ms, max {mx:.0f} ms: targets 33 / 100 ms, {verdict(p95 < 33 and mx < 100)}")
    elif events >= 100_000:
        lines.append(f"all on screen in {wall:.2f} s: target under 1.5 s, {verdict(wall < 1.5)}")
        lines.append(f"peak RSS {rss:.1f} MB: target under 100 MB, {verdict(rss < 100)}")
    return lines


def show_profile(path: str, kind: str, lines: int = 60) -> None:
    try:
        with open(path + ".txt") as f:
            text = f.read().splitlines()
    except OSError as exc:
        print(f"(no profile: {exc})")
        return
    extra = f"{path}.html, {path}.full.txt, {path}.flat.txt" if kind == "pyinstrument" else f"{path}.prof"
    print(f"profile ({kind}): {path}.txt, {extra}")
    for line in text[:lines]:
        print("   " + line)
    if kind == "pyinstrument":
        try:
            with open(path + ".flat.txt") as f:
                flat = f.read().splitlines()
        except OSError:
            return
        print("   -- self time, top functions:")
        for line in flat[:35]:
            print("   " + line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deltas", default="20000", help="output_text deltas in the generated transcript; a comma list "
                                                      "runs several sizes (default 20000)")
    ap.add_argument("--file", help="replay this transcript instead of generating one")
    ap.add_argument("--seed", type=int, default=1234, help="generator seed")
    ap.add_argument("--cases", default=",".join(("check",) + CASES),
                    help=f"which cases to run (default check,{','.join(CASES)}; check: `streamview check FILE`, the "
                         "baseline the TUI's time is judged against)")
    ap.add_argument("--size", default="200x50", help="headless terminal size WxH (default 200x50)")
    ap.add_argument("--keys", default="down,up", help="keys posted in turn while loading (default down,up)")
    ap.add_argument("--key-interval", type=float, default=0.05, help="seconds between keys (default 0.05)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case: the median time is reported, keys pooled "
                                                          "(default 3)")
    ap.add_argument("--timeout", type=float, default=300.0, help="give up (DNF) after this many seconds")
    ap.add_argument("--no-tracemalloc", action="store_true", help="skip the tracemalloc runs")
    ap.add_argument("--profile", choices=("cprofile", "pyinstrument"), help="also profile the TUI case once")
    ap.add_argument("--breakdown", action="store_true", help="also run the TUI case once with timers on the main "
                                                             "functions and print where the wall time goes")
    ap.add_argument("--json", help="write the raw results here")
    ap.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    ap.add_argument("--child-trace", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-breakdown", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-profile", default="", help=argparse.SUPPRESS)
    ap.add_argument("--profile-out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    for k in args.keys.split(","):
        if k and k not in KEY_ACTIONS:
            ap.error(f"--keys: {k!r} is not one of {', '.join(KEY_ACTIONS)}")

    if args.child:
        if args.child == "baseline":
            res = child_baseline(args.file, args.child_trace)
        elif args.child == "player":
            res = child_player(args.file, args.child_trace)
        else:
            res = child_tui(args.file, args.child_trace, args)
        print(json.dumps(res))
        return

    import importlib.metadata

    import textual

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gen_transcript

    print(f"# streamview tui_replay, {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}: textual "
          f"{textual.__version__}, rich {importlib.metadata.version('rich')}, Python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs, headless App.run_test(size=({args.size.replace('x', ', ')})), "
          f"keys {args.keys} every {args.key_interval * 1000:.0f} ms")
    cases = [c for c in args.cases.split(",") if c]
    workdir = tempfile.mkdtemp(prefix="streamview-bench-")
    sizes = [None] if args.file else [int(x) for x in args.deltas.split(",") if x]
    all_results: list[dict] = []
    rows: list[tuple[str, dict]] = []
    for n in sizes:
        if n is None:
            path = os.path.abspath(args.file)
            label = os.path.basename(path)
        else:
            path = os.path.join(workdir, f"gen-{n}-{args.seed}.sse")
            gen_transcript.main(["--deltas", str(n), "--seed", str(args.seed), "-o", path])
            label = f"{n:,}"
        size_mb = os.path.getsize(path) / 1e6
        print()
        print(f"## {label} deltas: {path} ({size_mb:.1f} MB)")
        check = None
        if "check" in cases:
            check = run_check(path, args.repeat)
            rng = f" [{check['wall_min_s']:.2f}-{check['wall_max_s']:.2f} in {check['runs']} runs]" if check.get("runs", 1) > 1 else ""
            print(f"streamview check: {check['wall_s']:.2f} s{rng}" if "wall_s" in check else f"streamview check: ERROR {check['error']}",
                  flush=True)
        for case in (c for c in cases if c != "check"):
            r = run_repeated(case, path, args)
            if "error" not in r and not args.no_tracemalloc:
                t = run_child(case, path, args, trace=True)
                r["traced_peak_mb"] = t.get("traced_peak_mb")
            r.update(deltas=n, file=path, file_mb=size_mb)
            print(describe(r), flush=True)
            if case == "tui" and "error" not in r:
                for line in targets(r, check):
                    print(f"   issue 14: {line}", flush=True)
            all_results.append(r)
            rows.append((label, r))
        if args.breakdown and "tui" in cases:
            r = run_child("tui", path, args, breakdown=True)
            if "error" in r:
                print(f"(breakdown run failed: {r['error']})")
            else:
                print_breakdown(r)
        if args.profile and "tui" in cases:
            out = os.path.join(workdir, f"profile-{n}-{args.profile}")
            r = run_child("tui", path, args, profile=args.profile, profile_out=out)
            print(f"(profiled run: {fnum(r.get('wall_s'))} s under {args.profile})")
            show_profile(out, args.profile)
    print()
    print(TABLE_HEADER)
    for label, r in rows:
        print(table_row(label, r))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(all_results, f, indent=1)
    print(f"\n(transcripts and profiles in {workdir})")


if __name__ == "__main__":
    main()
