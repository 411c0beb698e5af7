"""Question-type rules (faq_lexicon.QUESTION_TYPES) and the matcher's type-agreement features."""

from __future__ import annotations

import pytest

from logic.faq_matcher import RANK_FEATURES, FaqDoc, FaqIndex
from logic.text_normalise import TYPE_NAMES, question_type_mask


def question_types(text: str) -> frozenset[str]:
    """The mask's bits by name, for readable cases."""
    mask = question_type_mask(text)
    return frozenset(name for i, name in enumerate(TYPE_NAMES) if mask >> i & 1)


@pytest.mark.parametrize(("text", "kind"), [
    ("How much is a haircut?", "PRICE"),
    ("what's the price of a full set", "PRICE"),
    ("Is there a fee for parking?", "PRICE"),
    ("do you charge for consultations", "PRICE"),
    ("When are you open?", "TIME"),
    ("what time do you close on friday", "TIME"),
    ("how long does a massage take", "TIME"),
    ("how much notice do I need to give to cancel", "TIME"),
    ("how far in advance should I book", "TIME"),
    ("wen r u open", "TIME"),
    ("Where are you?", "LOCATION"),
    ("whats your address", "LOCATION"),
    ("Is there parking nearby?", "LOCATION"),
    ("How do I book?", "PROCEDURE"),
    ("how can i pay", "PROCEDURE"),
    ("how to reschedule my appointment", "PROCEDURE"),
    ("Can I bring my dog?", "YESNO"),
    ("do you do gift vouchers", "YESNO"),
    ("is it possible to pay in cash", "YESNO"),
    ("Are you able to see children?", "YESNO"),
    ("What happens if I'm late?", "POLICY"),
    ("what if I miss my appointment", "POLICY"),
    ("What is your cancellation policy?", "POLICY"),
    ("can I get a reminder by email instead of text", "METHOD"),
    ("can i book online", "METHOD"),
    ("can I book over the phone", "METHOD"),
])
def test_question_type_rules(text: str, kind: str) -> None:
    assert kind in question_types(text)


@pytest.mark.parametrize(("text", "absent"), [
    ("how much notice do I need to give to cancel", "PRICE"),  # notice is time, not money
    ("How do I cancel?", "YESNO"),  # "how do you/I" asks for a procedure
    ("how can i pay", "YESNO"),
    ("How much is a haircut?", "TIME"),
])
def test_question_type_rules_do_not_overfire(text: str, absent: str) -> None:
    assert absent not in question_types(text)


@pytest.mark.parametrize("text", [
    "你好，请问你们几点开门？", "مرحبا، متى تفتحون؟", "Здравствуйте, когда вы открыты?",
    "", "   ", "😀👍", "???", "i need to cancel", "thanks",
])
def test_unknown_script_or_statement_has_no_type(text: str) -> None:
    assert question_types(text) == frozenset()
    assert question_type_mask(text) == 0


def test_a_message_can_ask_for_several_kinds_of_answer() -> None:
    assert question_types("how much does it cost and when are you open") >= {"PRICE", "TIME"}


def test_agreement_features_use_union_of_phrasings() -> None:
    index = FaqIndex.build([
        FaqDoc(1, "How do I cancel?", ("I need to cancel my appointment",)),
        FaqDoc(2, "What is your cancellation policy?",
               ("How much notice do I need to give to cancel?",)),
        FaqDoc(3, "Gift vouchers"),
    ])
    ev = index.evidence("how far in advance do i have to cancel")
    assert ev is not None
    agree = ev.features[:, RANK_FEATURES.index("type_agree")]
    clash = ev.features[:, RANK_FEATURES.index("type_clash")]
    assert agree.tolist() == [0.0, 1.0, 0.0]
    assert clash.tolist() == [1.0, 0.0, 1.0]
    # A message with no question type neither agrees nor clashes with any FAQ.
    ev = index.evidence("cancel")
    assert ev is not None
    assert ev.features[:, RANK_FEATURES.index("type_agree")].tolist() == [0.0, 0.0, 0.0]
    assert ev.features[:, RANK_FEATURES.index("type_clash")].tolist() == [0.0, 0.0, 0.0]
