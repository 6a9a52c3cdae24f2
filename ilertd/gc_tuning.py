"""Garbage collection tuned for a long-running daemon with a large, stable heap.

With CPython's defaults (a young collection every 700 net allocations) the full
collections that follow scan every object the daemon holds: imported modules, the API's
route table, caches of recent alerts. bench/ingest.py measured them at 40-60 ms each,
twenty times in a 14 s run, and they were the whole p99 (p99 53-65 ms, p50 10 ms) and 25%
of the CPU per event. Freezing what start-up built moves it out of every later collection
(it lives as long as the process anyway), and a larger young generation makes collections
rarer; reference counting still frees almost everything at once, so memory stays flat.
After both: p99 17-19 ms at a higher rate, 0.22 -> 0.17 ms of CPU per event.
"""

from __future__ import annotations

import gc

#: Net allocations between young collections (CPython's default is 700).
YOUNG_THRESHOLD = 50_000
#: Young collections per middle one, middle ones per full one (defaults 10 and 10).
OLDER_THRESHOLDS = (20, 100)


def tune_collector() -> None:
    """Make collections rare; call once at process start."""
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)


def freeze_startup_heap() -> None:
    """Exclude everything alive now from later collections; call once start-up is done."""
    gc.collect()
    gc.freeze()
