"""The README's curl walk-through, run as written against a real daemon: a new user who
follows it gets what its comments say (the block's ``# "..."`` comments are asserted)."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..pg import create_database, drop_database
from .daemon import ROOT, Daemon, http

ADMIN = "ilk_walkthrough_admin_key_0123456789abcdef"
HEADING = "### Walk-through: a service, its status page, an incident and maintenance"


def walkthrough() -> str:
    """The first ``sh`` block after the walk-through's heading."""
    text = (ROOT / "README.md").read_text()
    after = text[text.index(HEADING) :]
    return re.search(r"```sh\n(.*?)```", after, re.S).group(1)  # type: ignore[union-attr]


@pytest.fixture
def daemon(admin_dsn: str, tmp_path: Path) -> Iterator[Daemon]:
    database = asyncio.run(create_database(admin_dsn))
    daemon = Daemon(tmp_path, ILERTD_DATABASE_URL=database, ILERTD_ADMIN_API_KEY=ADMIN)
    try:
        daemon.start().wait_ready()
        yield daemon
    finally:
        daemon.close()
        asyncio.run(drop_database(admin_dsn, database))


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl, jq")
def test_the_walkthrough_does_what_its_comments_say(daemon: Daemon) -> None:
    script = walkthrough()
    assert "KEY=...   #" in script and "API=http://127.0.0.1:8080" in script
    script = script.replace("KEY=...", f"KEY={ADMIN}", 1).replace(
        "API=http://127.0.0.1:8080", f"API={daemon.url}", 1
    )
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{daemon.logs()[-3000:]}"
    # each `| jq .status   # "X"` line printed what its comment promises, in order
    promised = re.findall(r'jq \.status\s+# ("[A-Z_]+")', script)
    assert len(promised) == 4
    printed = [line for line in done.stdout.splitlines() if re.fullmatch(r'"[A-Z_]+"', line)]
    assert printed == promised
    status, incidents = http("GET", daemon.url + "/api/incidents", key=ADMIN)
    assert status == 200 and [i["status"] for i in incidents] == ["RESOLVED"]
    status, page = http("GET", daemon.url + "/status/acme")
    assert status == 200 and "Fixed." in page and "SEV2" not in page
