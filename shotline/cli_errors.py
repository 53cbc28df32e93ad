"""The errors every command may stop on before doing any work: invalid settings, Kafka
settings that cannot work, and a Kafka that refuses or does not answer. ``shotline.cli``
prints each as one ``error:`` line and exits 2."""

from __future__ import annotations

from schemas import KafkaConfigError
from shotline.errors import KafkaAuthError, KafkaUnreachable, SettingsError

__all__ = ["SETUP_ERRORS"]

SETUP_ERRORS: tuple[type[Exception], ...] = (
    SettingsError,
    KafkaConfigError,
    KafkaAuthError,
    KafkaUnreachable,
    FileNotFoundError,
)
