"""How one pydantic field reads in a documentation table: its type, bounds and default.

Used by ``shotline.dev.configdoc``; the names are the ones a TOML or environment user sees
(``int (≥ 1)``, ``path or unset``, ```~/.cache/shotline```), not Python's.
"""

from __future__ import annotations

import enum
import types
import typing
from decimal import Decimal
from pathlib import Path

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

__all__ = ["default_text", "type_text"]


def type_text(field: FieldInfo) -> str:
    text = _annotation(field.annotation)
    bounds = [_bound(item) for item in field.metadata]
    bounds = [b for b in bounds if b]
    return f"{text} ({', '.join(bounds)})" if bounds else text


def _bound(item: object) -> str:
    for kind, attr, symbol in (
        (annotated_types.Ge, "ge", "≥"),
        (annotated_types.Gt, "gt", ">"),
        (annotated_types.Le, "le", "≤"),
        (annotated_types.Lt, "lt", "<"),
    ):
        if isinstance(item, kind):
            return f"{symbol} {getattr(item, attr)}"
    if isinstance(item, annotated_types.MinLen):
        return f"at least {item.min_length}"
    pattern = getattr(item, "pattern", None)
    return f"matches `{pattern}`" if isinstance(pattern, str) else ""


_NAMES: dict[object, str] = {
    int: "int",
    float: "float",
    str: "string",
    bool: "bool",
    Path: "path",
    Decimal: "decimal",
    SecretStr: "secret",
    object: "any",
}


def _annotation(tp: object) -> str:
    if tp in _NAMES:
        return _NAMES[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return " \\| ".join(f"`{_json(a)}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        text = " \\| ".join(_annotation(a) for a in rest)
        return f"{text} or unset" if len(rest) < len(args) else text
    if origin is tuple or origin is list:
        return f"list of {_annotation(args[0])}"
    if origin is dict:
        return f"table of {_annotation(args[1])}"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return " \\| ".join(f"`{m.value}`" for m in tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "table"
    raise ValueError(f"no documentation name for type {tp!r}")


def default_text(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "unset"
    if isinstance(value, Path) and value.is_absolute() and Path.home() in value.parents:
        return f"`~/{value.relative_to(Path.home())}`"
    if isinstance(value, BaseModel):
        return "see below" if value.model_fields_set == set() else f"`{value!r}`"
    if isinstance(value, dict) and all(isinstance(v, BaseModel) for v in value.values()):
        return ", ".join(f"`{k}`" for k in value) or "`{}`"
    if value == "":
        return "empty"
    return f"`{_json(value)}`"


def _json(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else _json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}" if not value else str(value)
    return str(value)
