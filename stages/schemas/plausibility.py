"""The `plausibility` section: where the human-annotated datasets are, and how much of them is explained."""
from __future__ import annotations

from typing import Annotated, ClassVar

from stages.plumbing.params import Expected, Params
from stages.schemas.fields import NonNegativeInt, SizeOrAll, Text

DatasetPath = Annotated[Text | None, Expected("null or the path of the archive or its unpacked folder")]


class PlausibilityParams(Params):
    """`plausibility`: the ERASER Movie Reviews and Stanford Sentiment Treebank copies (null: not measured),
    the test documents and sentences explained, and the documents the report shows."""

    section: ClassVar[str] = "plausibility"

    eraser: DatasetPath
    sst: DatasetPath
    n_docs: SizeOrAll
    n_sst: SizeOrAll
    report_examples: NonNegativeInt
