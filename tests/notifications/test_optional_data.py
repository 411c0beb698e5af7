"""Notification texts read well when the event leaves optional data out (issue 13, item 7)."""
from __future__ import annotations

import pytest

from actions.notification_rules import DEFAULT_RULES, render, render_for


def _message(type_: str, data: dict) -> str:
    return render_for(DEFAULT_RULES[type_], data)[1]


@pytest.mark.parametrize(
    ("type_", "without_time", "with_time"),
    [
        ("booking.created", "Bob booked Colour.", "Bob booked Colour for 2030-05-01 10:00."),
        ("booking.cancelled", "Bob cancelled Colour.",
         "Bob cancelled Colour for 2030-05-01 10:00."),
        ("booking.rescheduled", "Bob moved Colour.", "Bob moved Colour to 2030-05-01 10:00."),
        ("booking.no_show", "Bob did not come to Colour.",
         "Bob did not come to Colour at 2030-05-01 10:00."),
    ],
)
def test_a_missing_time_leaves_its_phrase_out(type_: str, without_time: str, with_time: str):
    data = {"customer_name": "Bob", "service": "Colour"}
    assert _message(type_, data) == without_time
    assert _message(type_, {**data, "starts_at": ""}) == without_time
    assert _message(type_, {**data, "starts_at": "2030-05-01 10:00"}) == with_time


def test_no_default_text_builds_a_sentence_around_a_placeholder():
    for type_ in DEFAULT_RULES:
        message = _message(type_, {})
        assert "not given" not in message.replace("no reason given", ""), (type_, message)
        assert "[" not in message and "]" not in message, (type_, message)
        assert "(unknown" not in message, (type_, message)


def test_review_without_rating():
    assert _message("review.posted", {"comment": "Lovely"}) == "A customer left a review: Lovely"
    assert _message("review.posted", {"rating": 5}) == "A customer left a 5-star review: no comment"


def test_optional_segments():
    assert render("a[ b {x}] c", {"x": 1}) == "a b 1 c"
    assert render("a[ b {x}] c", {}) == "a c"
    # A field with a fallback never removes its segment; one without does.
    assert render("[{x|none} and {y}]", {"y": 2}) == "none and 2"
    assert render("[{x|none} and {y}]", {"x": 1}) == ""
    # Brackets that name no field stay as they are.
    assert render("[urgent] {x}", {"x": "y"}) == "[urgent] y"
    assert render("[{{x}}] {x}", {"x": "y"}) == "[{x}] y"
    # Values are inserted after the segments are decided: brackets in data are data.
    assert render("[ at {x}]", {"x": "[y]"}) == " at [y]".strip()
