"""The learning loop replayed on the independently written held-out businesses.

    .venv/bin/python bench/faq_replay.py [--set A.json ...] [--floors 0.3 0.2 0.1]
                                         [--faqs 1000] [--repeat 20]

A deterministic customer and staff member go through every other message of a business:

- the customer picks the right FAQ when it is among the suggestions (best FAQ under the 0.70
  threshold, at or above the suggestion floor) and marks an answer helpful only if it is right;
- a helpful answer's question is accepted as a phrasing of its FAQ, and staff file every
  escalated answerable question under its right FAQ. Out-of-scope questions are left alone,
  so the scoring of the other half never has to guess whether a new FAQ is right.

Every accepted phrasing grows the index as the workers' cache does (FaqIndex.with_phrasings).
The other half is scored before and after: recall and precision at 0.70, the self-served share
of answerable messages (right answer, or right FAQ picked from the suggestions) and the share
of out-of-scope messages that get suggestions, at each suggestion floor. Last, the worker CPU
(process time) of accepting one phrasing for a synthetic 1,000-FAQ business, against a build,
and of the workers' index cache catching up on it (reading the FAQs included).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.faq_eval import load_set  # noqa: E402
from logic.faq_matcher import (  # noqa: E402
    DEFAULT_THRESHOLD,
    Candidate,
    FaqIndex,
    is_small_talk,
)

DATA = ROOT / "tests" / "data"
HELD_OUT = ("faq_holdout_photo.json", "faq_holdout_music.json", "faq_holdout_bike.json")
DEFAULT_FLOOR = 0.30  # the default suggestion_floor
SUGGESTIONS = 3


@dataclass
class Figures:
    """Outcomes of one half of a business's messages at one suggestion floor."""

    answerable: int = 0
    out_of_scope: int = 0
    answered: int = 0
    right: int = 0
    self_served: int = 0
    suggested_out_of_scope: int = 0

    @property
    def recall(self) -> float:
        return self.right / self.answerable if self.answerable else 0.0

    @property
    def precision(self) -> float:
        return self.right / self.answered if self.answered else 1.0

    @property
    def self_served_share(self) -> float:
        return self.self_served / self.answerable if self.answerable else 0.0

    @property
    def suggested_share(self) -> float:
        return self.suggested_out_of_scope / self.out_of_scope if self.out_of_scope else 0.0

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(a + b for a, b in zip(vars(self).values(), vars(other).values(),
                                                strict=True)))


@dataclass
class Replay:
    business: str
    before: Figures
    after: Figures
    after_rebuilt: Figures  # the same phrasings, index built afresh (idf refitted)
    learned: int


def rank(index: FaqIndex, text: str) -> list[Candidate]:
    """What the automation sees for a customer message (small talk is never ranked)."""
    return [] if is_small_talk(text) else index.rank(text, SUGGESTIONS)


def score(index: FaqIndex, queries: list[tuple[str, int | None]],
          floor: float = DEFAULT_FLOOR) -> Figures:
    figures = Figures()
    for text, label in queries:
        ranked = rank(index, text)
        leader = ranked[0] if ranked else None
        answered = leader is not None and leader.confidence >= DEFAULT_THRESHOLD
        suggested = leader is not None and not answered and leader.confidence >= floor
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


def learn(index: FaqIndex, queries: list[tuple[str, int | None]]) -> tuple[FaqIndex, int]:
    """Feed the messages through the loop; the grown index and how many phrasings it learned.

    Right answer marked helpful, right suggestion picked then marked helpful, or an escalated
    question filed by staff: each answerable question ends as a phrasing of its right FAQ
    (unless the FAQ has it already), accepted one at a time as staff would."""
    learned = 0
    for text, label in queries:
        if label is None or is_small_talk(text):
            continue  # nothing to learn: small talk, or a question no FAQ answers
        faq = next(f for f in index._faqs if f.id == label)
        known = {q.strip().casefold() for q in (faq.question, *faq.alternative_questions)}
        if text.strip().casefold() in known:
            continue
        index = index.with_phrasings({label: [text.strip()]})
        learned += 1
    return index, learned


def replay(name: str, floor: float = DEFAULT_FLOOR) -> Replay:
    """Feed every other message of the business (the even ones), score the odd ones."""
    labelled = load_set(DATA / name)
    fed, scored = labelled.queries[0::2], labelled.queries[1::2]
    index = FaqIndex.build(labelled.faqs)
    before = score(index, scored, floor)
    grown, learned = learn(index, fed)
    rebuilt = FaqIndex.build(list(grown._faqs))
    return Replay(labelled.business, before, score(grown, scored, floor),
                  score(rebuilt, scored, floor), learned)


def rebuild_cpu_ms(n_faqs: int, repeat: int) -> tuple[float, float, float, float]:
    """(median CPU ms to accept one phrasing, its max, median CPU ms to add one FAQ, CPU ms
    of a build with every vector cached) for a synthetic business of n_faqs FAQs."""
    from bench.faq_scoring import synthetic_faqs

    rng = random.Random(42)
    faqs = synthetic_faqs(n_faqs + repeat, rng)
    extra, faqs = faqs[n_faqs:], faqs[:n_faqs]
    index = FaqIndex.build(faqs)  # loads the encoder and caches every FAQ text's vector
    added = []
    for faq in extra:  # a new FAQ's texts are new: embedding them is part of the cost
        start = time.process_time()
        index.with_faqs([faq])
        added.append((time.process_time() - start) * 1000)
    grow = []
    for k in range(repeat):
        faq = faqs[rng.randrange(len(faqs))]
        text = f"could my {k + 2} year old come along for the {faq.question.split()[-1]}"
        start = time.process_time()
        index.with_phrasings({faq.id: [text]})
        grow.append((time.process_time() - start) * 1000)
    faqs[0] = replace(faqs[0], alternative_questions=(*faqs[0].alternative_questions,
                                                      "a phrasing learned from a customer"))
    FaqIndex.build(faqs)  # the new text's vector, so the timed build below re-encodes nothing
    start = time.process_time()
    FaqIndex.build(faqs)
    build = (time.process_time() - start) * 1000
    return statistics.median(grow), max(grow), statistics.median(added), build


def cache_cpu_ms(n_faqs: int, repeat: int, database_url: str) -> tuple[float, float]:
    """(median, max) CPU ms of the worker's index cache (infra/faq_index.py) catching up after
    one phrasing was filed under an FAQ of an n_faqs-FAQ business: it reads the business's
    FAQs, sees that only a phrasing was added, and grows its index."""
    import os
    import tempfile

    os.environ.setdefault("DATABASE_URL", database_url or
                          f"sqlite:///{tempfile.mkdtemp(prefix='faq_replay_')}/bench.db")
    from bench.faq_scoring import synthetic_faqs
    from infra import faq_index
    from models import Business, Faq, db
    from web.app import create_app
    from web.bootstrap import migrate_database

    app = create_app({"TESTING": True}, role="worker")
    migrate_database(app)
    rng = random.Random(42)
    costs = []
    with app.app_context():
        business = Business(name="Replay bench")
        db.session.add(business)
        db.session.flush()
        rows = [Faq(business_id=business.id, question=f.question, answer=f.answer,
                    keywords=list(f.keywords), alternative_questions=list(f.alternative_questions))
                for f in synthetic_faqs(n_faqs, rng)]
        db.session.add_all(rows)
        db.session.commit()
        faq_index.index_for(business)  # the first build: every vector, the encoder
        for k in range(repeat):
            faq = rows[rng.randrange(len(rows))]
            faq.alternative_questions = [*faq.alternative_questions,
                                         f"could my {k + 2} year old come along to this"]
            business.faq_version += 1
            db.session.commit()
            db.session.refresh(business)
            start = time.process_time()
            faq_index.index_for(business)
            costs.append((time.process_time() - start) * 1000)
        db.session.delete(business)
        db.session.commit()
    return statistics.median(costs), max(costs)


def _row(name: str, r: Replay, floor: float) -> str:
    b, a = r.before, r.after
    return (f"| {name} | {floor:.2f} | {b.recall:.3f} -> {a.recall:.3f} "
            f"({a.right}/{a.answerable}) | {a.precision:.3f} ({a.right}/{a.answered}) "
            f"| {r.after_rebuilt.recall:.3f} / {r.after_rebuilt.precision:.3f} "
            f"| {a.self_served_share:.3f} | {a.suggested_share:.3f} "
            f"({a.suggested_out_of_scope}/{a.out_of_scope}) | {r.learned} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs="+", default=list(HELD_OUT))
    parser.add_argument("--floors", type=float, nargs="+", default=[DEFAULT_FLOOR, 0.2, 0.1])
    parser.add_argument("--faqs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", default="",
                        help="for the index cache's figure (default: a new SQLite file)")
    args = parser.parse_args(argv)
    print("| business | floor | recall at 0.70, before -> after | precision after "
          "| after, index rebuilt: recall / precision | self-served | out-of-scope suggested "
          "| phrasings learned |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for floor in args.floors:
        replays = [replay(Path(name).name, floor) for name in args.set]
        for r in replays:
            print(_row(r.business, r, floor))
        pooled = Replay("pooled", sum((r.before for r in replays), Figures()),
                        sum((r.after for r in replays), Figures()),
                        sum((r.after_rebuilt for r in replays), Figures()),
                        sum(r.learned for r in replays))
        print(_row("**pooled**", pooled, floor))
    median, worst, add_faq, build = rebuild_cpu_ms(args.faqs, args.repeat)
    print(f"\naccepting one phrasing, {args.faqs} FAQs: CPU median {median:.1f} ms, "
          f"max {worst:.1f} ms ({args.repeat} runs); adding one FAQ: CPU median "
          f"{add_faq:.1f} ms; a build with every vector cached: {build:.0f} ms")
    median, worst = cache_cpu_ms(args.faqs, args.repeat, args.database_url)
    print(f"the workers' index cache catching up on one filed phrasing (reads {args.faqs} "
          f"FAQs, grows the index): CPU median {median:.1f} ms, max {worst:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
