"""ISO 8601 durations, instants and repeating intervals: the one parser of the engine.

Used at deploy (a due property or a timer whose text is a constant is checked then) and at
run time (due properties, and every timer event: ``engine.bpmn.timers`` hands SpiffWorkflow
our results instead of its own parser's). So whatever deploy accepts also runs, and the
same text means the same instant everywhere.

Why our own: SpiffWorkflow's parser walks a duration month by month, so ``P999999999Y`` (or
a duration built from workflow data) runs for hours inside one engine step, and it accepts
text this module refuses. Here every value is bounded *before* any arithmetic: a duration
or an instant more than ``max_days`` (default :data:`DEFAULT_MAX_DAYS`, ten years;
``MAX_DURATION_DAYS`` in the settings) from its start is refused with :class:`DurationError`.

Grammar (designators case-insensitive, as SpiffWorkflow reads them):

* duration ``PnYnMnWnDTnHnMnS``: at least one component, ``T`` only before a time
  component, a decimal fraction (``.`` or ``,``) only on the last component, at most
  :data:`MAX_DIGITS` digits per number;
* instant: ``datetime.fromisoformat`` text (``2026-03-01T09:00:00+00:00``); a time without
  an offset is read as UTC;
* repeating interval ``R[n]/duration``, ``R[n]/instant/duration`` or ``R[n]/duration/instant``
  (``R`` alone repeats without end; at most :data:`MAX_CYCLES` repetitions).

Months and years count calendar months from the start, as SpiffWorkflow does (P1M from
15 January is 31 days, from 15 February 28 or 29).
"""
from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from dataclasses import dataclass

DEFAULT_MAX_DAYS = 3653.0  # ten years
MAX_DIGITS = 9
MAX_CYCLES = 10_000
UTC = dt.UTC
_NUMBER = rf"\d{{1,{MAX_DIGITS}}}(?:[.,]\d{{1,{MAX_DIGITS}}})?"
_DURATION = re.compile(
    rf"P(?!$)(?:(?P<years>{_NUMBER})Y)?(?:(?P<months>{_NUMBER})M)?(?:(?P<weeks>{_NUMBER})W)?(?:(?P<days>{_NUMBER})D)?"
    rf"(?:T(?=\d)(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?",
    re.IGNORECASE)
_FIELDS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
# average calendar lengths: a bound, not arithmetic (P10Y is within a ten-year maximum)
_DAYS_ABOUT = {"years": 365.2425, "months": 30.436875, "weeks": 7.0, "days": 1.0, "hours": 1 / 24, "minutes": 1 / 1440,
                 "seconds": 1 / 86400}
_INSTANT_MAX_CHARS = 40
_max_days = DEFAULT_MAX_DAYS


class DurationError(ValueError):
    """Text that is not a bounded ISO 8601 duration, instant or repeating interval."""


def configure(max_days: float) -> None:
    """Set the deployment's maximum span (``Settings.max_duration_days``)."""
    global _max_days
    if not (isinstance(max_days, (int, float)) and 0 < max_days <= 100 * 366):
        raise ValueError(f"the maximum duration must be between 0 and 100 years of days, not {max_days!r}")
    _max_days = float(max_days)


def max_days() -> float:
    return _max_days


@dataclass(frozen=True)
class Duration:
    years: float = 0
    months: float = 0
    weeks: float = 0
    days: float = 0
    hours: float = 0
    minutes: float = 0
    seconds: float = 0

    @property
    def days_about(self) -> float:
        """The span in days with average month and year lengths (for bounds checks)."""
        days: float = sum(getattr(self, name) * _DAYS_ABOUT[name] for name in _FIELDS)
        return days

    def after(self, start: dt.datetime) -> dt.datetime:
        return start + self.span_from(start)

    def span_from(self, start: dt.datetime) -> dt.timedelta:
        """The span counted forward from ``start`` (calendar months from its month)."""
        months = self.years * 12 + self.months
        whole = int(months)
        days: float = sum(_month_days(start.year, start.month + i) for i in range(whole))
        days += (months - whole) * _month_days(start.year, start.month + whole)
        return dt.timedelta(days=days + self.weeks * 7 + self.days, hours=self.hours, minutes=self.minutes,
                            seconds=self.seconds)

    def span_until(self, end: dt.datetime) -> dt.timedelta:
        """The span counted backward from ``end`` (calendar months before its month)."""
        months = self.years * 12 + self.months
        whole = int(months)
        days: float = sum(_month_days(end.year, end.month - i) for i in range(1, whole + 1))
        days += (months - whole) * _month_days(end.year, end.month - whole - 1)
        return dt.timedelta(days=days + self.weeks * 7 + self.days, hours=self.hours, minutes=self.minutes,
                            seconds=self.seconds)


@dataclass(frozen=True)
class Cycle:
    """A repeating interval: ``cycles`` repetitions (-1: without end) ``every`` apart,
    the first at ``first``."""
    cycles: int
    first: dt.datetime
    every: dt.timedelta


def _month_days(year: int, month: int) -> int:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return calendar.monthrange(year, month)[1]


def is_duration(text: str) -> bool:
    """Whether ``text`` reads as a duration (a leading P), well-formed or not."""
    return isinstance(text, str) and text.strip()[:1] in ("P", "p")


def is_iso_duration(text: object) -> bool:
    """Whether ``text`` is written as an ISO 8601 duration (within bounds or not)."""
    return isinstance(text, str) and _DURATION.fullmatch(text.strip()) is not None


def parse_duration(text: object) -> Duration:
    """A bounded duration, or ``DurationError`` saying what is wrong."""
    if not isinstance(text, str):
        raise DurationError(f"{_shown(text)} is not an ISO 8601 duration (like PT24H or P7D)")
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise DurationError(f"{_shown(text)} is not an ISO 8601 duration (like PT24H, P7D or P1Y2M)")
    given = [(name, value) for name, value in match.groupdict().items() if value is not None]
    if any(("." in v or "," in v) for _, v in given[:-1]):
        raise DurationError(f"{_shown(text)}: only the last component of a duration may have a fraction")
    duration = Duration(**{name: _number(value) for name, value in given})
    if duration.days_about > _max_days:
        raise DurationError(f"{_shown(text)} is longer than the maximum of {_max_days:g} days")
    return duration


def parse_instant(text: object) -> dt.datetime:
    """An aware UTC datetime from ISO 8601 text (no offset: UTC)."""
    if not isinstance(text, str) or len(text.strip()) > _INSTANT_MAX_CHARS:
        raise DurationError(f"{_shown(text)} is not an ISO 8601 date and time")
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError as err:
        raise DurationError(f"{_shown(text)} is not an ISO 8601 date and time") from err
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def instant_within_bounds(instant: dt.datetime, now: dt.datetime) -> dt.datetime:
    """``instant``, or ``DurationError`` when it lies more than the maximum from ``now``."""
    if abs((instant - now).total_seconds()) > _max_days * 86400:
        raise DurationError(f"{instant.isoformat()} is more than {_max_days:g} days from now")
    return instant


def due_after(text: object, start: dt.datetime) -> dt.datetime:
    """The instant a duration (or an instant) given as text names, counted from ``start``."""
    if is_duration(text):  # type: ignore[arg-type]
        return parse_duration(text).after(start)
    return instant_within_bounds(parse_instant(text), start)


def hours_after(hours: object, start: dt.datetime) -> dt.datetime:
    """``start`` plus a number of hours (a due expression's number), bounded."""
    if isinstance(hours, bool) or not isinstance(hours, (int, float)):
        raise DurationError(f"{_shown(hours)} is not a number of hours")
    if isinstance(hours, int) and abs(hours) > 10**9:
        raise DurationError(f"{_shown(hours)} hours is more than the maximum of {_max_days:g} days")
    value = float(hours)
    if not math.isfinite(value) or value < 0:
        raise DurationError(f"{_shown(hours)} is not a number of hours from now (finite, not negative)")
    if value > _max_days * 24:
        raise DurationError(f"{_shown(hours)} hours is more than the maximum of {_max_days:g} days")
    return start + dt.timedelta(hours=value)


def parse_cycle(text: object, now: dt.datetime) -> Cycle:
    """A bounded repeating interval ``R[n]/...`` (see the module docstring)."""
    if not isinstance(text, str) or text.strip()[:1] not in ("R", "r"):
        raise DurationError(f"{_shown(text)} is not an ISO 8601 repeating interval (like R3/PT1H)")
    parts = text.strip()[1:].split("/")
    if len(parts) not in (2, 3) or not re.fullmatch(r"\d{0,9}", parts[0]):
        raise DurationError(f"{_shown(text)} is not an ISO 8601 repeating interval (like R3/PT1H)")
    cycles = int(parts[0]) if parts[0] else -1
    if cycles > MAX_CYCLES:
        raise DurationError(f"{_shown(text)} repeats more than {MAX_CYCLES} times")
    pieces = parts[1:]
    if len(pieces) == 1:
        every = parse_duration(pieces[0])
        first = every.after(now)
        span = every.span_from(now)
    elif is_duration(pieces[0]) and not is_duration(pieces[1]):
        every, end = parse_duration(pieces[0]), instant_within_bounds(parse_instant(pieces[1]), now)
        span = every.span_until(end)
        first = end - span
    elif is_duration(pieces[1]) and not is_duration(pieces[0]):
        first, every = instant_within_bounds(parse_instant(pieces[0]), now), parse_duration(pieces[1])
        span = every.span_from(first)
    else:
        raise DurationError(f"{_shown(text)}: a repeating interval is a duration with at most one date")
    if span <= dt.timedelta(0):
        raise DurationError(f"{_shown(text)}: a repeating interval needs a duration longer than zero")
    return Cycle(cycles, first, span)


def check_text(text: str, kind: str, now: dt.datetime | None = None) -> None:
    """Check a constant timer value at deploy: ``kind`` is timeDuration, timeDate or
    timeCycle (the BPMN element). Raises ``DurationError``."""
    now = now or dt.datetime.now(UTC)
    if kind == "timeDuration":
        parse_duration(text)
    elif kind == "timeDate":
        instant_within_bounds(parse_instant(text), now)
    elif kind == "timeCycle":
        parse_cycle(text, now)
    else:
        raise ValueError(f"unknown timer kind {kind!r}")


def _number(text: str) -> float:
    value = float(text.replace(",", "."))
    return int(value) if value.is_integer() and "." not in text and "," not in text else value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
