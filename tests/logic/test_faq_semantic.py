"""Sentence vectors (logic/faq_semantic.py): meaning, blank text, the FAQ-text cache."""

from __future__ import annotations

import numpy as np
import pytest

from logic import faq_semantic


def test_same_meaning_is_closer_than_a_different_question() -> None:
    price, fees, parking = faq_semantic.embed(
        ["how much is a lesson", "what are your fees", "where can I park"])
    assert price @ fees > price @ parking + 0.1


def test_vectors_are_unit_length_and_blank_text_is_zero() -> None:
    vectors = faq_semantic.embed(["do you open on sundays", "", "   ", "😀"])
    assert vectors.shape == (4, faq_semantic.DIM)
    norms = np.linalg.norm(vectors, axis=1)
    assert norms[0] == pytest.approx(1.0, abs=1e-4) and norms[3] == pytest.approx(1.0, abs=1e-4)
    assert norms[1] == norms[2] == 0.0


@pytest.mark.parametrize("text", ["\ud800", "\x00", "a" * 4000, "你好，请问你们几点开门？",
                                  "#$%^&*()"])
def test_any_text_gets_a_vector(text: str) -> None:
    assert faq_semantic.embed([text]).shape == (1, faq_semantic.DIM)


def test_cached_vectors_equal_fresh_ones_and_are_not_recomputed(monkeypatch) -> None:
    texts = ["Do you sell gift vouchers? (cache test)", "Is there parking? (cache test)"]
    first = faq_semantic.embed_cached(texts)
    assert np.allclose(first, faq_semantic.embed(texts), atol=1e-5)
    calls = []
    real = faq_semantic.embed
    monkeypatch.setattr(faq_semantic, "embed", lambda t: calls.append(list(t)) or real(t))
    again = faq_semantic.embed_cached([texts[1], "A new FAQ? (cache test)", texts[0]])
    assert calls == [["A new FAQ? (cache test)"]]  # only the text not seen before
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[2], first[0])


def test_cache_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(faq_semantic, "CACHE_SIZE", 3)
    faq_semantic.embed_cached([f"bounded cache text {i}" for i in range(5)])
    assert len(faq_semantic._cache) <= 3


def test_a_worker_loads_the_encoder_before_forking_its_pool(monkeypatch) -> None:
    from celery.signals import worker_init

    import workers.celery_app  # noqa: F401  (connects the handler)

    monkeypatch.setattr(faq_semantic, "_encoder", None)
    worker_init.send(sender=None)
    assert faq_semantic._encoder is not None


def test_threads_share_the_cache_safely(monkeypatch) -> None:
    # The web process embeds from several OS threads at once (eventlet's thread pool).
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(faq_semantic, "CACHE_SIZE", 7)
    texts = [f"thread cache text {i}" for i in range(12)]
    expected = faq_semantic.embed(texts)

    def work(k: int) -> np.ndarray:
        chosen = [texts[(k + j) % len(texts)] for j in range(5)]
        return faq_semantic.embed_cached(chosen), chosen

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(200)))
    for vectors, chosen in results:
        assert np.allclose(vectors, expected[[texts.index(t) for t in chosen]], atol=1e-5)
    assert len(faq_semantic._cache) <= 7
