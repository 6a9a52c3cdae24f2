"""``ilertd serve`` as a subprocess: embedded start, SIGTERM, kill -9, unreachable DB."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from .daemon import Daemon, run_cli


def postmaster_pid(data_dir: Path) -> int | None:
    pidfile = data_dir / "postgres" / "postmaster.pid"
    if not pidfile.exists():
        return None
    return int(pidfile.read_text().split()[0])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    # embedded PostgreSQL runs as another user when we are root: it must reach the dir
    tmp_path.chmod(0o755)
    return tmp_path


def test_embedded_serve_ready_sigterm_and_restarts_after_kill(workdir: Path) -> None:
    daemon = Daemon(workdir).start()
    try:
        daemon.wait_ready()
        assert daemon.get("/healthz") == (200, {"status": "ok"})
        key = daemon.admin_key()
        assert key, "the generated admin key is written to the key file"
        key_file = workdir / "data" / "admin-api-key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert key not in daemon.logs(), "never in the log (the journal, under systemd)"
        assert any(e.get("key_file") == str(key_file) for e in daemon.log_events())
        status, me = daemon.get("/api/users/current", key)
        assert status == 200 and me["role"] == "ADMIN" and me["username"] == "admin"
        assert daemon.get("/api/users/current")[0] == 401
        assert daemon.get("/api/users/current", "ilk_wrong")[0] == 403
        status, metrics = daemon.get("/metrics")
        assert status == 200
        assert "ilertd_events_appended_total 2.0" in metrics
        assert 'ilertd_projection_lag_events{projection="users"} 0.0' in metrics
        assert "ilertd_append_latency_seconds_bucket" in metrics
        assert any(e.get("request_id") for e in daemon.log_events() if e["event"] == "request")

        data_dir = workdir / "data"
        pg_pid = postmaster_pid(data_dir)
        assert pg_pid and alive(pg_pid)
        assert daemon.terminate() == 0
        assert postmaster_pid(data_dir) is None, "SIGTERM stops the embedded PostgreSQL"

        # kill -9 of ilertd: its PostgreSQL survives; a new start adopts it
        daemon = Daemon(workdir).start()
        daemon.wait_ready()
        daemon.kill()
        survivor = postmaster_pid(data_dir)
        assert survivor and alive(survivor)
        daemon = Daemon(workdir).start()
        daemon.wait_ready()
        assert daemon.get("/api/users/current", key)[0] == 200
        assert daemon.admin_key() == key, "no second admin, no second key"

        # kill -9 of both ilertd and its PostgreSQL: a new start recovers
        daemon.kill()
        pg_pid = postmaster_pid(data_dir)
        assert pg_pid
        os.kill(pg_pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(pg_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        daemon = Daemon(workdir).start()
        daemon.wait_ready()
        assert daemon.get("/api/users/current", key)[0] == 200
        assert daemon.terminate() == 0
    finally:
        daemon.close()
        pid = postmaster_pid(workdir / "data")
        if pid and alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_unreachable_database_retries_without_crashing(workdir: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://ilertd:s3cret-pw@127.0.0.1:{port}/ilertd"
    sock_path = str(workdir / "notify.sock")
    workdir.mkdir(parents=True, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(sock_path)
    listener.settimeout(30)
    daemon = Daemon(
        workdir,
        ILERTD_DATABASE_URL=url,
        ILERTD_DATABASE_CONNECT_RETRY_S="0.3",
        NOTIFY_SOCKET=sock_path,
    ).start()
    try:
        # systemd hears what the start waits for, and extends its start timeout each time
        waiting = listener.recv(4096).decode()
        assert waiting.startswith("STATUS=waiting for database (unreachable"), waiting
        assert "EXTEND_TIMEOUT_USEC=" in waiting and "s3cret-pw" not in waiting
        daemon.wait_until(lambda: daemon.get("/healthz")[0] == 200, 30, "/healthz")
        status, body = daemon.get("/readyz")
        assert status == 503 and body["status"] == "starting"
        daemon.wait_until(
            lambda: (
                sum(e["event"] == "database unreachable; retrying" for e in daemon.log_events())
                >= 3
            ),
            30,
            "three retry log lines",
        )
        retry = next(e for e in daemon.log_events() if e["event"].startswith("database unre"))
        assert retry["database"] == f"postgresql://ilertd:********@127.0.0.1:{port}/ilertd"
        assert "s3cret-pw" not in daemon.logs()
        assert daemon.get("/api/users/current", "ilk_x")[0] == 503
        assert daemon.proc is not None and daemon.proc.poll() is None
        assert daemon.terminate() == 0
    finally:
        listener.close()
        daemon.close()


def test_systemd_notify_ready_watchdog_stopping(workdir: Path, dsn: str) -> None:
    sock_path = str(workdir / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(sock_path)
    listener.settimeout(60)
    daemon = Daemon(
        workdir,
        ILERTD_DATABASE_URL=dsn,
        ILERTD_ADMIN_API_KEY="ilk_test_admin_key_0123456789abcdef",
        NOTIFY_SOCKET=sock_path,
        WATCHDOG_USEC="400000",
    ).start()
    try:
        messages: list[str] = []

        def receive_until(marker: str) -> None:
            while not any(marker in m for m in messages):
                messages.append(listener.recv(4096).decode())

        receive_until("READY=1")
        assert daemon.get("/readyz")[0] == 200
        messages.clear()
        receive_until("WATCHDOG=1")
        status, me = daemon.get("/api/users/current", "ilk_test_admin_key_0123456789abcdef")
        assert status == 200 and me["role"] == "ADMIN"
        assert daemon.admin_key() is None or "ilk_test_admin_key" not in daemon.logs()
        daemon.proc.send_signal(signal.SIGTERM)
        receive_until("STOPPING=1")
        assert daemon.proc.wait(30) == 0
    finally:
        listener.close()
        daemon.close()

    env = daemon.env
    replay = run_cli("replay", "--stream", "ec1cbd3f-3c29-5a4b-a3ad-b0dd37c3b46d", env=env)
    assert replay.returncode == 1  # an unknown stream says so
    from ilertd.bootstrap import BOOTSTRAP_ADMIN_ID

    replay = run_cli("replay", "--stream", str(BOOTSTRAP_ADMIN_ID), "--json", env=env)
    assert replay.returncode == 0, replay.stderr
    import json

    types = [json.loads(line)["type"] for line in replay.stdout.splitlines()]
    assert types == ["user-registered", "user-api-key-issued"]
    rebuild = run_cli("rebuild", "users", env=env)
    assert rebuild.returncode == 0, rebuild.stderr
    assert "rebuilt users up to position 2" in rebuild.stdout
    migrate = run_cli("migrate", env=env)
    assert migrate.returncode == 0 and "up to date" in migrate.stdout

    # a lost admin key: reset-key revokes it and prints a new one, once
    reset = run_cli("admin", "reset-key", env=env)
    assert reset.returncode == 0, reset.stderr
    (new_key,) = re.findall(r"^    (ilk_\S+)$", reset.stdout, re.M)
    again = Daemon(
        workdir, ILERTD_DATABASE_URL=dsn, ILERTD_ADMIN_API_KEY="ilk_test_admin_key_0123456789abcdef"
    )
    again.start()
    try:
        again.wait_ready()
        assert again.get("/api/users/current", new_key)[0] == 200
        assert again.get("/api/users/current", "ilk_test_admin_key_0123456789abcdef")[0] == 403
        assert "ILERTD_ADMIN_API_KEY ignored" in again.logs()
        assert new_key not in again.logs() and "ilk_test_admin_key" not in again.logs()
    finally:
        again.close()
