"""Text normalisation for the FAQ matcher: folding, shorthand, phrases, stemming, typo fixing."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer

from logic.faq_lexicon import (
    BARE_CONTRACTIONS,
    CONCEPT_WORDS,
    IRREGULAR_NOT,
    IS_PRONOUNS,
    PHRASES,
    QUALIFIER_CONCEPTS,
    QUALIFIER_WORDS,
    SMALL_TALK_WORDS,
    STOPWORDS,
    SUFFIX_EXPANSIONS,
    SURFACE,
)

# Long messages are cut: the cost of scoring grows with length and a 4,000-character essay
# is not an FAQ question anyway (low coverage keeps its confidence down).
MAX_CHARS = 1500

_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """Snowball stem of a lower-case word (cached: the same words recur in every message)."""
    return _STEMMER.stemWord(word)


CONCEPTS: dict[str, str] = {
    stem(word): concept for concept, words in CONCEPT_WORDS.items() for word in words
}
QUALIFIERS = frozenset([stem(w) for w in QUALIFIER_WORDS] + list(QUALIFIER_CONCEPTS))


def fold(text: str) -> str:
    """Lower-case, strip accents and unify apostrophes; non-Latin scripts simply vanish."""
    text = unicodedata.normalize("NFKD", text[:MAX_CHARS])
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.lower().translate(_APOSTROPHES)


def _expand_word(word: str) -> str:
    if word in IRREGULAR_NOT:
        return IRREGULAR_NOT[word]
    if "'" in word:
        base, _, rest = word.partition("'")
        suffix = "'" + rest
        if base.endswith("n") and suffix == "'t":
            return base[:-1] + " not"
        if suffix in SUFFIX_EXPANSIONS:
            return f"{base} {SUFFIX_EXPANSIONS[suffix]}"
        if suffix == "'s" and base in IS_PRONOUNS:
            return f"{base} is"
        word = base  # possessive ("men's") or stray apostrophe
    word = BARE_CONTRACTIONS.get(word, word)
    return SURFACE.get(word, word)


def normalise(text: str) -> str:
    """Folded text with contractions, shorthand and multi-word phrases rewritten."""
    words = _WORD_RE.findall(fold(text))
    joined = " ".join(_expand_word(w) for w in words)
    for pattern, repl in PHRASES:
        joined = pattern.sub(repl, joined)
    return joined


def content_words(text: str) -> list[str]:
    """Surface words that carry meaning (no stopwords or numbers); concepts stay UPPER CASE."""
    out: list[str] = []
    for tok in normalise(text).split():
        if tok.isupper():
            out.append(tok)
        elif tok not in STOPWORDS and not any(ch.isdigit() for ch in tok) and len(tok) > 1:
            out.append(tok)
    return out


def to_terms(words: Iterable[str]) -> list[str]:
    """Stem content words and fold synonyms into their concept token."""
    terms = []
    for word in words:
        if word.isupper():
            terms.append(word)
        else:
            s = stem(word)
            terms.append(CONCEPTS.get(s, s))
    return terms


def with_bigrams(terms: list[str]) -> list[str]:
    """Unigrams plus adjacent pairs, so word order carries a little weight."""
    return terms + [f"{a} {b}" for a, b in zip(terms, terms[1:]) if a != b]


def char_text(words: Iterable[str]) -> str:
    """Text for the character n-gram view; concepts appear as their readable name."""
    return " ".join(w.lower() for w in words)


class TypoFixer:
    """Maps unknown words to a known word one edit away (symmetric-delete lookup).

    Only words of five or more letters are touched and the first letter must agree: short
    words and first letters are rarely mistyped, and guessing there mostly invents matches.
    """

    MIN_LEN = 5

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self.known: set[str] = set()
        self._deletes: dict[str, str] = {}
        for word in sorted(set(vocabulary)):
            if word.isupper():
                continue
            self.known.add(word)
            if len(word) >= self.MIN_LEN - 1:
                for variant in self._variants(word):
                    self._deletes.setdefault(variant, word)

    @staticmethod
    def _variants(word: str) -> list[str]:
        return [word] + [word[:i] + word[i + 1:] for i in range(len(word))]

    def fix(self, word: str) -> str:
        """Return the known word this one most likely meant, or the word itself."""
        if word in self.known or word.isupper() or len(word) < self.MIN_LEN:
            return word
        for variant in self._variants(word):
            hit = self._deletes.get(variant)
            if hit is not None and hit[0] == word[0] and abs(len(hit) - len(word)) <= 1:
                return hit
        return word


def lexicon_vocabulary() -> set[str]:
    """Words the lexicon already understands, so typos of them can be fixed too."""
    words = set(SURFACE.values()) | set(BARE_CONTRACTIONS.values())
    for group in CONCEPT_WORDS.values():
        words.update(group)
    words.update(QUALIFIER_WORDS)
    return {w for phrase in words for w in phrase.split() if w not in STOPWORDS}


_SMALL_TALK_RE = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+")


def is_small_talk_text(text: str) -> bool:
    """See faq_matcher.is_small_talk."""
    stripped = text.strip()
    if not stripped:
        return False
    if not any(ch.isalnum() for ch in stripped):
        return True  # emoji, punctuation, symbols only
    if len(stripped) > 200:
        return False
    folded = fold(stripped)
    if any(ch.isalpha() and not ch.isascii() for ch in folded):
        return False  # a script we do not read: let a person look at it
    words = _SMALL_TALK_RE.findall(folded)
    return 0 < len(words) <= 12 and all(w in SMALL_TALK_WORDS for w in words)
