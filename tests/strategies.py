"""Hypothesis strategies the tests share."""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["json_values"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)
"""Any JSON value, nested a little: what a sender might put in a field."""
