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


def test_the_store_lends_its_own_times_when_every_event_has_one():
    """The timeline bins the store's own array of times (``EventStore.timed``: a view, no copy), which gives the
    same slices as the list of times; a store with an event without a time lends none; a view of the store's
    records lends only its own events' times; and once the view is let go the store grows again."""
    from streamview.events import StreamEvent
    from streamview.store import EventStore

    r = random.Random(3)
    store = EventStore()
    t = 0.0
    for i in range(500):
        t += r.random()
        store.append(StreamEvent(i, "event", "message", "{}", t, i + 1))
    with store.timed() as shared:
        assert list(shared) == store.times(0, 500)
        assert timeline_bins(shared, 40, 500, ordered=True) == timeline_bins(store.times(0, 500), 40, 500)
    part = store.view()
    part.extend([store[i] for i in range(120)])
    with part.timed() as shared:
        assert len(shared) == 120 and list(shared) == store.times(0, 120)
    store.append(StreamEvent(500, "event", "message", "{}", None, 501))  # grows again: the views were let go
    assert store.timed() is None and len(store.times(0, 501)) == 500
    with part.timed() as shared:  # the view's own events all have times
        assert len(shared) == 120
