"""The proxy with its UI: concurrent streams through ``streamview proxy``'s flow list, the App running (headless,
``App.run_test``), its server in the App's own event loop, as ``streamview proxy`` runs it.

The upstream runs in a process of its own (``benchmarks/proxy.py``'s stamped SSE server), the clients in another
(the streams read once from the upstream directly, the baseline of the same run, then through the proxy); this
process is the App. Printed: the latency the proxy adds per chunk (p50, p99; target: p99 under 10 ms with the UI)
and the key wait in the flow list while the streams run: a key posted to the App as the terminal driver posts it,
timed until the table's cursor has moved (target: p95 under 50 ms).

    python benchmarks/proxy_ui.py [--concurrent 50] [--events 75] [--interval 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

UPSTREAM = """
import sys
sys.path.insert(0, {here!r})
import proxy as bench
up = bench.Upstream(("127.0.0.1", 0), bench.Handler)
up.events, up.interval = {events}, {interval}
print(up.server_address[1], flush=True)
up.serve_forever()
"""

CLIENTS = """
import asyncio, json, sys
sys.path.insert(0, {here!r})
import proxy as bench
direct = asyncio.run(bench.concurrent_streams({direct!r}, {n}))
print("via", flush=True)
via = asyncio.run(bench.concurrent_streams({via!r}, {n}))
print(json.dumps({{"direct": direct, "via": via}}), flush=True)
"""


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def run(args) -> int:
    # (the upstream's stderr to /dev/null: it must not hold a caller's pipe open)
    upstream = subprocess.Popen([sys.executable, "-c", UPSTREAM.format(here=HERE, events=args.events,
                                                                        interval=args.interval)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        return await measure(args, upstream)
    finally:
        upstream.terminate()


async def measure(args, upstream) -> int:
    from textual import events

    from streamview.replay.proxy import Proxy, Routes
    from streamview.replay.server import EmbeddedServer, bind
    from streamview.session import Session
    from streamview.tui.app import StreamviewApp

    up_root = f"http://127.0.0.1:{upstream.stdout.readline().strip()}"
    record = tempfile.mkdtemp(prefix="streamview-bench-proxy-ui-")
    proxy = Proxy(Routes({"upstream": up_root}), record)
    sock = bind("127.0.0.1", 0)
    root = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = StreamviewApp(Session("proxy"), f"streamview proxy on {root}", proxy=proxy,
                        server=EmbeddedServer(proxy, "127.0.0.1", 0, sock=sock))
    waits: list[float] = []
    async with app.run_test(size=(200, 50)) as pilot:
        while not app.server.server.started:
            await pilot.pause(0.01)
        path = "/v1/chat/completions"
        clients = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CLIENTS.format(here=HERE, direct=up_root + path, via=root + path, n=args.concurrent),
            stdout=asyncio.subprocess.PIPE)
        assert (await clients.stdout.readline()).strip() == b"via"
        reading = asyncio.ensure_future(clients.stdout.read())  # the figures, as one JSON line (longer than a readline)
        table = app.screen.query_one("#flows")
        key = "down"
        while not reading.done():
            if table.row_count >= 2 and any(not f.end for f in proxy.flows):
                before = table.cursor_row
                t0 = time.perf_counter()
                app.post_message(events.Key(key, None))  # as the driver posts a key press
                while table.cursor_row == before and time.perf_counter() - t0 < 5:
                    await asyncio.sleep(0.001)
                waits.append((time.perf_counter() - t0) * 1000)
                key = "up" if key == "down" else "down"
            await asyncio.sleep(0.02)
        result = json.loads(await reading)
    direct_streams, via_streams = result["direct"], result["via"]
    direct = [x for stream in direct_streams for x in stream]
    via = [x for stream in via_streams for x in stream]
    print(f"{args.concurrent} concurrent streams of {args.events} chunks, {args.interval * 1000:g} ms apart, the UI "
          f"running (flow list, 200x50); recording to {record}")
    print(f"direct (baseline)   p50 {statistics.median(direct):7.3f} ms  p99 {pct(direct, 99):7.3f} ms")
    print(f"through the proxy   p50 {statistics.median(via):7.3f} ms  p99 {pct(via, 99):7.3f} ms  max {max(via):7.3f} ms")
    added = pct(via, 99) - pct(direct, 99)
    print(f"added               p50 {statistics.median(via) - statistics.median(direct):7.3f} ms  p99 {added:7.3f} ms "
          f"(target under 10 ms, every chunk) {'MET' if added < 10 else 'NOT MET'}")
    # the streams start together: each first chunk waits while the proxy sets up the other flows (parse, connect
    # upstream, the session and its recording); the rest is the steady per-chunk cost
    first = [s[0] for s in via_streams if s]
    rest = [x for s in via_streams for x in s[1:]]
    rest_direct = [x for s in direct_streams for x in s[1:]]
    print(f"  first chunk of each stream   p50 {statistics.median(first):7.3f} ms  max {max(first):7.3f} ms "
          f"(direct: max {max(s[0] for s in direct_streams if s):.3f} ms)")
    print(f"  every later chunk            added p99 {pct(rest, 99) - pct(rest_direct, 99):7.3f} ms  "
          f"(through the proxy p99 {pct(rest, 99):.3f}, max {max(rest):.3f} ms)")
    if waits:
        p95 = pct(waits, 95)
        print(f"key wait in the flow list: {len(waits)} presses, p50 {statistics.median(waits):.1f} ms, p95 {p95:.1f} ms, "
              f"max {max(waits):.1f} ms (target p95 under 50 ms) {'MET' if p95 < 50 else 'NOT MET'}")
    print(f"flows: {len(proxy.flows)}, all done: {all(f.end == 'done' for f in proxy.flows)}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--concurrent", type=int, default=50)
    ap.add_argument("--events", type=int, default=75)
    ap.add_argument("--interval", type=float, default=0.02)
    sys.path.insert(0, ROOT)
    return asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
