"""The `tokenize` section: the length of a tokenized review and what a longer one keeps."""
from __future__ import annotations

from typing import ClassVar, Literal

from stages.plumbing.params import Params
from stages.schemas.fields import PositiveInt


class TokenizeParams(Params):
    """`tokenize`: the length of a tokenized review and what a longer one keeps."""

    section: ClassVar[str] = "tokenize"

    max_len: PositiveInt
    truncation: Literal["head", "head_tail"]
