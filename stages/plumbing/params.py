"""Loading and validating `params.yaml`.

Every stage reads its slice through `load_section`, which checks each value
before any work is done, so a bad value costs one clear line, not a stack
trace half way through a run. Each section's schema is a `Params` model in
`stages/schemas/<section>.py`; the first problem pydantic finds is worded by
`error_line`: a `Literal` field lists its choices, any other field says what
it expects (its `Expected`).
"""
from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from ruamel.yaml import YAML, YAMLError

from stages.plumbing.errors import UserError

PARAMS_FILE = Path("params.yaml")
OWN_WORDING = "params_wording"  # type of the errors a validator words itself
UNKNOWN_KEY = ("extra_forbidden", "invalid_key")  # pydantic's error types for a key the model lacks
# The sections of params.yaml, one schema each in stages/schemas/, beside `model` and `models`.
SECTIONS = ("decode", "tokenize", "train", "evaluate", "explain", "explain_pretrained", "sanity_check",
            "aggregate_words", "check_shortcut", "plausibility")
TOP_LEVEL_KEYS = ("model", "models", *SECTIONS)


@dataclass(frozen=True)
class Expected:
    """Annotation metadata: what a field accepts, as its error line says it, and the values worth suggesting."""

    text: str
    hints: tuple[str, ...] = ()


def worded(message: str, **where: Any) -> PydanticCustomError:
    """An error whose `message` follows `<key> = <value>` as it is; `where` may give the `key`
    (a field, for a model's own check), the `index` of a list item and its `value`."""
    return PydanticCustomError(OWN_WORDING, message, where or None)


class Params(BaseModel):
    """A mapping of params.yaml: exactly its keys, each strictly of its type (a bool is no integer,
    a float no integer, a string no number) and finite. A section's schema names its `section`."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)
    section: ClassVar[str] = ""


P = TypeVar("P", bound=Params)


def load_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    """Read the whole params file, rejecting YAML syntax errors and unknown top-level keys."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(f"{path}: cannot read ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    try:
        # YAML 1.2, as DVC reads and writes the file: `dvc exp run -S x=5e-5` stores 5e-05,
        # a float in YAML 1.2 and a string to a YAML 1.1 reader such as PyYAML.
        params = YAML(typ="safe", pure=True).load(text)
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "syntax error"
        raise UserError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(params, dict):
        raise UserError(f"{path}: expected a mapping of sections at the top level")
    for key in params:
        if key not in TOP_LEVEL_KEYS:
            raise UserError(f"params.yaml: {unknown_key(str(key), TOP_LEVEL_KEYS)}")
    return params


def load_section(schema: type[P], path: Path = PARAMS_FILE) -> P:
    """The validated section of the params file that `schema` describes."""
    params = load_params(path)
    if schema.section not in params:
        raise UserError(f"{path}: section '{schema.section}' is missing")
    return validated(schema.section, schema, params[schema.section])


def validated(where: str, model: type[P], values: Any) -> P:
    """`values` (the mapping at dotted key `where`) as a `model`, or the UserError of its first problem."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise UserError(f"params.yaml: {error_line(where, model, error)}") from None


def did_you_mean(word: str, choices: Any) -> str:
    """` (did you mean 'x'?)` for the choice closest to `word`, if one is close; else nothing."""
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_key(key: str, allowed: Sequence[str], prefix: str = "") -> str:
    """The line for a key not in `allowed`, with the closest allowed one if it is close."""
    return f"unknown key '{prefix}{key}'{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}"


def error_line(where: str, model: type[Params], error: ValidationError) -> str:
    """The line (after `params.yaml: `) for the first problem: an unknown key, else a missing key,
    else the first bad value in the order of the model's fields."""
    errors = error.errors()
    unknown = [e for e in errors if e["type"] in UNKNOWN_KEY]  # an unknown key, or one not even a string
    return described(where, model, (unknown + [e for e in errors if e["type"] == "missing"] + errors)[0])


def described(where: str, model: type[Params], first: Any) -> str:
    """The line for one pydantic error of `model` at dotted key `where`; an error inside a nested mapping
    (`decode.shortcut`) is described by that mapping's own model."""
    kind, loc, ctx = first["type"], first["loc"], first.get("ctx") or {}
    fields = model.model_fields
    nested = fields[loc[0]].annotation if loc and loc[0] in fields else None
    if len(loc) > 1 and isinstance(nested, type) and issubclass(nested, Params):
        return described(f"{where}.{loc[0]}", nested, {**first, "loc": loc[1:]})
    if kind == "model_type":
        return f"{'.'.join([where, *map(str, loc)])} must be a mapping of keys to values"
    if kind in UNKNOWN_KEY:
        return unknown_key(str(loc[0]), list(fields), prefix=f"{where}.")
    if kind == "missing":
        return f"{where}.{loc[0]} is missing"
    field = ctx["key"] if "key" in ctx else loc[0]  # a model's own check names its field
    index = ctx.get("index", next((part for part in loc[1:] if isinstance(part, int)), None))
    key = f"{where}.{field}" + ("" if index is None else f"[{index}]")
    value = ctx.get("value", first["input"])
    if kind == OWN_WORDING:
        return f"{key} = {value!r} {first['msg']}"
    return f"{key} = {value!r} is not allowed; {expectation(fields[field], index is not None, value)}"


def expectation(field: FieldInfo, of_item: bool, value: Any) -> str:
    """What the field (or, `of_item`, an item of its list) accepts, with the closest suggestion to `value`."""
    annotation, metadata = field.annotation, field.metadata
    if of_item:
        annotation = get_args(annotation)[0]
        annotation, metadata = (get_args(annotation)[0], annotation.__metadata__) \
            if get_origin(annotation) is Annotated else (annotation, ())
    if get_origin(annotation) is Literal:
        choices = get_args(annotation)
        return f"choose one of {', '.join(map(str, choices))}{did_you_mean(str(value), choices)}"
    expected = next(item for item in reversed(metadata) if isinstance(item, Expected))
    return f"expected {expected.text}{did_you_mean(str(value), expected.hints)}"
