"""The `evaluate` section: the held-out predictions."""
from __future__ import annotations

from typing import ClassVar

from stages.plumbing.params import Params
from stages.schemas.fields import PositiveInt


class EvaluateParams(Params):
    """`evaluate`: the held-out predictions."""

    section: ClassVar[str] = "evaluate"

    batch_tokens: PositiveInt
