"""What ``streamview proxy`` adds to each chunk's latency, measured against the same client reading the upstream
directly, in one run (the baseline).

An upstream on 127.0.0.1 sends N SSE events, each stamped with its send time (``time.perf_counter``: the same clock
in this one process), at a fixed interval; a client reads them (httpx, ``iter_raw``) once directly and once through
the proxy (``streamview proxy --plain`` in a process of its own, recording to a temporary folder). Per event: arrival minus send
time. Printed: p50, p99 and max of both, and what the proxy added (p50, p99); the target (issue 13) is an added
p99 under 2 ms headless. Also with C concurrent streams through the proxy.

    python benchmarks/proxy.py [--events 400] [--interval 0.005] [--concurrent 50]
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
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


EVENTS = 400
INTERVAL = 0.005


class Upstream(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each write at once (TCP_NODELAY), as real servers send (http.server's default
    # holds a small write until the last is acknowledged: benchmarks/live_latency.py)

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        n = int(self.headers.get("content-length") or 0)
        self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(self.server.events):  # type: ignore[attr-defined]
            chunk = {"id": "chatcmpl-b", "object": "chat.completion.chunk", "created": 1, "model": "bench",
                     "choices": [{"index": 0, "delta": {"content": f"t={time.perf_counter():.6f} "},
                                  "finish_reason": None}]}
            data = f"data: {json.dumps(chunk)}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
            time.sleep(self.server.interval)  # type: ignore[attr-defined]
        done = b"data: [DONE]\n\n"
        self.wfile.write(f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")
        self.wfile.flush()


def latencies(url: str) -> list[float]:
    out = []
    buf = b""
    with httpx.Client(timeout=60) as c:
        with c.stream("POST", url, json={"model": "bench", "stream": True}) as r:
            for chunk in r.iter_raw():
                now = time.perf_counter()
                buf += chunk
                while b"t=" in buf:
                    head, _, rest = buf.partition(b"t=")
                    stamp, _, buf = rest.partition(b" ")
                    try:
                        out.append((now - float(stamp)) * 1000)
                    except ValueError:
                        break
    return out


async def concurrent(url: str, n: int) -> list[float]:
    return [x for stream in await concurrent_streams(url, n) for x in stream]


async def concurrent_streams(url: str, n: int) -> list[list[float]]:
    """``n`` streams read at once: each one's per-chunk latencies, in order (its first chunk first)."""
    async def one(client):
        got = []
        async with client.stream("POST", url, json={"model": "bench", "stream": True}) as r:
            async for chunk in r.aiter_raw():
                now = time.perf_counter()
                for part in chunk.split(b"t=")[1:]:
                    try:
                        got.append((now - float(part.split(b" ")[0])) * 1000)
                    except ValueError:
                        pass
        return got

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=n + 10)) as client:
        return list(await asyncio.gather(*(one(client) for _ in range(n))))


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def line(name: str, xs: list[float]) -> str:
    return f"{name:<28} n={len(xs):>6}  p50 {statistics.median(xs):7.3f} ms  p99 {pct(xs, 99):7.3f} ms  max {max(xs):7.3f} ms"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=EVENTS)
    ap.add_argument("--interval", type=float, default=INTERVAL)
    ap.add_argument("--concurrent", type=int, default=50)
    args = ap.parse_args()
    up = Upstream(("127.0.0.1", 0), Handler)
    up.events, up.interval = args.events, args.interval  # type: ignore[attr-defined]
    threading.Thread(target=up.serve_forever, daemon=True).start()
    root = f"http://127.0.0.1:{up.server_address[1]}"
    record = tempfile.mkdtemp(prefix="streamview-bench-proxy-")
    # the proxy in a process of its own, as it runs for a user (not sharing this process's GIL with the upstream's
    # threads and the clients)
    proc = subprocess.Popen([sys.executable, "-m", "streamview", "proxy", "--plain", "--port", "0", "--upstream", root,
                             "--record", record], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=os.path.join(os.path.dirname(__file__), ".."))
    proxy_root = ""
    while not proxy_root:
        text = proc.stderr.readline()
        if not text:
            raise SystemExit("the proxy did not start")
        if "listening on " in text:
            proxy_root = text.split("listening on ")[1].split(";")[0]
    path = "/v1/chat/completions"
    direct = latencies(root + path)
    via = latencies(proxy_root + path)
    print(f"{args.events} events {args.interval * 1000:g} ms apart, one stream; recording to {record}")
    print(line("direct (baseline)", direct))
    print(line("through the proxy", via))
    added50 = statistics.median(via) - statistics.median(direct)
    added99 = pct(via, 99) - pct(direct, 99)
    print(f"added by the proxy           p50 {added50:7.3f} ms  p99 {added99:7.3f} ms  (target: p99 under 2 ms) "
          f"{'MET' if added99 < 2 else 'NOT MET'}")
    if args.concurrent:
        up.events = max(50, args.events // 4)  # type: ignore[attr-defined]
        ds = asyncio.run(concurrent_streams(root + path, args.concurrent))
        vs = asyncio.run(concurrent_streams(proxy_root + path, args.concurrent))
        d = [x for s in ds for x in s]
        v = [x for s in vs for x in s]
        print(f"{args.concurrent} concurrent streams of {up.events} events:")  # type: ignore[attr-defined]
        print(line("  direct (baseline)", d))
        print(line("  through the proxy", v))
        print(f"  added p50 {statistics.median(v) - statistics.median(d):7.3f} ms  p99 {pct(v, 99) - pct(d, 99):7.3f} ms")
        first = [s[0] for s in vs if s]  # while the proxy sets up the other flows, which all start at once
        rest, rest_d = [x for s in vs for x in s[1:]], [x for s in ds for x in s[1:]]
        print(f"  first chunk of each stream p50 {statistics.median(first):7.3f} ms  max {max(first):7.3f} ms; "
              f"every later chunk added p99 {pct(rest, 99) - pct(rest_d, 99):7.3f} ms")
    proc.terminate()
    proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
