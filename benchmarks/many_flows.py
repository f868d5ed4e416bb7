"""Many recorded flows open at once: ``streamview replay DIR`` of a folder the proxy would have recorded, with
``--flows`` flows of about ``--events`` events each, the App headless at 200x50.

The folder is made once (``gen_transcript.py`` transcripts, one per flow, and their ``flows.jsonl`` lines), then,
in a fresh process: the time to read it (every flow's transcript folded into a Session that keeps its events, as
``replay DIR`` does), the peak RSS, and the key wait in the flow list and in a flow (a key posted to the App as
the terminal driver posts it, timed until the cursor moved), beside the targets (issue 14: 200 flows of 5,000
events, peak RSS under 400 MB, key wait p95 under 33 ms in the list and in a flow).

    python benchmarks/many_flows.py [--flows 200] [--events 5000] [--dir /tmp/streamview-bench-flows]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def make_folder(folder: str, flows: int, events: int) -> None:
    if os.path.isfile(os.path.join(folder, "flows.jsonl")):
        return
    os.makedirs(folder, exist_ok=True)
    one = os.path.join(folder, "one.sse")
    deltas = max(10, int(events / 1.07))  # gen_transcript makes about 1.07 events a delta
    subprocess.run([sys.executable, os.path.join(HERE, "gen_transcript.py"), "--deltas", str(deltas), "-o", one],
                   check=True)
    with open(one, "rb") as fp:
        body = fp.read()
    lines = []
    for n in range(1, flows + 1):
        name = f"{n:04d}-responses.sse"
        with open(os.path.join(folder, name), "wb") as fp:
            fp.write(body)
        lines.append(json.dumps({"n": n, "started": 1767225600.0 + n, "method": "POST", "path": "/v1/responses",
                                 "upstream": "https://api.openai.com", "api": "responses", "model": "o4-mini",
                                 "stream": True, "status": 200, "ttft": 0.2, "duration": 3.0, "events": events,
                                 "end": "done", "file": name}))
    os.remove(one)
    with open(os.path.join(folder, "flows.jsonl"), "w") as fp:
        fp.write("\n".join(lines) + "\n")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


async def measure(folder: str) -> dict:
    from textual import events

    from streamview.replay.proxy import RecordedFlows
    from streamview.session import Session
    from streamview.tui.app import StreamviewApp
    from streamview.widgets.event_list import EventList

    t0 = time.perf_counter()
    recorded = RecordedFlows(folder)
    load = time.perf_counter() - t0
    n_events = sum(f.events for f in recorded.flows)
    app = StreamviewApp(Session("flows"), f"{len(recorded.flows)} flows", proxy=recorded)
    waits = {"list": [], "flow": []}
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause(0.5)

        async def keys(where: str, read, count: int = 40) -> None:
            key = "down"
            for _ in range(count):
                before = read()
                t = time.perf_counter()
                app.post_message(events.Key(key, None))
                while read() == before and time.perf_counter() - t < 5:
                    await asyncio.sleep(0.0005)
                waits[where].append((time.perf_counter() - t) * 1000)
                key = "up" if key == "down" else "down"
                await asyncio.sleep(0.02)

        table = app.screen.query_one("#flows")
        await keys("list", lambda: table.cursor_row)
        await pilot.press("enter")
        await pilot.pause(0.5)
        ev = app.query_one(EventList)
        await keys("flow", lambda: ev.cursor)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"flows": len(recorded.flows), "events": n_events, "load_s": load, "peak_rss_mb": rss, "waits": waits}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=200)
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--dir", default="/tmp/streamview-bench-flows")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, ROOT)
    folder = os.path.join(args.dir, f"{args.flows}x{args.events}")
    if args.child:
        print(json.dumps(asyncio.run(measure(folder))))
        return 0
    make_folder(folder, args.flows, args.events)
    out = subprocess.run([sys.executable, __file__, "--child", "--flows", str(args.flows), "--events", str(args.events),
                          "--dir", args.dir], capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    print(f"{r['flows']} recorded flows, {r['events']:,} events in all ({folder}), the App headless at 200x50")
    print(f"  read and folded in {r['load_s']:.2f} s; peak RSS {r['peak_rss_mb']:.0f} MB (target under 400 MB: "
          f"{'MET' if r['peak_rss_mb'] < 400 else 'NOT MET'})")
    for where in ("list", "flow"):
        w = r["waits"][where]
        p95 = pct(w, 95)
        print(f"  key wait in the {where:<4}: {len(w)} presses, p50 {statistics.median(w):.1f} ms, p95 {p95:.1f} ms, "
              f"max {max(w):.1f} ms (target p95 under 33 ms: {'MET' if p95 < 33 else 'NOT MET'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
