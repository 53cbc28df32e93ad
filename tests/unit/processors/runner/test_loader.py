"""Processors resolve by built-in name or by import path, with clear errors otherwise."""

from __future__ import annotations

import pytest

from processors.dedupe.handler import DedupeProcessor
from processors.registry import BUILTINS
from processors.runner import FatalError, Processor, load_processor


def test_builtin_name_resolves_to_the_dedupe_processor() -> None:
    proc = load_processor("dedupe", BUILTINS)
    assert isinstance(proc, DedupeProcessor)
    assert proc.exactly_once


def test_third_party_processor_loads_by_import_path_without_registration() -> None:
    proc = load_processor("examples.plugin_example.flagger:processor", BUILTINS)
    assert isinstance(proc, Processor)
    assert proc.name == "flagger"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "unknown processor 'nope'"),
        ("no_such_module_xyz:processor", "cannot import"),
        ("examples.plugin_example.flagger:missing", "has no attribute"),
        ("examples.plugin_example.flagger:Flag", "does not implement the Processor protocol"),
    ],
)
def test_bad_specs_are_refused_with_a_reason(spec: str, message: str) -> None:
    with pytest.raises(FatalError, match=message):
        load_processor(spec, BUILTINS)
