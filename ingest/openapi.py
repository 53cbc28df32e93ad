"""The hand-written OpenAPI 3.1 document served at ``/openapi.json``.

Written by hand so it describes the wire contract (what Agora sends, what every status
means) rather than an implementation; ``tests/unit/ingest`` fuzzes the app against it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TIMESTAMP_PATTERN", "openapi_document"]

_ERROR = {
    "type": "object",
    "required": ["status", "error"],
    "properties": {
        "status": {"const": "error"},
        "error": {"type": "string", "description": "A bounded reason label."},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
        "retry": {"type": "boolean"},
    },
}

# The timestamp, stated exactly (`schemas/timestamps.py` is the rule):
# - Unix milliseconds in [2000-01-01, 2200-01-01): 946684800000 (12 digits) .. 7258118399999
#   (13 digits), as a number or as a string of ASCII digits with leading zeros allowed up to 20
#   characters, except 17 (17 characters always mean the compact form);
# - any 17 digits, the yyyyMMddHHmmssSSS form, as a string or as a number (10^16 .. 10^17 - 1,
#   since a number has no leading zeros). Digits that are not a real UTC time are accepted too:
#   Agora took and bills that screenshot, whose time then comes from the object name or the
#   receive time (docs/decisions/0008).
# A number may carry a zero fraction or an exponent (JSON Schema's integer): ingest reads it
# exactly.
_D = "[0-9]"
_MS_12 = (  # 946684800000 .. 999999999999
    f"9[5-9]{_D}{{10}}|94[7-9]{_D}{{9}}|946[7-9]{_D}{{8}}|94669{_D}{{7}}"
    f"|94668[5-9]{_D}{{6}}|946684[89]{_D}{{5}}"
)
_MS_13 = (  # 1000000000000 .. 7258118399999
    f"[1-6]{_D}{{12}}|7[01]{_D}{{11}}|72[0-4]{_D}{{10}}|725[0-7]{_D}{{9}}|72580{_D}{{8}}"
    f"|725810{_D}{{7}}|725811[0-7]{_D}{{6}}|7258118[0-2]{_D}{{5}}|72581183{_D}{{5}}"
)
_MS_TEXT = f"(?:0{{0,4}}|0{{6,8}})(?:{_MS_12})|(?:0{{0,3}}|0{{5,7}})(?:{_MS_13})"
_COMPACT_TEXT = f"{_D}{{17}}"
TIMESTAMP_PATTERN = f"^(?:{_MS_TEXT}|{_COMPACT_TEXT})$"

_TIMESTAMP = {
    "description": (
        "Unix milliseconds (years 2000..2199), or 17 digits: the yyyyMMddHHmmssSSS UTC form "
        "the docs' own example uses. Either as a number (a zero fraction or an exponent is "
        "the same integer, read exactly: 20190611073246070.0) or as a string of ASCII digits. "
        "Any 17 digits are accepted: when they are not a real UTC time (month 13, 30 "
        "February), the screenshot's time is the <utc> part of the object name, or, when the "
        "object name has none, the time ingest received the callback."
    ),
    "anyOf": [
        {"type": "integer", "minimum": 946684800000, "maximum": 7258118399999},
        {"type": "integer", "minimum": 10**16, "maximum": 10**17 - 1},
        {"type": "string", "pattern": TIMESTAMP_PATTERN},
    ],
}

_CALLBACK = {
    "type": "object",
    "required": ["requestId", "checksum", "object", "code", "channelName", "userId", "timestamp"],
    "properties": {
        "requestId": {"type": "string", "minLength": 1, "maxLength": 4096},
        "callbackParam": {
            "type": "object",
            "properties": {"cname": {"type": "string"}},
            "additionalProperties": True,
        },
        "callbackData": {"type": "string"},
        "checksum": {"type": "string", "maxLength": 128, "description": "MD5 hex"},
        "object": {"type": "string", "minLength": 1, "maxLength": 4096},
        "code": {
            "type": "integer",
            # orjson reads integers beyond 64 bits as floats, which a strict int refuses.
            "minimum": -(2**63),
            "maximum": 2**64 - 1,
            "description": (
                "200 = screenshot complete. A zero fraction or an exponent is the same "
                "integer (200.0 is 200); 200.5 is refused."
            ),
        },
        "msg": {"type": "string"},
        "channelName": {"type": "string"},
        "userId": {"type": "string"},
        "timestamp": _TIMESTAMP,
    },
    "additionalProperties": True,
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document(max_body_bytes: int) -> dict[str, Any]:
    """The document for this deployment's body limit."""
    accepted = {
        "type": "object",
        "required": ["status", "requestId"],
        "properties": {
            "status": {"const": "ok"},
            "requestId": {"type": "string"},
            "via": {"enum": ["kafka", "spool"]},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "shotline ingest",
            "version": "1",
            "description": "Receives Agora video screenshot upload callbacks.",
        },
        "paths": {
            "/v1/callbacks/{key}": {
                "post": {
                    "operationId": "postCallback",
                    "summary": "Accept one screenshot-upload callback",
                    "description": (
                        "Answers 200 only once the callback is acknowledged by Kafka or "
                        f"committed to the local spool. Bodies above {max_body_bytes} bytes "
                        "are refused before parsing."
                    ),
                    "parameters": [
                        {
                            "name": "key",
                            "in": "path",
                            "required": True,
                            "description": "The project's unguessable callback key.",
                            "schema": {"type": "string"},
                        },
                        {"name": "traceparent", "in": "header", "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/AgoraCallback"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Accepted (in Kafka or the durable spool).",
                            "content": {"application/json": {"schema": accepted}},
                        },
                        "400": _error("Malformed JSON, or not a JSON object."),
                        "401": _error("Checksum mismatch (project in enforce mode)."),
                        "403": _error("Source address not in the project's allowlist."),
                        "404": _error("Unknown project key."),
                        "405": _error("Method not allowed."),
                        "413": _error("Body larger than the limit."),
                        "415": _error("Content-Type is not application/json."),
                        "422": _error(
                            "Schema violation, or the screenshot time outside the freshness "
                            "window (when one is configured)."
                        ),
                        "503": _error("Spool full or unusable; retry."),
                    },
                }
            },
            "/healthz": {"get": _probe("healthz", "The process is alive.")},
            "/readyz": {"get": _probe("readyz", "Kafka reachable or the spool writable.")},
        },
        "components": {"schemas": {"AgoraCallback": _CALLBACK, "Error": _ERROR}},
    }


def _probe(operation: str, description: str) -> dict[str, Any]:
    return {
        "operationId": operation,
        "responses": {
            "200": {
                "description": description,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "503": _error("Not ready."),
        },
    }
