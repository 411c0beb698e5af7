"""Business-hours arithmetic as pure functions (no Flask, database or Celery).

A business is described by an IANA ``timezone``, weekly ``business_hours`` and a list of
``holidays``, all in the business's local wall-clock time.

Rules:

* ``business_hours`` maps ``"mon"`` .. ``"sun"`` to a list of ``["HH:MM", "HH:MM"]`` ranges;
  several ranges per day are allowed and a missing day means closed all that day. ``"24:00"``
  is accepted as an end and means midnight at the end of the day.
* A range whose end is earlier than its start runs across midnight into the next day
  (``["22:00", "02:00"]``; ``["22:00", "00:00"]`` equals ``["22:00", "24:00"]``). An end equal
  to its start is rejected as a zero-length range: a whole day is ``["00:00", "24:00"]``.
* A range belongs to the day it starts on. A holiday cancels the ranges that start on that
  date; an overnight range started the evening before a holiday still runs to its end.
* Ranges may not overlap, not even across midnight (Monday 22:00-02:00 with Tuesday
  01:00-05:00 is rejected). Touching ranges are fine and count as one open period.
* Daylight saving: a wall time inside a spring-forward gap maps to the first valid instant
  after the gap. A wall time that occurs twice at the autumn fall-back maps to its first
  occurrence (fold=0) when it starts a range and to its second (fold=1) when it ends one, so a
  range lasts until the clock *last* shows its end time.
* Instants are compared in UTC and ranges have minute resolution. next_open_at returns the
  business's timezone (it is for display); open_intervals and closed_period_start return UTC
  because they are for arithmetic and keys: Python subtracts two datetimes sharing a tzinfo by
  wall clock (ignoring DST) and never finds an ambiguous local time equal to a UTC one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DAYS",
    "DEFAULT_HOURS",
    "NEVER_OPENED",
    "SEARCH_DAYS",
    "HoursConflict",
    "HoursError",
    "Schedule",
    "build_schedule",
    "closed_period_start",
    "format_next_open",
    "is_open",
    "next_open_at",
    "open_intervals",
    "parse_holidays",
    "parse_hours",
    "parse_timezone",
]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_RANGES_PER_DAY = 10
MAX_HOLIDAYS = 366
# Longer than a year so that a full year of holidays cannot hide the next opening.
SEARCH_DAYS = 400
# Returned by closed_period_start when no opening is found in the past SEARCH_DAYS.
NEVER_OPENED = datetime(1970, 1, 1, tzinfo=UTC)

DEFAULT_HOURS: dict[str, list[list[str]]] = {
    "mon": [["09:00", "17:00"]],
    "tue": [["09:00", "17:00"]],
    "wed": [["09:00", "17:00"]],
    "thu": [["09:00", "17:00"]],
    "fri": [["09:00", "17:00"]],
    "sat": [["10:00", "14:00"]],
    "sun": [],
}

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# [0-9] rather than \d, which would also accept non-ASCII digits (Arabic-Indic, ...).
_TIME_RE = re.compile(r"([0-9]{2}):([0-9]{2})")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MINUTES_PER_DAY = 1440
_ONE_DAY = timedelta(days=1)


class HoursError(ValueError):
    """Invalid timezone, business hours or holidays; the message is shown to the user."""


class HoursConflict(HoursError):
    """Ranges each well-formed that collide: overlapping, or an overnight range running into
    the next day's first one (the API's 422, where a malformed value is its 400)."""


@dataclass(frozen=True)
class Schedule:
    """A validated schedule.

    ``hours`` maps each day in ``DAYS`` to ``(start, end)`` pairs in minutes after that day's
    local midnight, sorted by start, with ``start < end < start + 1440``; ``end > 1440`` means
    the range runs into the next day.
    """

    tz: ZoneInfo
    hours: dict[str, tuple[tuple[int, int], ...]]
    holidays: frozenset[date]


# --------------------------------------------------------------------------- parsing


def parse_timezone(name: object) -> ZoneInfo:
    """Return the ZoneInfo for an IANA name such as ``"Europe/London"``."""
    if not isinstance(name, str):
        raise HoursError(f"timezone must be a text IANA name like 'Europe/London', got {name!r}.")
    if not name.strip():
        raise HoursError("timezone must not be empty; use an IANA name like 'Europe/London'.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError/OSError cover keys that look like paths ("../x", "/etc", a directory).
        raise HoursError(
            f"timezone {name!r} is not a known IANA timezone (e.g. 'Europe/London')."
        ) from None


def _parse_time(value: object, where: str, *, is_end: bool) -> int:
    if not isinstance(value, str) or not (m := _TIME_RE.fullmatch(value)):
        raise HoursError(f"{where} must be a time written as 'HH:MM', got {value!r}.")
    hour, minute = int(m[1]), int(m[2])
    if is_end and (hour, minute) == (24, 0):
        return _MINUTES_PER_DAY
    if hour > 23 or minute > 59:
        allowed = "00:00 to 23:59, or 24:00" if is_end else "00:00 to 23:59"
        raise HoursError(f"{where} {value!r} is not a valid time ({allowed}).")
    return hour * 60 + minute


def _parse_day(day: str, ranges: object) -> list[tuple[int, int, list[str]]]:
    """Return ``(start, end, [start_text, end_text])`` sorted by start, end extended past 1440."""
    if not isinstance(ranges, (list, tuple)):
        raise HoursError(f"business_hours[{day!r}] must be a list of ['HH:MM', 'HH:MM'] ranges.")
    if len(ranges) > MAX_RANGES_PER_DAY:
        raise HoursError(
            f"business_hours[{day!r}] has {len(ranges)} ranges; "
            f"at most {MAX_RANGES_PER_DAY} are allowed per day."
        )
    parsed = []
    for i, item in enumerate(ranges):
        where = f"business_hours[{day!r}][{i}]"
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise HoursError(f"{where} must be a pair ['HH:MM', 'HH:MM'], got {item!r}.")
        start = _parse_time(item[0], f"{where} start", is_end=False)
        end = _parse_time(item[1], f"{where} end", is_end=True)
        if end == start:
            raise HoursError(
                f"{where} {item[0]}-{item[1]} is a zero-length range; "
                "use ['00:00', '24:00'] to be open all day."
            )
        if end < start:
            end += _MINUTES_PER_DAY  # overnight: runs into the next day
        parsed.append((start, end, [item[0], item[1]]))
    parsed.sort(key=lambda r: r[0])
    for a, b in pairwise(parsed):
        if b[0] < a[1]:
            raise HoursConflict(
                f"business_hours[{day!r}] ranges {a[2][0]}-{a[2][1]} and "
                f"{b[2][0]}-{b[2][1]} overlap."
            )
    return parsed


def parse_hours(value: object) -> dict[str, list[list[str]]]:
    """Validate weekly hours and return them normalised: all 7 days, ranges sorted by start."""
    if not isinstance(value, dict):
        raise HoursError(
            "business_hours must be an object mapping days ('mon'..'sun') to lists of ranges."
        )
    for key in value:
        if key not in DAYS:
            raise HoursError(
                f"business_hours has an unknown day {key!r}; use one of {', '.join(DAYS)}."
            )
    days = {day: _parse_day(day, value.get(day, [])) for day in DAYS}
    # An overnight range may not run into the first range of the following day.
    for i, day in enumerate(DAYS):
        nxt = DAYS[(i + 1) % 7]
        if days[day] and days[nxt]:
            last, first = days[day][-1], days[nxt][0]
            if last[1] - _MINUTES_PER_DAY > first[0]:
                raise HoursConflict(
                    f"business_hours[{day!r}] range {last[2][0]}-{last[2][1]} runs past "
                    f"midnight into business_hours[{nxt!r}] range {first[2][0]}-{first[2][1]}."
                )
    return {day: [r[2] for r in days[day]] for day in DAYS}


def parse_holidays(value: object) -> list[str]:
    """Validate a list of ``YYYY-MM-DD`` dates; return them sorted and without duplicates."""
    if not isinstance(value, (list, tuple)):
        raise HoursError("holidays must be a list of dates written as 'YYYY-MM-DD'.")
    if len(value) > MAX_HOLIDAYS:
        raise HoursError(f"holidays has {len(value)} dates; at most {MAX_HOLIDAYS} are allowed.")
    out = set()
    for i, item in enumerate(value):
        if not isinstance(item, str) or not _DATE_RE.fullmatch(item):
            raise HoursError(f"holidays[{i}] must be a date written as 'YYYY-MM-DD', got {item!r}.")
        try:
            date.fromisoformat(item)
        except ValueError:
            raise HoursError(f"holidays[{i}] {item!r} is not a real calendar date.") from None
        out.add(item)
    return sorted(out)


def build_schedule(timezone: str, hours: dict, holidays: list[str]) -> Schedule:
    """Validate all three settings and build a Schedule; raises HoursError."""
    tz = parse_timezone(timezone)
    norm = parse_hours(hours)
    table = {}
    for day in DAYS:
        table[day] = tuple((start, end) for start, end, _ in _parse_day(day, norm[day]))
    days = frozenset(date.fromisoformat(d) for d in parse_holidays(holidays))
    return Schedule(tz=tz, hours=table, holidays=days)


# --------------------------------------------------------------------------- arithmetic


def _gap_end(tz: tzinfo, wall: datetime) -> datetime:
    """First valid UTC instant after the DST gap that swallows the naive local time ``wall``."""
    # In a gap fold=0 applies the old offset (giving an instant after the transition) and fold=1
    # the new one (an instant before it); bisect on whole minutes for the transition itself.
    lo = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    lo, hi = min(lo, hi), max(lo, hi)
    after = hi.astimezone(tz).utcoffset()
    while hi - lo > timedelta(minutes=1):
        mid = lo + (hi - lo) // 2
        mid = mid.replace(second=0, microsecond=0)
        if mid <= lo:
            break
        if mid.astimezone(tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return hi


def _instant(tz: tzinfo, day: date, minute: int, *, fold: int) -> datetime:
    """UTC instant of local wall time ``minute`` minutes after ``day``'s midnight."""
    day = day + timedelta(days=minute // _MINUTES_PER_DAY)
    minute %= _MINUTES_PER_DAY
    wall = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
    utc = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == wall:
        return utc
    return _gap_end(tz, wall)


def _day_intervals(schedule: Schedule, day: date) -> list[tuple[datetime, datetime]]:
    """UTC intervals of the ranges that start on local ``day`` (none on a holiday)."""
    ranges = schedule.hours.get(DAYS[day.weekday()], ())
    if not ranges or day in schedule.holidays:
        return []
    out = []
    for start, end in ranges:
        a = _instant(schedule.tz, day, start, fold=0)
        b = _instant(schedule.tz, day, end, fold=1)
        if a < b:  # a range lying wholly inside a spring-forward gap never happens
            out.append((a, b))
    return out


def _check_aware(at: datetime, name: str = "at") -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {at!r}.")
    return at.astimezone(UTC)


def _local_day(schedule: Schedule, at_utc: datetime) -> date:
    return at_utc.astimezone(schedule.tz).date()


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Whether the business is open at the aware instant ``at``."""
    now = _check_aware(at)
    today = _local_day(schedule, now)
    # Yesterday's overnight ranges may still be running.
    for day in (today - _ONE_DAY, today):
        for a, b in _day_intervals(schedule, day):
            if a <= now < b:
                return True
    return False


def next_open_at(schedule: Schedule, at: datetime) -> datetime | None:
    """Next moment the business opens after ``at``, in its timezone.

    None if it is open at ``at``, or if it does not open within ``SEARCH_DAYS``.
    """
    now = _check_aware(at)
    if not any(schedule.hours.values()):
        return None
    today = _local_day(schedule, now)
    for offset in range(-1, SEARCH_DAYS + 1):
        # Ranges of later days start later (ranges never overlap), so the first day with a
        # future start holds the answer.
        starts = []
        for a, b in _day_intervals(schedule, today + timedelta(days=offset)):
            if a <= now < b:
                return None
            if a > now:
                starts.append(a)
        if starts:
            return min(starts).astimezone(schedule.tz)
    return None


def closed_period_start(schedule: Schedule, at: datetime) -> datetime | None:
    """When the closed period containing ``at`` began, in UTC; None if open at ``at``.

    That is the end of the last open range before ``at``, or ``NEVER_OPENED`` if there was
    none in the past ``SEARCH_DAYS``. Stable across a closed period, so usable as a key.
    """
    now = _check_aware(at)
    today = _local_day(schedule, now)
    if not any(schedule.hours.values()):
        return NEVER_OPENED
    for offset in range(SEARCH_DAYS + 1):
        ends = []
        for a, b in _day_intervals(schedule, today - timedelta(days=offset)):
            if a <= now < b:
                return None
            if b <= now:
                ends.append(b)
        if ends:
            if offset == 0:
                # Yesterday's overnight range may still be running (or have ended later).
                for a, b in _day_intervals(schedule, today - _ONE_DAY):
                    if a <= now < b:
                        return None
                    if b <= now:
                        ends.append(b)
            return max(ends)
    return NEVER_OPENED


def open_intervals(
    schedule: Schedule, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Open periods within ``[start, end)``, clipped to it, sorted, merged when touching.

    Returned datetimes are in UTC so that ``end - start`` is the real duration.
    """
    lo = _check_aware(start, "start")
    hi = _check_aware(end, "end")
    if hi <= lo:
        return []
    day, last = _local_day(schedule, lo) - _ONE_DAY, _local_day(schedule, hi)
    found: list[tuple[datetime, datetime]] = []
    while day <= last:
        for a, b in _day_intervals(schedule, day):
            if a < hi and b > lo:
                found.append((max(a, lo), min(b, hi)))
        day += _ONE_DAY
    found.sort()
    merged: list[tuple[datetime, datetime]] = []
    for a, b in found:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def format_next_open(dt: datetime | None, tz: ZoneInfo) -> str:
    """Human text such as ``"Monday 24 November at 09:00"`` in ``tz``; ``"soon"`` for None."""
    if dt is None:
        return "soon"
    local = dt.astimezone(tz)
    return (
        f"{_DAY_NAMES[local.weekday()]} {local.day} {_MONTH_NAMES[local.month - 1]}"
        f" at {local:%H:%M}"
    )
