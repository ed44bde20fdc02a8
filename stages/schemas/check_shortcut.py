"""The `check_shortcut` section: how the planted shortcut of `decode.shortcut` is checked."""
from __future__ import annotations

from typing import ClassVar

from stages.plumbing.params import Params
from stages.schemas.fields import NonNegativeInt, OpenFraction, PositiveInt


class CheckShortcutParams(Params):
    """`check_shortcut`: the held-out reviews the word is planted in, what counts as relied on, the k of
    precision@k and the examples the report shows."""

    section: ClassVar[str] = "check_shortcut"

    reviews: PositiveInt
    min_shift: OpenFraction
    k: PositiveInt
    report_examples: NonNegativeInt
