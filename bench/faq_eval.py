"""Precision and recall of the FAQ matcher on a labelled set.

    .venv/bin/python bench/faq_eval.py [--threshold 0.7] [--set A.json [B.json ...]]
                                       [--sweep] [--errors]

With several sets each is reported and the counts are also pooled.

precision = correct answers / answers given; recall = correct answers / answerable queries;
answered share = answers / all queries.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from logic.faq_matcher import DEFAULT_THRESHOLD, FaqDoc, FaqIndex  # noqa: E402

DEFAULT_SET = ROOT / "tests" / "data" / "faq_eval.json"


@dataclass(frozen=True)
class LabelledSet:
    business: str
    faqs: list[FaqDoc]
    queries: list[tuple[str, int | None]]
    # Messages written by someone who never saw the FAQs (as real customers write them).
    independent: bool = False


def load_set(path: str | Path) -> LabelledSet:
    """Read a JSON set: {"business", "faqs": [{id, question, ...}], "queries": [{text, faq_id}]}."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    faqs = [
        FaqDoc(
            id=f["id"],
            question=f["question"],
            alternative_questions=tuple(f.get("alternative_questions") or ()),
            keywords=tuple(f.get("keywords") or ()),
            answer=f.get("answer") or "",
        )
        for f in data["faqs"]
    ]
    queries = [(q["text"], q["faq_id"]) for q in data["queries"]]
    return LabelledSet(data.get("business", str(path)), faqs, queries,
                       bool(data.get("independent", False)))


def evaluate(index: FaqIndex, queries: list[tuple[str, int | None]],
             threshold: float) -> dict[str, float]:
    """Answer every query at the threshold and count the outcomes."""
    answers = correct = false_unanswerable = wrong_faq = 0
    answerable = sum(1 for _, label in queries if label is not None)
    for text, label in queries:
        hit = index.match(text, threshold=threshold)
        if hit is None:
            continue
        answers += 1
        if hit.faq_id == label:
            correct += 1
        elif label is None:
            false_unanswerable += 1
        else:
            wrong_faq += 1
    return {
        "queries": len(queries),
        "answerable": answerable,
        "answers": answers,
        "correct": correct,
        "precision": correct / answers if answers else 1.0,
        "recall": correct / answerable if answerable else 0.0,
        "answered_share": answers / len(queries) if queries else 0.0,
        "false_answers_unanswerable": false_unanswerable,
        "wrong_faq_answers": wrong_faq,
    }


def top_k_accuracy(index: FaqIndex, queries: list[tuple[str, int | None]], k: int) -> float:
    """Share of answerable queries whose FAQ is among the first k ranked (threshold-free)."""
    labelled = [(t, lab) for t, lab in queries if lab is not None]
    hits = sum(1 for t, lab in labelled if lab in [c.faq_id for c in index.rank(t, limit=k)])
    return hits / len(labelled) if labelled else 0.0


def print_errors(index: FaqIndex, queries: list[tuple[str, int | None]],
                 threshold: float) -> None:
    for text, label in queries:
        ranked = index.rank(text, limit=2)
        best = ranked[0] if ranked else None
        answered = best is not None and best.confidence >= threshold
        ok = (answered and best.faq_id == label) or (not answered and label is None)
        if not ok:
            got = f"{best.faq_id}@{best.confidence:.2f}" if best else "-"
            nxt = f"{ranked[1].faq_id}@{ranked[1].confidence:.2f}" if len(ranked) > 1 else "-"
            print(f"  want {label!s:>4}  got {got:>9}  next {nxt:>9}  {text!r}")


def report(path: str, args: argparse.Namespace) -> dict[str, float]:
    """Print one set's figures; returns its counts for pooling."""
    data = load_set(path)
    index = FaqIndex.build(data.faqs)
    r = evaluate(index, data.queries, args.threshold)
    print(f"set: {path}  ({data.business})")
    print(f"FAQs: {len(data.faqs)}  queries: {r['queries']}  answerable: {r['answerable']}  "
          f"unanswerable: {r['queries'] - r['answerable']}")
    print(f"threshold {args.threshold:.2f}")
    print(f"  precision       {r['precision']:.3f}  ({r['correct']}/{r['answers']} answers right)")
    print(f"  recall          {r['recall']:.3f}  ({r['correct']}/{r['answerable']} answerable)")
    print(f"  answered share  {r['answered_share']:.3f}  ({r['answers']}/{r['queries']})")
    print(f"  false answers to unanswerable queries: {r['false_answers_unanswerable']}")
    print(f"  wrong-FAQ answers to answerable queries: {r['wrong_faq_answers']}")
    print(f"  top-1 / top-3 ranking accuracy (no threshold): "
          f"{top_k_accuracy(index, data.queries, 1):.3f} / "
          f"{top_k_accuracy(index, data.queries, 3):.3f}")
    if args.sweep:
        print("\n  thresh  precision  recall  answered  false-unanswerable")
        for t in (0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
            s = evaluate(index, data.queries, t)
            print(f"  {t:5.2f}   {s['precision']:8.3f}  {s['recall']:6.3f}  "
                  f"{s['answered_share']:8.3f}  {s['false_answers_unanswerable']:5d}")
    if args.errors:
        print("\nerrors:")
        print_errors(index, data.queries, args.threshold)
    return r


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--set", nargs="+", default=[str(DEFAULT_SET)],
                        help="labelled JSON set(s); several are also pooled")
    parser.add_argument("--sweep", action="store_true", help="also sweep thresholds")
    parser.add_argument("--errors", action="store_true", help="list wrong or missed queries")
    args = parser.parse_args(argv)

    results = []
    for k, path in enumerate(args.set):
        if k:
            print()
        results.append(report(path, args))
    if len(results) > 1:
        t = {key: sum(r[key] for r in results)
             for key in ("queries", "answerable", "answers", "correct")}
        print(f"\npooled over {len(results)} sets at {args.threshold:.2f}: precision "
              f"{t['correct'] / max(1, t['answers']):.3f} ({t['correct']}/{t['answers']})  "
              f"recall {t['correct'] / max(1, t['answerable']):.3f} "
              f"({t['correct']}/{t['answerable']})  answered share "
              f"{t['answers'] / max(1, t['queries']):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
