"""Sparse TF-IDF vectors and term postings for the FAQ matcher, built for cheap growth.

A vectoriser is fitted once on a business's FAQs (scikit-learn's TfidfVectorizer: sublinear
term frequency, smoothed idf, rows of unit length). When staff accept a learned phrasing the
index grows without a refit: the fitted idf of known terms stays, and a term the business
never used before gets the idf of a term seen in one FAQ, which it is. A full build refits.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer


class Vectoriser:
    """A fitted TF-IDF vocabulary applied to single texts without scikit-learn's per-call
    overhead, and extended with new terms without refitting."""

    def __init__(self, vocab: dict[str, int], idf: np.ndarray) -> None:
        self.vocab = vocab
        self.idf = idf

    @classmethod
    def fitted(cls, vectoriser: TfidfVectorizer) -> Vectoriser:
        return cls(vectoriser.vocabulary_, vectoriser.idf_)

    def vector(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The text's (term indices, unit-length weights); unknown tokens are ignored."""
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

    def matrix(self, token_lists: Sequence[Sequence[str]]) -> sparse.csr_matrix:
        """One unit-length row per text, as TfidfVectorizer.transform gives."""
        indptr, indices, data = [0], [], []
        for tokens in token_lists:
            idx, vals = self.vector(tokens)
            indices.append(idx)
            data.append(vals)
            indptr.append(indptr[-1] + idx.size)
        return sparse.csr_matrix(
            (np.concatenate(data) if data else np.empty(0),
             np.concatenate(indices) if indices else np.empty(0, dtype=np.int64), indptr),
            shape=(len(token_lists), len(self.vocab)))

    def extended(self, tokens: Iterable[str], n_docs: int,
                 boost: Callable[[str], float] | None = None) -> tuple[Vectoriser, list[str]]:
        """A vectoriser that also knows the new tokens, and the new tokens in column order.

        A new token is in exactly one of the n_docs FAQ documents: smoothed idf
        ln((1 + n) / 2) + 1, as a refit would give it (times ``boost(token)``)."""
        new = sorted({t for t in tokens if t not in self.vocab})
        if not new:
            return self, []
        vocab = dict(self.vocab)
        for t in new:
            vocab[t] = len(vocab)
        base = math.log((1 + n_docs) / 2) + 1.0
        idf = np.r_[self.idf, [base * (boost(t) if boost else 1.0) for t in new]]
        return Vectoriser(vocab, idf), new


class Postings:
    """Term -> (row, value) lists of a sparse rows-by-terms matrix (its transpose as CSR).

    Scoring a message gathers only the postings of its own terms with plain numpy, which
    is several times cheaper per call than scipy's sparse indexing; no per-FAQ Python loop.
    The rows-by-terms matrix is kept so that rows can be added later.
    """

    def __init__(self, matrix: sparse.spmatrix) -> None:
        self.matrix = sparse.csr_matrix(matrix)
        t = self.matrix.T.tocsr()
        t.sort_indices()
        self.n_rows = matrix.shape[0]
        self.indptr, self.rows, self.data = t.indptr, t.indices, t.data

    def gather(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query-term position, row, value) for every posting of the given terms."""
        starts, ends = self.indptr[idx], self.indptr[idx + 1]
        lens = ends - starts
        offsets = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(lens.sum())
        return np.repeat(np.arange(len(idx)), lens), self.rows[offsets], self.data[offsets]

    def dot(self, idx: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """Every row's dot product with the sparse query (idx, vals)."""
        if idx.size == 0:
            return np.zeros(self.n_rows)
        which, rows, data = self.gather(idx)
        return np.bincount(rows, weights=data * vals[which], minlength=self.n_rows)

    def regrown(self, added: sparse.spmatrix, order: np.ndarray | None = None,
                n_terms: int | None = None) -> Postings:
        """These rows and then ``added`` (rows in ``order`` if given), over ``n_terms``
        columns (new terms have no postings among the old rows)."""
        n_terms = n_terms if n_terms is not None else self.matrix.shape[1]
        old = self.matrix.copy()
        old.resize(old.shape[0], n_terms)
        new = sparse.csr_matrix(added)
        new.resize(new.shape[0], n_terms)
        stacked = sparse.vstack([old, new], format="csr")
        return Postings(stacked if order is None else stacked[order])
