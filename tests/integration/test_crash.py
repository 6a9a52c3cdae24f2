"""SIGKILL an appending process: every append it acknowledged is in the store."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import asyncpg

HERE = Path(__file__).parent


async def test_every_acknowledged_append_survives_sigkill(dsn: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent.parent)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "crash_appender.py"),
        dsn,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    acknowledged: list[tuple[int, uuid.UUID, int, int]] = []
    try:
        assert proc.stdout is not None
        while len(acknowledged) < 2000:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line, "the appender died on its own"
            pos, sid, worker, n = line.split()
            acknowledged.append((int(pos), uuid.UUID(sid.decode()), int(worker), int(n)))
    finally:
        proc.send_signal(signal.SIGKILL)
        rest, _ = await proc.communicate()
    for line in rest.splitlines():  # acknowledged before the kill, read after it
        if line.count(b" ") == 3:
            pos, sid, worker, n = line.split()
            acknowledged.append((int(pos), uuid.UUID(sid.decode()), int(worker), int(n)))
    assert proc.returncode == -signal.SIGKILL

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT position, stream_id, data::text AS data FROM events")
    finally:
        await conn.close()
    stored = {r["position"]: (r["stream_id"], r["data"]) for r in rows}
    for pos, sid, worker, n in acknowledged:
        assert pos in stored, f"acknowledged position {pos} is missing"
        assert stored[pos][0] == sid
        assert f'"n": {n}' in stored[pos][1] and f'"worker": {worker}' in stored[pos][1]
    # positions stay dense: whatever committed is 1..max with no holes
    assert sorted(stored) == list(range(1, len(stored) + 1))
