"""``dynaccount-agent run`` under a stand-in for systemd: a real AF_UNIX datagram socket in NOTIFY_SOCKET."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.sandbox.demo import CK, CS, WEBHOOK_SECRET, free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    yield path, sock
    sock.close()


def config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(f"""
[server]
port = {port}
[journal]
path = "{tmp_path / 'journal.sqlite3'}"
[woocommerce]
url = "http://127.0.0.1:9"
consumer_key = "{CK}"
consumer_secret = "{CS}"
webhook_secret = "{WEBHOOK_SECRET}"
[dynaccount]
api_id = 1
api_key = "k"
api_secret = "s"
base_url = "http://127.0.0.1:9"
[worker]
poll_seconds = 0.1
[sweep]
enabled = false
""")
    return path


def messages(sock: socket.socket) -> Iterator[dict[str, str]]:
    while True:
        raw = sock.recv(4096).decode()
        yield dict(line.split("=", 1) for line in raw.splitlines())


def test_ready_only_when_listening_then_watchdog_then_stopping(
    tmp_path: Path, notify_socket: tuple[str, socket.socket]
) -> None:
    path, sock = notify_socket
    port = free_port()
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"}  # ping every 0.2 s
    proc = subprocess.Popen([sys.executable, "-m", "agent", "run", "--config", str(config(tmp_path, port))],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        received = messages(sock)
        first = next(received)
        assert first.get("READY") == "1", first
        assert first["STATUS"] == f"listening on 127.0.0.1:{port}; 0 pending, 0 running, 0 failed, 0 held"
        # READY=1 means it: the listener is bound and the journal answers, at once, without retrying
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            assert resp.status == 200 and b'"ok": true' in resp.read()
        assert [next(received) for _ in range(2)] == [{"WATCHDOG": "1"}] * 2  # from the worker loop
        proc.send_signal(signal.SIGTERM)
        rest = []
        for msg in received:
            rest.append(msg)
            if "STOPPING" in msg:
                break
        assert rest[-1] == {"STOPPING": "1", "STATUS": "stopping"}
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert "Traceback" not in err, err
    assert "journal closed" in err
