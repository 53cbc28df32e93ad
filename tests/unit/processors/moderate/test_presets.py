"""The HTTP presets map Sightengine's and Hive's documented shapes to labels 0..1."""

from __future__ import annotations

import pytest

from processors.moderate.providers.http import resolve_env
from processors.moderate.providers.presets import parse_labels


def test_sightengine_scores_without_the_none_class() -> None:
    body = {
        "status": "success",
        "request": {"id": "req_1", "timestamp": 1, "operations": 1},
        "nudity": {"sexual_activity": 0.01, "suggestive": 0.7, "none": 0.29, "context": {}},
        "gore": {"prob": 0.02},
        "media": {"id": "med_1", "uri": "x"},
    }
    labels = {label.name: label.score for label in parse_labels("sightengine", body)}
    assert labels == {"nudity.sexual_activity": 0.01, "nudity.suggestive": 0.7, "gore": 0.02}


def test_sightengine_failure_status_is_garbage() -> None:
    with pytest.raises(ValueError, match="status"):
        parse_labels("sightengine", {"status": "failure", "error": {"type": "api_error"}})


def test_hive_keeps_the_worst_score_of_each_unsafe_class() -> None:
    classes = [
        {"class": "general_nsfw", "score": 0.9},
        {"class": "general_not_nsfw_not_suggestive", "score": 0.05},
        {"class": "no_gun", "score": 0.99},
    ]
    body = {"status": [{"response": {"output": [{"classes": classes}, {"classes": classes}]}}]}
    labels = {label.name: label.score for label in parse_labels("hive", body)}
    assert labels == {"general_nsfw": 0.9}


def test_shotline_preset_rejects_scores_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"0\.\.1"):
        parse_labels("shotline", {"labels": [{"name": "x", "score": 7}]})


def test_env_references_in_headers() -> None:
    assert resolve_env("token env:HIVE_KEY", {"HIVE_KEY": "s3cr3t"}) == "token s3cr3t"
