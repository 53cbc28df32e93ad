"""The hand-written OpenAPI 3.1 document served at ``/openapi.json``.

Written by hand so it describes the wire contract (what Agora sends, what every status
means) rather than an implementation; ``tests/unit/ingest`` fuzzes the app against it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

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
        "code": {"type": "integer", "description": "200 = screenshot complete"},
        "msg": {"type": "string"},
        "channelName": {"type": "string"},
        "userId": {"type": "string"},
        "timestamp": {
            "description": (
                "Unix milliseconds (years 2000..2199), or the 17-digit yyyyMMddHHmmssSSS UTC "
                "form the docs' own example uses (as a number or a string of digits)."
            ),
            "anyOf": [
                {"type": "integer", "minimum": 946684800000, "maximum": 7258118399999},
                {"type": "integer", "minimum": 10**16, "maximum": 10**17 - 1},
                {"type": "string", "pattern": "^([0-9]{13}|[0-9]{17})$"},
            ],
        },
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
                        "422": _error("Schema violation, or screenshot time outside the window."),
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
