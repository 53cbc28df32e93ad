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

# The timestamp, stated as exactly as JSON Schema can (`schemas/timestamps.py` is the rule):
# - Unix milliseconds in [2000-01-01, 2200-01-01): 946684800000 (12 digits) .. 7258118399999
#   (13 digits), as a number or as a string of ASCII digits with leading zeros allowed up to 20
#   characters, except 17 (17 characters always mean the compact form);
# - the 17-digit yyyyMMddHHmmssSSS form of a real UTC time (years 0001..9999, leap days
#   included), as a string (exact pattern below) or as a number (years 1000..9999, since a
#   number has no leading zeros). JSON Schema cannot state that the digits of a *number* form
#   a calendar date, so 10000101000000000..99991231235959999 is a superset; a number in it
#   that is not a real time (month 13, 30 February, hour 24, ...) is answered 422.
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
_YEAR = f"000[1-9]|00[1-9]{_D}|0[1-9]{_D}{{2}}|[1-9]{_D}{{3}}"
_MONTH_DAY = (
    "(?:0[1-9]|1[0-2])(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])(?:29|30)|(?:0[13578]|1[02])31"
)
_LEAP_YEAR = f"{_D}{{2}}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][48]|[13579][26]|[2468]0)00"
_CLOCK = f"(?:[01]{_D}|2[0-3])[0-5]{_D}[0-5]{_D}{_D}{{3}}"
_COMPACT_TEXT = f"(?:(?:{_YEAR})(?:{_MONTH_DAY})|(?:{_LEAP_YEAR})0229){_CLOCK}"
TIMESTAMP_PATTERN = f"^(?:{_MS_TEXT}|{_COMPACT_TEXT})$"

_TIMESTAMP = {
    "description": (
        "Unix milliseconds (years 2000..2199), or the 17-digit yyyyMMddHHmmssSSS UTC form the "
        "docs' own example uses, as a number or as a string of ASCII digits. Two rules the "
        "schema cannot state, both answered 422: a number is written as an integer (no "
        "fraction or exponent), and the digits of a 17-digit number form a real UTC time."
    ),
    "anyOf": [
        {"type": "integer", "minimum": 946684800000, "maximum": 7258118399999},
        {"type": "integer", "minimum": 10000101000000000, "maximum": 99991231235959999},
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
                "200 = screenshot complete. Written as an integer: 200.0 is refused (422), "
                "which JSON Schema 2020-12 cannot state (to it 200.0 is an integer)."
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
                            "Schema violation; an integer field written with a fraction or "
                            "exponent (200.0); a 17-digit numeric timestamp that is not a real "
                            "UTC time; or the screenshot time outside the freshness window."
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
