"""FAQ matcher: held-out quality targets, robustness, small talk, ranking contract.

Held out (never used to fit or tune): faq_holdout.json (a dental practice, messages written
with the FAQs in view) and faq_holdout_photo.json, faq_holdout_music.json and
faq_holdout_bike.json (independently written: the customer messages by someone who never saw
the FAQs, labelled by a third person). Fitted on by training/faq_calibrate.py, so figures on them
are in-sample: faq_calibration.json (physio), faq_calibration_2.json (dog groomer),
faq_calibration_3.json (yoga studio), faq_calibration_4.json (barber), faq_calibration_5.json
(vet), faq_calibration_6.json (car garage), faq_calibration_7.json (restaurant), faq_eval.json
(salon) and the independently written faq_independent_*.json (tattoo studio, driving school,
swim school, escape rooms, home cleaning, nail salon)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from logic import faq_semantic
from logic.faq_defaults import DEFAULT_FAQS
from logic.faq_matcher import (
    DEFAULT_THRESHOLD,
    Candidate,
    FaqDoc,
    FaqIndex,
    answer,
    is_small_talk,
)
from logic.text_normalise import is_small_talk_text

DATA = Path(__file__).resolve().parents[1] / "data"


def load(name: str) -> tuple[list[FaqDoc], list[tuple[str, int | None]]]:
    data = json.loads((DATA / name).read_text(encoding="utf-8"))
    faqs = [FaqDoc(f["id"], f["question"], tuple(f["alternative_questions"]),
                   tuple(f["keywords"]), f["answer"]) for f in data["faqs"]]
    return faqs, [(q["text"], q["faq_id"]) for q in data["queries"]]


def default_docs() -> list[FaqDoc]:
    return [FaqDoc(i + 1, f["question"], tuple(f["alternative_questions"]),
                   tuple(f["keywords"]), f["answer"]) for i, f in enumerate(DEFAULT_FAQS)]


@pytest.fixture(scope="module")
def eval_index() -> tuple[FaqIndex, list[tuple[str, int | None]]]:
    faqs, queries = load("faq_eval.json")
    return FaqIndex.build(faqs), queries


@pytest.fixture(scope="module")
def holdout_index() -> tuple[FaqIndex, list[tuple[str, int | None]]]:
    faqs, queries = load("faq_holdout.json")
    return FaqIndex.build(faqs), queries


INDEPENDENT_HOLDOUTS = ("faq_holdout_photo.json", "faq_holdout_music.json",
                        "faq_holdout_bike.json")


@dataclass(frozen=True)
class Leaders:
    """(confidence, right) of the top FAQ for every message of the independently written
    held-out sets that gets a candidate at all, and how many of their messages are
    answerable."""

    top: list[tuple[float, bool]]
    answerable: int


@pytest.fixture(scope="module")
def independent_leaders() -> Leaders:
    top, answerable = [], 0
    for name in INDEPENDENT_HOLDOUTS:
        faqs, queries = load(name)
        index = FaqIndex.build(faqs)
        for text, label in queries:
            answerable += label is not None
            ranked = index.rank(text, limit=1)
            if ranked:
                top.append((ranked[0].confidence, ranked[0].faq_id == label))
    return Leaders(top, answerable)


def independent_figures(leaders: Leaders) -> tuple[float, float]:
    answers = [right for conf, right in leaders.top if conf >= DEFAULT_THRESHOLD]
    return sum(answers) / len(answers), sum(answers) / leaders.answerable


@pytest.mark.parametrize("name, min_answerable, min_unanswerable", [
    ("faq_eval.json", 100, 25), ("faq_holdout.json", 110, 30),
    ("faq_calibration_2.json", 120, 50), ("faq_calibration_3.json", 120, 50),
    ("faq_calibration_4.json", 100, 35), ("faq_calibration_5.json", 100, 35),
    ("faq_calibration_6.json", 100, 35), ("faq_calibration_7.json", 100, 35),
    ("faq_independent_tattoo.json", 60, 85), ("faq_independent_driving.json", 60, 85),
    ("faq_independent_swim.json", 60, 85), ("faq_independent_escape.json", 60, 85),
    ("faq_independent_cleaning.json", 60, 85), ("faq_independent_nails.json", 60, 85),
    ("faq_holdout_photo.json", 55, 85),
    ("faq_holdout_music.json", 60, 85), ("faq_holdout_bike.json", 60, 85),
])
def test_labelled_sets_are_big_enough(name: str, min_answerable: int,
                                      min_unanswerable: int) -> None:
    faqs, queries = load(name)
    assert len(faqs) >= 25
    assert sum(label is not None for _, label in queries) >= min_answerable
    assert sum(label is None for _, label in queries) >= min_unanswerable
    ids = {f.id for f in faqs}
    assert all(label is None or label in ids for _, label in queries)


FITTED_SETS = ("faq_eval.json", "faq_calibration.json", "faq_calibration_2.json",
               "faq_calibration_3.json", "faq_calibration_4.json", "faq_calibration_5.json",
               "faq_calibration_6.json", "faq_calibration_7.json",
               "faq_independent_tattoo.json", "faq_independent_driving.json",
               "faq_independent_swim.json", "faq_independent_escape.json",
               "faq_independent_cleaning.json", "faq_independent_nails.json")
HELD_OUT_SETS = ("faq_holdout.json", *INDEPENDENT_HOLDOUTS)


def test_every_calibration_set_is_listed() -> None:
    # training/faq_calibrate.py fits on every faq_calibration*.json and faq_independent_*.json
    # and never on faq_holdout*.json; the checks here must cover them all.
    fitted = {p.name for pattern in ("faq_calibration*.json", "faq_independent_*.json")
              for p in DATA.glob(pattern)}
    assert fitted <= set(FITTED_SETS)
    assert {p.name for p in DATA.glob("faq_holdout*.json")} == set(HELD_OUT_SETS)


@pytest.mark.parametrize("a, b", [(a, b) for i, a in enumerate(FITTED_SETS)
                                  for b in FITTED_SETS[i + 1:]])
def test_calibration_sets_are_different_businesses(a: str, b: str) -> None:
    a_faqs, a_queries = load(a)
    b_faqs, b_queries = load(b)
    assert not {f.id for f in a_faqs} & {f.id for f in b_faqs}
    assert_distinct_messages(a_queries, b_queries)


def assert_distinct_messages(a: list[tuple[str, int | None]],
                             b: list[tuple[str, int | None]]) -> None:
    """Different businesses' messages; a few short generic ones ("do u take amex") written
    alike for two businesses are expected, anything more would be a copied set."""
    shared = {t for t, _ in a} & {t for t, _ in b}
    assert len(shared) <= 5 and all(len(t.split()) <= 12 for t in shared), shared


@pytest.mark.parametrize("held_out", HELD_OUT_SETS)
def test_holdout_sets_are_different_businesses(held_out: str) -> None:
    hold_faqs, hold_queries = load(held_out)
    for other in FITTED_SETS + tuple(h for h in HELD_OUT_SETS if h != held_out):
        faqs, queries = load(other)
        assert not {f.id for f in hold_faqs} & {f.id for f in faqs}
        assert_distinct_messages(hold_queries, queries)


def held_out_figures(index: FaqIndex, queries: list[tuple[str, int | None]]
                     ) -> tuple[float, float]:
    answers = correct = 0
    answerable = sum(label is not None for _, label in queries)
    for text, label in queries:
        hit = index.match(text)
        if hit is not None:
            answers += 1
            correct += hit.faq_id == label
    return correct / answers, correct / answerable


# The targets: precision >= 0.95 and recall >= 0.75 at the default threshold. Met on
# the held-out dental set (written with the FAQs in view): 1.000 (92/92) / 0.754 with sentence
# vectors (faq_semantic); 0.988 / 0.697 without them.
def test_held_out_precision_and_recall_meet_target(holdout_index) -> None:
    precision, recall = held_out_figures(*holdout_index)
    assert precision >= 0.95, f"precision {precision:.3f}"
    assert recall >= 0.75, f"recall {recall:.3f}"


# Not met on messages written without sight of the FAQs. Strict, so a change that reaches the
# targets fails here until the marker goes.
@pytest.mark.xfail(strict=True, reason="precision 0.886 (70/79), recall 0.303 (70/231)")
def test_independent_held_out_precision_and_recall_meet_target(independent_leaders) -> None:
    precision, recall = independent_figures(independent_leaders)
    assert precision >= 0.95, f"precision {precision:.3f}"
    assert recall >= 0.75, f"recall {recall:.3f}"


def test_held_out_precision_and_recall_do_not_regress(holdout_index) -> None:
    # Floor under the figures reached: 1.000 (92/92) / 0.754; 0.988 (85/86) / 0.697 without
    # sentence vectors; 0.953 / 0.836 when the confidence was fitted on messages written with
    # the FAQs in view (over-confident on independent ones: see below).
    precision, recall = held_out_figures(*holdout_index)
    assert precision >= 0.97, f"precision {precision:.3f}"
    assert recall >= 0.72, f"recall {recall:.3f}"


def test_independent_held_out_figures_do_not_regress(independent_leaders) -> None:
    # Reached: precision 0.886 (70/79), recall 0.303 (70/231); without sentence vectors
    # 0.879 (58/66) / 0.251.
    precision, recall = independent_figures(independent_leaders)
    assert precision >= 0.85, f"precision {precision:.3f}"
    assert recall >= 0.28, f"recall {recall:.3f}"


def test_confidence_means_what_it_says_on_independent_messages(independent_leaders) -> None:
    # Answers at or above the threshold are right about as often as their confidence says:
    # mean confidence 0.860, right 0.886. The matcher fitted on messages written with the
    # FAQs in view claimed 0.885 and was right 0.812 here.
    answers = [(conf, right) for conf, right in independent_leaders.top
               if conf >= DEFAULT_THRESHOLD]
    claimed = sum(conf for conf, _ in answers) / len(answers)
    right = sum(r for _, r in answers) / len(answers)
    assert abs(claimed - right) <= 0.05, (claimed, right)
    # Below the threshold the leaders are right less often than above it.
    low = [r for conf, r in independent_leaders.top if conf < DEFAULT_THRESHOLD]
    assert sum(low) / len(low) < right - 0.3


def test_dev_set_precision_and_recall_do_not_regress(eval_index) -> None:
    # faq_eval.json is fitted on (in-sample 1.000 (88/88) / 0.710); floor just under.
    precision, recall = held_out_figures(*eval_index)
    assert precision >= 0.97, f"precision {precision:.3f}"
    assert recall >= 0.69, f"recall {recall:.3f}"


UNREADABLE = [
    "", "   ", "\n\t", "你好，请问你们几点开门？", "مرحبا، متى تفتحون؟",
    "Здравствуйте, когда вы открыты?", "😀😀👍", "???!!!", "#$%^&*()", "\ud800", "\x00",
    "xqzv blorf", "a" * 4000, "-" * 4000,
]


# rank() and is_small_talk() keep a chat message from ever breaking the automation (they log
# and give nothing), so the tests of bad input call what they guard: a crash fails them.
@pytest.mark.parametrize("text", UNREADABLE)
def test_text_we_cannot_read_gets_no_answer(eval_index, text: str) -> None:
    index, _ = eval_index
    assert answer(index.rank_strict(text, limit=1)) is None
    is_small_talk_text(text)


def test_long_message_does_not_raise(eval_index) -> None:
    index, _ = eval_index
    text = ("Hi, long story, my car broke down and I was wondering about my booking. " * 60)
    assert len(text) >= 4000
    assert index.rank_strict(text)  # about a booking: some FAQ has evidence
    is_small_talk_text(text)


def test_never_raises_on_random_strings(eval_index) -> None:
    index, _ = eval_index
    rng = random.Random(7)
    for _ in range(500):
        text = "".join(chr(rng.randrange(0, 0x2FFFF)) for _ in range(rng.randrange(0, 80)))
        ranked = index.rank_strict(text, limit=3)
        assert all(0.0 <= c.confidence <= 1.0 for c in ranked)
        is_small_talk_text(text)


def test_a_failing_message_gets_no_faq_and_is_logged(eval_index, monkeypatch, caplog) -> None:
    index, _ = eval_index

    def broken(*_args, **_kwargs):
        raise RuntimeError("a matcher bug")

    monkeypatch.setattr(FaqIndex, "evidence", broken)
    with pytest.raises(RuntimeError):
        index.rank_strict("is there parking")
    assert index.rank("is there parking") == []
    assert index.match("is there parking") is None
    assert "FAQ matcher failed" in caplog.text and "a matcher bug" in caplog.text


def test_empty_index() -> None:
    index = FaqIndex.build([])
    assert len(index) == 0
    assert index.rank("do you have parking?") == []
    assert index.match("do you have parking?") is None


def test_faqs_without_keywords_or_alternatives_or_words() -> None:
    index = FaqIndex.build([
        FaqDoc(1, "Is there parking nearby?"),
        FaqDoc(2, "你好"),
        FaqDoc(3, ""),
        FaqDoc(4, "Do you sell gift vouchers?", (), ()),
    ])
    assert len(index) == 4
    best = index.match("is there anywhere to park")
    assert best is not None and best.faq_id == 1
    assert index.match("你好") is None


def test_faqs_that_share_no_readable_word_give_an_index_that_never_answers() -> None:
    index = FaqIndex.build([FaqDoc(1, "你好"), FaqDoc(2, "???")])
    assert len(index) == 2
    assert index.rank("parking") == []


@pytest.mark.parametrize("text", [
    "hi", "Hello!", "hi there", "thanks", "Thank you so much!", "thx", "ok", "OK thanks",
    "great", "perfect, thanks!", "bye", "see you tomorrow", "good morning :)", "👍",
    "😀😀", "cheers mate", "lovely thank you x", "how are you?", "yes please", "no",
])
def test_small_talk(text: str) -> None:
    assert is_small_talk(text)


@pytest.mark.parametrize("text", [
    "do you have parking?", "hi, do you have parking?", "what time do you open",
    "how much is a haircut", "how much", "thanks, can I cancel my appointment?",
    "I need to speak to someone", "你好", "", "   ", "is it free",
])
def test_not_small_talk(text: str) -> None:
    assert not is_small_talk(text)


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 10])
def test_rank_contract(eval_index, limit: int) -> None:
    index, queries = eval_index
    for text, _ in queries[::7]:
        ranked = index.rank(text, limit=limit)
        assert len(ranked) <= limit
        assert all(isinstance(c, Candidate) for c in ranked)
        confidences = [c.confidence for c in ranked]
        assert all(0.0 <= p <= 1.0 for p in confidences)
        assert all(round(p, 4) == p for p in confidences)
        assert confidences == sorted(confidences, reverse=True)
        assert len({c.faq_id for c in ranked}) == len(ranked)
        best = index.match(text, threshold=0.0)
        assert (best is None) == (not ranked)
        if ranked:
            assert best == ranked[0]


def test_rank_with_non_positive_limit(eval_index) -> None:
    index, _ = eval_index
    assert index.rank("is there parking", limit=0) == []


def test_match_respects_threshold(eval_index) -> None:
    index, _ = eval_index
    best = index.rank("is there parking near you", limit=1)[0]
    assert index.match("is there parking near you", threshold=best.confidence) == best
    assert index.match("is there parking near you", threshold=best.confidence + 1e-3) is None


def test_keyword_evidence_finds_an_faq() -> None:
    base = [
        FaqDoc(1, "How do I book an appointment?", ("Can I book online?",)),
        FaqDoc(2, "What are your opening hours?"),
        FaqDoc(3, "Where are you located?"),
        FaqDoc(4, "Do you offer a treatment for frizzy hair?"),
    ]
    without = FaqIndex.build(base)
    with_keyword = FaqIndex.build(base[:3] + [FaqDoc(
        4, "Do you offer a treatment for frizzy hair?", keywords=("keratin", "brazilian"))])
    assert without.match("do you do keratin") is None
    hit = with_keyword.match("do you do keratin")
    assert hit is not None and hit.faq_id == 4


def test_rebuilt_index_finds_a_new_faq() -> None:
    docs = default_docs()
    question = "do you do dog grooming"
    assert FaqIndex.build(docs).match(question) is None
    added = FaqDoc(99, "Do you groom dogs?", ("Do you offer dog grooming?",),
                   ("dog grooming", "groom"))
    hit = FaqIndex.build([*docs, added]).match(question)
    assert hit is not None and hit.faq_id == 99


def test_typos_and_shorthand(eval_index) -> None:
    index = FaqIndex.build(default_docs())
    for text, expected in [("can i cancle my apointment", "cancel"),
                           ("wat time r u open 2moro", "opening hours"),
                           ("can u move my appt to fri pls", "reschedule")]:
        hit = index.match(text)
        assert hit is not None and expected in hit.question.lower(), text


def test_default_faqs_are_well_formed() -> None:
    assert 8 <= len(DEFAULT_FAQS) <= 14
    for faq in DEFAULT_FAQS:
        assert set(faq) == {"question", "answer", "keywords", "alternative_questions",
                            "category"}
        assert faq["question"].strip() and faq["answer"].strip()
        assert isinstance(faq["keywords"], list) and isinstance(faq["alternative_questions"], list)
    questions = [f["question"] for f in DEFAULT_FAQS]
    assert len(set(questions)) == len(questions)


@pytest.mark.parametrize("text, topic", [
    ("how do i book", "book"), ("i need to cancel", "cancel"),
    ("whats the address", "located"), ("do you take card", "payment"),
    ("is there parking", "parking"), ("can i buy a gift card", "gift"),
])
def test_default_faqs_answer_everyday_questions(text: str, topic: str) -> None:
    hit = FaqIndex.build(default_docs()).match(text)
    assert hit is not None and topic in hit.question.lower()


def test_words_only_the_answer_uses_count_as_evidence() -> None:
    faqs = [
        FaqDoc(1, "Do you accept health insurance?", ("Can I claim through my insurer?",),
               ("insurance", "bupa"), "Yes - we are registered with Bupa, AXA and Vitality, and "
               "most policies cover physiotherapy after a GP referral."),
        FaqDoc(2, "How much does a session cost?", ("What are your fees?",), ("price", "cost"),
               "An assessment is £75 and a follow-up £60."),
        FaqDoc(3, "How do I book an appointment?", ("Can I book online?",), ("book",),
               "Book online at any time or call us."),
        FaqDoc(4, "Is there parking?", (), ("parking",), "Yes - free parking behind the clinic."),
    ]
    text = "is physio covered by vitality"
    with_answers = FaqIndex.build(faqs).rank(text)
    without = FaqIndex.build([replace(f, answer="") for f in faqs]).rank(text)
    assert with_answers[0].faq_id == without[0].faq_id == 1
    assert with_answers[0].confidence >= DEFAULT_THRESHOLD > without[0].confidence
    # The answer supports a match; on its own it does not make one ("registered" is only in an
    # answer here, so nothing is proposed).
    assert FaqIndex.build(faqs).rank("registered?") == []



def test_sentence_meaning_ranks_the_faq_the_words_miss(monkeypatch) -> None:
    # "how long ... get the photos back" shares its words with two FAQs of the photographer;
    # only the meaning says it is about receiving the photos, not about how long a shoot lasts.
    faqs, _ = load("faq_holdout_photo.json")
    question = {f.id: f.question for f in faqs}
    text = "how long does it take to get the photos back"
    top = FaqIndex.build(faqs).rank(text)[0]
    assert question[top.faq_id] == "How long will it take to receive my photos?"
    zeros = lambda texts: np.zeros((len(texts), faq_semantic.DIM), dtype=np.float32)  # noqa: E731
    monkeypatch.setattr(faq_semantic, "embed", zeros)
    monkeypatch.setattr(faq_semantic, "embed_cached", zeros)
    top = FaqIndex.build(faqs).rank(text)[0]
    assert question[top.faq_id] == "How long does a photo session last?"
