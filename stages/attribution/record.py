"""One explained example, the record every explanation stage writes and every reader reads: its fields
and their types, written here once. The Parquet columns (`record_table`), the JSON the report's examples
are kept in and the report's validation derive from it; readers use its attributes."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

Label = Literal[0, 1]


class ExplainedExample(BaseModel):
    """An example, its IG attributions toward the predicted class with their bookkeeping, the faithfulness
    of IG and of each rival, and each rival's rank agreement with IG."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    source: str  # imdb | rotten_tomatoes | sentences
    id: int
    text: str
    label: Label | None  # None: a free sentence
    truncated: bool
    tokens_cut: int  # tokens the model's length left out
    cut_at: int | None  # position of the first token after the cut
    token_ids: list[int]
    tokens: list[str]
    attributions: list[float]  # one per token, toward `predicted`
    predicted: Label
    probability: float  # of the predicted class, f(x)
    f_x: float
    f_baseline: float
    delta: float  # sum(attributions) - (f(x) - f(baseline))
    completeness_error: float
    n_steps: int
    faithfulness: dict[str, float]  # `comprehensiveness/<method>`, `sufficiency/<method>`
    rank_agreement: dict[str, float | None]  # `kendall_tau/<rival>`: None where undefined
    position: int  # in the whole run: seeds the random ranking, orders the merged shards

    @field_validator("tokens", "attributions")
    @classmethod
    def one_per_token_id(cls, values: list, info: ValidationInfo) -> list:
        token_ids = info.data.get("token_ids")
        if token_ids is not None and len(values) != len(token_ids):
            raise ValueError(f"{len(values)} entries for {len(token_ids)} token ids; one per token expected")
        return values


FIELDS = tuple(ExplainedExample.model_fields)
GROUPS = ("faithfulness", "rank_agreement")  # figures by name, nested in a record


def parsed(values: dict[str, Any]) -> ExplainedExample:
    """`values` as a record; one that does not fit raises a ValueError naming its first wrong field."""
    try:
        return ExplainedExample.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["ctx"]["error"]) if first["type"] == "value_error" else first["msg"]
        raise ValueError(f"{where}: {message}" if where else message) from None


def parsed_examples(examples: list[Any]) -> list[ExplainedExample]:
    """An explanations file's `examples` as records; the first that does not fit raises a ValueError naming
    it and its field (`examples[3].label: ...`)."""
    records = []
    for index, values in enumerate(examples):
        try:
            records.append(parsed(values))
        except ValueError as error:
            raise ValueError(f"examples[{index}].{error}") from None
    return records


def partial(values: dict[str, Any]) -> ExplainedExample:
    """A record of some fields read back from a file that was validated as it was written (`columns` of a
    Parquet read): only those fields are set."""
    return ExplainedExample.model_construct(_fields_set=set(values), **values)
