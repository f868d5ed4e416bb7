"""Memory a huge event took goes back to the system once it has gone (``streamview.memory``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = r"""
import sys
def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
if sys.argv[1] == "tuned":
    from streamview.memory import keep_mmap_threshold
    assert keep_mmap_threshold()
x = b"h" * (20 << 20)  # a huge event's text comes and goes: glibc would raise its mmap threshold to 20 MB
del x
base = rss()
blocks = [b"x" * (1 << 20) for _ in range(60)]  # then 60 blocks of 1 MB, and small ones after them
grown = rss() - base
pins = [bytearray(1000) for _ in range(2000)]
del blocks
print(round(grown), round(rss() - base))
"""


def _run(mode: str) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True).stdout
    grown, kept = out.split()
    return int(grown), int(kept)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mmap threshold: Linux only")
def test_freed_blocks_go_back_to_the_system():
    grown, kept = _run("plain")
    if kept < grown // 2:
        pytest.skip("this C library returns such blocks anyway (not glibc's moving threshold)")
    assert grown >= 55  # the blocks were resident
    grown, kept = _run("tuned")
    assert grown >= 55
    assert kept <= 10, f"{kept} MB of 60 freed MB still resident"
