"""The ingest benchmark's lightest honest baseline: what a competent engineer writes first.

Raw ASGI, the standard library's ``json``, the md5 checksum compared in constant time, an
idempotent ``acks=all`` aiokafka producer with the same ``linger_ms`` as shotline's, and 200
only after the broker's ack. No schema model, no spool, no deadline, no metrics, no security
checks beyond the checksum. shotline's ingest is measured against it in the same run.

Standalone on purpose (imports nothing from shotline). Configure with ``BENCH_KAFKA_BOOTSTRAP``,
``BENCH_TOPIC``, ``BENCH_CALLBACK_ADDR``, ``BENCH_LINGER_MS``; run with
``uvicorn bench.minimal_app:app --loop uvloop --http httptools``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from aiokafka import AIOKafkaProducer

BOOTSTRAP = os.environ.get("BENCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
TOPIC = os.environ.get("BENCH_TOPIC", "bench.shotline.callbacks.v1")
CALLBACK_ADDR = os.environ.get("BENCH_CALLBACK_ADDR", "http://127.0.0.1/v1/callbacks/bench")
LINGER_MS = int(os.environ.get("BENCH_LINGER_MS", "5"))

OK = b'{"status":"ok"}'
BAD = b'{"status":"error"}'


class Minimal:
    def __init__(self) -> None:
        self.producer: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.producer = AIOKafkaProducer(
                        bootstrap_servers=BOOTSTRAP,
                        acks="all",
                        enable_idempotence=True,
                        linger_ms=LINGER_MS,
                    )
                    await self.producer.start()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.producer.stop()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            callback = json.loads(body)
            request_id = callback["requestId"]
            text = f"{CALLBACK_ADDR}{callback['code']}{callback['object']}{request_id}"
            given = callback["checksum"].lower().encode()
        except (ValueError, KeyError, TypeError, AttributeError):
            await _answer(send, 400, BAD)
            return
        expected = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest().encode()
        if not hmac.compare_digest(expected, given):
            await _answer(send, 401, BAD)
            return
        await (await self.producer.send(TOPIC, body, key=str(request_id).encode()))
        await _answer(send, 200, OK)


async def _answer(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


app = Minimal()
