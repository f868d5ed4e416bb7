#!/usr/bin/env python3
"""Headless pipeline benchmark: streamview's decode + parse + assemble + check against the official openai SDK's
client-side path on the same bytes, with httpx-sse decoding alone and ``json.loads`` alone as floors.

For each size a seeded transcript is generated (``gen_transcript.py``, cached in ``--dir``) and every case runs in
a fresh subprocess (so its peak RSS, VmHWM, is that case's own); a second subprocess per case measures the
``tracemalloc`` peak (tracemalloc slows Python, so its timings are discarded).

Cases (each reads the transcript from disk in 64 KB chunks):

  streamview   EventReader.feed(chunk) -> Session.add(ev) for every event -> model.finish(); every event kept
  sdk          openai._streaming.SSEDecoder().iter_bytes -> sse.json() -> construct_type(ResponseStreamEvent)
               -> ResponseStreamState(input_tools=omit, text_format=omit).handle_event  (what responses.stream() runs
               per event); stopped after --sdk-budget seconds: it slows as the text grows
  httpx-sse    floor: httpx-sse's SSELineDecoder + SSEDecoder over the UTF-8 text, events counted, not kept
  json         floor: json.loads of every event's data line (the lines are split out before the clock starts)

Usage:
    python benchmarks/pipeline.py                                   # 10k, 100k and 1M deltas, every case
    python benchmarks/pipeline.py --deltas 100000 --cases streamview,json --repeat 5
    python benchmarks/pipeline.py --deltas 100000 --profile pyinstrument   # where streamview's time goes
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHUNK = 64 * 1024
CASES = ("streamview", "sdk", "httpx-sse", "json")


# ----------------------------------------------------------------------------------------------- child: one case


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _maxrss_mb() -> float:
    """Peak RSS of this process's own memory (VmHWM). ``ru_maxrss`` is not used: Linux carries the parent's peak
    over ``exec`` into it."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e3
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def _chunks(path: str):
    with open(path, "rb") as fp:
        read = fp.read1
        while True:
            chunk = read(CHUNK)
            if not chunk:
                return
            yield chunk


def run_streamview(path: str, budget: float, start) -> dict:
    from streamview.session import Session
    from streamview.source import EventReader

    start()
    reader = EventReader()
    model = Session()
    add = model.add
    for chunk in _chunks(path):
        for ev in reader.feed(chunk):
            add(ev)
    for ev in reader.finish():
        add(ev)
    model.finish()
    return {"events": len(model.events), "keep": model}


def _check_streamview(model) -> dict:
    errors = sum(1 for ev in model.events if ev.error is not None)
    return {"status": model.state.status, "anomalies": len(model.anomalies), "errors": errors,
            "text_chars": len(model.state.text())}


def run_sdk(path: str, budget: float, start) -> dict:
    from openai._models import construct_type
    from openai._streaming import SSEDecoder
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent

    try:
        from openai._types import omit
    except ImportError:  # older SDKs
        from openai._types import NOT_GIVEN as omit

    t0 = start()
    state = ResponseStreamState(input_tools=omit, text_format=omit)
    n = 0
    checkpoints = [(0.0, 0)]
    next_check = 1.0
    stopped = False
    for sse in SSEDecoder().iter_bytes(_chunks(path)):
        if sse.data.startswith("[DONE]"):
            break
        event = construct_type(type_=ResponseStreamEvent, value=sse.json())
        state.handle_event(event)
        n += 1
        if not n % 200:
            el = time.perf_counter() - t0
            if el >= next_check:
                checkpoints.append((el, n))
                next_check = el + 1.0
            if el >= budget:
                stopped = True
                break
    return {"events": n, "stopped": stopped, "checkpoints": checkpoints, "keep": state}


def run_httpx_sse(path: str, budget: float, start) -> dict:
    import codecs

    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    start()
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines, sse = SSELineDecoder(), SSEDecoder()
    n = 0
    for chunk in _chunks(path):
        for line in lines.decode(utf8.decode(chunk)):
            if sse.decode(line) is not None:
                n += 1
    for line in lines.flush():
        if sse.decode(line) is not None:
            n += 1
    if sse.decode("") is not None:
        n += 1
    return {"events": n}


def run_json(path: str, budget: float, start) -> dict:
    with open(path, "rb") as fp:
        data_lines = [line[6:] for line in fp.read().decode("utf-8").split("\n") if line.startswith("data: ")]
    loads = json.loads
    start()
    for d in data_lines:
        loads(d)
    return {"events": len(data_lines)}


RUNNERS = {"streamview": run_streamview, "sdk": run_sdk, "httpx-sse": run_httpx_sse, "json": run_json}


def child(case: str, path: str, budget: float, use_tracemalloc: bool, profile: str | None) -> None:
    import gc

    gc.collect()
    mark: dict[str, float] = {}

    def start() -> float:
        # called by the runner once its imports are done, just before the work starts
        mark["rss0"] = _rss_mb()
        if use_tracemalloc:
            import tracemalloc

            tracemalloc.start()
        mark["t0"] = time.perf_counter()
        return mark["t0"]

    prof = None
    if profile == "cprofile":
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    elif profile == "pyinstrument":
        from pyinstrument import Profiler

        prof = Profiler(interval=0.0005)
        prof.start()
    res = RUNNERS[case](path, budget, start)
    elapsed = time.perf_counter() - mark["t0"]
    if prof is not None:
        if profile == "cprofile":
            import pstats

            prof.disable()
            pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(30)
            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        else:
            prof.stop()
            print(prof.output_text(unicode=True, color=False, show_all=False), file=sys.stderr)
    out = {"case": case, "time": elapsed, "events": res["events"], "maxrss_mb": _maxrss_mb(), "rss0_mb": mark["rss0"]}
    if use_tracemalloc:
        import tracemalloc

        out["tm_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    for key in ("stopped", "checkpoints"):
        if key in res:
            out[key] = res[key]
    if case == "streamview" and not use_tracemalloc:
        out.update(_check_streamview(res["keep"]))
        import streamview

        out["imported_from"] = os.path.dirname(os.path.dirname(os.path.abspath(streamview.__file__)))
    print("RESULT " + json.dumps(out))


# ----------------------------------------------------------------------------------------------- parent


def transcript(deltas: int, seed: int, directory: Path) -> Path:
    path = directory / f"responses-{deltas}-seed{seed}.sse"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(HERE / "gen_transcript.py"), "--deltas", str(deltas), "--seed", str(seed),
                        "-o", str(tmp)], check=True)
        tmp.rename(path)
    return path


def run_case(case: str, path: Path, budget: float, use_tracemalloc: bool, timeout: float, profile: str | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", case, str(path), "--sdk-budget", str(budget)]
    if use_tracemalloc:
        cmd.append("--tracemalloc")
    if profile:
        cmd += ["--profile", profile]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if profile:
        sys.stderr.write(proc.stderr)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{case} on {path} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def fmt_int(v: float) -> str:
    return f"{v:,.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deltas", default="10000,100000,1000000", help="comma-separated delta counts")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {','.join(CASES)}")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per case (the SDK runs once: --sdk-repeat)")
    ap.add_argument("--sdk-repeat", type=int, default=1)
    ap.add_argument("--sdk-budget", type=float, default=120.0, help="seconds after which the SDK case stops (default 120)")
    ap.add_argument("--sdk-tm-budget", type=float, default=20.0, help="the same, for its tracemalloc run (default 20)")
    ap.add_argument("--no-tracemalloc", action="store_true", help="skip the tracemalloc runs")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--dir", default="/tmp/streamview-bench", help="where transcripts are generated and kept")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--json", help="write the raw results to this file")
    ap.add_argument("--profile", choices=("cprofile", "pyinstrument"),
                    help="run the streamview case once per size under a profiler (report on stderr), nothing else")
    ap.add_argument("--child", nargs=2, metavar=("CASE", "FILE"), help=argparse.SUPPRESS)
    ap.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        child(args.child[0], args.child[1], args.sdk_budget, args.tracemalloc, args.profile)
        return 0

    sizes = [int(x) for x in args.deltas.split(",") if x]
    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        if c not in CASES:
            ap.error(f"unknown case {c!r}")
    directory = Path(args.dir)

    if args.profile:
        for n in sizes:
            path = transcript(n, args.seed, directory)
            print(f"== streamview, {n:,} deltas, under {args.profile}", file=sys.stderr)
            r = run_case("streamview", path, args.sdk_budget, False, args.timeout, args.profile)
            print(f"{n:,} deltas: {r['events']:,} events in {r['time']:.2f} s under the profiler")
        return 0

    from importlib.metadata import version

    def _version(dist: str) -> str:
        try:
            return version(dist)
        except Exception:
            return "?"

    sv_version = _version("streamview")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "streamview"], capture_output=True, text=True, cwd=HERE).stdout.strip()
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"openai {_version('openai')}, httpx-sse {_version('httpx-sse')}, streamview {sv_version} at {commit}{' + uncommitted changes' if dirty else ''}")
    print(f"# command: {' '.join([Path(sys.argv[0]).name] + sys.argv[1:]) if argv is None else argv}")

    results = []
    for n in sizes:
        path = transcript(n, args.seed, directory)
        size_mb = path.stat().st_size / 1e6
        by_case: dict[str, dict] = {}
        for case in cases:
            reps = args.sdk_repeat if case == "sdk" else args.repeat
            runs = []
            for i in range(reps):
                r = run_case(case, path, args.sdk_budget, False, args.timeout)
                runs.append(r)
                print(f"  {n:>9,} {case:<10} run {i + 1}: {r['events']:,} events {r['time']:.2f} s "
                      f"({r['events'] / r['time']:,.0f} ev/s) maxrss {r['maxrss_mb']:.0f} MB", file=sys.stderr, flush=True)
            runs.sort(key=lambda r: r["events"] / r["time"])
            med = runs[len(runs) // 2]
            row = {"deltas": n, "file_mb": size_mb, "case": case, "runs": runs, "median": med,
                   "rate": med["events"] / med["time"], "rate_range": (runs[0]["events"] / runs[0]["time"], runs[-1]["events"] / runs[-1]["time"])}
            if not args.no_tracemalloc:
                tm = run_case(case, path, args.sdk_tm_budget if case == "sdk" else args.sdk_budget, True, args.timeout)
                row["tm"] = tm
                print(f"  {n:>9,} {case:<10} tracemalloc peak {tm['tm_peak_mb']:.1f} MB at {tm['events']:,} events",
                      file=sys.stderr, flush=True)
            by_case[case] = row
            results.append(row)
        sdk_rate = by_case["sdk"]["rate"] if "sdk" in by_case else None
        for row in by_case.values():
            row["x_sdk"] = row["rate"] / sdk_rate if sdk_rate else None

    # -- the table ----------------------------------------------------------------------------------------------
    where = sorted({r["median"].get("imported_from") for r in results if r["case"] == "streamview"} - {None})
    if where:
        print(f"# streamview imported from {', '.join(where)}")
    print()
    print("| deltas | file MB | case | events | time s (range) | events/s | x SDK | peak RSS MB (+growth) | RSS growth / file | tracemalloc peak MB | tracemalloc peak / file |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in results:
        med = row["median"]
        times = sorted(r["time"] for r in row["runs"])
        trange = f"{med['time']:.2f}" + (f" ({times[0]:.2f}-{times[-1]:.2f})" if len(times) > 1 else "")
        events = fmt_int(med["events"])
        if med.get("stopped"):
            events += " (stopped)"
        growth = med["maxrss_mb"] - med["rss0_mb"]
        tm = row.get("tm")
        tm_s = "-" if tm is None else f"{tm['tm_peak_mb']:.1f}" + (f" (at {tm['events']:,} ev)" if tm.get("stopped") else "")
        ratio = "-" if tm is None else f"{tm['tm_peak_mb'] / row['file_mb']:.2f}"
        name = f"**{row['case']}**" if row["case"] == "streamview" else row["case"]
        xs = "-" if row["x_sdk"] is None else ("1" if row["case"] == "sdk" else f"{row['x_sdk']:,.0f}")
        print(f"| {row['deltas']:,} | {row['file_mb']:.1f} | {name} | {events} | {trange} | {fmt_int(row['rate'])} | {xs} | "
              f"{med['maxrss_mb']:.0f} (+{growth:.0f}) | {growth / row['file_mb']:.2f} | {tm_s} | {ratio} |")

    notes = []
    for row in results:
        med = row["median"]
        if row["case"] == "sdk":
            cps = med.get("checkpoints") or []
            if len(cps) >= 3:
                (t1, n1), (t2, n2) = cps[-2], cps[-1]
                (ta, na), (tb, nb) = cps[0], cps[1]
                notes.append(f"sdk {row['deltas']:,}: first second {(nb - na) / (tb - ta):,.0f} ev/s, last second "
                             f"{(n2 - n1) / (t2 - t1):,.0f} ev/s (at {n2:,} events){'; stopped at the time budget' if med.get('stopped') else ''}")
        if row["case"] == "streamview":
            notes.append(f"streamview {row['deltas']:,}: status {med.get('status')}, {med.get('anomalies')} anomalies, "
                         f"{med.get('errors')} events with errors, {med.get('text_chars'):,} characters of text")
    if notes:
        print()
        for note in notes:
            print(f"- {note}")

    # -- targets ---------------------------------------------------------------------------------------------------
    # the rate and the SDK ratio are targets at 100k and 1M deltas; memory at every size
    sv = {row["deltas"]: row for row in results if row["case"] == "streamview"}
    if sv:
        print()
        for n, row in sv.items():
            tm = row.get("tm")
            bits = []
            if n >= 100_000:
                bits.append(f">=100,000 ev/s {'met' if row['rate'] >= 100_000 else 'NOT met'} ({row['rate']:,.0f})")
                if row["x_sdk"] is None:
                    bits.append(">=50x SDK: no sdk case in this run")
                else:
                    bits.append(f">=50x SDK {'met' if row['x_sdk'] >= 50 else 'NOT met'} ({row['x_sdk']:,.0f}x)")
            else:
                bits.append(f"{row['rate']:,.0f} ev/s" + (f", {row['x_sdk']:,.0f}x SDK" if row["x_sdk"] else "") + " (rate targets are for 100k and 1M)")
            if tm is not None:
                ratio = tm["tm_peak_mb"] / row["file_mb"]
                bits.append(f"tracemalloc peak <= 2x file {'met' if ratio <= 2 else 'NOT met'} ({ratio:.2f}x)")
            med = row["median"]
            bits.append(f"peak RSS growth {(med['maxrss_mb'] - med['rss0_mb']) / row['file_mb']:.2f}x file")
            print(f"- targets at {n:,} deltas: " + "; ".join(bits))
        rates = [row["rate"] for row in sv.values()]
        if len(rates) > 1:
            print(f"- streamview rate across sizes: {min(rates):,.0f} - {max(rates):,.0f} ev/s (max/min {max(rates) / min(rates):.2f})")

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
