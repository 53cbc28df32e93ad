"""``bench/paced.lua``, the e2e bench's load generator: every line of its file goes out
exactly once, in file order within a thread, at its own due time (not flat out)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shotline.bench.e2e import Sent, run_wrk
from shotline.dev.topology import free_port

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "wrk"], capture_output=True).returncode != 0,
    reason="wrk is installed by `make test` (bench-tools)",
)

RECORDER = """
import sys, time
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    parts, more = [], True
    while more:  # the whole body, however uvicorn splits it
        message = await receive()
        parts.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(parts)
    sys.stdout.write(f"{body.decode()} {time.time()}\\n")
    sys.stdout.flush()
    status = 500 if body.startswith(b"fail") else 200
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})
"""


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _send(
    tmp_path: Path, lines: list[str], rate: float, connections: int, dues: list[float] | None = None
) -> tuple[list[str], Sent, dict[str, float]]:
    """Serve the recorder, have wrk send ``lines`` at ``rate`` (or each at its due time in
    ``dues``, ms); what arrived, wrk's report, and when (Unix seconds) each body arrived."""
    bodies, out = tmp_path / "bodies.txt", tmp_path / "received.txt"
    due_ms = dues if dues is not None else [n * 1000 / rate for n in range(len(lines))]
    bodies.write_text(
        "".join(f"{due:.3f} {line}\n" for due, line in zip(due_ms, lines, strict=True))
    )
    (tmp_path / "recorder.py").write_text(RECORDER)
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "recorder:app", "--port", str(port)]
    server = subprocess.Popen([*argv, "--log-level", "error"], cwd=tmp_path, stdout=out.open("wb"))
    try:
        deadline = time.monotonic() + 20
        while not _listening(port):
            assert time.monotonic() < deadline, "the recorder did not start"
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        sent = run_wrk(url, "/x", bodies, due_ms[-1] / 1000, connections=connections)
    finally:
        server.terminate()
        server.wait(10)
    arrivals = [line.split() for line in out.read_text().splitlines()]
    return [body for body, _ in arrivals], sent, {body: float(at) for body, at in arrivals}


def test_each_line_is_sent_once_at_the_asked_rate(tmp_path: Path) -> None:
    lines = [f"line-{n}" for n in range(200)]
    received, sent, _ = _send(tmp_path, lines, 100.0, connections=8)
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
    received, sent, _ = _send(tmp_path, ["ok-1", "fail-2", "ok-3", "fail-4"], 50.0, connections=4)
    assert sorted(received) == ["fail-2", "fail-4", "ok-1", "ok-3"]
    assert sent.requests == 4
    assert sent.not_ok == 2


def test_each_line_goes_out_at_its_own_due_time(tmp_path: Path) -> None:
    # 50 lines in the first quarter second, then one line 2 s in: a quiet gap, not a rate
    lines = [f"early-{n}" for n in range(50)] + ["late-50"]
    dues = [n * 5.0 for n in range(50)] + [2000.0]
    received, sent, _ = _send(tmp_path, lines, 0.0, connections=4, dues=dues)
    assert sorted(received) == sorted(lines)
    assert received[-1] == "late-50"
    assert 1.8 < sent.span_s < 2.5  # the last one waited for its time


def test_each_thread_reports_its_start_so_every_line_has_a_due_time(tmp_path: Path) -> None:
    # 4,000 lines: each thread reads them all before its clock starts, so the threads start
    # apart, and a due time counted from wrk's launch would be early
    lines = [f"line-{n}-{'x' * 200}" for n in range(4000)]
    launched = time.time()
    received, sent, arrivals = _send(tmp_path, lines, 2000.0, connections=16)
    assert sorted(received) == sorted(lines)
    assert len(sent.starts) == 2  # one per wrk thread
    for thread, start in enumerate(sent.starts):  # before the first of its own lines
        assert launched < start < min(arrivals[x] for x in lines[thread::2])
    late = []
    for n, line in enumerate(lines):
        due = sent.due(n, n / 2000.0)
        # sent at its due time or after (wrk's timers count whole milliseconds: allow 2)
        assert arrivals[line] >= due - 0.002, (n, arrivals[line] - due)
        late.append(arrivals[line] - due)
    assert sorted(late)[len(late) // 2] < 0.1  # an idle recorder: most arrive promptly
