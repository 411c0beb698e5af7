"""A replay of the independently written held-out sets through the learning loop, with a
deterministic customer and staff member, as issue 15 describes:

- the customer picks the right FAQ when it is among the suggestions (best FAQ under the
  0.70 threshold, at or above the 0.30 floor) and marks an answer helpful only if it is right;
- a helpful answer's question is accepted as a phrasing of its FAQ; an escalated question is
  filed by staff under its right FAQ (out-of-scope questions are left alone here, so the
  scoring of the second half never has to guess whether a new FAQ is right).

Every other message of each business is fed through the loop, the rest is scored before and
after. The floors sit below the figures measured when this was written (photo, music, bike):

| set   | recall before -> after | precision after | self-served | out-of-scope suggested |
| ----- | ---------------------- | --------------- | ----------- | ---------------------- |
| photo | 0.286 -> 0.286         | 0.889           | 0.607       | 0.145                  |
| music | 0.179 -> 0.205         | 0.889           | 0.538       | 0.216                  |
| bike  | 0.310 -> 0.333         | 0.933           | 0.595       | 0.104                  |

(The issue's targets, recall >= 0.60 after the loop and self-served >= 0.85, are not met by
adding phrasings alone: see the report of issue 15.)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from logic.faq_matcher import DEFAULT_THRESHOLD, FaqDoc, FaqIndex, is_small_talk
from tests.logic.test_faq_matcher import INDEPENDENT_HOLDOUTS, load

FLOOR = 0.30  # the default suggestion_floor


@dataclass
class Figures:
    answerable: int = 0
    out_of_scope: int = 0
    answered: int = 0
    right: int = 0
    self_served: int = 0
    suggested_out_of_scope: int = 0

    @property
    def recall(self) -> float:
        return self.right / self.answerable

    @property
    def precision(self) -> float:
        return self.right / self.answered if self.answered else 1.0


def _score(index: FaqIndex, queries: list[tuple[str, int | None]]) -> Figures:
    figures = Figures()
    for text, label in queries:
        ranked = [] if is_small_talk(text) else index.rank(text, 3)
        leader = ranked[0] if ranked else None
        answered = leader is not None and leader.confidence >= DEFAULT_THRESHOLD
        suggested = leader is not None and not answered and leader.confidence >= FLOOR
        figures.answered += answered
        if label is None:
            figures.out_of_scope += 1
            figures.suggested_out_of_scope += suggested
            continue
        figures.answerable += 1
        right = answered and leader.faq_id == label
        figures.right += right
        figures.self_served += right or (suggested and label in [c.faq_id for c in ranked])
    return figures


def _learn(docs: dict[int, FaqDoc], text: str, faq_id: int) -> bool:
    doc = docs[faq_id]
    if text.strip().casefold() in {q.casefold() for q in (doc.question,
                                                          *doc.alternative_questions)}:
        return False
    docs[faq_id] = dataclasses.replace(
        doc, alternative_questions=(*doc.alternative_questions, text.strip()))
    return True


def replay(name: str) -> tuple[Figures, Figures]:
    faqs, queries = load(name)
    fed, scored = queries[0::2], queries[1::2]
    docs = {f.id: f for f in faqs}
    index = FaqIndex.build(list(docs.values()))
    before = _score(index, scored)
    for text, label in fed:
        if is_small_talk(text) or label is None:
            continue  # nothing to learn: small talk, or a question no FAQ answers
        # Right answer marked helpful, right suggestion picked then marked helpful, or an
        # escalated question filed by staff: each ends as a phrasing of the right FAQ.
        if _learn(docs, text, label):
            index = FaqIndex.build(list(docs.values()))  # as accepting rebuilds it
    return before, _score(index, scored)


@pytest.fixture(scope="module")
def replays() -> dict[str, tuple[Figures, Figures]]:
    return {name: replay(name) for name in INDEPENDENT_HOLDOUTS}


def test_learning_never_costs_recall_and_keeps_precision(replays) -> None:
    for name, (before, after) in replays.items():
        assert after.recall >= before.recall, name
        assert after.precision >= 0.85, (name, after)


def test_suggestions_serve_most_answerable_questions_and_few_out_of_scope_ones(
        replays) -> None:
    after = [a for _b, a in replays.values()]
    self_served = sum(a.self_served for a in after) / sum(a.answerable for a in after)
    suggested = (sum(a.suggested_out_of_scope for a in after)
                 / sum(a.out_of_scope for a in after))
    assert self_served >= 0.52
    assert suggested <= 0.25
