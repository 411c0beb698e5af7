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
    INTENT_CONCEPTS,
    IRREGULAR_NOT,
    IS_PRONOUNS,
    PHRASES,
    QUALIFIER_CONCEPTS,
    QUALIFIER_WORDS,
    QUESTION_TYPES,
    SMALL_TALK_WORDS,
    STAFF_NAMES,
    STOPWORDS,
    SUBJECT_CONCEPTS,
    SUBJECT_WORDS,
    SUFFIX_EXPANSIONS,
    SURFACE,
)

# Long messages are cut: the cost of scoring grows with length and a 4,000-character essay
# is not an FAQ question anyway (low coverage keeps its confidence down).
MAX_CHARS = 1500
MAX_WORD = 40  # longer "words" are keyboard mash or URLs; their n-grams only cost time

_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """Snowball stem of a lower-case word (cached: the same words recur in every message)."""
    # A stemmer keeps the word it is working on as state; one per call keeps threads apart.
    return snowballstemmer.stemmer("english").stemWord(word)


CONCEPTS: dict[str, str] = {
    stem(word): concept for concept, words in CONCEPT_WORDS.items() for word in words
}
QUALIFIERS = frozenset([stem(w) for w in QUALIFIER_WORDS] + list(QUALIFIER_CONCEPTS))
SUBJECTS = frozenset([CONCEPTS.get(stem(w), stem(w)) for w in SUBJECT_WORDS]
                     + list(SUBJECT_CONCEPTS))


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


def _expanded(text: str) -> str:
    """Folded words with contractions and shorthand expanded, space-joined."""
    return " ".join(_expand_word(w) for w in _WORD_RE.findall(fold(text)))


def normalise(text: str) -> str:
    """Folded text with contractions, shorthand and multi-word phrases rewritten."""
    joined = _expanded(text)
    for pattern, repl in PHRASES:
        joined = pattern.sub(repl, joined)
    return joined


TYPE_NAMES: tuple[str, ...] = tuple(QUESTION_TYPES)
_TYPE_RES = [re.compile("|".join(f"(?:{p})" for p in pats)) for pats in QUESTION_TYPES.values()]


def question_type_mask(text: str) -> int:
    """The kinds of answer a message asks for (faq_lexicon.QUESTION_TYPES) as a bit mask
    (bit i: TYPE_NAMES[i]), for vectorised comparisons; 0 if none."""
    joined = _expanded(text)
    return sum(1 << i for i, rx in enumerate(_TYPE_RES) if rx.search(joined))


def content_words(text: str) -> list[str]:
    """Surface words that carry meaning (no stopwords or numbers); concepts stay UPPER CASE."""
    out: list[str] = []
    for tok in normalise(text).split():
        if tok.isupper():
            out.append(tok)
        elif (tok not in STOPWORDS and 1 < len(tok) <= MAX_WORD
              and not any(ch.isdigit() for ch in tok)):
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
    return terms + [f"{a} {b}" for a, b in zip(terms, terms[1:], strict=False) if a != b]


def char_text(words: Iterable[str]) -> str:
    """Text for the character n-gram view; concepts appear as their readable name."""
    return " ".join(w.lower() for w in words)


class TypoFixer:
    """Maps unknown words to a known word one edit away (symmetric-delete lookup).

    Only words of five or more letters are touched, the first letter must agree, and a
    substituted letter is only fixed in long words: short words and first letters are rarely
    mistyped, and guessing there mostly turns one real word into another.
    """

    MIN_LEN = 5

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self.known: set[str] = set()
        self._stems: set[str] = set()
        self._deletes: dict[str, str] = {}
        self._add(vocabulary)

    def _add(self, vocabulary: Iterable[str]) -> None:
        for word in sorted(set(vocabulary) - self.known):
            if word.isupper():
                continue
            self.known.add(word)
            self._stems.add(stem(word))
            if len(word) >= self.MIN_LEN - 1:
                for variant in self._variants(word):
                    self._deletes.setdefault(variant, word)

    def extended(self, vocabulary: Iterable[str]) -> TypoFixer:
        """A fixer that also knows these words (this one is unchanged); a word already
        known keeps the typos it fixes."""
        words = set(vocabulary) - self.known
        if not words:
            return self
        grown = TypoFixer(())
        grown.known, grown._stems = set(self.known), set(self._stems)
        grown._deletes = dict(self._deletes)
        grown._add(words)
        return grown

    @staticmethod
    def _variants(word: str) -> list[str]:
        return [word] + [word[:i] + word[i + 1:] for i in range(len(word))]

    def fix(self, word: str) -> str:
        """Return the known word this one most likely meant, or the word itself."""
        if word in self.known or word.isupper() or len(word) < self.MIN_LEN:
            return word
        if stem(word) in self._stems:
            return word  # an inflection of a known word ("changed"), not a typo of "charged"
        for variant in self._variants(word):
            hit = self._deletes.get(variant)
            if hit is not None and hit[0] == word[0] and self._plausible(word, hit):
                return hit
        return word

    @staticmethod
    def _plausible(word: str, hit: str) -> bool:
        if len(word) > len(hit):
            # A stray letter; in a short word it is as likely a different word ("teach").
            return len(hit) >= TypoFixer.MIN_LEN
        if len(word) < len(hit):
            return True  # a letter dropped
        diff = [i for i, (a, b) in enumerate(zip(word, hit, strict=True)) if a != b]
        if (len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == hit[diff[1]]
                and word[diff[1]] == hit[diff[0]]):
            return True  # two letters swapped ("hosue"), not two changed ("house"/"hours")
        # One letter substituted: short real words collide too often (changed/charged).
        return len(word) >= 8


def lexicon_vocabulary() -> set[str]:
    """Words the lexicon already understands, so typos of them can be fixed too."""
    words = set(SURFACE.values()) | set(BARE_CONTRACTIONS.values())
    for group in CONCEPT_WORDS.values():
        words.update(group)
    words.update(QUALIFIER_WORDS)
    # First names are not corrected to: "start" is not a typo of "stuart".
    words.difference_update(STAFF_NAMES)
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
    if not (0 < len(words) <= 12 and all(w in SMALL_TALK_WORDS for w in words)):
        return False
    # "how much" is made of chit-chat words ("how are you", "thanks so much") but asks a price.
    return not any(w in INTENT_CONCEPTS for w in content_words(stripped))
