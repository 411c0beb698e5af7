"""An FAQ index grown by learned phrasings (FaqIndex.with_phrasings) instead of rebuilt."""
from __future__ import annotations

import random
import time

import numpy as np
import pytest

from bench.faq_scoring import synthetic_faqs
from logic.faq_matcher import FaqDoc, FaqIndex
from logic.text_normalise import TypoFixer
from tests.logic.test_faq_matcher import default_docs, load

RECITAL = "can my daughter play in the end of term recital"


@pytest.fixture(scope="module")
def music() -> tuple[list[FaqDoc], list[tuple[str, int | None]]]:
    return load("faq_holdout_music.json")


def _ranks(index: FaqIndex, texts: list[str]) -> list[list[tuple[int, float]]]:
    return [[(c.faq_id, c.confidence) for c in index.rank_strict(t, 3)] for t in texts]


def test_growing_by_known_words_gives_what_a_build_gives(music) -> None:
    faqs, queries = music
    target = faqs[3]
    # The FAQ's own question, reworded with its own words: no new term, no new idf.
    words = target.question.rstrip("?").split()
    phrasing = " ".join(reversed(words)) + "?"
    grown = FaqIndex.build(faqs).with_phrasings({target.id: [phrasing]})
    built = FaqIndex.build([f if f.id != target.id else FaqDoc(
        f.id, f.question, (*f.alternative_questions, phrasing), f.keywords, f.answer)
        for f in faqs])
    texts = [t for t, _ in queries]
    for a, b in zip(_ranks(grown, texts), _ranks(built, texts), strict=True):
        assert [i for i, _ in a] == [i for i, _ in b]
        assert np.allclose([p for _, p in a], [p for _, p in b], atol=2e-4)


def test_a_learned_phrasing_answers_its_question_and_teaches_new_words(music) -> None:
    faqs, _ = music
    index = FaqIndex.build(faqs)
    perform = next(f for f in faqs if "perform" in f.question.lower())
    assert index.match(RECITAL) is None or index.match(RECITAL).faq_id != perform.id
    grown = index.with_phrasings({perform.id: [RECITAL]})
    hit = grown.match(RECITAL)
    assert hit is not None and hit.faq_id == perform.id
    # "recital" was no FAQ's word: it is now, typos of it included.
    assert grown.rank_strict("is there a recitl", 1)[0].faq_id == perform.id
    assert grown._faqs[faqs.index(perform)].alternative_questions[-1] == RECITAL
    # The index it grew from is unchanged (a worker may still be reading it).
    assert index.match(RECITAL) is None or index.match(RECITAL).faq_id != perform.id
    assert RECITAL not in index._faqs[faqs.index(perform)].alternative_questions


def test_growing_step_by_step_equals_growing_at_once(music) -> None:
    faqs, queries = music
    learned = [(t, label) for t, label in queries[0:40:2] if label is not None]
    index = FaqIndex.build(faqs)
    step = index
    at_once: dict[int, list[str]] = {}
    for text, label in learned:
        step = step.with_phrasings({label: [text]})
        at_once.setdefault(label, []).append(text)
    once = index.with_phrasings(at_once)
    assert step._faqs == once._faqs
    texts = [t for t, _ in queries[1::4]]
    for a, b in zip(_ranks(step, texts), _ranks(once, texts), strict=True):
        assert [i for i, _ in a] == [i for i, _ in b]
        assert np.allclose([p for _, p in a], [p for _, p in b], atol=1e-4)


def test_growing_refuses_an_faq_it_does_not_have_and_grows_nothing_for_nothing() -> None:
    index = FaqIndex.build(default_docs())
    with pytest.raises(KeyError):
        index.with_phrasings({999: ["hello"]})
    assert index.with_phrasings({}) is index


def test_an_index_with_no_words_yet_is_built_when_it_grows() -> None:
    index = FaqIndex.build([FaqDoc(1, "你好"), FaqDoc(2, "Do you sell vouchers?")])
    assert index.rank("is there parking") == []
    grown = FaqIndex.build([FaqDoc(1, "你好")]).with_phrasings({1: ["is there parking nearby"]})
    hit = grown.match("is there parking nearby")
    assert hit is not None and hit.faq_id == 1


def test_accepting_a_phrasing_for_a_thousand_faqs_costs_little_cpu() -> None:
    faqs = synthetic_faqs(1000, random.Random(3))
    index = FaqIndex.build(faqs)
    costs = []
    for k in range(5):
        start = time.process_time()
        index.with_phrasings({faqs[k].id: [f"could my {k + 2} year old come along"]})
        costs.append(time.process_time() - start)
    # Measured 10-16 ms (bench/faq_replay.py); a build with every vector cached is ~330 ms.
    assert sorted(costs)[2] < 0.050, costs


def test_typo_fixer_learns_words_without_changing_the_one_it_grew_from() -> None:
    fixer = TypoFixer({"parking", "voucher"})
    grown = fixer.extended({"recital"})
    assert grown.fix("recitl") == "recital"
    assert fixer.fix("recitl") == "recitl"
    assert grown.fix("parkng") == "parking"
    assert fixer.extended({"parking"}) is fixer


def test_a_new_faq_grows_the_index_and_answers_like_a_build(music) -> None:
    faqs, queries = music
    grown = FaqIndex.build(faqs[:-3])
    for faq in faqs[-3:]:
        grown = grown.with_faqs([faq])
    built = FaqIndex.build(faqs)
    assert grown._faqs == built._faqs
    texts = [t for t, _ in queries]
    pairs = list(zip(_ranks(grown, texts), _ranks(built, texts), strict=True))
    # The idf of known terms stays as fitted on 25 FAQs: the leader is the same, its
    # confidence within a little (measured: 180 of 180 leaders, at most 0.015 apart).
    assert all([i for i, _ in a[:1]] == [i for i, _ in b[:1]] for a, b in pairs)
    assert max(abs(a[0][1] - b[0][1]) for a, b in pairs if a and b) <= 0.03
    last = faqs[-1]
    hit = grown.match(last.question)
    assert hit is not None and hit.faq_id == last.id


def test_a_new_faq_with_new_words_and_keywords_is_found() -> None:
    docs = default_docs()
    question = "do you do dog grooming"
    index = FaqIndex.build(docs)
    assert index.match(question) is None
    added = FaqDoc(99, "Do you groom dogs?", ("Do you offer dog grooming?",),
                   ("dog grooming", "groom"), "Yes, on Tuesdays.")
    grown = index.with_faqs([added])
    hit = grown.match(question)
    assert hit is not None and hit.faq_id == 99
    assert grown.rank_strict("groom", 1)[0].faq_id == 99  # through its keyword
    assert index.match(question) is None  # the index it grew from is unchanged
    with pytest.raises(ValueError):
        grown.with_faqs([added])
    assert index.with_faqs([]) is index
