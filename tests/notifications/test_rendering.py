"""Template rendering: plain functions, no app."""
from __future__ import annotations

import pytest

from actions.errors import InvalidInput
from actions.notification_rules import DEFAULT_RULES, check_type, render, render_for


def test_fields_and_fallbacks():
    assert render("{a} and {b|nothing}", {"a": 1}) == "1 and nothing"
    assert render("Hi {customer_name}", {}) == "Hi (unknown customer name)"
    assert render("{x}", {"x": None}) == "(unknown x)"
    assert render("{{literal}} {x}", {"x": "y"}) == "{literal} y"


def test_no_attribute_or_index_access_and_odd_templates():
    assert render("{x.__class__}", {"x": "s"}) == "{x.__class__}"
    assert render("{0}", {}) == "{0}"
    assert render("{", {}) == "{"
    assert render("{x[0]}", {"x": [1]}) == "{x[0]}"


def test_values_are_flattened_and_cut():
    assert render("{v}", {"v": "line\nbreak"}) == "line break"
    assert render("{v}", {"v": {"k": 1}}) == '{"k": 1}'
    assert render("{v}", {"v": True}) == "yes"
    assert len(render("{v}", {"v": "x" * 5000})) == 200
    assert len(render("{v}{v}{v}{v}{v}{v}", {"v": "x" * 200}, limit=1000)) == 1000


@pytest.mark.parametrize("type_", sorted(DEFAULT_RULES))
def test_every_default_renders_with_no_data_and_with_garbage(type_):
    rule = DEFAULT_RULES[type_]
    for data in ({}, None, {"customer_name": ["odd"], "amount": {"v": 1}}):
        title, message = render_for(rule, data)
        assert title and message and "{" not in message.replace('{"v"', "")


@pytest.mark.parametrize("value", ["booking.created", "a.b", "chat.escalated", "x1.y_2.z"])
def test_good_types(value):
    assert check_type(value) == value


@pytest.mark.parametrize("value", ["booking", "Booking.created", ".a", "a.", "a..b", "1a.b",
                                   "a.b-c", "a b.c", "a." + "b" * 63, None, 5])
def test_bad_types(value):
    with pytest.raises(InvalidInput):
        check_type(value)
