"""The callback checksum: MD5 over ``callbackAddr``, ``code``, ``object`` and ``requestId``.

Agora does not publish the exact concatenation, so it is a template. The default is plain
concatenation in the documented order; lowercase hex; compared case-insensitively in constant
time. The checksum carries no secret: it proves integrity, not origin.
"""

from __future__ import annotations

import hashlib
import hmac
import string

__all__ = [
    "CHECKSUM_FIELDS",
    "DEFAULT_CHECKSUM_TEMPLATE",
    "checksum",
    "checksum_matches",
    "validate_template",
]

DEFAULT_CHECKSUM_TEMPLATE = "{callbackAddr}{code}{object}{requestId}"
CHECKSUM_FIELDS = frozenset({"callbackAddr", "code", "object", "requestId"})


def validate_template(template: str) -> str:
    """Return the template if it names only the four checksum fields, else raise ValueError."""
    names = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    unknown = names - CHECKSUM_FIELDS
    if unknown:
        raise ValueError(
            f"checksum template names unknown fields {sorted(unknown)}; "
            f"allowed: {sorted(CHECKSUM_FIELDS)}"
        )
    return template


def checksum(
    callback_addr: str,
    code: int,
    object_name: str,
    request_id: str,
    template: str = DEFAULT_CHECKSUM_TEMPLATE,
) -> str:
    """The lowercase hex MD5 of the template filled with the four fields."""
    if template == DEFAULT_CHECKSUM_TEMPLATE:  # the common case, without format()'s parse
        text = f"{callback_addr}{code}{object_name}{request_id}"
    else:
        text = template.format(
            callbackAddr=callback_addr, code=code, object=object_name, requestId=request_id
        )
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def checksum_matches(expected: str, received: str) -> bool:
    """Constant-time, case-insensitive comparison of two hex digests."""
    return hmac.compare_digest(expected.lower().encode(), received.strip().lower().encode())
