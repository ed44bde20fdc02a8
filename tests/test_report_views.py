"""The report's view builders (stages/report/views.py, readers.py) against values worked out by hand: the accuracy line,
the quality table's rows, the top words' section, the kept note, a card's cut and special tokens, and
the confusion matrix, for the sources the report names and any other."""
from __future__ import annotations

import json
from functools import partial

import pytest

from stages.attribution.words import words_and_cut
from stages.plumbing.errors import UserError
from stages.report import readers, views
from tests.conftest import checked_shortcut, explained_record
from tests.test_plausibility_stage import measured_fixture


def test_the_accuracy_line_gives_the_accuracy_the_count_and_the_roc_auc():
    scores = {"imdb/accuracy": 0.87, "imdb/n": 1000, "imdb/roc_auc": 0.91234, "rotten_tomatoes/accuracy": 0.5}
    assert views.accuracy_text(scores, "imdb", "IMDB") == "IMDB 0.870 on 1000 (ROC AUC 0.912)"
    assert views.accuracy_text(scores, "rotten_tomatoes", "Rotten Tomatoes") == "Rotten Tomatoes 0.500"


def test_a_source_the_report_has_no_name_for_is_shown_by_its_key():
    summary = {"examples": 3, "mean_tokens": 12.4, "figures": {
        "completeness_error/median": 0.0125, "completeness_error/max": 0.05, "n_steps/mean": 50.0,
        "comprehensiveness/ig": 0.31234, "sufficiency/ig": 0.05}}
    (row,) = views.quality_rows({"reviews_2027": summary})
    assert (row["name"], row["count"], row["completeness"]) == ("reviews_2027", 3, "1.25% / 5.00%")
    assert row["methods"] == [{"name": "Integrated Gradients", "cost": "50 gradients", "comprehensiveness": "0.312",
                               "sufficiency": "0.050", "kendall_tau": ""}]


def test_a_method_the_report_does_not_know_is_shown_by_its_key_last_and_without_a_cost():
    figures = {"completeness_error/median": 0.0, "completeness_error/max": 0.0, "n_steps/mean": 20.0,
               "comprehensiveness/lime": 0.25, "sufficiency/lime": 0.5, "kendall_tau/lime": -0.125,
               "comprehensiveness/occlusion": 0.125, "sufficiency/occlusion": 0.0625, "kendall_tau/occlusion": 0.5}
    (row,) = views.quality_rows({"imdb": {"examples": 2, "mean_tokens": 9.6, "figures": figures}})
    assert row["name"] == "held-out IMDB reviews"
    assert row["methods"] == [
        {"name": "leave-one-out occlusion", "cost": "8 forwards, one batch", "comprehensiveness": "0.125",
         "sufficiency": "0.062", "kendall_tau": "0.500"},
        {"name": "lime", "cost": "", "comprehensiveness": "0.250", "sufficiency": "0.500", "kendall_tau": "-0.125"}]


def test_a_named_source_s_section_takes_its_name_and_counts_in_its_unit():
    top = [{"word": "dull", "score": 0.3, "documents": 3, "top_k_share": 1.0, "log_odds_z": 2.0, "flags": [],
            "q": 0.01, "established": True, "score_interval": [0.2, 0.4]}]
    entry = {"documents": 3, "ranked_words": 4, "top": top, "established_words": ["dull"], "needed": None}
    view = {"settings": {"fdr": 0.05}, "sources": {"rotten_tomatoes": {"negative": entry}}}
    (section,) = views.word_sections(view, [])
    assert section["name"] == "Rotten Tomatoes sentences" and section["words"][0]["cards"] == []
    assert section["verdict"] == ("3 sentences: 1 of 4 ranked words are established toward negative (q at most "
                                  "0.05, Benjamini-Hochberg).")


def test_the_top_words_section_names_each_group_and_gives_z_to_one_decimal():
    top = [{"word": "good", "score": 0.2, "documents": 2, "top_k_share": 0.5, "log_odds_z": 3.14, "flags": [],
            "q": 0.41234, "established": False, "score_interval": [0.1, 0.3]},
           {"word": "zz", "score": 0.1, "documents": 1, "top_k_share": 0.0, "log_odds_z": None, "flags": [],
            "q": None, "established": False, "score_interval": None}]
    view = {"settings": {"fdr": 0.05}, "sources": {"reviews_2027": {"positive": {
        "documents": 2, "ranked_words": 5, "top": top, "established_words": [],
        "needed": {"documents": 40, "word": "good"}}}}}
    examples = [explained_record("reviews_2027", 7, ["[CLS]", "good", "zz", "[SEP]"], predicted=1)]
    (section,) = views.word_sections(view, examples)
    assert (section["name"], section["class"], section["documents"], section["ranked"]) == ("reviews_2027",
                                                                                             "positive", 2, 5)
    assert [(word["word"], word["z"], word["q"], word["interval"], word["cards"], word["more"])
            for word in section["words"]] == [
        ("good", "3.1", "0.412", "0.1000 to 0.3000", [{"anchor": "finetuned-0", "id": 7}], 0),
        ("zz", "—", "—", "—", [{"anchor": "finetuned-0", "id": 7}], 0)]
    assert section["verdict"] == (
        "2 documents: no word is established toward positive (q at most 0.05, Benjamini-Hochberg); at the effect "
        "this run measured for “good”, about 40 documents predicted positive would establish it. The list below "
        "is a ranking, not a finding.")


def test_the_verdict_counts_the_established_words_in_the_sources_unit():
    entry = {"documents": 12, "ranked_words": 30, "established_words": ["bad", "worst"], "needed": None,
             "top": [{"word": "bad"}]}
    assert views.verdict(entry, "reviews", "negative", 0.1) == (
        "12 reviews: 2 of 30 ranked words are established toward negative (q at most 0.1, Benjamini-Hochberg).")
    assert views.verdict({**entry, "established_words": []}, "sentences", "negative", 0.05) == (
        "12 sentences: no word is established toward negative (q at most 0.05, Benjamini-Hochberg). The list below "
        "is a ranking, not a finding.")
    assert views.verdict({**entry, "established_words": [], "top": []}, "sentences", "negative", 0.05) == (
        "12 sentences: no word is established toward negative (q at most 0.05, Benjamini-Hochberg).")  # no list


def test_the_kept_note_counts_the_cards_of_each_source_against_its_records():
    examples = [explained_record("imdb", 0), explained_record("sentences", 1), explained_record("sentences", 2)]
    explanations = {"examples": examples, "records": {"examples": 7, "file": "explanations/finetuned.parquet"},
                    "sources": {"imdb": {"examples": 5}, "sentences": {"examples": 2}, "reviews_2027": {"examples": 1}}}
    assert views.kept_note(explanations) == (
        "Cards for the first examples of each source (1 of 5 held-out IMDB reviews, 2 of 2 free sentences, 0 of 1 "
        "reviews_2027); the quality table covers them all. Every record is in explanations/finetuned.parquet "
        "(DVC's cache).")
    assert views.kept_note({**explanations, "records": {"examples": 3, "file": "x.parquet"}}) == ""
    assert views.kept_note({**explanations, "records": None}) == ""


def test_a_card_marks_the_cut_and_the_special_tokens_and_titles_an_unnamed_source_by_its_key():
    record = explained_record("reviews_2027", 3, ["[CLS]", "good", "film", "[SEP]"], [0.0, 0.5, 0.25, 0.0],
                              cut_at=2, tokens_cut=5, truncated=True)
    card = views.example_card(record, "finetuned-0")
    assert card["title"] == "reviews_2027"
    mark = {"label": "[…]", "colour": "#fff", "ink": "#555", "special": True,
            "title": "5 tokens cut here to fit the model's length"}
    assert [item["label"] for item in card["tokens"]] == ["[CLS]", "good", "[…]", "film", "[SEP]"]
    assert card["tokens"][2] == mark and card["words"][2] == mark
    assert [item["special"] for item in card["tokens"]] == [True, False, True, False, True]
    assert card["extra"][-1] == "truncated: 5 tokens cut at […]"


def test_the_cut_is_marked_after_the_words_not_the_tokens_before_it_and_no_word_spans_it():
    tokens = ["[CLS]", "un", "##believ", "##ably", "good", "[SEP]"]
    attributions = [0.0, 0.1, 0.2, 0.4, 0.8, 0.0]
    words, words_cut_at = words_and_cut(tokens, attributions, 3)
    assert [word.text for word in words] == ["[CLS]", "unbeliev", "##ably", "good", "[SEP]"]
    assert words_cut_at == 2 and words[1].attribution == pytest.approx(0.3)
    assert words_and_cut(tokens, attributions, 0)[1] == 0
    whole, no_cut = words_and_cut(tokens, attributions, None)
    assert no_cut is None and [word.text for word in whole] == ["[CLS]", "unbelievably", "good", "[SEP]"]


def test_the_confusion_matrix_counts_each_actual_and_predicted_pair(tmp_path):
    rows = [{"actual": 0, "predicted": 0}, {"actual": 1, "predicted": 0}, {"actual": 1, "predicted": 0},
            {"actual": 1, "predicted": 1}]
    path = tmp_path / "confusion.json"
    path.write_text(json.dumps(rows))
    counts = readers.confusion_counts(path)
    assert counts.dtype.kind == "i" and counts.tolist() == [[1, 0], [2, 1]]


def test_a_card_gives_the_label_and_whether_the_prediction_was_right():
    cards = [views.example_card(explained_record("imdb", 0, label=label, predicted=predicted), "c")
             for label, predicted in ((1, 1), (0, 1), (None, 0))]
    assert [(card["label"], card["predicted"], card["verdict"]) for card in cards] == [
        ("label: positive", "positive", "correct"), ("label: negative", "positive", "wrong"),
        ("no label (free text)", "negative", None)]


def test_a_card_lists_its_faithfulness_and_says_truncated_only_when_it_was():
    card = views.example_card(explained_record("imdb", 0), "c")
    assert card["extra"] == ["comprehensiveness 0.300, sufficiency 0.010"]


def test_the_training_curves_are_read_from_dvclives_files(tmp_path):
    folder = tmp_path / "train" / "plots" / "metrics" / "train"
    folder.mkdir(parents=True)
    (folder / "loss.tsv").write_text("step\tloss\n1\t0.9\n2\t0.5\n")
    (folder / "accuracy.tsv").write_text("step\taccuracy\n1\t0.25\n2\t0.75\n")
    assert readers.training_curves(tmp_path) == {"loss": ([1.0, 2.0], [0.9, 0.5]),
                                                "accuracy": ([1.0, 2.0], [0.25, 0.75])}


def test_unreadable_curves_and_confusion_rows_are_one_line_naming_the_stage(tmp_path):
    curve, confusion = tmp_path / "loss.tsv", tmp_path / "confusion.json"
    curve.write_text("step\tloss\n1\tnot-a-number\n")
    with pytest.raises(UserError) as error:
        readers.read_curve(curve)
    assert str(error.value) == f"{curve}: unreadable (ValueError); rebuild it with `dvc repro -f train`"
    cases = [("not a list of rows", {"actual": 0}),
             ("row 2 has no integer `actual` and `predicted`", [{"actual": 0, "predicted": 1}, {"actual": 1}]),
             ("row 1 has no integer `actual` and `predicted`", [{"actual": "one", "predicted": 1}]),
             ("row 1 has no integer `actual` and `predicted`", [{"actual": 1, "predicted": None}]),
             ("row 1 has no integer `actual` and `predicted`", [[0, 1]]),
             ("row 3: classes are 0 and 1", [{"actual": 0, "predicted": 1}] * 2 + [{"actual": -1, "predicted": 0}]),
             ("row 1: classes are 0 and 1", [{"actual": 1, "predicted": 2}])]
    for reason, content in cases:
        confusion.write_text(json.dumps(content))
        with pytest.raises(UserError) as error:
            readers.confusion_counts(confusion)
        assert str(error.value) == (f"{confusion}: not a confusion matrix ({reason}); rebuild it with "
                                    "`dvc repro -f evaluate`")


def edited(valid: dict, path: tuple, value: object = None, delete: bool = False) -> dict:
    """A deep copy of `valid` with the entry at `path` (keys and indices) set to `value`, or deleted."""
    copy = json.loads(json.dumps(valid))
    *parents, last = path
    target = copy
    for key in parents:
        target = target[key]
    if delete:
        del target[last]
    else:
        target[last] = value
    return copy


def minimal_dataset_view() -> dict:
    """A dataset view holding what the report reads and nothing else: one class of one source, one top word."""
    row = {"word": "dull", "score": -0.2, "documents": 3, "top_k_share": 0.5, "log_odds_z": -2.1, "flags": [],
           "q": 0.04, "established": True, "score_interval": [-0.3, -0.1]}
    return {"settings": {"fdr": 0.05}, "sources": {"imdb": {"negative": {"top": [row], "established_words": 1,
                                                                          "needed": None}}}}


def minimal_explanations() -> dict:
    """An explanations file holding what the report reads and nothing else: one source's summary, no example."""
    return {"sources": {"imdb": {"examples": 0, "mean_tokens": 0.0, "figures": {"n_steps/mean": 50.0}}},
            "examples": []}


UNSUMMARISED = "a source's summary has not its examples, mean_tokens and figures"
# kind -> its reader, a whole file of that kind, what a broken one is not, and the stage that rebuilds it
CHECK_FILES = {"explanations": (partial(readers.read_explanations, stage="explain_sentences"), minimal_explanations,
                                "an explanations file", "explain_sentences"),
               "dataset": (readers.read_dataset_view, minimal_dataset_view, "a dataset view", "aggregate_words"),
               "shortcut": (readers.read_shortcut, checked_shortcut, "a shortcut check", "check_shortcut"),
               "plausibility": (readers.read_plausibility, measured_fixture, "a plausibility file", "plausibility")}
BREAKS = [  # (kind, what is wrong, the edit): each check of each reader, and each error it turns into a line
    ("explanations", UNSUMMARISED, (("sources", "imdb", "mean_tokens"), None, True)),
    ("explanations", UNSUMMARISED, (("sources", "imdb", "figures", "n_steps/mean"), None, True)),
    ("explanations", "examples is not a list", (("examples",), {})),
    ("dataset", "a top word lacks its figures", (("sources", "imdb", "negative", "top", 0, "q"), None, True)),
    ("dataset", "a class lacks its established words", (("sources", "imdb", "negative", "needed"), None, True)),
    ("dataset", "'fdr'", (("settings", "fdr"), None, True)),
    ("dataset", "'top'", (("sources", "imdb", "negative", "top"), None, True)),
    ("dataset", "'list' object has no attribute 'values'", (("sources",), [])),
    ("dataset", "'int' object is not iterable", (("sources", "imdb", "negative", "top"), 0)),
    ("shortcut", "a method lacks its figures", (("methods", "gradient_x_input", "mrr"), None, True)),
    ("shortcut", "examples[0] lacks its tokens, attributions or ranks", (("examples", 0, "attributions"), [0.0])),
    ("shortcut", "examples[0] lacks its tokens, attributions or ranks", (("examples", 0, "ranks"), {})),
    ("shortcut", "the reliance figures are incomplete", (("reliance", "flipped"), None, True)),
    ("shortcut", "the planted word or its settings are missing", (("dataset_rank",), None, True)),
    ("shortcut", "the planted word or its settings are missing", (("settings", "k"), None, True)),
    ("shortcut", "'reliance'", (("reliance",), None, True)),
    ("shortcut", "'list' object has no attribute 'values'", (("methods",), [])),
    ("shortcut", "'int' object is not iterable", (("shown",), 0)),
    ("shortcut", "list index out of range", (("shown",), [2])),
    ("plausibility", "neither dataset's figures, or no settings", (("settings", "layer"), None, True)),
    ("plausibility", "eraser's source is not identified", (("eraser", "source", "sha256"), None, True)),
    ("plausibility", "sst's source is not identified", (("sst", "source", "path"), None, True)),
    ("plausibility", "document negR_900.txt lacks its words, scores or rationale",
     (("eraser", "shown", 0, "scores"), [0.1])),
    ("plausibility", "document negR_900.txt lacks its words, scores or rationale",
     (("eraser", "shown", 0, "rationale"), [True])),
    ("plausibility", "'settings'", (("settings",), None, True)),
    ("plausibility", "argument of type 'int' is not iterable", (("settings",), 0)),
    ("plausibility", "list indices must be integers or slices, not str", (("eraser",), [])),
]


@pytest.mark.parametrize("kind, problem, edit", BREAKS)
def test_a_broken_check_is_one_line_naming_its_stage(tmp_path, kind, problem, edit):
    reader, whole, what, stage = CHECK_FILES[kind]
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps(edited(whole(), *edit)))
    with pytest.raises(UserError) as error:
        reader(path)
    assert str(error.value) == f"{path}: not {what} ({problem}); rebuild it with `dvc repro -f {stage}`"


def test_a_whole_file_either_dataset_alone_and_a_disabled_file_are_read_as_they_are(tmp_path):
    """Whole files, the minimal ones (only the keys a reader asks for) among them, come back as they were."""
    path = tmp_path / "figures.json"
    measured = measured_fixture()
    bare_source = edited(measured, ("sst", "source"), {"sha256": "0", "path": "x"})  # no `known_as`
    for reader, content in [(readers.read_dataset_view, minimal_dataset_view()),
                            (readers.read_randomisation, [{"level": "original", "spearman": 1.0}]),
                            (CHECK_FILES["explanations"][0], minimal_explanations()),
                            (readers.read_plausibility, bare_source),
                            (readers.read_shortcut, checked_shortcut()), (readers.read_plausibility, measured),
                            (readers.read_plausibility, edited(measured, ("eraser",), None, True)),
                            (readers.read_plausibility, edited(measured, ("sst",), None, True)),
                            (readers.read_shortcut, {"format": 1, "enabled": False}),
                            (readers.read_plausibility, {"format": 1, "enabled": False})]:
        path.write_text(json.dumps(content))
        assert reader(path) == content
    path.write_text(json.dumps(edited(edited(measured, ("eraser",), None, True), ("sst",), None, True)))
    with pytest.raises(UserError, match=r"not a plausibility file \(neither dataset's figures, or no settings\)"):
        readers.read_plausibility(path)
