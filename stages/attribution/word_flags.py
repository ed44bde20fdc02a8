"""Likely artefacts among the words a model relies on: a heuristic, by this documented rule.

- `markup`: a word with no letter or digit (punctuation, symbols, the pieces of `<br />`), or a
  leftover of HTML markup (`br`, `nbsp`, `amp`, `quot`, `lt`, `gt`);
- `number`: a word with a digit: ratings ("10" of "7/10"), years, counts;
- `name`: a word written with a capital in the original texts wherever it stands inside a sentence:
  at least NAME_SHARE of its occurrences after another word (not first, not after . ! ?) are
  capitalised, and there are at least NAME_OCCURRENCES of them; one-letter words ("I") never count.

A flag says where to look, not that the model is wrong: "10" may well be sentiment in a review.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tokenizers.normalizers import BertNormalizer

from stages.attribution.log_odds import words_of

MARKUP_WORDS = frozenset({"br", "nbsp", "amp", "quot", "lt", "gt"})
SENTENCE_ENDS = frozenset({".", "!", "?"})
NAME_SHARE = 0.8
NAME_OCCURRENCES = 2
KEEP_CASE = BertNormalizer(lowercase=False, strip_accents=False)


@dataclass
class Capitals:
    """Per lower-cased word: its occurrences inside a sentence, and how many of them were capitalised."""

    inside: dict[str, list[int]] = field(default_factory=dict)  # word -> [occurrences, capitalised]

    def add(self, text: str) -> None:
        cased, uncased = words_of(text, KEEP_CASE), words_of(text)
        if len(cased) != len(uncased):  # accents split a word differently: skip the text rather than misalign
            return
        for index, (word, key) in enumerate(zip(cased, uncased)):
            if index == 0 or cased[index - 1] in SENTENCE_ENDS or len(key) < 2:
                continue
            counts = self.inside.setdefault(key, [0, 0])
            counts[0] += 1
            counts[1] += word[0].isupper()

    def is_name(self, word: str) -> bool:
        occurrences, capitalised = self.inside.get(word, (0, 0))
        return capitalised >= NAME_OCCURRENCES and capitalised >= NAME_SHARE * occurrences


def flags(word: str, capitals: Capitals) -> list[str]:
    """The artefact flags of a lower-cased word (empty: none)."""
    found = []
    if word in MARKUP_WORDS or not any(character.isalnum() for character in word):
        found.append("markup")
    if any(character.isdigit() for character in word):
        found.append("number")
    if capitals.is_name(word):
        found.append("name")
    return found
