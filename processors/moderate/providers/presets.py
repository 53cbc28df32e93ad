"""Request and response shapes of the HTTP provider's presets (``shotline``, ``sightengine``,
``hive``); field sources are listed in docs/moderation.md.

A preset builds one request from a screenshot and its presigned URL, and maps a parsed
JSON body to labels with scores in 0..1, leaving out the "nothing found" classes (a safe
image must not score high). A body of the wrong shape raises ``ValueError`` (garbage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from processors.moderate.providers.base import ImageRequest
from schemas.moderation import ModerationLabel

__all__ = ["HttpRequest", "build_request", "parse_labels"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    params: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None


def build_request(
    preset: str, item: ImageRequest, image_url: str, params: dict[str, str]
) -> HttpRequest:
    if preset == "sightengine":  # GET check.json?url=…&models=…&api_user=…&api_secret=…
        return HttpRequest("GET", params={"models": "nudity-2.1", **params, "url": image_url})
    if preset == "hive":  # POST task/sync {"url": …}, Authorization: token <key>
        return HttpRequest("POST", params=dict(params), json={"url": image_url})
    body = {
        "requestId": item.request_id,
        "project": item.project,
        "image_url": image_url,
        "bucket": item.bucket,
        "key": item.key,
        "channelName": item.channel,
        "userId": item.user_id,
        "timestamp": item.timestamp,
    }
    return HttpRequest("POST", params=dict(params), json=body)


def _label(name: str, score: Any) -> ModerationLabel:
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        raise ValueError(f"score of {name!r} is not a number in 0..1: {score!r}")
    return ModerationLabel(name=name, score=float(score))


def _shotline(body: Any) -> list[ModerationLabel]:
    labels = body["labels"]
    if not isinstance(labels, list):
        raise ValueError("'labels' is not a list")
    return [_label(str(entry["name"]), entry["score"]) for entry in labels]


_SIGHTENGINE_META = frozenset({"status", "request", "media"})


def _sightengine(body: Any) -> list[ModerationLabel]:
    if body.get("status") != "success":
        raise ValueError(f"status is {body.get('status')!r}, not 'success'")
    labels = []
    for model, scores in body.items():
        if model in _SIGHTENGINE_META or not isinstance(scores, dict):
            continue
        for name, score in scores.items():  # nested tables (context, classes) are details
            if name != "none" and isinstance(score, int | float) and not isinstance(score, bool):
                labels.append(_label(f"{model}.{name}" if name != "prob" else model, score))
    return labels


def _hive(body: Any) -> list[ModerationLabel]:
    best: dict[str, float] = {}
    for status in body["status"]:
        for output in status["response"]["output"]:
            for entry in output["classes"]:
                name = str(entry["class"])
                if name.startswith("no_") or "_not_" in name or name.startswith("not_"):
                    continue  # the "nothing here" side of each head
                best[name] = max(best.get(name, 0.0), _label(name, entry["score"]).score)
    return [ModerationLabel(name=n, score=s) for n, s in best.items()]


_PARSERS = {"shotline": _shotline, "sightengine": _sightengine, "hive": _hive}


def parse_labels(preset: str, body: Any) -> list[ModerationLabel]:
    """Labels of a 2xx body; ``ValueError`` when it does not have the preset's shape."""
    try:
        return _PARSERS[preset](body)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{preset} answer has an unexpected shape: {exc!r}") from exc
