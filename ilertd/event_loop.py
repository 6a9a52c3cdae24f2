"""Which event loop the daemon runs on: uvloop where installed, asyncio's own otherwise.

uvloop (libuv, the loop asyncpg's authors wrote) does the same work as asyncio's selector
loop in less CPU per socket read, write and callback; on 2 cores that is headroom every
HTTP request, database round trip and webhook shares. ``ILERTD_EVENT_LOOP=asyncio``
chooses the standard loop (for a platform uvloop does not build on, or to compare).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _uvloop() -> Any:
    """The uvloop module if it is chosen and installed, else None."""
    if os.environ.get("ILERTD_EVENT_LOOP", "uvloop") == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The chosen loop's constructor; None for asyncio's default."""
    uvloop = _uvloop()
    return None if uvloop is None else uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
