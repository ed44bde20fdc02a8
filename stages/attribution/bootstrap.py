"""An online bootstrap of the words' figures, streamed: in resample b each document counts w_b times,
w_b ~ Poisson(1), which approximates drawing the documents with replacement (Oza & Russell 2001; Chamandy
et al. 2012). Each word keeps, per resample, the weighted sum of its attributions and of its occurrences:
2 x `resamples` numbers a word, whatever the number of records. The weights come from a generator seeded
by (seed, the document's position in the run), so the resamples do not depend on the order the records
are read in, nor on the shards or row groups they come from."""
from __future__ import annotations

import numpy as np

INITIAL_WORDS = 256


class WordResamples:
    """Per word: the bootstrap resamples of its attribution total and its occurrences."""

    def __init__(self, resamples: int, seed: int) -> None:
        self.resamples, self.seed = resamples, seed
        self.rows: dict[str, int] = {}
        self.sums = np.zeros((INITIAL_WORDS, 2, resamples))  # [word, (total, occurrences), resample]

    def add(self, position: int, words: dict[str, tuple[float, int]]) -> None:
        """Count one document, its words' (attribution total, occurrences) in it."""
        if not words or not self.resamples:
            return
        weights = np.random.default_rng((self.seed, position)).poisson(1.0, self.resamples)
        rows = [self.row(word) for word in words]
        figures = np.array(list(words.values()), dtype=float)  # (words, 2)
        self.sums[rows] += figures[:, :, None] * weights[None, None, :]

    def row(self, word: str) -> int:
        if word not in self.rows:
            if len(self.rows) == len(self.sums):
                self.sums = np.concatenate([self.sums, np.zeros_like(self.sums)])
            self.rows[word] = len(self.rows)
        return self.rows[word]

    def of(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        """The word's resampled attribution totals and occurrences."""
        total, occurrences = self.sums[self.rows[word]]
        return total, occurrences
