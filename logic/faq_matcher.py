"""Match a customer message to one of a business's FAQs, with a calibrated confidence.

Each FAQ is seen through several views of its phrasings, keywords and answer (word and
character TF-IDF, coverage in both directions, intents, question types, sentence vectors); a
fixed linear score over them ranks FAQs and a logistic model over the leader's evidence turns
it into the probability that the answer is right. Both are fitted offline by
training/faq_calibrate.py; nothing is trained at run time. Phrasings learned from customers are
added to a built index without a rebuild (FaqIndex.with_phrasings). The longer account of the
evidence and of how it was fitted is training/faq_matcher_history.md.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from logic import faq_semantic
from logic.faq_lexicon import INTENT_CONCEPTS
from logic.faq_vectors import Postings, Vectoriser
from logic.text_normalise import (
    QUALIFIERS,
    SUBJECTS,
    TypoFixer,
    char_text,
    content_words,
    is_small_talk_text,
    lexicon_vocabulary,
    question_type_mask,
    to_terms,
    with_bigrams,
)

# --- Coefficients printed by training/faq_calibrate.py (see the module docstring).
RANK_FEATURES = ('word', 'char', 'doc', 'keyword', 'coverage', 'missing', 'intent_gap', 'rev',
                 'uncovered', 'type_agree', 'type_clash', 'ans_cover', 'sem', 'sem_ans')
RANK_WEIGHTS = np.array([-0.0055, -0.0017, 0.0313, 0.1252, 0.1257, -0.0281, -0.0033, -0.0069,
                         -0.0008, 0.0019, -0.0019, 0.1677, 0.2958, 0.2041])
CONF_FEATURES = ('score', 'margin', 'coverage', 'keyword', 'missing', 'intent_gap', 'cov_x_rev',
                 'subject_gap', 'ans_cover', 'sem_margin', 'ans_margin')
CONF_COEF = np.array([5.3701, 3.6317, 1.0944, 0.0567, -1.6744, -0.4417, 0.8795, -0.2092, 1.8733,
                      2.9219, 2.9126])
CONF_INTERCEPT = -1.7899
# --- end of fitted coefficients.

COVERAGE_FLOOR = 0.75  # share of a never-seen word's weight a message must carry in full
INTENT_BOOST = 1.5  # weight of intent concepts (PRICE, CANCEL, ...) relative to their idf
_EVIDENCE = ("word", "char", "doc", "keyword", "coverage")
QUALIFIER_WEIGHT = 0.3  # context words ("on saturday", "for my mum") count this much in coverage
CHAR_NGRAMS = (3, 5)
DEFAULT_THRESHOLD = 0.70

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaqDoc:
    """One FAQ as the matcher sees it (its answer is supporting evidence, see ans_cover)."""

    id: int
    question: str
    alternative_questions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    answer: str = ""


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
    unknown: float  # share of the message's weight in words no FAQ uses (diagnostics)
    # 1.0 if the message names a kind of animal or vehicle that no FAQ mentions (see
    # faq_lexicon.SUBJECT_WORDS), else 0.0; the same for every FAQ, so it only lowers confidence.
    subject_gap: float = 0.0


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def _intent_boost(term: str) -> float:
    return INTENT_BOOST if term in INTENT_CONCEPTS else 1.0


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
        var_unigrams: list[list[str]] = []
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
                var_unigrams.append(terms)
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
            word.fit(doc_terms)
            char.fit(doc_chars)
        except ValueError:  # no FAQ has a single word we understand
            return
        word.idf_ = word.idf_ * np.array([_intent_boost(t) for t in word.get_feature_names_out()])
        docs_w = word.transform(doc_terms)
        self._word = Vectoriser.fitted(word)
        self._terms = word.get_feature_names_out().tolist()
        self._char = Vectoriser.fitted(char)
        self._char_analyser = char.build_analyzer()
        self._var_starts = np.array(var_starts)
        self._var_word = Postings(word.transform(var_terms))
        self._var_char = Postings(char.transform(var_chars))
        self._doc_terms = doc_terms
        self._doc_word = Postings(docs_w)
        # Which FAQs use each term at all (coverage), and which keyword phrases contain it.
        self._has_term = Postings((docs_w > 0).astype(float))
        self._var_rev = Postings(self._reverse_weights(var_unigrams))
        rows = [r for r, terms in enumerate(kw_terms) for _ in terms]
        cols = [self._word.vocab[t] for terms in kw_terms for t in terms]
        self._kw = Postings(sparse.csr_matrix(
            (np.ones(len(cols)), (rows, cols)), shape=(len(kw_terms), len(self._word.vocab))))
        self._kw_terms = [np.array([self._word.vocab[t] for t in terms]) for terms in kw_terms]
        self._kw_len = np.array([len(t) for t in kw_terms])
        self._kw_owner = np.array(kw_owner, dtype=np.int64)
        self._unknown_idf = math.log(1 + len(self._faqs)) + 1.0  # idf of a term seen nowhere
        # Question types (price, time, procedure, ...) each FAQ answers: union over phrasings.
        self._types = np.array([
            np.bitwise_or.reduce([question_type_mask(t)
                                  for t in (faq.question, *faq.alternative_questions)])
            for faq in self._faqs], dtype=np.int64)
        # Terms of each FAQ's answer (any term, known to the questions or not) -> FAQ rows.
        ans_rows: dict[str, list[int]] = {}
        for i, faq in enumerate(self._faqs):
            for term in set(to_terms(content_words(faq.answer))):
                ans_rows.setdefault(term, []).append(i)
        self._ans_rows = {t: np.array(r, dtype=np.int64) for t, r in ans_rows.items()}
        # Sentence vectors of every phrasing (rows in var_starts order) and of each answer.
        self._var_vec = faq_semantic.embed_cached(
            [t for faq in self._faqs for t in (faq.question, *faq.alternative_questions)])
        self._ans_vec = faq_semantic.embed_cached([faq.answer for faq in self._faqs])
        self._typos = TypoFixer(surface | lexicon_vocabulary())
        self._ready = True

    def _reverse_weights(self, var_unigrams: list[list[str]]) -> sparse.csr_matrix:
        """Variants x terms: each distinct term's share of its phrasing's idf weight.

        Dotted with a message's terms it says how much of a phrasing the message covers
        ("do you make night guards" covers little of "Can I get a gum shield made?").
        """
        rows, cols, vals = [], [], []
        for r, terms in enumerate(var_unigrams):
            js = sorted({self._word.vocab[t] for t in terms if t in self._word.vocab})
            w = np.array([self._word.idf[j] * (QUALIFIER_WEIGHT if t in QUALIFIERS else 1.0)
                          for j, t in ((j, self._terms[j]) for j in js)])
            if w.size:
                rows += [r] * len(js)
                cols += js
                vals += (w / w.sum()).tolist()
        return sparse.csr_matrix((vals, (rows, cols)),
                                 shape=(len(var_unigrams), len(self._word.vocab)))

    def with_phrasings(self, added: Mapping[int, Sequence[str]]) -> FaqIndex:
        """A new index whose FAQs also have these phrasings (FAQ id -> texts appended to its
        alternative questions); this one is left as it is, for whoever still reads it.

        Only the new texts are analysed and embedded, and their rows added: accepting a
        phrasing learned from a customer costs milliseconds, not a rebuild. The fitted idf
        of known terms stays until the next build (logic/faq_vectors.py)."""
        from logic import faq_growth

        return faq_growth.with_phrasings(self, added)

    def with_faqs(self, faqs: Sequence[FaqDoc]) -> FaqIndex:
        """A new index that also has these FAQs, after its own (a new FAQ has the highest
        id); this one is left as it is. Only the new FAQs' texts are analysed and embedded."""
        from logic import faq_growth

        return faq_growth.with_faqs(self, faqs)

    def evidence(self, text: str, vector: np.ndarray | None = None) -> Evidence | None:
        """Raw per-FAQ features for a message, or None when nothing in it is understood.

        ``vector`` is the message's sentence vector when the caller embedded several
        messages at once (cheaper per message); otherwise it is computed here."""
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
                unknown += self._unknown_weight(term) * factor
            else:
                weights[j] = self._word.idf[j] * factor
        total = unknown + sum(weights.values())
        # A floor on the denominator: a message made only of generic words ("appointment")
        # must not count as fully covered.
        total = max(total, COVERAGE_FLOOR * self._unknown_idf)
        w_idx = np.fromiter(weights.keys(), dtype=np.int64, count=len(weights))
        w_val = np.fromiter(weights.values(), dtype=float, count=len(weights)) / total

        word_sim = np.maximum.reduceat(self._var_word.dot(q_idx, q_val), self._var_starts)
        char_sim = np.maximum.reduceat(self._var_char.dot(c_idx, c_val), self._var_starts)
        doc_sim = self._doc_word.dot(q_idx, q_val)
        coverage = self._has_term.dot(w_idx, w_val)
        keyword = self._keyword_evidence(w_idx, w_val)
        # Per distinct message term (rows) and FAQ (columns): 1 where the FAQ's questions and
        # keywords lack the term. Known terms first (in w_idx order), then unknown ones.
        unknown_terms = sorted({t for t in terms if t not in self._word.vocab})
        n = len(self._faqs)
        absent = np.ones((len(w_idx) + len(unknown_terms), n))
        rev = np.zeros(n)
        if w_idx.size:
            rev = np.maximum.reduceat(
                self._var_rev.dot(w_idx, np.ones(w_idx.size)), self._var_starts)
            which, rows, _ = self._has_term.gather(w_idx)
            absent[which, rows] = 0.0
        row_terms = [self._terms[j] for j in w_idx.tolist()] + unknown_terms
        row_weight = np.r_[w_val, [self._unknown_weight(t) * (
            QUALIFIER_WEIGHT if t in QUALIFIERS else 1.0) / total for t in unknown_terms]]
        # Weight share of the message in terms only the FAQ's answer uses ("is physio covered
        # by my insurance" -> "Do you accept health insurance?", whose answer lists insurers
        # that "cover" treatment).
        ans_cover = np.zeros(n)
        for r, term in enumerate(row_terms):
            owners = self._ans_rows.get(term)
            if owners is not None:
                ans_cover[owners] += absent[r, owners] * row_weight[r]
        # Heaviest query term each FAQ does not use: one unexplained key word ("mattress")
        # is a better sign of a different question than a lower average coverage.
        missing = (absent * row_weight[:, None]).max(axis=0, initial=0.0)
        # How many topic words (not context like "tomorrow") each FAQ leaves unexplained.
        topic = np.array([t not in QUALIFIERS for t in row_terms], dtype=bool)
        uncovered = absent[topic].sum(axis=0) if topic.any() else np.zeros(n)
        # An intent the message expresses (price, cancel, a problem report, ...) that the FAQ
        # never mentions means it answers a different question, however similar otherwise.
        intent = np.array([t in INTENT_CONCEPTS for t in row_terms], dtype=bool)
        intent_gap = absent[intent].max(axis=0) if intent.any() else np.zeros(n)
        # Question-type agreement: a message asking "how much notice" wants a time/policy
        # answer, not the procedure FAQ of the same topic ("How do I cancel?").
        q_types = question_type_mask(text)
        type_agree = ((self._types & q_types) != 0).astype(float)
        type_clash = (1.0 - type_agree) if q_types else np.zeros(len(self._faqs))
        # Meaning rather than words: how close the message's sentence vector is to each FAQ's
        # closest phrasing and to its answer, relative to the closest FAQ (short messages are
        # close to everything, so only the differences between FAQs tell).
        vec = faq_semantic.embed([text])[0] if vector is None else vector
        sem = np.maximum.reduceat(self._var_vec @ vec, self._var_starts)
        sem_ans = self._ans_vec @ vec
        features = np.column_stack(
            [word_sim, char_sim, doc_sim, keyword, coverage, missing, intent_gap, rev, uncovered,
             type_agree, type_clash, ans_cover, sem - sem.max(), sem_ans - sem_ans.max()])
        subject_gap = float(bool(SUBJECTS.intersection(unknown_terms)))
        return Evidence(features, unknown / total, subject_gap)

    def _unknown_weight(self, term: str) -> float:
        """Weight of a term no FAQ uses: as telling as the rarest term (more if an intent)."""
        return self._unknown_idf * (INTENT_BOOST if term in INTENT_CONCEPTS else 1.0)

    def _keyword_evidence(self, w_idx: np.ndarray, w_val: np.ndarray) -> np.ndarray:
        """Per FAQ: weight share of the message's terms covered by its fully-matched keywords."""
        keyword = np.zeros(len(self._faqs))
        if not self._kw_terms or w_idx.size == 0:
            return keyword
        _, kw_rows, _ = self._kw.gather(w_idx)
        hits = np.flatnonzero(np.bincount(kw_rows, minlength=len(self._kw_terms))
                              >= self._kw_len)
        weight = dict(zip(w_idx.tolist(), w_val.tolist(), strict=True))
        covered: dict[int, set[int]] = {}
        for h in hits:  # only keywords that matched; a handful per message
            covered.setdefault(int(self._kw_owner[h]), set()).update(self._kw_terms[h].tolist())
        # A set per FAQ: overlapping keywords ("booking", "appointment") must not count twice.
        for faq, terms in covered.items():
            keyword[faq] = sum(weight[t] for t in terms)
        return keyword

    def rank(self, text: str, limit: int = 5, vector: np.ndarray | None = None
             ) -> list[Candidate]:
        """Up to `limit` FAQs with any evidence for the message, most confident first.

        A message the matcher fails on gets no FAQ (and the failure is logged), so the
        conversation goes on to a person; rank_strict() is the same without that guard."""
        try:
            return self.rank_strict(text, limit, vector)
        except Exception:  # noqa: BLE001 - a chat message must never break the caller
            log.exception("FAQ matcher failed on a message of %d characters",
                          len(text) if isinstance(text, str) else -1)
            return []

    def rank_strict(self, text: str, limit: int = 5, vector: np.ndarray | None = None
                    ) -> list[Candidate]:
        """As rank(), raising whatever the matcher raises (for tests of bad input)."""
        ev = self.evidence(text, vector)
        if ev is None or limit <= 0:
            return []
        score = ev.features @ RANK_WEIGHTS
        matched = candidates(ev)
        if matched.size > limit:
            matched = matched[np.argpartition(-score[matched], limit - 1)[:limit]]
        order = matched[np.argsort(-score[matched], kind="stable")]
        conf = confidences(ev, score, order)
        if conf.size > 1:
            # At most one FAQ is the right answer, so the runners-up share what the leader
            # leaves (the model is fitted on leaders; its raw runner-up values overlap). The
            # leader stays first so rank()[0] is what match() answers, whatever the limit.
            rest = conf[1:].sum()
            if rest > 1.0 - conf[0]:
                conf[1:] *= (1.0 - conf[0]) / rest
            conf[1:] = np.minimum(conf[1:], conf[0])
            runners = np.argsort(-conf[1:], kind="stable") + 1
            order, conf = order[np.r_[0, runners]], conf[np.r_[0, runners]]
        return [Candidate(self._faqs[i].id, self._faqs[i].question, round(float(p), 4))
                for p, i in zip(conf, order, strict=True)]

    def match(self, text: str, threshold: float = DEFAULT_THRESHOLD,
              vector: np.ndarray | None = None) -> Candidate | None:
        """The best FAQ if its confidence reaches the threshold, else None."""
        return answer(self.rank(text, limit=1, vector=vector), threshold)


def answer(ranked: Sequence[Candidate], threshold: float = DEFAULT_THRESHOLD
           ) -> Candidate | None:
    """The answer a ranking gives: its leader if confident enough (rank()[0] is the leader
    whatever the limit, so any rank() of the message gives what match() gives)."""
    return ranked[0] if ranked and ranked[0].confidence >= threshold else None


_EVIDENCE_COLS = [RANK_FEATURES.index(n) for n in _EVIDENCE]


def candidates(ev: Evidence) -> np.ndarray:
    """Indices of the FAQs that share something with the message (words, character n-grams,
    keywords); "missing" and the other features are not evidence of a match."""
    return np.flatnonzero(ev.features[:, _EVIDENCE_COLS].max(axis=1) > 0)


def _margin(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Per FAQ in `order`: its value minus the highest other FAQ's (positive only for the top)."""
    if values.size > 1:
        second, best = np.partition(values, -2)[-2:]
    else:
        best, second = (values[0] if values.size else 0.0), 0.0
    chosen = values[order]
    return np.where(chosen >= best, chosen - second, chosen - best)


def confidence_features(ev: Evidence, score: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Features of CONF_FEATURES for the FAQs in `order` (rows), given all FAQs' scores."""
    named = dict(zip(RANK_FEATURES, ev.features[order].T, strict=True))
    named["margin"] = _margin(score, order)
    named["score"] = score[order]
    # Both directions at once: the FAQ explains the message and the message asks for most
    # of the FAQ's phrasing. Either alone is common in near-misses ("gift wrapping").
    named["cov_x_rev"] = named["coverage"] * named["rev"]
    # An animal or vehicle the business never mentions ("sports massage for horses").
    named["subject_gap"] = np.full(len(order), ev.subject_gap)
    # How much closer in meaning the FAQ's phrasings, and its answer, are to the message than
    # any other FAQ's: the words may point at one FAQ while the sense points at another.
    named["sem_margin"] = _margin(ev.features[:, RANK_FEATURES.index("sem")], order)
    named["ans_margin"] = _margin(ev.features[:, RANK_FEATURES.index("sem_ans")], order)
    return np.column_stack([named[n] for n in CONF_FEATURES])


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
    if not isinstance(text, str):
        return False
    try:
        return is_small_talk_text(text)
    except Exception:  # noqa: BLE001 - never fail on user input; tests call the inner function
        log.exception("small-talk check failed on a message of %d characters", len(text))
        return False
