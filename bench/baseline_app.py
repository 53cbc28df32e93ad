"""The ingest benchmark's baseline: the least a receiver can do and still be honest.

Raw ASGI, orjson, one pydantic validation, the md5 checksum, an idempotent ``acks=all``
aiokafka producer, and 200 only after the broker's ack. No spool, no deadline, no metrics,
no security checks: what shotline's ingest adds costs the difference.

Standalone on purpose (imports nothing from shotline). Configure with environment variables
``BENCH_KAFKA_BOOTSTRAP``, ``BENCH_TOPIC``, ``BENCH_CALLBACK_ADDR``, ``BENCH_LINGER_MS``; run with
``uvicorn bench.baseline_app:app --loop uvloop --http httptools``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel, ValidationError

BOOTSTRAP = os.environ.get("BENCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
TOPIC = os.environ.get("BENCH_TOPIC", "bench.shotline.callbacks.v1")
CALLBACK_ADDR = os.environ.get("BENCH_CALLBACK_ADDR", "http://127.0.0.1/v1/callbacks/bench")
LINGER_MS = int(os.environ.get("BENCH_LINGER_MS", "5"))


class Callback(BaseModel):
    requestId: str
    checksum: str
    object: str
    code: int
    channelName: str
    userId: str
    timestamp: int | str


class Baseline:
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
            callback = Callback.model_validate(orjson.loads(body))
        except (orjson.JSONDecodeError, ValidationError):
            await _answer(send, 400, b'{"status":"error"}')
            return
        text = f"{CALLBACK_ADDR}{callback.code}{callback.object}{callback.requestId}"
        expected = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
        if not hmac.compare_digest(expected.encode(), callback.checksum.lower().encode()):
            await _answer(send, 401, b'{"status":"error"}')
            return
        fut = await self.producer.send(TOPIC, body, key=callback.requestId.encode())
        await fut
        await _answer(send, 200, b'{"status":"ok"}')


async def _answer(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


app = Baseline()
