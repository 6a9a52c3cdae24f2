"""Projection.apply_runs: consecutive events of one kind go to their run handler together,
in order with everything else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from projections.base import Projection


@dataclass(frozen=True)
class Event:
    position: int
    type: str


class Recorder(Projection):
    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int]]] = []

    async def setup(self, conn: Any) -> None:
        pass

    async def handle(self, conn: Any, event: Any) -> None:
        self.calls.append(("one", [event.position]))

    async def created(self, conn: Any, run: list[Any]) -> None:
        self.calls.append(("created", [e.position for e in run]))

    async def received(self, conn: Any, run: list[Any]) -> None:
        self.calls.append(("received", [e.position for e in run]))

    def run_of(self, event: Any) -> Any:
        return {"created": self.created, "received": self.received}.get(event.type)


async def test_runs_keep_the_order_of_the_batch() -> None:
    kinds = ["created", "created", "received", "other", "received", "received", "created"]
    events = [Event(i, kind) for i, kind in enumerate(kinds, start=1)]
    recorder = Recorder()
    await recorder.apply_runs(None, events, recorder.run_of)  # type: ignore[arg-type]
    assert recorder.calls == [
        ("created", [1, 2]),
        ("received", [3]),
        ("one", [4]),
        ("received", [5, 6]),
        ("created", [7]),
    ]


async def test_a_batch_without_runs_goes_one_by_one() -> None:
    recorder = Recorder()
    await recorder.apply_runs(None, [Event(1, "x"), Event(2, "y")], recorder.run_of)  # type: ignore[arg-type]
    assert recorder.calls == [("one", [1]), ("one", [2])]
    empty = Recorder()
    await empty.apply_runs(None, [], empty.run_of)  # type: ignore[arg-type]
    assert empty.calls == []
