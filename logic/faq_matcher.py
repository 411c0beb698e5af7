"""Match a customer message to one of a business's FAQs, with a calibrated confidence.

Each FAQ is seen through several views: word TF-IDF (stems, synonyms folded into concepts,
unigrams + bigrams) and character n-gram TF-IDF, per phrasing (question and alternatives),
plus a whole-FAQ document, keyword hits and how much of the message the FAQ's vocabulary
covers. A fixed linear score ranks FAQs; a logistic model over the top candidate's evidence
(score, margin over the runner-up, coverage, ...) turns it into a probability of being right.
Both sets of coefficients were fitted offline by bench/faq_calibrate.py on
tests/data/faq_calibration.json; nothing is trained at request time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from logic.faq_lexicon import INTENT_CONCEPTS
from logic.text_normalise import (
    QUALIFIERS,
    TypoFixer,
    char_text,
    content_words,
    is_small_talk_text,
    lexicon_vocabulary,
    to_terms,
    with_bigrams,
)

# --- Coefficients printed by bench/faq_calibrate.py (fitted on tests/data/faq_calibration.json).
RANK_FEATURES = (
    'word',
    'char',
    'doc',
    'keyword',
    'coverage',
    'missing',
    'strength',
)
RANK_WEIGHTS = np.array([
    0.0246,
    0.2435,
    0.2283,
    0.1720,
    0.1399,
    -0.1215,
    0.0702,
])
CONF_FEATURES = (
    'score',
    'margin',
    'coverage',
    'keyword',
    'missing',
    'strength',
    'unknown',
    'length',
)
CONF_COEF = np.array([
    1.0787,
    1.7280,
    1.6889,
    1.0949,
    -0.7391,
    0.9595,
    -1.2562,
    -0.5428,
])
CONF_INTERCEPT = -0.5141
# --- end of fitted coefficients.

COVERAGE_FLOOR = 0.75  # share of a never-seen word's weight a message must carry in full
INTENT_BOOST = 1.5  # weight of intent concepts (PRICE, CANCEL, ...) relative to their idf
QUALIFIER_WEIGHT = 0.3  # context words ("on saturday", "for my mum") count this much in coverage
CHAR_NGRAMS = (3, 5)
DEFAULT_THRESHOLD = 0.70


@dataclass(frozen=True)
class FaqDoc:
    """One FAQ as the matcher sees it (the answer is not needed to match)."""

    id: int
    question: str
    alternative_questions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """An FAQ proposed for a message; confidence is the estimated probability it is right."""

    faq_id: int
    question: str
    confidence: float


@dataclass
class Evidence:
    """Per-FAQ raw features for one message (used by the ranker and by calibration)."""

    features: np.ndarray  # shape (n_faqs, len(RANK_FEATURES))
    unknown: float  # share of the message's weight in words no FAQ uses
    n_terms: int


def _identity(tokens: list[str]) -> list[str]:
    return tokens


class _Vectoriser:
    """TF-IDF fitted by scikit-learn, applied to single messages without its per-call overhead."""

    def __init__(self, vectoriser: TfidfVectorizer) -> None:
        self.vocab: dict[str, int] = vectoriser.vocabulary_
        self.idf: np.ndarray = vectoriser.idf_

    def vector(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        counts: dict[int, int] = {}
        for tok in tokens:
            j = self.vocab.get(tok)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.empty(0, dtype=np.int64), np.empty(0)
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=float, count=len(counts))
        vals = (1.0 + np.log(tf)) * self.idf[idx]  # sublinear tf, as fitted
        return idx, vals / np.linalg.norm(vals)


def _dot(matrix_t: sparse.csr_matrix, idx: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Dot of a sparse query with every row of the (transposed, CSR) matrix; touches only
    the query's columns, so cost does not grow with the number of FAQs' total text."""
    if idx.size == 0:
        return np.zeros(matrix_t.shape[1])
    return np.asarray(matrix_t[idx].T @ vals).ravel()


class FaqIndex:
    """Immutable search index over one business's FAQs. Build once, query many times."""

    def __init__(self) -> None:
        self._faqs: tuple[FaqDoc, ...] = ()
        self._ready = False

    @classmethod
    def build(cls, faqs: Sequence[FaqDoc]) -> FaqIndex:
        """Index the FAQs (an empty sequence gives an index that never answers)."""
        index = cls()
        index._faqs = tuple(faqs)
        if index._faqs:
            index._fit()
        return index

    def __len__(self) -> int:
        return len(self._faqs)

    def _fit(self) -> None:
        var_terms: list[list[str]] = []
        var_chars: list[str] = []
        var_starts: list[int] = []
        doc_terms: list[list[str]] = []
        doc_chars: list[str] = []
        kw_terms: list[list[str]] = []
        kw_owner: list[int] = []
        surface: set[str] = set()
        for i, faq in enumerate(self._faqs):
            var_starts.append(len(var_terms))
            doc: list[str] = []
            chars: list[str] = []
            for text in (faq.question, *faq.alternative_questions):
                words = content_words(text)
                surface.update(words)
                terms = to_terms(words)
                var_terms.append(with_bigrams(terms))
                var_chars.append(char_text(words))
                doc += var_terms[-1]
                chars.append(var_chars[-1])
            for keyword in faq.keywords:
                words = content_words(keyword)
                surface.update(words)
                terms = sorted(set(to_terms(words)))
                if terms:
                    kw_terms.append(terms)
                    kw_owner.append(i)
                    doc += with_bigrams(to_terms(words))
                    chars.append(char_text(words))
            doc_terms.append(doc)
            doc_chars.append(" ".join(chars))

        word = TfidfVectorizer(analyzer=_identity, sublinear_tf=True)
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS,
                               sublinear_tf=True, lowercase=False)
        try:
            docs_w = word.fit_transform(doc_terms)
            docs_c = char.fit_transform(doc_chars)
        except ValueError:  # no FAQ has a single word we understand
            return
        word.idf_ = word.idf_ * np.array(
            [INTENT_BOOST if t in INTENT_CONCEPTS else 1.0 for t in word.get_feature_names_out()])
        docs_w = word.transform(doc_terms)
        self._word = _Vectoriser(word)
        self._char = _Vectoriser(char)
        self._char_analyser = char.build_analyzer()
        self._var_starts = np.array(var_starts)
        self._var_word_t = word.transform(var_terms).T.tocsr()
        self._var_char_t = char.transform(var_chars).T.tocsr()
        self._doc_word_t = docs_w.T.tocsr()
        # Which FAQs use each term at all (coverage), and which keyword phrases contain it.
        self._has_term_t = (docs_w > 0).astype(float).T.tocsr()
        n_terms = len(self._word.vocab)
        rows = [r for r, terms in enumerate(kw_terms) for _ in terms]
        cols = [self._word.vocab[t] for terms in kw_terms for t in terms]
        self._kw = sparse.csr_matrix((np.ones(len(cols)), (rows, cols)),
                                     shape=(len(kw_terms), n_terms))
        self._kw_len = np.array([len(t) for t in kw_terms], dtype=float)
        self._kw_owner = sparse.csr_matrix(
            (np.ones(len(kw_owner)), (kw_owner, range(len(kw_owner)))),
            shape=(len(self._faqs), len(kw_owner))).tocsc()
        self._unknown_idf = math.log(1 + len(self._faqs)) + 1.0  # idf of a term seen nowhere
        self._typos = TypoFixer(surface | lexicon_vocabulary())
        self._ready = True

    def evidence(self, text: str) -> Evidence | None:
        """Raw per-FAQ features for a message, or None when nothing in it is understood."""
        if not self._ready or not isinstance(text, str):
            return None
        words = [self._typos.fix(w) for w in content_words(text)]
        terms = to_terms(words)
        if not terms:
            return None
        q_idx, q_val = self._word.vector(with_bigrams(terms))
        c_idx, c_val = self._char.vector(self._char_analyser(char_text(words)))
        if q_idx.size == 0 and c_idx.size == 0:
            return None

        # Weight of each distinct query term: rarer across FAQs = more telling; unknown = max.
        weights: dict[int, float] = {}
        unknown = 0.0
        for term in set(terms):
            factor = QUALIFIER_WEIGHT if term in QUALIFIERS else 1.0
            j = self._word.vocab.get(term)
            if j is None:
                unknown += self._unknown_idf * factor
            else:
                weights[j] = self._word.idf[j] * factor
        total = unknown + sum(weights.values())
        # A floor on the denominator: a message made only of generic words ("appointment")
        # must not count as fully covered.
        total = max(total, COVERAGE_FLOOR * self._unknown_idf)
        w_idx = np.fromiter(weights.keys(), dtype=np.int64, count=len(weights))
        w_val = np.fromiter(weights.values(), dtype=float, count=len(weights)) / total

        word_sim = np.maximum.reduceat(_dot(self._var_word_t, q_idx, q_val), self._var_starts)
        char_sim = np.maximum.reduceat(_dot(self._var_char_t, c_idx, c_val), self._var_starts)
        doc_sim = _dot(self._doc_word_t, q_idx, q_val)
        coverage = _dot(self._has_term_t, w_idx, w_val)
        # Coverage is relative; "strength" is how much rare-term evidence is matched in
        # absolute terms, so one generic word ("appointment") cannot look like a sure match.
        strength = np.minimum(1.0, coverage * total / (2.0 * self._unknown_idf))
        keyword = np.zeros(len(self._faqs))
        if self._kw.shape[0] and w_idx.size:
            present = np.zeros(self._kw.shape[1])
            present[w_idx] = 1.0
            weight = np.zeros(self._kw.shape[1])
            weight[w_idx] = w_val
            hit = np.flatnonzero((self._kw @ present) >= self._kw_len)
            if hit.size:
                # Terms covered by each FAQ's matched keywords, as a set: overlapping
                # keywords ("booking", "appointment") must not count twice.
                covered = self._kw_owner[:, hit] @ self._kw[hit]
                covered.data[:] = 1.0
                keyword = covered @ weight
        # Heaviest query term each FAQ does not use: one unexplained key word ("mattress")
        # is a better sign of a different question than a lower average coverage.
        missing = np.full(len(self._faqs), max(
            (self._unknown_idf * (QUALIFIER_WEIGHT if t in QUALIFIERS else 1.0) / total
             for t in set(terms) if t not in self._word.vocab), default=0.0))
        if w_idx.size:
            absent = 1.0 - self._has_term_t[w_idx].toarray()
            missing = np.maximum(missing, (absent * w_val[:, None]).max(axis=0))
        features = np.column_stack(
            [word_sim, char_sim, doc_sim, keyword, coverage, missing, strength])
        return Evidence(features, unknown / total, len(terms))

    def rank(self, text: str, limit: int = 5) -> list[Candidate]:
        """Up to `limit` FAQs with any evidence for the message, most confident first."""
        try:
            ev = self.evidence(text)
        except Exception:  # noqa: BLE001 - a chat message must never break the caller
            return []
        if ev is None or limit <= 0:
            return []
        score = ev.features @ RANK_WEIGHTS
        order = np.argsort(-score, kind="stable")
        order = order[ev.features[order].max(axis=1) > 0][:limit]
        conf = confidences(ev, score, order)
        ranked = sorted(zip(conf, order), key=lambda pair: (-pair[0], score[pair[1]] * -1))
        return [Candidate(self._faqs[i].id, self._faqs[i].question, round(float(p), 4))
                for p, i in ranked]

    def match(self, text: str, threshold: float = DEFAULT_THRESHOLD) -> Candidate | None:
        """The best FAQ if its confidence reaches the threshold, else None."""
        best = self.rank(text, limit=1)
        return best[0] if best and best[0].confidence >= threshold else None


def confidence_features(ev: Evidence, score: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Features of CONF_FEATURES for the FAQs in `order` (rows), given all FAQs' scores."""
    if score.size > 1:
        top2 = np.partition(score, -2)[-2:]
        best, second = top2[1], top2[0]
    else:
        best, second = (score[0] if score.size else 0.0), 0.0
    chosen = score[order]
    # Margin over the strongest other FAQ: positive only for the leader.
    margin = np.where(chosen >= best, chosen - second, chosen - best)
    f = ev.features[order]
    return np.column_stack([
        chosen,
        margin,
        f[:, RANK_FEATURES.index("coverage")],
        f[:, RANK_FEATURES.index("keyword")],
        f[:, RANK_FEATURES.index("missing")],
        f[:, RANK_FEATURES.index("strength")],
        np.full(len(order), ev.unknown),
        np.full(len(order), math.log1p(ev.n_terms)),
    ])


def confidences(ev: Evidence, score: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Calibrated probabilities (logistic model fitted offline) for the FAQs in `order`."""
    if len(order) == 0:
        return np.empty(0)
    z = confidence_features(ev, score, order) @ CONF_COEF + CONF_INTERCEPT
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def is_small_talk(text: str) -> bool:
    """True for greetings, thanks, goodbyes, "ok", emoji-only and similar chit-chat.

    Such messages need no answer from an FAQ and must not be escalated to staff. Empty text is
    not small talk (there is nothing to reply to); text in a script we cannot read is not
    either, so a person gets to see it.
    """
    try:
        return is_small_talk_text(text) if isinstance(text, str) else False
    except Exception:  # noqa: BLE001 - never fail on user input
        return False
