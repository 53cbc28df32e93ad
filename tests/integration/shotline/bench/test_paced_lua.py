"""``bench/paced.lua``, the e2e bench's load generator: every line of its file goes out
exactly once, in file order within a thread, on its schedule (not flat out)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shotline.bench.e2e import run_wrk
from shotline.dev.topology import free_port

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "wrk"], capture_output=True).returncode != 0,
    reason="wrk is installed by `make test` (bench-tools)",
)

RECORDER = """
import sys
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    sys.stdout.write(body.decode() + "\\n")
    sys.stdout.flush()
    status = 500 if body.startswith(b"fail") else 200
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})
"""


def _serve(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    (tmp_path / "recorder.py").write_text(RECORDER)
    port, out = free_port(), tmp_path / "received.txt"
    argv = [sys.executable, "-m", "uvicorn", "recorder:app", "--port", str(port)]
    server = subprocess.Popen([*argv, "--log-level", "error"], cwd=tmp_path, stdout=out.open("wb"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server, port, out
        time.sleep(0.1)
    server.kill()
    raise AssertionError("the recorder did not start")


def test_each_line_is_sent_once_at_the_asked_rate(tmp_path: Path) -> None:
    lines = [f"line-{n}" for n in range(200)]
    bodies = tmp_path / "bodies.txt"
    bodies.write_text("\n".join(lines) + "\n")
    server, port, out = _serve(tmp_path)
    try:
        sent = run_wrk(f"http://127.0.0.1:{port}", "/x", bodies, rate=100.0, seconds=2.0)
    finally:
        server.terminate()
        server.wait(10)
    received = out.read_text().split()
    assert sorted(received) == sorted(lines)  # each once: none lost, none twice
    assert sent.requests == 200
    assert sent.not_ok == 0
    assert sent.socket_errors == 0
    # 200 lines at 100/s: the last goes out about 2 s after the first, not at once
    assert 1.5 < sent.span_s < 3.0
    for thread in (0, 1):  # each thread keeps its share in file order
        share = [x for x in received if int(x.split("-")[1]) % 2 == thread]
        assert share == sorted(share, key=lambda x: int(x.split("-")[1]))


def test_refused_requests_are_counted(tmp_path: Path) -> None:
    bodies = tmp_path / "bodies.txt"
    bodies.write_text("ok-1\nfail-2\nok-3\nfail-4\n")
    server, port, _ = _serve(tmp_path)
    try:
        sent = run_wrk(f"http://127.0.0.1:{port}", "/x", bodies, rate=50.0, seconds=1.0)
    finally:
        server.terminate()
        server.wait(10)
    assert sent.requests == 4
    assert sent.not_ok == 2
