"""Building blocks for the wire's pydantic models: strict objects, and unions whose errors
name the right parameter.

Pydantic puts a union member's name into an error's location (`max_output_tokens.int`),
which is no parameter a client knows. Here every union picks its member first, so an
error is that member's, at the right place: `one_of` tells objects apart by a field
(and reports a bad value of that field at the field), `by_kind` tells values apart by
their JSON kind (a string, an object...).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, create_model

from vivavoce.protocol.problems import TAG_MARK

_BAD = TAG_MARK + "?"


class Strict(BaseModel):
    """A wire object: unknown fields are refused and nothing is coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


def one_of(field: str, members: dict[str, Any], default: str | None = None) -> Any:
    """Objects told apart by the value of `field` (`default` when it is absent)."""
    # Where `field` names no member (or is not a string, or the value is no object), a
    # stand-in model fails on `field` alone, so the error points at it.
    bad = create_model(f"Bad_{field}", __config__=ConfigDict(extra="allow", strict=True),
                       **{field: (Literal[tuple(members)], ...)})  # type: ignore[call-overload]

    def pick(value: Any) -> str:
        if isinstance(value, BaseModel):  # serializing what was parsed
            value = {field: getattr(value, field, None)}
        tag = value.get(field, default) if isinstance(value, dict) else None
        return TAG_MARK + tag if isinstance(tag, str) and tag in members else _BAD

    tagged = tuple(Annotated[member, Tag(TAG_MARK + name)] for name, member in members.items())
    return Annotated[Union[(*tagged, Annotated[bad, Tag(_BAD)])],
                     Discriminator(pick)]


def _kind(value: Any) -> str:
    if isinstance(value, BaseModel):  # serializing what was parsed
        return "dict"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "bool"
    for kind, python in (("str", str), ("int", int), ("float", float), ("dict", dict),
                         ("list", list)):
        if isinstance(value, python):
            return kind
    return "other"


def by_kind(default: str, **members: Any) -> Any:
    """A value whose JSON kind (str, int, float, bool, dict, list, none) says which of
    `members` it must be; any other kind is held to the `default` member's shape."""

    def pick(value: Any) -> str:
        kind = _kind(value)
        return TAG_MARK + (kind if kind in members else default)

    tagged = tuple(Annotated[member, Tag(TAG_MARK + kind)] for kind, member in members.items())
    return Annotated[Union[tagged], Discriminator(pick)]  # noqa: UP007
