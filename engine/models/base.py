"""Declarative base shared by every table (the web app and the workers use the same metadata)."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from engine import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return clock.as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


_VOCABULARIES: dict[str, type[Vocabulary]] = {}


def _snake(name: str) -> str:
    return "".join(("_" + c.lower()) if c.isupper() and i else c.lower() for i, c in enumerate(name))


class Vocabulary(StrEnum):
    """A set of stored values, each with its label for people (pages show the label, the
    database and the API the value). Members compare equal to their string values, so
    they go into String columns and JSON as they are.

    Every vocabulary is known by its name in snake case (``ConferenceKind`` is
    ``"conference_kind"``): pages look labels up by it (the ``label`` filter)."""

    _label: str

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        _VOCABULARIES[_snake(cls.__name__)] = cls

    def __new__(cls, value: str, label: str) -> Vocabulary:
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label
        return member

    @property
    def label(self) -> str:
        return self._label

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)

    @classmethod
    def label_of(cls, value: str | None, default: str = "—") -> str:
        """The label of a stored value; an unknown one is shown as it is."""
        if value is None or value == "":
            return default
        # the lookup cls(value) does (mypy would check cls(value) against the two-argument __new__)
        for member in cls:
            if member.value == value:
                return member.label
        return str(value)


def vocabulary(name: str) -> type[Vocabulary]:
    """The vocabulary called ``name`` (snake case of its class name)."""
    try:
        return _VOCABULARIES[name]
    except KeyError:
        raise KeyError(f"no vocabulary {name!r}; known: {', '.join(sorted(_VOCABULARIES))}") from None


def vocabularies() -> dict[str, type[Vocabulary]]:
    """Every vocabulary by name (the models that define them must be imported)."""
    return dict(_VOCABULARIES)
