"""Runs ``ilertd`` as a real subprocess for end-to-end tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**overrides: str) -> dict[str, str]:
    ours = ("ILERTD_", "NOTIFY_", "WATCHDOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env["PYTHONPATH"] = str(ROOT)
    env["ILERTD_LOG_FORMAT"] = "json"
    env.update(overrides)
    return env


def run_cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ilertd", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def http(method: str, url: str, *, key: str | None = None, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, method=method, data=data)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode()


class Daemon:
    """``ilertd serve`` on a free port; logs go to a file so nothing blocks on a pipe."""

    def __init__(self, workdir: Path, **env: str) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.log_path = workdir / f"ilertd-{self.port}.log"
        self.env = base_env(
            ILERTD_HTTP_LISTEN=f"127.0.0.1:{self.port}",
            ILERTD_DATA_DIR=str(workdir / "data"),
            **env,
        )
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Daemon:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ilertd", "serve"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        log.close()
        return self

    def logs(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def log_events(self) -> list[dict]:
        events = []
        for line in self.logs().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    events.append(json.loads(line))
        return events

    def get(self, path: str, key: str | None = None) -> tuple[int, Any]:
        return http("GET", self.url + path, key=key)

    def wait_until(self, predicate, timeout: float = 60, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"ilertd exited {self.proc.returncode}:\n{self.logs()}")
            try:
                if predicate():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.logs()[-4000:]}")

    def wait_ready(self, timeout: float = 90) -> None:
        self.wait_until(lambda: self.get("/readyz")[0] == 200, timeout, "/readyz 200")

    def admin_key(self) -> str | None:
        """The generated admin key: stdout is no terminal here, so ilertd wrote it to the
        key file in its data directory (never to its log)."""
        key_file = Path(self.env["ILERTD_DATA_DIR"]) / "admin-api-key"
        return key_file.read_text().strip() if key_file.exists() else None

    def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def children(self) -> list[int]:
        """Pids of this daemon's child processes (its engine process)."""
        assert self.proc is not None
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    if int(stat[1]) == self.proc.pid:
                        found.append(int(entry.name))
        return found

    def kill_all(self) -> None:
        """SIGKILL the daemon and its engine process at once: a crash of both."""
        assert self.proc is not None
        children = self.children()
        self.proc.kill()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
