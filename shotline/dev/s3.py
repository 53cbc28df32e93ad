"""The local S3-compatible server: moto in server mode on loopback (in memory).

Production points at AWS S3, MinIO or any S3 API; this one is for development and tests.
Its contents do not survive ``down``.
"""

from __future__ import annotations

import sys
import time

from schemas.extras import require_extra
from shotline.dev.probe import http_answers
from shotline.dev.process import BackgroundProcess
from shotline.dev.settings import DevSettings
from shotline.errors import ServiceError

__all__ = ["S3Server"]


class S3Server:
    def __init__(self, settings: DevSettings) -> None:
        self.settings = settings
        run = settings.home / "run"
        self.process = BackgroundProcess(
            name="s3",
            pid_file=run / "s3.pid",
            log_file=run / "s3.log",
            marker="moto.server",
        )

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.settings.s3_port}"

    def up(self) -> bool:
        # moto is in the dev extra: a production install says so instead of a traceback
        require_extra("dev", "moto", feature="the local S3 server (shotline dev up|run)")
        if self.process.pid() is not None:
            return False
        if http_answers(f"{self.address}/moto-api/"):
            raise ServiceError(
                f"port {self.settings.s3_port} is taken by another process; "
                "stop it or set SHOTLINE_DEV_S3_PORT"
            )
        argv = [
            sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
            "-p", str(self.settings.s3_port),
        ]  # fmt: skip
        self.process.start(argv)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.pid() is None:
                raise ServiceError(f"the S3 server exited; see {self.process.log_file}")
            if http_answers(f"{self.address}/moto-api/"):
                return True
            time.sleep(0.2)
        raise ServiceError(f"the S3 server did not answer in time; see {self.process.log_file}")

    def down(self) -> bool:
        return self.process.stop(timeout_s=10)
