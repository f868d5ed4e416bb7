"""The events pane's timeline (``render.timeline_bins``): for times in order, the slices found by bisection are
exactly the counts the one-by-one loop makes (ties, bursts, float edges), and out-of-order times still bin."""

from __future__ import annotations

import random

from streamview.render import timeline_bins


def test_bisection_gives_the_loop_s_counts_for_ordered_times():
    r = random.Random(7)
    for _ in range(300):
        n = r.randint(0, 3000)
        t, times = 0.0, []
        for _ in range(n):
            t += r.choice([0.0, 0.0, 1e-9, 0.001, 0.075, r.random() * 3])  # ties, bursts, stalls
            times.append(t)
        width = r.choice([1, 2, 7, 40, 199])
        assert timeline_bins(times, width, n, ordered=True) == timeline_bins(times, width, n)
    assert sum(timeline_bins([0.0, 1.0, 2.0, 3.0], 40, 4, ordered=True)) == 4


def test_out_of_order_times_are_binned_one_by_one():
    times = [0.0, 2.0, 1.0, 3.0, 0.5]
    counts = timeline_bins(times, 10, len(times))
    assert sum(counts) == 5 and len(counts) == 2
