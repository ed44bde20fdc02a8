"""Comparing explanations between revisions: the agreement measures, the matching of examples, the
command on a small git + DVC repository, its bad input, and its page in Chromium."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stages.attribution.agreement import MEASURES, agreement, common_features, summary
from stages.attribution.record import ExplainedExample
from stages.attribution.record_table import write_records
from stages.plumbing.errors import UserError
from tests.conftest import checked_shortcut, dvc_env, explained_record, open_page
from tests.test_render import dataset_view_of
from tools import compare

HOSTILE = "<script>alert(1)</script>"


def record(tokens: list[str], attributions: list[float], example_id: int = 0, source: str = "imdb",
           predicted: int = 1) -> ExplainedExample:
    return explained_record(source, example_id, ["[CLS]", *tokens, "[SEP]"], [0.0, *attributions, 0.0],
                            text=" ".join(tokens), predicted=predicted)


def test_an_explanation_agrees_fully_with_itself():
    values = np.array([0.3, -0.1, 0.05, 0.2, -0.4, 0.01])
    assert agreement(values, values.copy(), k=3) == pytest.approx(
        {"spearman": 1.0, "kendall": 1.0, "top_k": 1.0, "sign_top_k": 1.0, "relative_l1": 0.0})


def test_negated_attributions_rank_opposite_with_no_sign_agreement():
    values = np.array([0.3, -0.1, 0.05, 0.2, -0.4, 0.01])
    figures = agreement(values, -values, k=3)
    assert figures["spearman"] == pytest.approx(-1.0) and figures["kendall"] == pytest.approx(-1.0)
    assert figures["top_k"] == 1.0 and figures["sign_top_k"] == 0.0 and figures["relative_l1"] == pytest.approx(2.0)


def test_top_k_counts_shared_features_and_their_signs():
    left = np.array([0.5, 0.4, 0.3, 0.0, 0.0])
    right = np.array([0.5, -0.4, 0.0, 0.3, 0.0])  # top 3: {0, 1, 3}; shared with {0, 1, 2}: 0 and 1
    figures = agreement(left, right, k=3)
    assert figures["top_k"] == pytest.approx(2 / 3) and figures["sign_top_k"] == pytest.approx(1 / 3)
    assert agreement(left, right, k=50)["top_k"] == 1.0  # k beyond the features: all of them


def test_a_constant_side_has_no_rank_correlation():
    figures = agreement(np.zeros(4), np.array([0.1, 0.2, 0.3, 0.4]), k=2)
    assert figures["spearman"] is None and figures["kendall"] is None and figures["relative_l1"] is None


def test_other_wordpieces_fall_back_to_words_or_are_not_comparable():
    left = record(["dull", "plot"], [-0.4, 0.1])
    right = record(["du", "##ll", "plot"], [-0.3, -0.1, 0.1]).model_copy(update={"text": left.text})
    features = common_features(left, right)
    assert features.level == "word" and features.names == ["dull", "plot"]
    assert features.right.tolist() == pytest.approx([-0.4, 0.1])
    reason = common_features(left, record(["dull", "plot", "indeed"], [0.1, 0.2, 0.3]))
    assert reason.startswith("tokens and words differ (4 vs 5 tokens, 4 vs 5 words)")
    nothing = common_features(record([], []), record([], []))  # [CLS] [SEP] alone: comparable, nothing to rank
    assert (nothing.names, agreement(nothing.left, nothing.right, k=3)) == ([], dict.fromkeys(MEASURES))


def test_the_summary_takes_the_median_and_the_worst_of_comparable_examples():
    rows = [{"comparable": True, "prediction_changed": True, "spearman": 0.9, "kendall": 0.8, "top_k": 1.0,
             "sign_top_k": 1.0, "relative_l1": 0.1},
            {"comparable": True, "prediction_changed": False, "spearman": 0.5, "kendall": 0.4, "top_k": 0.6,
             "sign_top_k": 0.4, "relative_l1": 0.7},
            {"comparable": False, "prediction_changed": False, "spearman": None, "kendall": None, "top_k": None,
             "sign_top_k": None, "relative_l1": None}]
    figures = summary(rows)
    assert (figures["examples"], figures["comparable"], figures["prediction_changed"]) == (3, 2, 1)
    assert figures["spearman"] == {"median": pytest.approx(0.7), "worst": 0.5}
    assert figures["relative_l1"] == {"median": pytest.approx(0.4), "worst": 0.7}


def test_the_summary_figures_differ_from_their_misreadings():
    """Three comparable examples with a Spearman 0.9, 0.2, 0.4 (median 0.4, not the mean 0.5; worst 0.2) and
    relative L1 0.1, 0.7, 0.3 (median 0.3; worst the largest, 0.7), a fourth comparable one whose measures
    are undefined (left out of the medians, not counted as 0), and one not comparable whose prediction
    changed (not counted: its explanations were not compared)."""
    def row(comparable: bool, changed: bool, spearman: float | None, relative_l1: float | None) -> dict:
        return {"comparable": comparable, "prediction_changed": changed, "spearman": spearman, "kendall": spearman,
                "top_k": 1.0, "sign_top_k": 1.0, "relative_l1": relative_l1}

    figures = summary([row(True, False, 0.9, 0.1), row(True, True, 0.2, 0.7), row(True, False, 0.4, 0.3),
                       row(True, False, None, None), row(False, True, None, None)])
    assert (figures["examples"], figures["comparable"], figures["prediction_changed"]) == (5, 4, 1)
    assert figures["spearman"] == {"median": 0.4, "worst": 0.2}
    assert figures["relative_l1"] == {"median": 0.3, "worst": 0.7}


def test_the_relative_l1_difference_is_relative_to_the_left_runs_total():
    """|2 - 1| + |-1 + 1| + |1 - 3| + |0.5 + 0.5| = 4 over the left run's 4.5 (not the right's 5.5, nor
    their mean 5)."""
    figures = agreement(np.array([2.0, -1.0, 1.0, 0.5]), np.array([1.0, -1.0, 3.0, -0.5]), k=2)
    assert figures["relative_l1"] == pytest.approx(4 / 4.5)


def write_explanations(folder: Path, reviews: list[ExplainedExample], sentences: list[ExplainedExample],
                       **changes) -> None:
    (folder / "explanations").mkdir(exist_ok=True)
    for name, examples in (("finetuned", reviews), ("sentences", sentences), ("pretrained", [])):
        payload = {"format": 2, "model": "tiny", "examples": [example.model_dump() for example in examples],
                   **changes}
        (folder / "explanations" / f"{name}.json").write_text(json.dumps(payload))


REVIEWS = [record(["good", "film", HOSTILE], [0.3, 0.1, -0.2]),
           record(["dull", "plot", "here", "now"], [-0.4, 0.1, 0.05, 0.2], example_id=1, predicted=0)]
SENTENCES = [record(["a", "fine", "day"], [0.1, 0.2, 0.3], source="sentences")]


@pytest.fixture
def repository(tmp_path, monkeypatch) -> Path:
    """A git + DVC repository whose last commit holds explanations; the workspace is free to change."""
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=tmp_path, check=True, env=dvc_env())
    write_explanations(tmp_path, REVIEWS, SENTENCES)
    subprocess.run(git + ["add", "-A"], cwd=tmp_path, check=True)
    subprocess.run(git + ["commit", "-qm", "explained"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_compare(monkeypatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", ["compare", *args])
    compare.main()


def test_a_revision_against_the_workspace(repository, monkeypatch, capsys):
    """Negated attributions on one review, another sentence: the figures, the table and both files."""
    negated = REVIEWS[0].model_copy(update={"attributions": [-value for value in REVIEWS[0].attributions]})
    write_explanations(repository, [negated, REVIEWS[1]], [record(["other"], [0.2], source="sentences")])
    run_compare(monkeypatch, "HEAD", "workspace")
    written = json.loads((repository / "reports/compare.json").read_text())
    rows = {(row["source"], row["text"]): row for row in written["pairs"][0]["rows"]}
    assert rows[("imdb", REVIEWS[0].text)]["spearman"] == pytest.approx(-1.0)
    assert rows[("imdb", REVIEWS[0].text)]["sign_top_k"] == 0.0
    assert rows[("imdb", REVIEWS[1].text)]["spearman"] == pytest.approx(1.0)
    assert rows[("sentences", "a fine day")]["reason"] == "explained in one revision only"
    assert rows[("sentences", "other")]["comparable"] is False
    assert written["pairs"][0]["summary"]["spearman"] == {"median": pytest.approx(0.0), "worst": pytest.approx(-1.0)}
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["left", "right", "examples", "comparable", "prediction", "changed", "spearman",
                                "kendall", "top-5", "sign", "top-5", "relative", "L1"]
    assert table[1].split()[:4] == ["HEAD", "workspace", "4", "2"]
    assert table[2] == ("HEAD vs workspace: NOT reproduced: 2 of 4 examples not comparable; "
                        "worst relative L1 difference 2 > 0.0001")
    assert table[-1] == "reports/compare.html, reports/compare.json: 1 pair(s) of revisions"
    page = (repository / "reports/compare.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Median Spearman correlation" not in page  # a matrix for three revisions or more
    assert page.index(REVIEWS[0].text.split()[0]) < page.index("dull")  # the most changed first


def test_a_revision_reproduces_itself(repository, monkeypatch, capsys):
    """The same explanations under another name: correlation and agreement 1, difference 0, reproduced."""
    run_compare(monkeypatch, "HEAD", "workspace")
    figures = json.loads((repository / "reports/compare.json").read_text())["pairs"][0]["summary"]
    for measure in ("spearman", "kendall", "top_k", "sign_top_k"):
        assert figures[measure] == {"median": pytest.approx(1.0), "worst": pytest.approx(1.0)}
    assert figures["relative_l1"] == {"median": 0.0, "worst": 0.0}
    assert capsys.readouterr().out.splitlines()[-2] == (
        "HEAD vs workspace: reproduced: 3 examples, same predictions, worst relative L1 difference 0 <= 0.0001")


def test_a_changed_prediction_is_not_a_reproduction(repository, monkeypatch, capsys):
    write_explanations(repository, [REVIEWS[0].model_copy(update={"predicted": 0}), REVIEWS[1]], SENTENCES)
    run_compare(monkeypatch, "HEAD", "workspace", "--tolerance", "0.5")
    assert "NOT reproduced: 1 predictions changed" in capsys.readouterr().out


def test_three_revisions_give_a_matrix(repository, monkeypatch, capsys):
    """Every attribution negated in the workspace: its median Spearman is -1 against both commits, which agree."""
    subprocess.run(["git", "tag", "first"], cwd=repository, check=True)
    write_explanations(repository, *([example.model_copy(update={"attributions": [-v for v in example.attributions]})
                                      for example in examples] for examples in (REVIEWS, SENTENCES)))
    run_compare(monkeypatch, "first", "HEAD", "workspace", "--page-examples", "1", "--top-k", "1")
    written = json.loads((repository / "reports/compare.json").read_text())
    assert [(pair["left"], pair["right"]) for pair in written["pairs"]] == [
        ("first", "HEAD"), ("first", "workspace"), ("HEAD", "workspace")]
    assert written["revisions"] == ["first", "HEAD", "workspace"] and written["top_k"] == 1
    assert written["median_spearman_matrix"] == [[1.0, 1.0, -1.0], [1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]
    verdicts = [line.split(":")[:2] for line in capsys.readouterr().out.splitlines()[4:7]]
    assert verdicts == [["first vs HEAD", " reproduced"], ["first vs workspace", " NOT reproduced"],
                        ["HEAD vs workspace", " NOT reproduced"]]
    page = (repository / "reports/compare.html").read_text(encoding="utf-8")
    assert "Median Spearman correlation, every pair" in page and "top-1 " in page
    assert page.count('class="card"') == 1 and "The 1 most changed of 3 examples" in page


@pytest.mark.parametrize("arguments, message", [
    ([], r"^compare needs two or more different revisions, got none; e\.g\. `python -m tools\.compare HEAD "
         r"workspace`$"),
    (["HEAD", "HEAD"], "compare needs two or more different revisions, got HEAD HEAD;"),
    (["HEAD", "no-such-rev"], r"^no-such-rev: no such git revision or DVC experiment \(see `git log` and "
                              r"`dvc exp list`\)$"),
    (["HEAD", "workspace", "--top-k", "0"], "--top-k 0: expected an integer >= 1"),
    (["HEAD", "workspace", "--page-examples", "0"], "^--page-examples 0: expected an integer >= 1$"),
])
def test_bad_arguments_are_one_line(repository, monkeypatch, arguments, message):
    with pytest.raises(UserError, match=message):
        run_compare(monkeypatch, *arguments)
    assert not (repository / "reports").exists()


def test_a_missing_or_older_explanations_file_names_the_stage(repository, monkeypatch):
    (repository / "explanations/sentences.json").unlink()
    with pytest.raises(UserError, match=r"explanations/sentences.json: missing in the workspace; "
                                        r"run `dvc repro explain_sentences`"):
        run_compare(monkeypatch, "HEAD", "workspace")
    write_explanations(repository, REVIEWS, SENTENCES, format=1)
    with pytest.raises(UserError, match=r"explanations/finetuned.json at workspace: not an explanations file of "
                                        r"format 3 \(an older run\?\); rerun `dvc repro merge_explanations` there"):
        run_compare(monkeypatch, "HEAD", "workspace")
    assert not (repository / "reports").exists()


def write_with_records(folder: Path, reviews: list[ExplainedExample], kept: int) -> None:
    """Explanations as `merge_explanations` writes them: every review in the records file, `kept` in git."""
    write_explanations(folder, reviews[:kept], SENTENCES, format=3)
    finetuned = folder / "explanations/finetuned.json"
    finetuned.write_text(json.dumps({**json.loads(finetuned.read_text()), "records": {
        "file": "explanations/finetuned.parquet", "examples": len(reviews)}}))
    write_records(folder / "explanations/finetuned.parquet", {}, reviews)


def test_every_record_is_compared_from_the_cache_and_git_alone_compares_what_it_keeps(repository, monkeypatch,
                                                                                      capsys):
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    reviews = [explained_record("imdb", index, ("[CLS]", "good", "film", "here", "[SEP]"),
                                [0.0, 0.3, -0.1, 0.02 * index, 0.0]) for index in range(3)]
    write_with_records(repository, reviews, kept=1)
    subprocess.run(["dvc", "add", "-q", "explanations/finetuned.parquet"], cwd=repository, check=True, env=dvc_env())
    subprocess.run(git + ["add", "-A"], cwd=repository, check=True)
    subprocess.run(git + ["commit", "-qm", "three reviews, one kept in git"], cwd=repository, check=True)
    negated = reviews[2].model_copy(update={"attributions": [-value for value in reviews[2].attributions]})
    write_with_records(repository, [*reviews[:2], negated], kept=1)

    run_compare(monkeypatch, "HEAD", "workspace")
    rows = json.loads((repository / "reports/compare.json").read_text())["pairs"][0]["rows"]
    spearman = {row["id"]: row["spearman"] for row in rows if row["source"] == "imdb"}
    assert spearman == {0: pytest.approx(1.0), 1: pytest.approx(1.0), 2: pytest.approx(-1.0)}
    assert "finetuned.parquet" not in capsys.readouterr().err

    shutil.rmtree(repository / ".dvc" / "cache")
    run_compare(monkeypatch, "HEAD", "workspace")
    rows = json.loads((repository / "reports/compare.json").read_text())["pairs"][0]["rows"]
    assert {row["id"]: row["reason"] for row in rows if row["source"] == "imdb"} == {
        0: None, 1: "explained in one revision only", 2: "explained in one revision only"}
    notes = capsys.readouterr().err.splitlines()
    assert [note for note in notes if "finetuned.parquet" in note] == [
        "note: explanations/finetuned.parquet at HEAD is in no DVC cache or remote at hand; comparing the 1 of its 3 "
        "examples kept in explanations/finetuned.json (`dvc pull explanations/finetuned.parquet` to compare all)"]


def test_the_dataset_level_line_names_the_words_that_moved_and_the_rank_correlation(repository, monkeypatch,
                                                                                   capsys):
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    view = repository / "explanations/dataset.json"

    def reviews(words: list[tuple[str, float]]) -> list[ExplainedExample]:
        return [explained_record("imdb", index, ("[CLS]", word, "film", "[SEP]"), [0.0, value, 0.1, 0.0])
                for index, (word, value) in enumerate(words)]

    run_compare(monkeypatch, "HEAD", "workspace")  # no view on either side: a note each, no line
    captured = capsys.readouterr()
    assert "dataset:" not in captured.out
    assert captured.err.count("note: no dataset view of format 2 at") == 2
    assert ("note: no dataset view of format 2 at HEAD (explanations/dataset.json: not in revision HEAD; run "
            "`dvc repro aggregate_words` there, or compare a later revision); its line is left out") in captured.err
    view.write_text(json.dumps(dataset_view_of(reviews([("good", 0.5), ("fine", 0.3), ("okay", 0.2)]))))
    subprocess.run(git + ["add", "-A"], cwd=repository, check=True)
    subprocess.run(git + ["commit", "-qm", "a dataset view"], cwd=repository, check=True)
    # scores (shrinkage 5): good 0.083, fine 0.05, film 0.0375 in both; okay 0.033 leaves, great 0.1 enters;
    # film, 0.1 in each of the 3 documents, is established in both (p 0); the others, in 1 document, untested
    view.write_text(json.dumps(dataset_view_of(reviews([("good", 0.5), ("fine", 0.3), ("great", 0.6)]))))
    run_compare(monkeypatch, "HEAD", "workspace")
    assert ("HEAD vs workspace, dataset: imdb toward positive: Spearman 1.000 over 3 words, top list +1 -1 "
            "(in: great; out: okay), established words 1 → 1 +0 -0") in capsys.readouterr().out.splitlines()
    (row,) = json.loads((repository / "reports/compare.json").read_text())["pairs"][0]["dataset"]
    assert row == {"source": "imdb", "class": "positive", "entered": ["great"], "left": ["okay"],
                   "established": [1, 1], "established_entered": [], "established_left": [], "common_words": 3,
                   "spearman": 1.0}


def test_the_shortcut_line_compares_the_planted_words_check_of_each_revision(repository, monkeypatch, capsys):
    """No check on either side: no line; checked on both: the line, in the terminal and the JSON."""
    run_compare(monkeypatch, "HEAD", "workspace")
    captured = capsys.readouterr()
    assert "shortcut" not in captured.out
    assert ("note: no planted shortcut's check at workspace (explanations/shortcut.json: missing in the workspace; "
            "run `dvc repro check_shortcut`); its line is left out") in captured.err.splitlines()
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    check = repository / "explanations/shortcut.json"
    check.write_text(json.dumps(checked_shortcut()))
    subprocess.run(git + ["add", "-A"], cwd=repository, check=True)
    subprocess.run(git + ["commit", "-qm", "a shortcut checked"], cwd=repository, check=True)
    check.write_text(json.dumps(checked_shortcut(ig_precision=1.0)))
    run_compare(monkeypatch, "HEAD", "workspace")
    line = next(line for line in capsys.readouterr().out.splitlines() if "shortcut" in line)
    assert line.startswith("HEAD vs workspace, shortcut “walnut”: relied on in 3/4 → 3/4; ig precision@1 0.667 → 1.000")
    assert json.loads((repository / "reports/compare.json").read_text())["pairs"][0]["shortcut"] == line
    assert line in (repository / "reports/compare.html").read_text()


def test_the_plausibility_line_puts_each_revisions_figures_in_order(repository, monkeypatch, capsys):
    """Measured at HEAD and in the workspace: IG's and the random rival's ERASER AUPRC, HEAD's first."""
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    metrics = repository / "metrics/plausibility.json"
    metrics.parent.mkdir()
    metrics.write_text(json.dumps({"eraser": {"ig": {"auprc": 0.5}, "random": {"auprc": 0.25}}}))
    subprocess.run(git + ["add", "-A"], cwd=repository, check=True)
    subprocess.run(git + ["commit", "-qm", "plausibility measured"], cwd=repository, check=True)
    metrics.write_text(json.dumps({"eraser": {"ig": {"auprc": 0.75}, "random": {"auprc": 0.125}}}))
    run_compare(monkeypatch, "HEAD", "workspace")
    line = "HEAD vs workspace, plausibility: eraser auprc ig 0.500 → 0.750, random 0.250 → 0.125"
    assert line in capsys.readouterr().out.splitlines()
    assert json.loads((repository / "reports/compare.json").read_text())["pairs"][0]["plausibility"] == line


def test_a_view_or_check_of_another_format_or_not_enabled_is_left_out(tmp_path, monkeypatch, capsys):
    """The dataset view needs its format and a dict of sources; the shortcut check its format and `enabled`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "explanations").mkdir()
    cases = [(compare.read_dataset_view, "dataset.json", {"format": compare.DATASET_FORMAT, "sources": {}}, True),
             (compare.read_dataset_view, "dataset.json", {"format": compare.DATASET_FORMAT - 1, "sources": {}}, False),
             (compare.read_dataset_view, "dataset.json", {"format": compare.DATASET_FORMAT, "sources": []}, False),
             (compare.read_shortcut_check, "shortcut.json", {"format": compare.SHORTCUT_FORMAT, "enabled": True}, True),
             (compare.read_shortcut_check, "shortcut.json", {"format": compare.SHORTCUT_FORMAT, "enabled": False},
              False),
             (compare.read_shortcut_check, "shortcut.json", {"format": compare.SHORTCUT_FORMAT + 1, "enabled": True},
              False)]
    for read, name, payload, accepted in cases:
        (tmp_path / "explanations" / name).write_text(json.dumps(payload))
        assert read("workspace") == (payload if accepted else None), payload
    (tmp_path / "explanations/dataset.json").write_text("not JSON")
    assert compare.read_dataset_view("workspace") is None
    dataset_note = (f"note: no dataset view of format {compare.DATASET_FORMAT} at workspace "
                    "(explanations/dataset.json); its line is left out")
    assert capsys.readouterr().err.splitlines() == [dataset_note] * 2 + [
        "note: no planted shortcut's check at workspace (explanations/shortcut.json); its line is left out"] * 2 + [
        dataset_note]


def test_the_dataset_line_joins_its_classes_and_names_five_words_a_side():
    def row(name: str, spearman: float | None, entered: list[str], left: list[str]) -> dict:
        return {"source": "imdb", "class": name, "spearman": spearman, "common_words": 4, "entered": entered,
                "left": left, "established": [2, 3], "established_entered": ["a"], "established_left": []}

    pair = {"left": "A", "right": "B", "dataset": [row("negative", None, [f"w{index}" for index in range(6)],
                                                        ["x", "y"]), row("positive", 0.5, [], [])]}
    assert compare.dataset_line(pair) == (
        "A vs B, dataset: imdb toward negative: Spearman — over 4 words, top list +6 -2 (in: w0, w1, w2, w3, w4; "
        "out: x, y), established words 2 → 3 +1 -0 (in: a); imdb toward positive: Spearman 0.500 over 4 words, "
        "top list +0 -0, established words 2 → 3 +1 -0 (in: a)")
    assert compare.dataset_line({**pair, "dataset": []}) == "A vs B, dataset: no class in both views"


@pytest.mark.stage_process
def test_the_command_exits_2_with_one_line(repository):
    result = subprocess.run([sys.executable, "-m", "tools.compare", "HEAD"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(compare.__file__).parents[1])})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: compare needs two or more different revisions, got HEAD; e.g. `python -m tools.compare HEAD "
        "workspace`"]


def test_the_page_runs_nothing_and_shows_every_revision(repository, monkeypatch, browser):
    from selenium.webdriver.common.by import By

    changed = REVIEWS[0].model_copy(update={"attributions": [0.0, 0.1, 0.3, -0.2, 0.0]})
    write_explanations(repository, [changed, REVIEWS[1]], SENTENCES)
    run_compare(monkeypatch, "HEAD", "workspace")
    open_page(browser, repository / "reports/compare.html")
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
    assert browser.find_elements(By.TAG_NAME, "script") == []
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.card")) == 3
    assert len(browser.find_elements(By.CSS_SELECTOR, ".revision")) == 2 * 3
    tokens = browser.execute_script("return Array.from(document.querySelectorAll('mark.tok'))"
                                    ".filter(mark => mark.checkVisibility()).map(mark => mark.textContent)")
    assert tokens.count(HOSTILE) == 2
