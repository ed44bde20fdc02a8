"""docs/figures.md against the project: every published figure has a row, every row names real tests."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from stages.attribution.agreement import summary
from stages.check_shortcut import summary_metrics
from stages.plausibility import summary_metrics as plausibility_metrics
from tests.conftest import checked_shortcut
from tests.test_plausibility_stage import measured_fixture

ROOT = Path(__file__).resolve().parents[1]
FIGURE_MAP = (ROOT / "docs" / "figures.md").read_text(encoding="utf-8")
METRICS_FILES = ("dvclive/train/metrics.json", "dvclive/evaluate/metrics.json", "dvclive/evaluate/per_class.json",
                 "metrics/explain.json", "metrics/explain_sentences.json", "metrics/explain_pretrained.json",
                 "metrics/sanity_check.json", "metrics/dataset.json")
EXPLANATIONS_FILES = ("explanations/finetuned.json", "explanations/sentences.json")
# What a record says about its example, not a figure computed from it.
DESCRIPTIONS = {"source", "id", "text", "label", "truncated", "tokens_cut", "cut_at", "token_ids", "tokens", "position"}
COMPARE_OUTPUT = {*summary([]), "verdict", "median_spearman_matrix",
                  *(f"dataset/{key}" for key in ("entered", "left", "spearman", "common_words"))}
WORDS = {"word"}  # what a top word of the dataset view is, not a figure


def flat(mapping: dict[str, Any], prefix: str = "") -> list[str]:
    """The keys of a nested mapping, joined with `/` as `dvc metrics show` joins them."""
    keys = []
    for key, value in mapping.items():
        keys += flat(value, f"{prefix}{key}/") if isinstance(value, dict) else [f"{prefix}{key}"]
    return keys


def mapped(key: str) -> bool:
    """Whether a row's figure column names `key`, `<...>` standing for any name."""
    for row in re.findall(r"^\| (.*?) \|", FIGURE_MAP, flags=re.MULTILINE):
        for pattern in re.findall(r"`([^`]+)`", row):
            if re.fullmatch(re.sub(r"<[a-z]+>", "[a-z_0-9]+", re.escape(pattern)), key):
                return True
    return False


def published_figures() -> list[str]:
    keys = [key for path in METRICS_FILES for key in flat(json.loads((ROOT / path).read_text()))]
    for path in EXPLANATIONS_FILES:
        for record in json.loads((ROOT / path).read_text())["examples"]:
            keys += [key for key in flat(record) if key.split("/")[0] not in DESCRIPTIONS]
    view = json.loads((ROOT / "explanations/dataset.json").read_text())
    keys += ["dataset/records", *flat(summary_metrics(checked_shortcut()))]  # metrics/shortcut.json, when planted
    keys += flat(plausibility_metrics(measured_fixture()))  # metrics/plausibility.json, when measured
    for classes in view["sources"].values():
        for entry in classes.values():
            keys += [f"dataset/{key}" for key in entry if key not in ("top", "scores")]
            keys += [f"dataset/{key}" for row in entry["top"] for key in row if key not in WORDS]
    return sorted(set(keys) | COMPARE_OUTPUT)


def test_the_map_reads_figure_patterns():
    assert mapped("imdb/comprehensiveness/saliency") and mapped("verdict") and not mapped("imdb/made_up")


@pytest.mark.parametrize("key", published_figures())
def test_every_published_figure_has_a_row(key):
    assert mapped(key), f"{key}: no row in docs/figures.md"


@pytest.mark.parametrize("test", sorted(set(re.findall(r"`(tests/[a-z_]+\.py::[a-z_0-9]+)`", FIGURE_MAP))))
def test_every_test_the_map_names_exists(test):
    path, name = test.split("::")
    assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), flags=re.MULTILINE), f"{test}: no such test"
