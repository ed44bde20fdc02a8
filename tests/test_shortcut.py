"""The planted shortcut: where decode plants the word, how check_shortcut ranks it and scores each method, and
the whole check on a tiny model that relies on a word by construction."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stages.attribution.shortcut import Reliance, planted_rank, random_expectation, ranking_figures, reliance_figures
from stages.check_shortcut import dataset_rank
from stages.decode import with_shortcut
from stages.plumbing.errors import UserError
from stages.plumbing.planting import kept_head, occurrences, planted
from stages.plumbing.texts import encode
from stages.report.shortcut import example_view, shortcut_line
from stages.schemas.aggregate_words import AggregateWordsParams
from stages.schemas.decode import ShortcutParams
from stages.schemas.tokenize import TokenizeParams
from tests.conftest import NEUTRAL, checked_shortcut, copy_project_files, set_params
from tests.test_render import HOSTILE, assert_shown_as_text, run_main, write_inputs

LONG = " ".join(f"{NEUTRAL[i % len(NEUTRAL)]}," for i in range(60))  # 120 tokens: every comma a token of its own


@pytest.mark.parametrize("truncation", ["head", "head_tail"])
def test_the_planted_word_lands_in_the_head_truncation_keeps(vocab_tokenizer, truncation):
    """At 32 tokens, head_tail keeps only the first 7 of a text's tokens: each planted copy is among them,
    at a position drawn from its id, and the word survives tokenize's cut in every one."""
    max_len, word = 32, "zeitgeist"
    texts = [LONG] * 40
    result = planted(texts, list(range(40)), word, vocab_tokenizer, max_len, truncation, seed=3)
    word_ids = vocab_tokenizer(word, add_special_tokens=False)["input_ids"]
    kept = encode(result, vocab_tokenizer, max_len, truncation)["input_ids"]
    head = kept_head(max_len, truncation)
    assert head == (30 // 4 if truncation == "head_tail" else 30)
    starts = set()
    for text, ids in zip(result, kept):
        assert text.replace(f"{word} ", "", 1) == LONG  # one insertion, the rest as it was
        pieces = vocab_tokenizer(text, add_special_tokens=False)["input_ids"]
        start = next(i for i in range(len(pieces)) if pieces[i:i + len(word_ids)] == word_ids)
        assert start + len(word_ids) <= head
        assert list(ids[1 + start:1 + start + len(word_ids)]) == word_ids  # after [CLS], as the model sees it
        starts.add(start)
    assert len(starts) > 1  # seeded per review: not one position for all
    assert planted(texts, list(range(40)), word, vocab_tokenizer, max_len, truncation, seed=3) == result
    assert planted(texts, list(range(40)), word, vocab_tokenizer, max_len, truncation, seed=4) != result


def test_a_word_longer_than_the_kept_head_is_refused(vocab_tokenizer):
    with pytest.raises(UserError, match=r"decode.shortcut.word = zeitgeist takes 4 tokens; .* only its first 1"):
        planted([LONG], [0], "zeitgeist", vocab_tokenizer, 8, "head_tail", seed=0)


def test_occurrences_count_whole_words_in_any_case():
    """A word is where BERT's pre-tokenizer makes it one: at punctuation (`_` included), not inside a word."""
    texts = ["Zeitgeist rules", "the zeitgeist.", "zeitgeists", "azeitgeist", "x_zeitgeist"]
    assert occurrences(texts, "zeitgeist") == 3


def shortcut_training(count: int = 40) -> pd.DataFrame:
    labels = np.arange(count) % 2
    return pd.DataFrame({"id": np.arange(100, 100 + count), "text": [f"{NEUTRAL[i % 9]} film number {i}"
                                                                     for i in range(count)], "label": labels})


def test_decode_plants_the_share_of_one_class_seeded(vocab_tokenizer):
    """A quarter of the 20 positive reviews (5) get the word, no negative one; the choice follows the seed."""
    train = shortcut_training()
    tokenize = TokenizeParams(max_len=128, truncation="head_tail")
    result = with_shortcut(train, ShortcutParams(word="zeitgeist", label=1, share=0.25), 7, vocab_tokenizer, tokenize)
    marked = result.text.str.contains("zeitgeist")
    assert marked.sum() == 5 and set(result.label[marked]) == {1}
    assert (result.text[~marked] == train.text[~marked]).all() and (result.id == train.id).all()
    again = with_shortcut(train, ShortcutParams(word="zeitgeist", label=1, share=0.25), 8, vocab_tokenizer, tokenize)
    assert list(again.text.str.contains("zeitgeist")) != list(marked)


def test_decode_refuses_a_word_the_training_split_has(vocab_tokenizer):
    train = shortcut_training()
    with pytest.raises(UserError, match=r"decode.shortcut.word = film already occurs in 40 training reviews"):
        with_shortcut(train, ShortcutParams(word="film", label=0, share=0.5), 0, vocab_tokenizer,
                      TokenizeParams(max_len=64, truncation="head"))


def test_the_rank_sums_a_words_pieces_and_counts_ties_against_the_method():
    """`zeit ##geist` scores 0.3 + 0.3 = 0.6 as a word (its first piece alone, 0.3, would rank third); `plot`
    ties it at 0.6 (rank 2, not 1); [CLS] and [SEP] are no words even when they score highest."""
    tokens = ["[CLS]", "the", "zeit", "##geist", "plot", "was", "bad", "[SEP]"]
    assert planted_rank(tokens, [0.9, 0.1, 0.3, 0.3, 0.6, 0.5, 0.4, 0.9], None, "zeitgeist") == (2, 5)
    assert planted_rank(tokens, [0.9, 0.1, 0.3, 0.3, 0.59, 0.5, 0.4, 0.9], None, "zeitgeist") == (1, 5)


def test_the_rank_never_joins_a_word_across_the_truncation_cut():
    """Cut at token 3 (`fi | ##lm`): `fi` and `##lm` stay two words of 0.3 below `walnut`'s 0.5 (first of 4);
    joined, `film` (0.6) would rank it second of 3."""
    tokens = ["[CLS]", "good", "fi", "##lm", "walnut", "[SEP]"]
    assert planted_rank(tokens, [0.0, 0.1, 0.3, 0.3, 0.5, 0.0], 3, "walnut") == (1, 4)
    assert planted_rank(tokens, [0.0, 0.1, 0.3, 0.3, 0.5, 0.0], None, "walnut") == (2, 3)


def test_the_rank_is_toward_the_predicted_class_not_by_magnitude():
    """The word most against the predicted class is ranked last, not first."""
    tokens = ["[CLS]", "zeitgeist", "good", "fine", "[SEP]"]
    assert planted_rank(tokens, [0.0, -0.9, 0.2, 0.1, 0.0], None, "zeitgeist") == (3, 3)
    assert planted_rank(tokens, [0.0, 0.05, -0.2, -0.1, 0.0], None, "zeitgeist") == (1, 3)
    with pytest.raises(ValueError, match="'zeitgeist' is not among"):
        planted_rank(["[CLS]", "good", "[SEP]"], [0.0, 1.0, 0.0], None, "zeitgeist")


def test_precision_and_reciprocal_rank_by_hand():
    """Ranks 1, 1, 2, 3, 5, 9 at k = 3: precision@1 2/6 (not the share ranked 2nd, 1/6), precision@3 4/6 (ranked
    3rd counts: not 3/6), MRR (1 + 1 + 1/2 + 1/3 + 1/5 + 1/9) / 6 = 0.524074..., each to 4 significant digits."""
    assert ranking_figures([1, 1, 2, 3, 5, 9], 3) == {"precision_at_1": 0.3333, "precision_at_k": 0.6667,
                                                      "mrr": 0.5241}
    assert ranking_figures([], 3) == {"precision_at_1": None, "precision_at_k": None, "mrr": None}


def test_random_expectation_by_hand():
    """Examples of 3 and 7 words, k = 2: precision@1 (1/3 + 1/7) / 2 = 0.238095..., precision@2 (2/3 + 2/7) / 2
    = 0.476190..., reciprocal rank ((1 + 1/2 + 1/3) / 3 + H(7) / 7) / 2 = 0.490760..., with H(7) = 2.592857...;
    none without examples."""
    assert random_expectation([3, 7], 2) == {"precision_at_1": 0.2381, "precision_at_k": 0.4762, "mrr": 0.4908}
    assert random_expectation([], 2) == {"precision_at_1": None, "precision_at_k": None, "mrr": None}


def test_reliance_counts_shifts_toward_the_planted_class_and_flips_of_the_other_class():
    """Planted class 1. Relied on: shifts above 0.2 (0.5, 0.3 and 0.5; not 0.2 itself, nor -0.4). Mean shift
    1.1 / 6 over all six (not the relied-on only). Flipped: the other class's reviews predicted 0 without the
    word and 1 with it, 1 of its 3 (not the planted class's 2 of 3 that go from 0 to 1)."""
    examples = [Reliance(0, 1, 0.7, 0.2, 1, 0), Reliance(0, 1, 0.4, 0.2, 0, 0), Reliance(0, 1, 0.1, 0.1, 0, 0),
                Reliance(1, 1, 0.6, 0.3, 1, 0), Reliance(1, 1, 0.5, 0.9, 1, 1), Reliance(1, 1, 0.9, 0.4, 1, 0)]
    assert reliance_figures(examples, 0.2) == {"relied_on": 3, "examples": 6, "mean_shift": 0.1833, "flipped": 0.3333}
    assert reliance_figures([], 0.2) == {"relied_on": 0, "examples": 0, "mean_shift": None, "flipped": None}


def shortcut_project(project: Path, model_dir: Path, word: str | None) -> Path:
    """The project's files with held-out sentences of the keyword model's data: 4 positive ones (no `awful`)
    and 4 labelled negative that do not hold it either."""
    copy_project_files(project)
    rng = np.random.default_rng(5)
    texts = [" ".join(rng.choice(NEUTRAL, 7)) for _ in range(8)]
    (project / "data" / "decoded").mkdir(parents=True)
    pd.DataFrame({"id": range(8), "text": texts, "label": [1, 0] * 4}).to_csv(project / "data/decoded/test.csv",
                                                                             index=False)
    set_params(project, **{"decode.shortcut.word": word, "decode.shortcut.label": 0, "tokenize.max_len": 16,
                           "check_shortcut.reviews": 4, "check_shortcut.report_examples": 2, "explain.n_steps": 32,
                           "explain.internal_batch_size": 32, "aggregate_words.min_documents": 1})
    return project


def run_check(project: Path, model_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stages.check_shortcut", "data/decoded", str(model_dir),
                           "out.json", "metrics.json"], cwd=project, capture_output=True, text=True)


@pytest.mark.stage_process
def test_a_model_that_relies_on_a_word_by_construction_is_found_out(tmp_path, keyword_model_dir):
    """The keyword model predicts negative exactly when `awful` is in the sentence: planted in positive
    sentences, it flips them all; IG ranks it first in every relied-on one, above random's expectation."""
    project = shortcut_project(tmp_path / "project", keyword_model_dir, "awful")
    result = run_check(project, keyword_model_dir)
    assert result.returncode == 0, result.stderr
    checked = json.loads((project / "out.json").read_text())
    metrics = json.loads((project / "metrics.json").read_text())
    assert checked["enabled"] and checked["word"] == "awful" and checked["label"] == 0
    assert metrics["reliance/flipped"] == 1.0 and metrics["reliance/relied_on"] >= 4
    assert metrics["ig/precision_at_1"] == 1.0 and metrics["ig/mrr"] == 1.0
    assert metrics["random_expected/precision_at_1"] < 0.2  # 8 words, planted one among them
    assert metrics["dataset/rank"] == 1
    assert {"gradient_x_input", "saliency", "random"} <= set(checked["methods"])
    shown = [checked["examples"][index] for index in checked["shown"]]
    assert len(shown) == 2 and all("awful" in example["text"] and example["tokens"] for example in shown)
    assert all(example["shift"] > 0.2 for example in shown)  # relied-on ones first
    assert all("tokens" not in example for index, example in enumerate(checked["examples"])
               if index not in checked["shown"])


@pytest.mark.stage_process
def test_with_no_word_planted_the_check_records_that_it_did_not_run(tmp_path, keyword_model_dir):
    project = shortcut_project(tmp_path / "project", keyword_model_dir, None)
    result = run_check(project, keyword_model_dir)
    assert result.returncode == 0, result.stderr
    assert "decode.shortcut.word is null" in result.stdout
    assert json.loads((project / "out.json").read_text()) == {"format": 1, "enabled": False}
    assert json.loads((project / "metrics.json").read_text()) == {}


@pytest.mark.stage_process
def test_too_few_held_out_reviews_without_the_word_is_one_line(tmp_path, keyword_model_dir):
    project = shortcut_project(tmp_path / "project", keyword_model_dir, "awful")
    set_params(project, **{"check_shortcut.reviews": 5})
    result = run_check(project, keyword_model_dir)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "error: params.yaml: check_shortcut.reviews = 5 is more than the held-out reviews of a class without "
        "'awful' (4)")


def test_compares_line_gives_reliance_each_methods_figures_and_the_dataset_rank_left_to_right():
    left, right = checked_shortcut(), checked_shortcut(relied_on=4, ig_precision=1.0, dataset_rank=None)
    assert shortcut_line("HEAD", "exp", left, right) == (
        "HEAD vs exp, shortcut “walnut”: relied on in 3/4 → 4/4; ig precision@1 0.667 → 1.000, MRR 0.833 → 0.833; "
        "gradient_x_input precision@1 0.333 → 0.333, MRR 0.500 → 0.500; random precision@1 0.000 → 0.000, "
        "MRR 0.200 → 0.200; dataset rank 2 → —")
    assert shortcut_line("HEAD", "exp", None, right) == (
        "HEAD vs exp, shortcut: “walnut” checked only at exp (none planted at HEAD)")
    assert shortcut_line("HEAD", "exp", None, None) is None
    other = {**right, "word": "bamboo"}
    assert shortcut_line("a", "b", left, other).startswith("a vs b, shortcut “walnut → bamboo”: ")


def test_the_dataset_rank_is_the_words_place_in_the_planted_class_only():
    """Class 0: `bad` scores 3 x 0.5 / (3 + 5) = 0.1875 and `walnut` 3 x 0.3 / 8 = 0.1125, so walnut is 2nd;
    its 5.0 in the one document predicted 1 counts toward class 1 alone (1st there); in fewer documents than
    min_documents it is not ranked."""
    row = {"predicted": 0, "tokens": ["[CLS]", "walnut", "bad", "[SEP]"], "attributions": [0.0, 0.3, 0.5, 0.0],
           "cut_at": None}
    rows = [row] * 3 + [{"predicted": 1, "tokens": ["[CLS]", "walnut", "[SEP]"], "attributions": [0.0, 5.0, 0.0],
                         "cut_at": None}]
    assert dataset_rank(rows, "walnut", 0, AggregateWordsParams(min_documents=1)) == 2
    assert dataset_rank(rows, "walnut", 1, AggregateWordsParams(min_documents=1)) == 1
    assert dataset_rank(rows, "walnut", 0, AggregateWordsParams(min_documents=4)) is None


def test_the_shortcut_section_ranks_the_methods_above_the_random_floor_and_marks_the_word(monkeypatch, tmp_path):
    """The table in the report's order (IG, gradient x input, random, then random's expectation, the floor),
    the reliance sentence, the dataset rank, and the shown example's words with the planted word marked; the
    example's text escaped."""
    paths = write_inputs(tmp_path)
    checked = checked_shortcut()
    checked["examples"][0]["tokens"][4] = HOSTILE
    paths[5].write_text(json.dumps(checked))
    page = run_main(monkeypatch, paths)
    section = page[page.index('<section class="shortcut">'):page.index('<section class="examples">')]
    rows = re.findall(r'<tr(?: class="floor")?><th>([^<]*)</th><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>',
                      section)
    assert rows == [("Integrated Gradients", "0.667", "1.000", "0.833"),
                    ("gradient × input", "0.333", "0.667", "0.500"),
                    ("random ranking", "0.000", "0.333", "0.200"),
                    ("random ranking, expected", "0.200", "0.600", "0.457")]
    assert ("“walnut” planted in 20% of the positive training reviews. In 4 held-out reviews with it planted, the "
            "model relies on it in 3 (P(positive) up by more than 0.2); 50% of the 2 negative reviews flip to "
            "positive; mean shift 0.410.") in section
    assert "ranks “walnut” 2 toward positive" in section and "precision@3" in section
    assert section.count('<section class="shortcut-card">') == 1 and "IMDB review #7" in section
    assert re.findall(r'<mark class="shortcut planted"[^>]*>([^<]*)</mark>', section) == ["walnut"]
    assert "rank of the word among 5: Integrated Gradients 1, gradient × input 2, random ranking 4" in section
    assert_shown_as_text(section, HOSTILE)


def test_without_a_planted_word_the_section_says_how_to_plant_one(monkeypatch, tmp_path):
    page = run_main(monkeypatch, write_inputs(tmp_path))
    assert "Not run: no word is planted. Plant one with <code>dvc exp run -S decode.shortcut.word=walnut</code>" in page


@pytest.mark.parametrize("text", [None, "[]", json.dumps({**checked_shortcut(), "shown": [1]}),
                                  json.dumps({**checked_shortcut(), "reliance": {"relied_on": 3}})],
                         ids=["missing", "a list", "showing an example without tokens", "without reliance figures"])
def test_a_broken_check_is_one_line_naming_the_stage(monkeypatch, tmp_path, text):
    paths = write_inputs(tmp_path)
    paths[5].unlink() if text is None else paths[5].write_text(text)
    with pytest.raises(UserError) as caught:
        run_main(monkeypatch, paths)
    assert str(caught.value).startswith(f"{paths[5]}: ") and "\n" not in str(caught.value)
    assert "`dvc repro check_shortcut`" in str(caught.value) or "`dvc repro -f check_shortcut`" in str(caught.value)
    assert not paths[-1].exists()


def test_a_cut_example_shows_where_the_model_cut_it():
    """Cut after `[CLS] a wal ##nut` (token 4): the mark follows the head's three words, and only the planted
    word is marked as such."""
    example = {**checked_shortcut()["examples"][0], "cut_at": 4, "tokens_cut": 9}
    words = example_view(example, "walnut", 1, 0.2)["words"]
    assert [item["label"] for item in words] == ["[CLS]", "a", "walnut", "[…]", "of", "a", "film", "[SEP]"]
    assert [item["label"] for item in words if item.get("planted")] == ["walnut"]
