"""Call arguments as JSON, for deferred comparisons (Celery) and stored records.

Supports None, booleans, numbers, strings, lists, dicts with string keys,
dates, datetimes, Decimals, and dataclasses registered with register_type().
The team is never encoded: it travels as its id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from shadow.errors import ShadowError

_types: dict[str, type] = {}


def register_type(cls: type) -> type:
    """Allow a dataclass to travel as call arguments (usable as a class decorator)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    _types[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return cls


def encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, dt.date):
        return {"__date__": value.isoformat()}
    if isinstance(value, Decimal):
        return {"__decimal__": str(value)}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = f"{type(value).__module__}.{type(value).__qualname__}"
        if name not in _types:
            raise ShadowError(f"Cannot encode call argument of type {name}: register it with shadow.codec.register_type")
        fields = {field.name: encode(getattr(value, field.name)) for field in dataclasses.fields(value)}
        return {"__dataclass__": name, "fields": fields}
    raise ShadowError(f"Cannot encode call argument of type {type(value).__name__}")


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "__datetime__" in value:
        return dt.datetime.fromisoformat(value["__datetime__"])
    if "__date__" in value:
        return dt.date.fromisoformat(value["__date__"])
    if "__decimal__" in value:
        return Decimal(value["__decimal__"])
    if "__dataclass__" in value:
        cls = _types.get(value["__dataclass__"])
        if cls is None:
            raise ShadowError(f"Unknown argument type {value['__dataclass__']!r}")
        return cls(**{key: decode(item) for key, item in value["fields"].items()})
    return {key: decode(item) for key, item in value.items()}


def encode_call(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's keyword arguments without the team (which travels as its id)."""
    return {key: encode(value) for key, value in kwargs.items() if key != "team"}


def describe_call(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Like encode_call, but never fails: for records, where an odd argument is shown by its type."""
    described: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key == "team":
            described["team_id"] = getattr(value, "pk", None)
            continue
        try:
            described[key] = encode(value)
        except ShadowError:
            described[key] = f"<{type(value).__name__}>"
    return described


def arguments_hash(kwargs: dict[str, Any]) -> str:
    """A stable 16-hex-digit hash of a call's arguments, the team left out: which distinct calls were compared.

    Built from the values' reprs (dates, numbers, strings, dataclass records
    such as Copilot report lines), so two calls on the same arguments hash
    alike across processes; only the hash is stored, never the values.
    """
    text = repr(sorted((key, repr(value)) for key, value in kwargs.items() if key != "team"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
