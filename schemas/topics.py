"""Topic names and their specs. Names are ``<prefix>shotline.<event>.v<N>``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["TopicSpec", "Topics"]

_DAY_MS = 86_400_000


class TopicSpec(BaseModel):
    """How a topic is created: partitions, replication and its retention config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    partitions: int
    replication: int
    config: dict[str, str]


class Topics(BaseModel):
    """Every topic shotline uses, resolved against a configurable prefix."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefix: str = ""

    # One property per topic, alike in shape: each name is part of the contract, spelt out.
    def _name(self, event: str) -> str:
        return f"{self.prefix}shotline.{event}"

    @property
    def callbacks(self) -> str:
        return self._name("callbacks.v1")

    @property
    def rejected(self) -> str:
        return self._name("rejected.v1")

    @property
    def screenshots(self) -> str:
        return self._name("screenshots.v1")

    @property
    def enriched(self) -> str:
        return self._name("screenshots.enriched.v1")

    @property
    def s3events(self) -> str:
        """S3 ObjectCreated notifications (S3 event record shape), key ``bucket/key``."""
        return self._name("s3events.v1")

    @property
    def usage(self) -> str:
        return self._name("usage.v1")

    @property
    def moderation(self) -> str:
        return self._name("moderation.v1")

    @property
    def moderation_decisions(self) -> str:
        """Reviewers' decisions (console), compacted, key requestId."""
        return self._name("moderation.decisions.v1")

    @property
    def dlq(self) -> str:
        return self._name("dlq.v1")

    def group(self, processor: str) -> str:
        """The consumer group of ``processor``: ``<prefix>shotline-<processor>``. Behind the
        prefix, so prefixed deployments (and tests) sharing a cluster never share a group.
        The one place the name is built (runner, ``process --list``, the AsyncAPI page)."""
        return f"{self.prefix}shotline-{processor}"

    def specs(self, partitions: int = 6, replication: int = 1) -> list[TopicSpec]:
        """The create-time spec of every topic: event topics are retained by time,
        ``usage`` holds state and is compacted."""
        week = {"cleanup.policy": "delete", "retention.ms": str(7 * _DAY_MS)}
        month = {"cleanup.policy": "delete", "retention.ms": str(30 * _DAY_MS)}
        compacted = {
            "cleanup.policy": "compact",
            "min.compaction.lag.ms": "60000",
            # short segments so compaction keeps a restore's read close to one record per key
            "segment.ms": str(_DAY_MS // 24),
        }
        decisions = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}
        table = [
            (self.callbacks, partitions, week),
            (self.rejected, 1, week),
            (self.screenshots, partitions, week),
            (self.s3events, partitions, week),
            (self.enriched, partitions, week),
            (self.usage, partitions, compacted),
            (self.moderation, partitions, week),
            (self.moderation_decisions, partitions, decisions),
            (self.dlq, 1, month),
        ]
        return [
            TopicSpec(name=name, partitions=parts, replication=replication, config=dict(cfg))
            for name, parts, cfg in table
        ]
