"""The quota layer around one provider: every call goes through ``Guard.run``.

Order of one attempt: the Retry-After gate (the whole provider waits; a wait longer than
``max_wait_s`` raises ``ProviderPaused`` instead), the breaker (open: ``ProviderPaused``),
the concurrency cap, the token bucket (one token per image), then the call under
``timeout_s``. Transient failures (``ProviderRetriable``) are retried with exponential
backoff and full jitter until ``max_attempts`` calls were made (``BudgetExhausted``); a
``Retry-After`` they carry closes the gate for every caller. Refusals pass through.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from processors.errors import (
    BudgetExhausted,
    ProviderPaused,
    ProviderRejected,
    ProviderRetriable,
)
from processors.moderate.observe import ModerationMetrics
from processors.moderate.providers.base import ImageRequest, ModerationProvider, ProviderAnswer
from processors.moderate.quota import Breaker, Gate
from processors.moderate.settings import QuotaConfig
from processors.pacing import TokenBucket, backoff_s

__all__ = ["Guard"]


class Guard:
    def __init__(
        self,
        provider: ModerationProvider,
        quota: QuotaConfig,
        max_attempts: int,
        metrics: ModerationMetrics,
    ) -> None:
        self.provider = provider
        self.name = provider.name
        self.quota = quota
        self.max_attempts = max_attempts
        rate = quota.rate_per_s * (1 - quota.rate_margin)
        self.bucket = TokenBucket(rate, quota.burst, time.monotonic())
        self.gate = Gate()
        self.breaker = Breaker(quota.breaker_failures, quota.breaker_open_s)
        self._slots = asyncio.Semaphore(quota.concurrency)
        self._metrics = metrics
        metrics.breaker_state.labels(self.name).set(0)

    async def run(
        self, items: Sequence[ImageRequest]
    ) -> Sequence[ProviderAnswer | ProviderRejected]:
        """Answers for ``items`` (at most ``provider.batch_size``), in order."""
        last = "no attempt"
        initial_s, max_s = self.quota.backoff_initial_s, self.quota.backoff_max_s
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await self._attempt(items)
            except ProviderRetriable as exc:
                last = str(exc)
                if exc.retry_after_s is not None:
                    self.gate.close_for(exc.retry_after_s)
                if attempt < self.max_attempts:  # full jitter: many callers spread out
                    await asyncio.sleep(backoff_s(attempt, initial_s, max_s, jitter="full"))
        raise BudgetExhausted(
            f"provider {self.name}: {self.max_attempts} attempts failed, last: {last}",
            self.max_attempts,
        )

    async def _wait_gate(self) -> None:
        """Wait out the provider's Retry-After, or pause the partitions if it is long."""
        while (wait := self.gate.wait_s()) > 0:
            if wait > self.quota.max_wait_s:
                raise ProviderPaused(self.name, wait, "retry_after")
            self._metrics.throttled_seconds.labels(self.name, "retry_after").inc(wait)
            await asyncio.sleep(wait)

    async def _wait_gate_and_breaker(self) -> None:
        await self._wait_gate()
        closed_for = self.breaker.admit()
        self._metrics.breaker_state.labels(self.name).set(int(self.breaker.state))
        if closed_for > 0:
            raise ProviderPaused(self.name, closed_for, "breaker_open")

    async def _wait_gate_and_bucket(self, images: int) -> None:
        """The gate again (a 429 may have come while this call queued for a slot), then the
        bucket's tokens; the call is sent right after, with no wait in between."""
        while True:
            await self._wait_gate()
            wait = self.bucket.take(time.monotonic(), images)
            if wait == 0:
                return
            self._metrics.throttled_seconds.labels(self.name, "rate").inc(wait)
            await asyncio.sleep(wait)

    async def _attempt(
        self, items: Sequence[ImageRequest]
    ) -> Sequence[ProviderAnswer | ProviderRejected]:
        metrics = self._metrics
        await self._wait_gate_and_breaker()
        try:
            async with self._slots:
                await self._wait_gate_and_bucket(len(items))
                started = time.perf_counter()
                outcome = "error"
                try:
                    async with asyncio.timeout(self.quota.timeout_s):
                        answers = await self.provider.call(items)
                    outcome = "ok"
                except TimeoutError as exc:
                    outcome = "timeout"
                    raise ProviderRetriable(
                        f"provider {self.name}: no answer within {self.quota.timeout_s} s",
                        "timeout",
                    ) from exc
                except ProviderRetriable as exc:
                    outcome = exc.cause
                    raise
                except ProviderRejected:
                    outcome = "rejected"
                    raise
                finally:
                    elapsed = time.perf_counter() - started
                    metrics.latency.labels(self.name, outcome).observe(elapsed)
                    metrics.calls.labels(self.name, outcome).inc()
        except ProviderRetriable as exc:
            # a 429 that says when to come back is the quota speaking, not a failing provider
            if not (exc.cause == "status_429" and exc.retry_after_s is not None):
                self.breaker.failure()
            else:
                self.breaker.success()
            metrics.breaker_state.labels(self.name).set(int(self.breaker.state))
            raise
        except ProviderRejected:
            self.breaker.success()  # it answered
            raise
        except BaseException:  # cancelled, or an adapter bug: no verdict on the provider
            self.breaker.abandon()
            raise
        self.breaker.success()
        metrics.breaker_state.labels(self.name).set(int(self.breaker.state))
        if len(answers) != len(items):
            raise ProviderRejected(
                f"provider {self.name}: {len(answers)} answers for {len(items)} images"
            )
        return answers
