"""`compare`'s pieces one by one, on hand-made inputs: the terminal table, the page's example cards, the optional
plausibility line's figures, and the one-line refusals of an explanations file that cannot be read."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages.attribution.agreement import MEASURES
from stages.plumbing.errors import UserError
from tests.conftest import explained_record
from tests.test_compare import record
from tools import compare


def summary_of(examples: int, comparable: int, changed: int, figures: dict[str, tuple]) -> dict:
    return {"examples": examples, "comparable": comparable, "prediction_changed": changed,
            **{measure: {"median": figures[measure][0], "worst": figures[measure][1]} for measure in MEASURES}}


def test_the_terminal_table_gives_each_measures_median_then_worst_left_aligned():
    """Columns as wide as their widest cell, two spaces apart, cells left-aligned, no trailing blanks;
    a measure with no comparable example is a dash."""
    first = summary_of(4, 2, 1, {"spearman": (0.5, -1.0), "kendall": (0.25, -0.75), "top_k": (0.6, 0.2),
                                 "sign_top_k": (0.4, 0.0), "relative_l1": (0.1234, 2.0)})
    second = summary_of(12, 0, 0, {measure: (None, None) for measure in MEASURES})
    table = compare.terminal_table([{"left": "HEAD", "right": "workspace", "summary": first},
                                    {"left": "v1", "right": "exp-abc", "summary": second}], top_k=3)
    assert table.splitlines() == [
        "left  right      examples  comparable  prediction changed  spearman        kendall         "
        "top-3          sign top-3     relative L1",
        "HEAD  workspace  4         2           1                   0.500 / -1.000  0.250 / -0.750  "
        "0.600 / 0.200  0.400 / 0.000  0.123 / 2.000",
        "v1    exp-abc    12        0           0                   — / —           — / —           "
        "— / —          — / —          — / —"]


def test_each_row_says_why_it_cannot_be_compared_or_gives_its_figures():
    """One example explained on each side, one with other tokens on the right, one on the left only: every row has
    the same keys; only the first has figures, its level and both completeness errors; a one-sided example changed
    no prediction."""
    same = record(["good", "film"], [0.3, -0.1], example_id=1)
    other = record(["dull", "plot"], [-0.4, 0.1], example_id=2)
    alone = record(["fine"], [0.2], example_id=3)
    key = {example.id: ("explanations/finetuned.json", "imdb", example.id, example.text)
           for example in (same, other, alone)}
    left = {key[1]: same, key[2]: other, key[3]: alone}
    right = {key[1]: same.model_copy(update={"completeness_error": 0.004, "predicted": 0}),
             key[2]: record(["dull", "plot", "indeed"], [0.1, 0.2, 0.3], example_id=2).model_copy(
                 update={"text": other.text})}
    rows = compare.compare_examples(left, right, top_k=1)
    assert [set(row) for row in rows] == [{"file", "source", "id", "text", "comparable", "level", "reason",
                                           "prediction_changed", "completeness_error", *MEASURES}] * 2 + [
        {"file", "source", "id", "text", "comparable", "level", "reason", "prediction_changed", *MEASURES}]
    assert (rows[0]["comparable"], rows[0]["level"], rows[0]["reason"], rows[0]["prediction_changed"],
            rows[0]["completeness_error"], rows[0]["spearman"]) == (True, "token", None, True, [0.001, 0.004],
                                                                  pytest.approx(1.0))
    assert rows[1]["reason"].startswith("tokens and words differ (4 vs 5 tokens, 4 vs 5 words)")
    assert (rows[1]["comparable"], rows[1]["level"], rows[1]["prediction_changed"], rows[1]["spearman"]) == (
        False, None, False, None)
    assert {name: rows[2][name] for name in ("comparable", "level", "reason", "prediction_changed", "spearman")} == {
        "comparable": False, "level": None, "reason": "explained in one revision only", "prediction_changed": False,
        "spearman": None}


def test_the_cards_put_what_cannot_be_compared_first_then_the_least_alike():
    """Three examples under two revisions: one explained on the left only (no closeness: first), one whose
    attributions are negated (Spearman -1), one the same (Spearman 1). Each card names its own source, id, text
    and file, and shows each revision's tokens with the special ones marked."""
    same = record(["fine", "day"], [0.1, 0.2], example_id=5, source="sentences")
    flipped = record(["good", "film", "here"], [0.3, 0.1, -0.2], example_id=7)
    only_left = explained_record("rotten_tomatoes", 9, ("[CLS]", "dull", "[SEP]"), [0.0, -0.4, 0.0])
    left = {("explanations/finetuned.json", "imdb", 7, flipped.text): flipped,
            ("explanations/finetuned.json", "rotten_tomatoes", 9, only_left.text): only_left,
            ("explanations/sentences.json", "sentences", 5, same.text): same}
    right = {("explanations/finetuned.json", "imdb", 7, flipped.text):
             flipped.model_copy(update={"attributions": [-value for value in flipped.attributions]}),
             ("explanations/sentences.json", "sentences", 5, same.text): same}
    rows = compare.compare_examples(left, right, top_k=2)
    cards = compare.example_views(["HEAD", "workspace"], [left, right],
                                  [{"left": "HEAD", "right": "workspace", "rows": rows}])
    assert [(card["file"], card["source"], card["id"], card["text"]) for card in cards] == [
        ("explanations/finetuned.json", "rotten_tomatoes", 9, "dull"),
        ("explanations/finetuned.json", "imdb", 7, "good film here"),
        ("explanations/sentences.json", "sentences", 5, "fine day")]
    assert [card["closeness"] for card in cards[1:]] == [pytest.approx(-1.0), pytest.approx(1.0)]
    assert [[side["rev"] for side in card["revisions"]] for card in cards] == [["HEAD", "workspace"]] * 3
    assert [side["missing"] for side in cards[0]["revisions"]] == [False, True]
    tokens = cards[1]["revisions"][0]["tokens"]
    assert [(token["label"], token["special"]) for token in tokens] == [
        ("[CLS]", True), ("good", False), ("film", False), ("here", False), ("[SEP]", True)]
    assert [word["label"] for word in cards[1]["revisions"][1]["words"]] == ["[CLS]", "good", "film", "here", "[SEP]"]


def test_the_plausibility_figures_are_read_where_measured(tmp_path, monkeypatch, capsys):
    """The file's figures where it has some; none where it is `{}` (not measured: no note); a note naming the
    stage to run where the file is missing."""
    monkeypatch.chdir(tmp_path)
    assert compare.read_plausibility("workspace") is None
    assert capsys.readouterr().err == (
        "note: no plausibility figures at workspace (metrics/plausibility.json: missing in the workspace; run "
        "`dvc repro plausibility`); its line is left out\n")
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/plausibility.json").write_text("{}")
    assert compare.read_plausibility("workspace") is None
    figures = {"eraser": {"ig": {"auprc": 0.5}}}
    (tmp_path / "metrics/plausibility.json").write_text(json.dumps(figures))
    assert compare.read_plausibility("workspace") == figures
    assert capsys.readouterr().err == ""


def test_a_dataset_view_on_one_side_gives_no_rows():
    view = {"format": compare.DATASET_FORMAT, "sources": {}}
    assert compare.dataset_rows(view, None) is None and compare.dataset_rows(None, view) is None
    assert compare.dataset_rows(view, view) == []


def explanations_file(folder: Path, content: str) -> None:
    (folder / "explanations").mkdir(exist_ok=True)
    (folder / "explanations/finetuned.json").write_text(content)


@pytest.mark.parametrize("content, message", [
    ("not JSON", r"explanations/finetuned\.json at workspace: not an explanations file of format 3 \(an older "
                 r"run\?\); rerun `dvc repro merge_explanations` there, or compare later revisions$"),
    (json.dumps({"format": 3, "examples": [{"source": "imdb"}]}),
     r"^explanations/finetuned\.json at workspace: .+; rerun `dvc repro merge_explanations` there$"),
])
def test_an_explanations_file_that_cannot_be_read_names_itself_and_its_stage(tmp_path, monkeypatch, content,
                                                                             message):
    monkeypatch.chdir(tmp_path)
    explanations_file(tmp_path, content)
    with pytest.raises(UserError, match=message):
        compare.read_revision("workspace")
