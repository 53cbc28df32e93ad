"""What the local pipeline consists of: which stages exist, their ports, their config.

Every built-in processor runs, each in its own process with its own metrics port, in the
order of ``processors.registry.BUILTINS`` (pipeline order), then ingest. A new processor is
registered there, in one place, and shows up here, in ``process --list`` and on the
AsyncAPI page without a change.
"""

from __future__ import annotations

import random
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from processors.registry import BUILTINS
from shotline.dev.pipeline import Stage

__all__ = [
    "Layout",
    "builtin_processors",
    "console_stage",
    "free_port",
    "free_port_base",
    "s3events_stage",
    "shotline_argv",
    "stages",
    "write_config",
]


def shotline_argv() -> tuple[str, ...]:
    """How to call this installation's ``shotline`` command."""
    beside = Path(sys.executable).parent / "shotline"
    if beside.exists():
        return (str(beside),)
    found = shutil.which("shotline")
    if found:
        return (found,)
    return (sys.executable, "-c", "from shotline.cli import main; main()")


def builtin_processors() -> list[str]:
    """Names of the built-in processors, in pipeline order (``BUILTINS``' order)."""
    return list(BUILTINS)


def _ephemeral_low(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> int:
    """The lowest port the kernel hands out to outgoing connections (32768 if unknown)."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port_base(count: int) -> int:
    """A port p such that p .. p+count-1 are all free on loopback right now.

    Chosen below the kernel's ephemeral range: a port from inside it can be taken by any
    outgoing connection (a Kafka client, say) between this probe and the server's bind."""
    high = _ephemeral_low() - count
    for _ in range(200):
        base = random.randrange(10_000, max(10_001, high))
        socks: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise OSError(f"no {count} consecutive free ports on loopback")


def free_port() -> int:
    """One free port on loopback, outside the ephemeral range (see ``free_port_base``)."""
    return free_port_base(1)


@dataclass(frozen=True)
class Layout:
    """Where the local pipeline listens."""

    host: str = "127.0.0.1"
    ingest_port: int = 8080
    processor_base_port: int = 9100  # processor i serves /metrics on base + i
    project: str = "demo"
    console_port: int = 8070  # the review console, which serves the AsyncAPI document too

    @property
    def callback_url(self) -> str:
        return f"http://{self.host}:{self.ingest_port}/v1/callbacks/{self.project}"

    def processor_port(self, index: int) -> int:
        return self.processor_base_port + index


# How long the broker holds each stage's fetches (docs/processors.md#settings), where it
# differs from the runner's 150 ms. enrich is on the record path and at least once (a poll
# costs it one offset commit): 60 ms took about 50 ms off its hop at the median and 200 ms
# at p99 for 1-2 % of a core. tally and metrics are off it (their output is the bill, which
# may be seconds behind) and exactly once (a poll costs a transaction per input partition):
# 500 ms saved them and the Kafka node about 5 % of a core at 2,000 screenshots/s.
FETCH_WAIT_MS = {"enrich": 60, "tally": 500, "metrics": 500}


def stages(layout: Layout, processors: list[str]) -> list[Stage]:
    """Processors first (so consumers are up before records arrive), then ingest."""
    cmd = shotline_argv()
    out: list[Stage] = []
    for index, name in enumerate(processors):
        port = layout.processor_port(index)
        base = f"http://{layout.host}:{port}"
        out.append(
            Stage(
                name=name,
                argv=(*cmd, "process", name, "--port", str(port)),
                health_url=f"{base}/healthz",
                metrics_url=f"{base}/metrics",
                defaults=_fetch_wait(name),
            )
        )
    base = f"http://{layout.host}:{layout.ingest_port}"
    out.append(
        Stage(
            name="ingest",
            argv=(*cmd, "ingest", "--host", layout.host, "--port", str(layout.ingest_port)),
            health_url=f"{base}/readyz",
            metrics_url=f"{base}/metrics",
        )
    )
    return out


def _fetch_wait(processor: str) -> tuple[tuple[str, str], ...]:
    wait = FETCH_WAIT_MS.get(processor)
    return () if wait is None else (("SHOTLINE_PROCESSORS_FETCH_MAX_WAIT_MS", str(wait)),)


def s3events_stage(queue_url: str, layout: Layout, port: int) -> Stage:
    """The SQS → Kafka bridge of the demo project's S3 events, /metrics on ``port``."""
    argv = (*shotline_argv(), "s3-events", "--sqs-queue-url", queue_url,
            "--project", layout.project, "--port", str(port), "--wait-s", "5")  # fmt: skip
    return Stage("s3-events", argv, metrics_url=f"http://{layout.host}:{port}/metrics")


def console_stage(layout: Layout, metrics_port: int) -> Stage:
    """The review console (``shotline console``), which also serves the AsyncAPI document
    offline (``/asyncapi``, ``/asyncapi.json``)."""
    base = f"http://{layout.host}:{layout.console_port}"
    argv = (*shotline_argv(), "console", "--host", layout.host,
            "--port", str(layout.console_port), "--metrics-port", str(metrics_port))  # fmt: skip
    return Stage("console", argv, health_url=f"{base}/healthz")


def write_config(
    path: Path, layout: Layout, bucket: str, s3_endpoint: str, extra_toml: str = ""
) -> Path:
    """Write the pipeline's TOML (the demo project: callback address, bucket, S3 keys)."""
    text = (
        f'[projects."{layout.project}"]\n'
        f'callback_addr = "{layout.callback_url}"\n'
        'checksum = "enforce"\n'
        f'bucket = "{bucket}"\n'
        f's3_endpoint = "{s3_endpoint}"\n'
        's3_access_key = "testing"\n'
        's3_secret_key = "testing"\n'
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + extra_toml)
    return path
