"""Which screenshot a callback is about: the identity dedupe counts once.

Agora's retries repeat the requestId, but a screenshot can also arrive without one (the
reconciler finds it in the bucket) or, after reconciliation, through its late real callback.
What every path shares is the object, so the identity is the object name when it has the
shape of an Agora screenshot name, and the requestId otherwise (any other name need not be
unique). An Agora name embeds the 32-hex sid, channel, uid and millisecond time, so two
screenshots never share one; a project's bucket is fixed by its configuration.

The shape test is structural (a ``/``, both ``__uid_s_`` and ``__uid_e_`` markers, ``.jpg``):
every name ``schemas.objectname`` parses passes it, and it costs ingest about 0.2 µs a
request where a full parse costs 2.5 µs. A name that passes it but does not parse (a bad
date, say) is still keyed by itself: it is still the object's own, unique name.

This is the Kafka key of ``shotline.callbacks.v1`` and ``shotline.screenshots.v1``: every
arrival of one screenshot lands on the same partition, where dedupe's seen-set holds it.
"""

from __future__ import annotations

__all__ = ["callback_key", "keyed_by_object"]


def keyed_by_object(object_name: str) -> bool:
    """True when ``object_name`` is the identity of its screenshot (see the module)."""
    return (
        object_name.endswith(".jpg")
        and "__uid_e_" in object_name
        and "__uid_s_" in object_name
        and "/" in object_name
    )


def callback_key(object_name: str, request_id: str) -> str:
    """The Kafka key of a callback: ``object_name`` if it is Agora-shaped, else
    ``request_id``."""
    return object_name if keyed_by_object(object_name) else request_id
