"""Refit the FAQ matcher's coefficients on the calibration set and print them.

    .venv/bin/python bench/faq_calibrate.py [--set tests/data/faq_calibration.json] [--write]

Two fits, both logistic regression:
1. ranking weights (RANK_WEIGHTS): pairwise, "correct FAQ beats this other FAQ", on the
   per-FAQ features of every answerable query;
2. confidence (CONF_COEF, CONF_INTERCEPT): on the top-ranked FAQ of every query (answerable
   or not), label = "the top FAQ is the right answer".
The printed block is what logic/faq_matcher.py holds; --write replaces it there. The script
also prints a grouped cross-validation estimate (folds split by FAQ) of precision/recall at
the default threshold, so the fit can be judged without touching the evaluation set.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from faq_eval import evaluate, load_set  # noqa: E402

import logic.faq_matcher as fm  # noqa: E402

DEFAULT_SET = ROOT / "tests" / "data" / "faq_calibration.json"
MATCHER_PATH = ROOT / "logic" / "faq_matcher.py"
RANK_C = 1.0
CONF_C = 1.0


def fit_rank_weights(index: fm.FaqIndex, ids: list[int],
                     queries: list[tuple[str, int | None]]) -> np.ndarray:
    diffs = []
    for text, label in queries:
        ev = index.evidence(text)
        if label is None or ev is None:
            continue
        right = ids.index(label)
        others = np.delete(ev.features, right, axis=0)
        diffs.append(ev.features[right] - others)
    x = np.vstack(diffs)
    x = np.vstack([x, -x])  # symmetric pairs: no intercept, balanced classes
    y = np.r_[np.ones(len(x) // 2), np.zeros(len(x) // 2)]
    scale = np.abs(x).mean(axis=0)  # no centring: pairs are symmetric around zero
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=RANK_C, fit_intercept=False, max_iter=5000).fit(x / scale, y)
    w = model.coef_.ravel() / scale
    return w / np.abs(w).sum()  # scale is arbitrary for ranking; keep scores in ~[0, 1]


def confidence_rows(index: fm.FaqIndex, ids: list[int], queries: list[tuple[str, int | None]],
                    weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for text, label in queries:
        ev = index.evidence(text)
        if ev is None:
            continue  # the matcher never answers these; nothing to calibrate
        score = ev.features @ weights
        top = np.array([int(np.argmax(score))])
        rows.append(fm.confidence_features(ev, score, top)[0])
        labels.append(1.0 if ids[top[0]] == label else 0.0)
    return np.array(rows), np.array(labels)


def fit_confidence(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    # Standardise so the L2 penalty treats small-range features (margin) like the others,
    # then fold the scaling back into raw-feature coefficients for the module.
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=CONF_C, max_iter=5000).fit((x - mean) / scale, y)
    coef = model.coef_.ravel() / scale
    return coef, float(model.intercept_[0] - coef @ mean)


def set_coefficients(weights: np.ndarray, coef: np.ndarray, intercept: float) -> None:
    fm.RANK_WEIGHTS = weights
    fm.CONF_COEF = coef
    fm.CONF_INTERCEPT = intercept


def fit_all(index: fm.FaqIndex, ids: list[int], queries: list[tuple[str, int | None]]
            ) -> tuple[np.ndarray, np.ndarray, float]:
    weights = fit_rank_weights(index, ids, queries)
    coef, intercept = fit_confidence(*confidence_rows(index, ids, queries, weights))
    return weights, coef, intercept


def cross_validate(index: fm.FaqIndex, ids: list[int], queries: list[tuple[str, int | None]],
                   folds: int = 5) -> dict[str, float]:
    """Fit on 4/5 of the FAQs' queries, score the rest; pooled counts over folds."""
    groups = [label if label is not None else -1 - i for i, (_, label) in enumerate(queries)]
    totals = {"answers": 0, "correct": 0, "answerable": 0, "false_answers_unanswerable": 0}
    for train, test in GroupKFold(n_splits=folds).split(queries, groups=groups):
        set_coefficients(*fit_all(index, ids, [queries[i] for i in train]))
        r = evaluate(index, [queries[i] for i in test], fm.DEFAULT_THRESHOLD)
        for key in totals:
            totals[key] += r[key]
    return {
        "precision": totals["correct"] / max(1, totals["answers"]),
        "recall": totals["correct"] / max(1, totals["answerable"]),
        "false_answers_unanswerable": totals["false_answers_unanswerable"],
    }


def render(weights: np.ndarray, coef: np.ndarray, intercept: float) -> str:
    def wrap(name: str, items: list[str], head: str, tail: str) -> str:
        line = f"{name} = {head}{', '.join(items)}{tail}"
        if len(line) <= 100:
            return line
        # One item per line keeps the block within the 100-column limit at any length.
        body = "".join(f"    {item},\n" for item in items)
        return f"{name} = {head}\n{body}{tail}"

    return "\n".join([
        wrap("RANK_FEATURES", [repr(n) for n in fm.RANK_FEATURES], "(", ")"),
        wrap("RANK_WEIGHTS", [f"{v:.4f}" for v in weights], "np.array([", "])"),
        wrap("CONF_FEATURES", [repr(n) for n in fm.CONF_FEATURES], "(", ")"),
        wrap("CONF_COEF", [f"{v:.4f}" for v in coef], "np.array([", "])"),
        f"CONF_INTERCEPT = {intercept:.4f}",
    ])


def write_block(block: str) -> None:
    source = MATCHER_PATH.read_text(encoding="utf-8")
    pattern = re.compile(r"(# --- Coefficients printed by.*?\n)(.*?)(# --- end of fitted)", re.S)
    if not pattern.search(source):
        raise SystemExit("coefficient markers not found in logic/faq_matcher.py")
    MATCHER_PATH.write_text(pattern.sub(lambda m: m[1] + block + "\n" + m[3], source),
                            encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default=str(DEFAULT_SET))
    parser.add_argument("--write", action="store_true", help="update logic/faq_matcher.py")
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation")
    args = parser.parse_args(argv)

    data = load_set(args.set)
    index = fm.FaqIndex.build(data.faqs)
    ids = [f.id for f in data.faqs]
    if not args.no_cv:
        cv = cross_validate(index, ids, data.queries)
        print(f"# grouped 5-fold CV at {fm.DEFAULT_THRESHOLD}: precision {cv['precision']:.3f}"
              f"  recall {cv['recall']:.3f}  false answers to unanswerable "
              f"{cv['false_answers_unanswerable']}")
    weights, coef, intercept = fit_all(index, ids, data.queries)
    set_coefficients(weights, coef, intercept)
    r = evaluate(index, data.queries, fm.DEFAULT_THRESHOLD)
    print(f"# in-sample at {fm.DEFAULT_THRESHOLD}: precision {r['precision']:.3f}  "
          f"recall {r['recall']:.3f}  answered {r['answered_share']:.3f}")
    block = render(weights, coef, intercept)
    print(block)
    if args.write:
        write_block(block)
        print(f"# written to {MATCHER_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
