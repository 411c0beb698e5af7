"""Growing a built FAQ index by what the business learned, without rebuilding it.

A phrasing accepted from a customer, or a new FAQ staff saved from an escalated question,
is analysed and embedded alone and its rows are added to the index's matrices; nothing else
is re-read, re-encoded or refitted. The fitted idf of the terms the index knew stays as it
was (a new term gets the idf of a term in one FAQ, which it is), so a grown index scores a
message within a little of an index built afresh from the same FAQs; the workers' cache
(infra/faq_index.py) builds afresh now and then to refit. FaqIndex.with_phrasings and
FaqIndex.with_faqs are the entry points.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
from scipy import sparse

from logic import faq_semantic
from logic.faq_matcher import FaqDoc, FaqIndex, _intent_boost
from logic.text_normalise import (
    char_text,
    content_words,
    question_type_mask,
    to_terms,
    with_bigrams,
)


def with_phrasings(index: FaqIndex, added: Mapping[int, Sequence[str]]) -> FaqIndex:
    """A new index whose FAQs also have these phrasings (FAQ id -> texts appended to its
    alternative questions); this one is left as it is, for whoever still reads it.

    Only the new texts are analysed and embedded, and their rows added: accepting a
    phrasing learned from a customer costs milliseconds, not a rebuild. The fitted idf
    of known terms stays until the next build (logic/faq_vectors.py)."""
    pos = {faq.id: i for i, faq in enumerate(index._faqs)}
    unknown = [faq_id for faq_id in added if faq_id not in pos]
    if unknown:
        raise KeyError(f"no FAQ {unknown[0]} in this index")
    owners = [pos[faq_id] for faq_id, texts in added.items() for _ in texts]
    texts = [t for ts in added.values() for t in ts]
    faqs = list(index._faqs)
    for faq_id, ts in added.items():
        faq = faqs[pos[faq_id]]
        faqs[pos[faq_id]] = replace(
            faq, alternative_questions=(*faq.alternative_questions, *ts))
    if not texts:
        return index
    if not index._ready:  # nothing was fitted yet: the new words may be the first ones
        return type(index).build(faqs)
    new = copy.copy(index)
    new._faqs = tuple(faqs)
    return _grown(new, owners, texts)


def with_faqs(index: FaqIndex, faqs: Sequence[FaqDoc]) -> FaqIndex:
    """A new index that also has these FAQs, after its own (a new FAQ has the highest
    id); this one is left as it is. Only the new FAQs' texts are analysed and embedded."""
    if not faqs:
        return index
    ids = {faq.id for faq in index._faqs}
    if len(ids | {faq.id for faq in faqs}) != len(ids) + len(faqs):
        raise ValueError("an FAQ is already in the index, or given twice")
    if not index._ready:
        return type(index).build([*index._faqs, *faqs])
    new = copy.copy(index)
    new._faqs = (*index._faqs, *faqs)
    n_old, n = len(index._faqs), len(new._faqs)
    new._unknown_idf = math.log(1 + n) + 1.0
    # Keywords: their terms join the vocabulary, the FAQ's document and the keyword lists.
    kw_words: list[str] = []
    kw_terms: list[list[str]] = []
    kw_owner: list[int] = []
    kw_doc: list[list[str]] = [[] for _ in faqs]
    kw_grams: list[str] = []
    for k, faq in enumerate(faqs):
        for keyword in faq.keywords:
            words = content_words(keyword)
            terms = sorted(set(to_terms(words)))
            if terms:
                kw_words += words
                kw_terms.append(terms)
                kw_owner.append(n_old + k)
                kw_doc[k] += with_bigrams(to_terms(words))
                kw_grams += index._char_analyser(char_text(words))
    new._word, new_terms = index._word.extended(
        (t for ts in kw_doc for t in ts), n, _intent_boost)
    new._terms = index._terms + new_terms
    new._char, _ = index._char.extended(kw_grams, n)
    n_terms = len(new._word.vocab)
    rows = [r for r, terms in enumerate(kw_terms) for _ in terms]
    cols = [new._word.vocab[t] for terms in kw_terms for t in terms]
    new._kw = index._kw.regrown(sparse.csr_matrix(
        (np.ones(len(cols)), (rows, cols)), shape=(len(kw_terms), n_terms)), None, n_terms)
    new._kw_terms = index._kw_terms + [
        np.array([new._word.vocab[t] for t in terms]) for terms in kw_terms]
    new._kw_len = np.r_[index._kw_len, [len(t) for t in kw_terms]].astype(np.int64)
    new._kw_owner = np.r_[index._kw_owner, kw_owner].astype(np.int64)
    # Empty rows for now; growing by their phrasings below fills them.
    new._doc_terms = index._doc_terms + kw_doc
    empty = sparse.csr_matrix((len(faqs), n_terms))
    new._doc_word = index._doc_word.regrown(empty, None, n_terms)
    new._has_term = index._has_term.regrown(empty, None, n_terms)
    new._var_starts = np.r_[index._var_starts, np.full(len(faqs), index._var_word.n_rows)]
    new._types = np.r_[index._types, np.zeros(len(faqs), dtype=np.int64)]
    ans_rows = dict(index._ans_rows)
    for k, faq in enumerate(faqs):
        for term in set(to_terms(content_words(faq.answer))):
            ans_rows[term] = np.r_[ans_rows.get(term, np.empty(0, dtype=np.int64)),
                                   n_old + k].astype(np.int64)
    new._ans_rows = ans_rows
    new._ans_vec = np.vstack([index._ans_vec,
                              faq_semantic.embed_cached([faq.answer for faq in faqs])])
    new._typos = index._typos.extended(kw_words)
    owners = [n_old + k for k, faq in enumerate(faqs)
              for _ in (faq.question, *faq.alternative_questions)]
    texts = [t for faq in faqs for t in (faq.question, *faq.alternative_questions)]
    return _grown(new, owners, texts)


def _grown(index: FaqIndex, owners: list[int], texts: list[str]) -> FaqIndex:
    """A copy with the phrasings ``texts`` added to the FAQs at rows ``owners``."""
    new = copy.copy(index)
    faqs = index._faqs
    words = [content_words(t) for t in texts]
    unigrams = [to_terms(w) for w in words]
    var_terms = [with_bigrams(t) for t in unigrams]
    grams = [index._char_analyser(char_text(w)) for w in words]
    n = len(faqs)
    new._word, new_terms = index._word.extended(
        (t for ts in var_terms for t in ts), n, _intent_boost)
    new._terms = index._terms + new_terms
    new._char, _ = index._char.extended((g for gs in grams for g in gs), n)
    n_terms, n_grams = len(new._word.vocab), len(new._char.vocab)

    # Each FAQ's phrasings stay together (the views take the max per FAQ with reduceat):
    # the old rows of FAQ i, then its new ones (numbered after all old rows).
    n_old = index._var_word.n_rows
    old_counts = np.diff(np.r_[index._var_starts, n_old])
    new_rows: list[list[int]] = [[] for _ in range(n)]
    for k, owner in enumerate(owners):
        new_rows[owner].append(n_old + k)
    order = np.concatenate([
        np.r_[np.arange(start, start + count), rows] for start, count, rows
        in zip(index._var_starts, old_counts, new_rows, strict=True)]).astype(np.int64)
    new._var_starts = np.r_[0, np.cumsum(old_counts + [len(r) for r in new_rows])[:-1]]
    new._var_word = index._var_word.regrown(new._word.matrix(var_terms), order, n_terms)
    new._var_char = index._var_char.regrown(new._char.matrix(grams), order, n_grams)
    new._var_rev = index._var_rev.regrown(new._reverse_weights(unigrams), order, n_terms)
    new._var_vec = np.vstack([index._var_vec, faq_semantic.embed_cached(texts)])[order]

    # The whole-FAQ documents of the FAQs that grew (the others keep their rows).
    new._doc_terms = list(index._doc_terms)
    for owner, terms in zip(owners, var_terms, strict=True):
        new._doc_terms[owner] = new._doc_terms[owner] + terms
    changed = sorted(set(owners))
    docs = new._word.matrix([new._doc_terms[i] for i in changed])
    doc_order = np.arange(n)
    doc_order[changed] = n + np.arange(len(changed))
    new._doc_word = index._doc_word.regrown(docs, doc_order, n_terms)
    new._has_term = index._has_term.regrown((docs > 0).astype(float), doc_order, n_terms)
    new._kw = index._kw.regrown(sparse.csr_matrix((0, n_terms)), None, n_terms)
    new._types = index._types.copy()
    for owner, text in zip(owners, texts, strict=True):
        new._types[owner] |= question_type_mask(text)
    new._typos = index._typos.extended(w for ws in words for w in ws)
    return new
