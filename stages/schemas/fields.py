"""Field types shared by the sections' schemas: what each accepts, and how its error line says it."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from stages.plumbing.params import Expected, worded


def none_is_empty(value: Any) -> Any:
    """A bare key (`sentences:`) is an empty list."""
    return [] if value is None else value


def visible(sentence: str) -> str:
    """A sentence with something besides whitespace."""
    if not sentence.strip():
        raise worded("is empty; every sentence needs at least one visible character")
    return sentence


PositiveInt = Annotated[int, Field(ge=1), Expected("an integer >= 1")]
NonNegativeInt = Annotated[int, Field(ge=0), Expected("an integer >= 0")]
StepsOrAuto = Annotated[Annotated[int, Field(ge=1)] | Literal["auto"], Expected("an integer >= 1 or 'auto'")]
CountOrAll = Annotated[Annotated[int, Field(ge=0)] | Literal["all"], Expected("an integer >= 0 or 'all'")]
SizeOrAll = Annotated[Annotated[int, Field(ge=1)] | Literal["all"], Expected("an integer >= 1 or 'all'")]
Fraction = Annotated[float, Field(gt=0, le=1), Expected("a number in (0.0, 1.0]")]
OpenFraction = Annotated[float, Field(gt=0, lt=1), Expected("a number in (0.0, 1.0)")]
Flag = Annotated[bool, Expected("true or false")]
Text = Annotated[str, Field(pattern=r"\S"), Expected("a non-empty string")]
Sentence = Annotated[str, AfterValidator(visible), Expected("a sentence in quotes")]
Sentences = Annotated[list[Sentence], BeforeValidator(none_is_empty),
                      Expected("a list of sentences, e.g. ['a great film', 'dull']")]
