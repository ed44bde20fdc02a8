"""The `explain_pretrained` section: the ready-made SST-2 model of the reference example."""
from __future__ import annotations

from typing import ClassVar

from stages.plumbing.params import Params
from stages.schemas.fields import Flag, Sentences, Text


class ExplainPretrainedParams(Params):
    """`explain_pretrained`: the ready-made SST-2 model of the reference example."""

    section: ClassVar[str] = "explain_pretrained"

    enabled: Flag
    checkpoint: Text
    sentences: Sentences
