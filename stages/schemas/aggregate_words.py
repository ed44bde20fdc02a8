"""The `aggregate_words` section: the dataset-level view of the held-out examples' attributions."""
from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from stages.attribution.settings import ViewSettings
from stages.plumbing.params import Expected, Params
from stages.schemas.fields import NonNegativeInt, OpenFraction, PositiveInt


class AggregateWordsParams(Params):
    """`aggregate_words`: which words are ranked, how the score shrinks, what counts as top, the log-odds
    prior, and the intervals and test that say how sure each word is."""

    section: ClassVar[str] = "aggregate_words"

    min_documents: PositiveInt = 3
    shrinkage: Annotated[float, Field(ge=0), Expected("a number >= 0")] = 5.0
    top_k: PositiveInt = 5
    top_words: PositiveInt = 20
    prior_words: Annotated[float, Field(gt=0), Expected("a number > 0")] = 1000.0
    resamples: NonNegativeInt = 200
    level: OpenFraction = 0.95
    fdr: OpenFraction = 0.05
    seed: NonNegativeInt = 0

    def view_settings(self) -> ViewSettings:
        return ViewSettings(**self.model_dump())
