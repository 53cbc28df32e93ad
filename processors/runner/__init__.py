"""The processor runner: contract, plumbing and the built-in registry."""

from processors.errors import Backpressure, FatalError, RetriableError, ShotlineError
from processors.runner.app import Runner
from processors.runner.base import BaseProcessor
from processors.runner.contract import (
    Batch,
    CommitHook,
    Context,
    DeadLetter,
    Emit,
    HandleResult,
    KeyFilter,
    Processor,
    Record,
    RunnerReason,
)
from processors.runner.loader import load_processor
from processors.runner.settings import RunnerSettings

__all__ = [
    "Backpressure",
    "BaseProcessor",
    "Batch",
    "CommitHook",
    "Context",
    "DeadLetter",
    "Emit",
    "FatalError",
    "HandleResult",
    "KeyFilter",
    "Processor",
    "Record",
    "RetriableError",
    "Runner",
    "RunnerReason",
    "RunnerSettings",
    "ShotlineError",
    "load_processor",
]
