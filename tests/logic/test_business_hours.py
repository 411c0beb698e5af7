"""Tests for logic.business_hours: explicit aware datetimes only, no real clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from logic.business_hours import (
    DAYS,
    DEFAULT_HOURS,
    NEVER_OPENED,
    HoursError,
    Schedule,
    build_schedule,
    closed_period_start,
    format_next_open,
    is_open,
    next_open_at,
    open_intervals,
    parse_holidays,
    parse_hours,
    parse_timezone,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_9_17 = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def local(tz: ZoneInfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0, fold: int = 0):
    return datetime(y, mo, d, h, mi, tzinfo=tz, fold=fold)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def sched(hours: dict, tz: str = "Europe/London", holidays: list[str] | None = None) -> Schedule:
    return build_schedule(tz, hours, holidays or [])


def lengths(s: Schedule, start: datetime, end: datetime) -> list[timedelta]:
    return [b - a for a, b in open_intervals(s, start, end)]


# --------------------------------------------------------------------------- open / closed


def test_several_ranges_per_day_with_lunch_break():
    s = sched({"mon": [["13:00", "17:00"], ["09:00", "12:00"]]})
    L = LONDON  # 2026-11-23 is a Monday (GMT)
    assert not is_open(s, local(L, 2026, 11, 23, 8, 59))
    assert is_open(s, local(L, 2026, 11, 23, 9, 0))
    assert is_open(s, local(L, 2026, 11, 23, 10, 0))
    assert not is_open(s, local(L, 2026, 11, 23, 12, 0))  # end is exclusive
    assert not is_open(s, local(L, 2026, 11, 23, 12, 30))
    assert is_open(s, local(L, 2026, 11, 23, 14, 0))
    assert not is_open(s, local(L, 2026, 11, 23, 17, 0))
    assert next_open_at(s, local(L, 2026, 11, 23, 12, 30)) == local(L, 2026, 11, 23, 13, 0)
    assert next_open_at(s, local(L, 2026, 11, 23, 10, 0)) is None
    assert closed_period_start(s, local(L, 2026, 11, 23, 12, 30)) == local(L, 2026, 11, 23, 12)
    assert closed_period_start(s, local(L, 2026, 11, 23, 10, 0)) is None


def test_range_across_midnight():
    s = sched({"fri": [["22:00", "02:00"]]})
    L = LONDON  # 2026-11-27 is a Friday
    assert not is_open(s, local(L, 2026, 11, 27, 21, 59))
    assert is_open(s, local(L, 2026, 11, 27, 23, 0))
    assert is_open(s, local(L, 2026, 11, 28, 1, 0))
    assert not is_open(s, local(L, 2026, 11, 28, 2, 0))
    assert not is_open(s, local(L, 2026, 11, 28, 2, 30))
    assert next_open_at(s, local(L, 2026, 11, 28, 2, 30)) == local(L, 2026, 12, 4, 22, 0)
    assert closed_period_start(s, local(L, 2026, 11, 28, 2, 30)) == local(L, 2026, 11, 28, 2)


def test_24_00_end_and_merge_with_next_day():
    s = sched({"sat": [["18:00", "24:00"]], "sun": [["00:00", "03:00"]]})
    L = LONDON  # 2026-11-28 is a Saturday
    assert is_open(s, local(L, 2026, 11, 28, 23, 59))
    assert is_open(s, local(L, 2026, 11, 29, 0, 0))
    assert not is_open(s, local(L, 2026, 11, 29, 3, 0))
    got = open_intervals(s, local(L, 2026, 11, 28), local(L, 2026, 11, 30))
    assert got == [(local(L, 2026, 11, 28, 18), local(L, 2026, 11, 29, 3))]
    # "00:00" as an end of a later start is the same as "24:00".
    same = sched({"sat": [["18:00", "00:00"]], "sun": [["00:00", "03:00"]]})
    assert open_intervals(same, local(L, 2026, 11, 28), local(L, 2026, 11, 30)) == got


def test_whole_day_range():
    s = sched({"wed": [["00:00", "24:00"]]})
    L = LONDON  # 2026-11-25 is a Wednesday
    assert is_open(s, local(L, 2026, 11, 25, 0, 0))
    assert is_open(s, local(L, 2026, 11, 25, 23, 59))
    assert not is_open(s, local(L, 2026, 11, 26, 0, 0))


def test_open_intervals_clipped_and_sorted():
    s = sched({"mon": [["09:00", "12:00"], ["13:00", "17:00"]]})
    L = LONDON
    got = open_intervals(s, local(L, 2026, 11, 23, 10), local(L, 2026, 11, 23, 14))
    assert got == [
        (local(L, 2026, 11, 23, 10), local(L, 2026, 11, 23, 12)),
        (local(L, 2026, 11, 23, 13), local(L, 2026, 11, 23, 14)),
    ]
    assert all(a.tzinfo is UTC and b.tzinfo is UTC for a, b in got)
    assert open_intervals(s, local(L, 2026, 11, 23, 14), local(L, 2026, 11, 23, 10)) == []


# --------------------------------------------------------------------------- daylight saving


def test_london_spring_forward_overnight_and_gap():
    # 2026-03-29: clocks go from 01:00 GMT to 02:00 BST.
    s = sched({"sat": [["22:00", "04:00"]], "sun": [["09:00", "10:00"]]})
    L = LONDON
    window = (local(L, 2026, 3, 28, 12), local(L, 2026, 3, 29, 12))
    got = open_intervals(s, *window)
    assert got[0] == (utc(2026, 3, 28, 22), utc(2026, 3, 29, 3))
    assert lengths(s, *window) == [timedelta(hours=5), timedelta(hours=1)]
    assert is_open(s, utc(2026, 3, 29, 2, 30))  # 03:30 BST
    assert not is_open(s, utc(2026, 3, 29, 3, 0))  # 04:00 BST
    # A range 01:00-03:00 on the spring-forward night lasts one real hour.
    short = sched({"sun": [["01:00", "03:00"]]})
    assert lengths(short, *window) == [timedelta(hours=1)]
    # A start inside the gap opens at the first valid instant after it (02:00 BST).
    gap = sched({"sun": [["01:30", "05:00"]]})
    opens = next_open_at(gap, local(L, 2026, 3, 29, 0, 30))
    assert opens == utc(2026, 3, 29, 1, 0)
    assert (opens.hour, opens.minute, opens.tzinfo) == (2, 0, LONDON)
    # A range wholly inside the gap never opens that night.
    lost = sched({"sun": [["01:10", "01:50"]]})
    assert open_intervals(lost, *window) == []


def test_london_fall_back_overnight_and_ambiguous_times():
    # 2026-10-25: clocks go from 02:00 BST back to 01:00 GMT; 01:00-01:59 happens twice.
    s = sched({"sat": [["22:00", "04:00"]]})
    L = LONDON
    window = (local(L, 2026, 10, 24, 12), local(L, 2026, 10, 25, 12))
    assert open_intervals(s, *window) == [(utc(2026, 10, 24, 21), utc(2026, 10, 25, 4))]
    assert lengths(s, *window) == [timedelta(hours=7)]
    # An ambiguous start takes the first 01:30 (BST); an ambiguous end the second (GMT).
    amb = sched({"sun": [["01:30", "01:45"]]})
    assert open_intervals(amb, *window) == [(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 45))]
    assert is_open(amb, local(L, 2026, 10, 25, 1, 40, fold=0))
    assert is_open(amb, local(L, 2026, 10, 25, 1, 40, fold=1))


def test_new_york_dst_overnight_ranges():
    s = sched({"sat": [["22:00", "04:00"]]}, tz="America/New_York")
    NY = NEW_YORK
    # 2026-03-08 spring forward: 22:00 EST (03:00Z) to 04:00 EDT (08:00Z).
    spring = (local(NY, 2026, 3, 7, 12), local(NY, 2026, 3, 8, 12))
    assert open_intervals(s, *spring) == [(utc(2026, 3, 8, 3), utc(2026, 3, 8, 8))]
    assert lengths(s, *spring) == [timedelta(hours=5)]
    # 2026-11-01 fall back: 22:00 EDT (02:00Z) to 04:00 EST (09:00Z).
    autumn = (local(NY, 2026, 10, 31, 12), local(NY, 2026, 11, 1, 12))
    assert lengths(s, *autumn) == [timedelta(hours=7)]
    assert is_open(s, local(NY, 2026, 11, 1, 1, 30, fold=0))
    assert is_open(s, local(NY, 2026, 11, 1, 1, 30, fold=1))
    assert not is_open(s, local(NY, 2026, 11, 1, 4, 0))
    short = sched({"sun": [["01:00", "03:00"]]}, tz="America/New_York")
    assert lengths(short, *spring) == [timedelta(hours=1)]
    assert next_open_at(short, local(NY, 2026, 3, 8, 0, 0)) == utc(2026, 3, 8, 6)


# --------------------------------------------------------------------------- holidays


def test_holiday_closed_all_day_and_skipped():
    s = sched(WEEKDAYS_9_17, holidays=["2026-11-25"])  # a Wednesday
    L = LONDON
    assert not is_open(s, local(L, 2026, 11, 25, 10))
    assert next_open_at(s, local(L, 2026, 11, 24, 18)) == local(L, 2026, 11, 26, 9)
    assert next_open_at(s, local(L, 2026, 11, 25, 10)) == local(L, 2026, 11, 26, 9)
    assert closed_period_start(s, local(L, 2026, 11, 25, 10)) == local(L, 2026, 11, 24, 17)
    # Christmas on a Friday: Thursday evening skips to Monday.
    xmas = sched(WEEKDAYS_9_17, holidays=["2026-12-25"])
    assert next_open_at(xmas, local(L, 2026, 12, 24, 18)) == local(L, 2026, 12, 28, 9)


def test_overnight_range_started_the_evening_before_a_holiday_runs_to_its_end():
    s = sched({"fri": [["22:00", "02:00"]], "sat": [["22:00", "02:00"]]}, holidays=["2026-11-28"])
    L = LONDON  # Saturday 2026-11-28 is the holiday
    assert is_open(s, local(L, 2026, 11, 28, 1, 0))  # Friday's range
    assert not is_open(s, local(L, 2026, 11, 28, 2, 0))
    assert not is_open(s, local(L, 2026, 11, 28, 23, 0))  # Saturday's range is cancelled
    assert not is_open(s, local(L, 2026, 11, 29, 1, 0))
    assert next_open_at(s, local(L, 2026, 11, 28, 3, 0)) == local(L, 2026, 12, 4, 22)
    assert closed_period_start(s, local(L, 2026, 11, 29, 1)) == local(L, 2026, 11, 28, 2)


# --------------------------------------------------------------------------- next opening


def test_next_open_across_weekend():
    s = sched(WEEKDAYS_9_17)
    L = LONDON
    got = next_open_at(s, local(L, 2026, 11, 27, 18))  # Friday 18:00
    assert got == local(L, 2026, 11, 30, 9)  # Monday 09:00
    assert got.tzinfo is LONDON and (got.hour, got.minute) == (9, 0)
    assert next_open_at(s, local(L, 2026, 11, 30, 9)) is None
    # With the defaults Saturday morning is open.
    d = sched(DEFAULT_HOURS)
    assert next_open_at(d, local(L, 2026, 11, 27, 18)) == local(L, 2026, 11, 28, 10)
    assert next_open_at(d, local(L, 2026, 11, 28, 15)) == local(L, 2026, 11, 30, 9)


def test_no_hours_at_all():
    s = sched({})
    at = local(LONDON, 2026, 11, 23, 10)
    assert not is_open(s, at)
    assert next_open_at(s, at) is None
    assert closed_period_start(s, at) == NEVER_OPENED == datetime(1970, 1, 1, tzinfo=UTC)
    assert open_intervals(s, at, at + timedelta(days=30)) == []
    assert format_next_open(next_open_at(s, at), LONDON) == "soon"


def test_closed_period_start_is_stable_within_a_night():
    s = sched(WEEKDAYS_9_17)
    L = LONDON
    tue_night = closed_period_start(s, local(L, 2026, 11, 24, 20))
    assert tue_night == closed_period_start(s, local(L, 2026, 11, 25, 6))
    assert tue_night == local(L, 2026, 11, 24, 17)
    assert tue_night.tzinfo is UTC  # a key, so independent of how it would be displayed
    wed_night = closed_period_start(s, local(L, 2026, 11, 25, 20))
    assert wed_night != tue_night
    # The whole weekend is one closed period.
    sat = closed_period_start(s, local(L, 2026, 11, 28, 12))
    assert sat == closed_period_start(s, local(L, 2026, 11, 30, 8)) == local(L, 2026, 11, 27, 17)


def test_closed_period_start_overnight():
    s = sched({"fri": [["22:00", "02:00"]], "sat": [["22:00", "02:00"]]})
    L = LONDON
    assert closed_period_start(s, local(L, 2026, 11, 28, 1)) is None
    assert closed_period_start(s, local(L, 2026, 11, 28, 12)) == local(L, 2026, 11, 28, 2)
    assert closed_period_start(s, local(L, 2026, 11, 29, 12)) == local(L, 2026, 11, 29, 2)


def test_closed_period_start_after_an_ambiguous_end():
    # New York 2026-11-01: "until 01:30" lasts until the second 01:30 (EST, 06:30Z).
    s = sched({"sat": [["22:00", "01:30"]]}, tz="America/New_York")
    NY = NEW_YORK
    assert is_open(s, local(NY, 2026, 11, 1, 1, 40, fold=0))
    first = closed_period_start(s, local(NY, 2026, 11, 1, 1, 40, fold=1))
    assert first == utc(2026, 11, 1, 6, 30)
    assert first == closed_period_start(s, local(NY, 2026, 11, 1, 9))


def test_utc_instant_for_business_ahead_of_utc():
    # Monday 07:00 in Tokyo is still Sunday 22:00 UTC.
    tokyo = sched({"mon": [["06:00", "10:00"]]}, tz="Asia/Tokyo")
    assert is_open(tokyo, utc(2026, 11, 22, 22))
    assert not is_open(tokyo, utc(2026, 11, 23, 22))  # Tuesday 07:00 in Tokyo
    got = next_open_at(tokyo, utc(2026, 11, 22, 20))  # Monday 05:00 in Tokyo
    assert got == utc(2026, 11, 22, 21)
    assert got.tzinfo == ZoneInfo("Asia/Tokyo") and got.hour == 6
    # Sydney is UTC+11 in November (daylight saving).
    sydney = sched(WEEKDAYS_9_17, tz="Australia/Sydney")
    assert is_open(sydney, utc(2026, 11, 22, 23))  # Monday 10:00 local, Sunday in UTC
    assert not is_open(sydney, utc(2026, 11, 23, 7))  # Monday 18:00 local
    assert next_open_at(sydney, utc(2026, 11, 23, 7)) == utc(2026, 11, 23, 22)
    assert closed_period_start(sydney, utc(2026, 11, 22, 12)) == utc(2026, 11, 20, 6)


def test_naive_datetimes_are_rejected():
    s = sched(WEEKDAYS_9_17)
    naive = datetime(2026, 11, 23, 10)
    for fn in (is_open, next_open_at, closed_period_start):
        with pytest.raises(ValueError, match="timezone-aware"):
            fn(s, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        open_intervals(s, naive, naive + timedelta(days=1))


def test_format_next_open():
    dt = local(LONDON, 2026, 11, 23, 9)
    assert format_next_open(dt, LONDON) == "Monday 23 November at 09:00"
    # Rendered in the business's timezone, whatever the datetime's own zone.
    assert format_next_open(utc(2026, 11, 22, 21), ZoneInfo("Asia/Tokyo")) == (
        "Monday 23 November at 06:00"
    )
    assert format_next_open(None, LONDON) == "soon"


# --------------------------------------------------------------------------- parsing


def test_parse_hours_normalises_and_round_trips():
    raw = {"mon": [["13:00", "17:00"], ("09:00", "12:00")], "fri": [["22:00", "02:00"]]}
    out = parse_hours(raw)
    assert list(out) == list(DAYS)
    assert out["mon"] == [["09:00", "12:00"], ["13:00", "17:00"]]
    assert out["fri"] == [["22:00", "02:00"]]
    assert out["sun"] == []
    assert parse_hours(out) == out
    assert parse_hours(DEFAULT_HOURS) == DEFAULT_HOURS
    assert parse_hours(parse_hours({"sat": [["18:00", "24:00"]]})) == {
        **{d: [] for d in DAYS},
        "sat": [["18:00", "24:00"]],
    }


def test_touching_ranges_are_allowed():
    out = parse_hours({"mon": [["09:00", "12:00"], ["12:00", "17:00"]], "tue": [["23:00", "01:00"]],
                       "wed": [["01:00", "02:00"]]})  # fmt: skip
    assert out["mon"] == [["09:00", "12:00"], ["12:00", "17:00"]]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (None, "must be an object"),
        ([["09:00", "17:00"]], "must be an object"),
        ({"monday": []}, "unknown day 'monday'"),
        ({"Mon": []}, "unknown day 'Mon'"),
        ({"mon": "09:00-17:00"}, "must be a list"),
        ({"mon": [["09:00"]]}, "must be a pair"),
        ({"mon": [["09:00", "12:00", "13:00"]]}, "must be a pair"),
        ({"mon": ["09:00"]}, "must be a pair"),
        ({"mon": [[9, 17]]}, "'HH:MM'"),
        ({"mon": [["25:00", "26:00"]]}, "'25:00' is not a valid time"),
        ({"mon": [["09:00", "25:00"]]}, "'25:00' is not a valid time"),
        ({"mon": [["09:60", "10:00"]]}, "'09:60' is not a valid time"),
        ({"mon": [["9:7", "17:00"]]}, "'HH:MM'"),
        ({"mon": [["ab", "17:00"]]}, "'HH:MM'"),
        ({"mon": [["09:00 ", "17:00"]]}, "'HH:MM'"),
        ({"mon": [["\u0660\u0669:00", "17:00"]]}, "'HH:MM'"),
        ({"mon": [["24:00", "02:00"]]}, "'24:00' is not a valid time"),
        ({"mon": [["09:00", "09:00"]]}, "zero-length"),
        ({"mon": [["00:00", "00:00"]]}, "zero-length"),
        ({"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}, "overlap"),
        ({"mon": [["09:00", "17:00"], ["10:00", "11:00"]]}, "overlap"),
        ({"mon": [["22:00", "02:00"], ["09:00", "23:00"]]}, "overlap"),
        ({"mon": [["22:00", "02:00"]], "tue": [["01:00", "05:00"]]}, "runs past midnight"),
        ({"sun": [["20:00", "03:00"]], "mon": [["02:00", "05:00"]]}, "runs past midnight"),
        ({"mon": [[f"{h:02}:00", f"{h:02}:30"] for h in range(11)]}, "at most 10"),
    ],
)
def test_parse_hours_errors(value, fragment):
    with pytest.raises(HoursError, match=fragment) as info:
        parse_hours(value)
    assert str(info.value).endswith(".")


def test_parse_hours_allows_ten_ranges():
    ten = {"mon": [[f"{h:02}:00", f"{h:02}:30"] for h in range(10)]}
    assert len(parse_hours(ten)["mon"]) == 10


def test_parse_timezone():
    assert parse_timezone("Europe/London") == LONDON
    assert parse_timezone("UTC") == ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (None, "must be a text"),
        (3, "must be a text"),
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("Mars/Olympus_Mons", "not a known IANA timezone"),
        ("Europe/London ", "not a known IANA timezone"),
        ("../etc/passwd", "not a known IANA timezone"),
        ("/etc/localtime", "not a known IANA timezone"),
        ("Europe", "not a known IANA timezone"),
    ],
)
def test_parse_timezone_errors(value, fragment):
    with pytest.raises(HoursError, match=fragment):
        parse_timezone(value)


def test_parse_holidays_sorts_and_dedupes():
    assert parse_holidays(["2026-12-25", "2026-01-01", "2026-12-25"]) == [
        "2026-01-01",
        "2026-12-25",
    ]
    assert parse_holidays([]) == []
    assert parse_holidays(["2028-02-29"]) == ["2028-02-29"]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (None, "must be a list"),
        ("2026-12-25", "must be a list"),
        ([20261225], r"holidays\[0\] must be a date"),
        (["2026-12-25", "25/12/2026"], r"holidays\[1\] must be a date"),
        (["20261225"], "must be a date"),
        (["2026-1-5"], "must be a date"),
        (["2026-02-30"], "not a real calendar date"),
        (["2026-13-01"], "not a real calendar date"),
        (["2027-02-29"], "not a real calendar date"),
        ([f"2026-01-{d:02}" for d in range(1, 32)] * 12, "at most 366"),
    ],
)
def test_parse_holidays_errors(value, fragment):
    with pytest.raises(HoursError, match=fragment):
        parse_holidays(value)


def test_build_schedule():
    s = build_schedule("Europe/London", {"mon": [["13:00", "17:00"], ["09:00", "12:00"]]},
                       ["2026-12-25"])  # fmt: skip
    assert s.tz == LONDON
    assert s.hours["mon"] == ((540, 720), (780, 1020))
    assert s.hours["sun"] == ()
    assert s.holidays == frozenset({datetime(2026, 12, 25).date()})
    with pytest.raises(HoursError, match="timezone"):
        build_schedule("Nowhere/Place", {}, [])
    with pytest.raises(HoursError, match="business_hours"):
        build_schedule("UTC", {"xyz": []}, [])
    with pytest.raises(HoursError, match="holidays"):
        build_schedule("UTC", {}, ["soon"])
