#!/usr/bin/env python3
"""Start-up benchmark: ``streamview --help`` and ``streamview print SEED`` against ``python -c pass``.

Each command runs ``--runs`` times (rounds interleave the commands, so a slow moment of the machine hits all of
them), after ``--warmup`` unmeasured rounds (bytecode caches warm); the median wall time is reported with the
range and the median's excess over bare Python. Target: under 0.3 s over bare Python.

A last run of each streamview command under ``python -X importtime -m streamview ...`` lists the modules it
imported: Textual must not be among them (it is imported only when a command opens the UI), and the slowest
imports are shown.

Usage:
    python benchmarks/startup.py
    python benchmarks/startup.py --runs 31 --seed o4-mini-hello
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "streamview" / "examples"
TARGET = 0.3


def entry_point() -> list[str]:
    """The installed ``streamview`` script next to this interpreter (what a user runs), or ``python -m``."""
    script = Path(sys.executable).parent / "streamview"
    if script.exists():
        return [str(script)]
    found = shutil.which("streamview")
    return [found] if found else [sys.executable, "-m", "streamview"]


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-500:]}")
    return elapsed


def imports(args: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
    """Modules imported by ``python -m streamview ARGS``, and the slowest (cumulative microseconds, name)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "streamview", *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, cwd=ROOT)
    names, slow = [], []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        name = parts[2].strip()
        names.append(name)
        slow.append((int(parts[1]), name))
    slow.sort(reverse=True)
    return names, slow


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=21, help="measured runs per command (default 21)")
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured rounds first (default 2)")
    ap.add_argument("--seed", default="gpt-4.1-nano-hello", help="bundled example to print (default gpt-4.1-nano-hello)")
    args = ap.parse_args(argv)

    seed = EXAMPLES / f"{args.seed}.sse"
    sv = entry_point()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "streamview --help": [*sv, "--help"],
        f"streamview print {seed.name}": [*sv, "print", str(seed)],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(args.warmup + args.runs):
        for name, cmd in commands.items():
            t = timed(cmd)
            if i >= args.warmup:
                times[name].append(t)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"streamview at {commit}; {args.runs} runs per command, median (range); entry point: {' '.join(sv)}")
    print()
    print("| command | median s | range s | over bare Python s | target < 0.3 s over | Textual imported |")
    print("|---|---:|---:|---:|---|---|")
    base = statistics.median(times["python -c pass"])
    verdicts = []
    for name, cmd in commands.items():
        ts = times[name]
        med = statistics.median(ts)
        if name == "python -c pass":
            print(f"| `{name}` | {med:.3f} | {min(ts):.3f}-{max(ts):.3f} | - | - | - |")
            continue
        mods, slow = imports(cmd[len(sv):])
        textual = sorted({m for m in mods if m == "textual" or m.startswith("textual.")})
        over = med - base
        ok = over < TARGET and not textual
        verdicts.append((name, ok, over, textual, slow))
        print(f"| `{name}` | {med:.3f} | {min(ts):.3f}-{max(ts):.3f} | {over:+.3f} | {'met' if over < TARGET else 'NOT met'} | "
              f"{'yes: ' + ', '.join(textual[:3]) if textual else 'no'} |")
    print()
    for name, ok, over, textual, slow in verdicts:
        top = ", ".join(f"{n} {us / 1000:.0f} ms" for us, n in slow[:5])
        print(f"- `{name}`: {'target met' if ok else 'target NOT met'}; slowest imports (cumulative): {top}")
    return 0 if all(v[1] for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
