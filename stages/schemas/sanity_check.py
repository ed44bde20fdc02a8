"""The `sanity_check` section: the model-parameter randomisation test."""
from __future__ import annotations

from typing import ClassVar

from stages.plumbing.params import Params
from stages.schemas.fields import NonNegativeInt


class SanityCheckParams(Params):
    """`sanity_check`: the model-parameter randomisation test (0 examples turn it off)."""

    section: ClassVar[str] = "sanity_check"

    examples: NonNegativeInt = 3
    seed: NonNegativeInt = 42
