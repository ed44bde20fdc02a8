"""The explain stage's inputs and records: free sentences, truncation, emoji, stored fields."""
from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stages.attribution import ig
from stages.attribution.agreement import kendall_tau
from stages.attribution.batching import pad
from stages.attribution.examples import from_sentences, from_token_file
from stages.attribution.faithfulness import faithfulness
from stages.attribution.quality import quality_metrics, source_summaries
from stages.attribution.record import ExplainedExample, parsed, partial
from stages.attribution.records import explain_and_score, explain_examples, explanations_file
from stages.plumbing.artifacts import significant
from stages.plumbing.errors import UserError
from stages.plumbing.inference import Predictor
from stages.plumbing.models import load_classifier
from stages.plumbing.texts import encode
from stages.schemas.explain import ExplainParams
from tests.conftest import explained_record, spy_on_explain

ROOT = Path(__file__).resolve().parents[1]

PARAMS = ExplainParams(n_reviews=0, n_rt_sentences=0, shards=[0], sentences=[], layer="embeddings", n_steps=20,
                       method="gausslegendre", engine="alibi", internal_batch_size=40, completeness_target=0.05,
                       max_steps=40, faithfulness_k=[0.1, 0.5], seed=0,
                       methods=["gradient_x_input", "saliency", "occlusion", "random"])


def test_long_sentences_are_truncated_and_flagged(vocab_tokenizer, capsys):
    examples = from_sentences(["short", "word " * 50, "🎬 ünïcödé"], vocab_tokenizer, max_len=16)
    assert [len(e.token_ids) for e in examples] == [3, 16, 4]
    assert [e.truncated for e in examples] == [False, True, False]
    assert examples[1].token_ids[-1] == vocab_tokenizer.sep_token_id
    assert "sentence 1 has 52 tokens; explained truncated to 16" in capsys.readouterr().err
    assert vocab_tokenizer.convert_ids_to_tokens(examples[2].token_ids.tolist()) == [
        "[CLS]", "[UNK]", "unicode", "[SEP]"]


def token_file(texts: list[str], tokenizer, max_len: int, truncation: str) -> dict:
    arrays = encode(texts, tokenizer, max_len, truncation)
    return {"id": np.arange(7, 7 + len(texts)), "label": np.array([1, 0, 1][:len(texts)]),
            "input_ids": arrays["input_ids"], "attention_mask": arrays["attention_mask"]}


@pytest.mark.parametrize("truncation, cut_at", [("head", 15), ("head_tail", 4)])
def test_token_file_examples_say_where_a_long_review_was_cut(vocab_tokenizer, truncation, cut_at):
    texts = ["good", "word " * 30, ""]
    examples = from_token_file("imdb", token_file(texts, vocab_tokenizer, 16, truncation),
                               pd.DataFrame({"id": [7, 8, 9], "text": texts, "label": [1, 0, 1]}), 5,
                               vocab_tokenizer, 16, truncation)
    assert [e.id for e in examples] == [7, 8, 9] and examples[2].token_ids.tolist() == [101, 102]
    assert [e.truncated for e in examples] == [False, True, False]
    assert (examples[1].tokens_cut, examples[1].cut_at) == (32 - 16, cut_at)  # 30 words + [CLS] and [SEP]
    # positions 1..cut_at-1 are the head (for `head`, all of it); [SEP] closes the tail
    assert len(examples[1].token_ids) == 16 and examples[1].token_ids[-1] == vocab_tokenizer.sep_token_id


def test_token_file_examples_must_match_their_texts_and_settings(vocab_tokenizer):
    texts = pd.DataFrame({"id": [7, 8], "text": ["good", "dull film"], "label": [1, 0]})
    tokens = token_file(texts.text.tolist(), vocab_tokenizer, 16, "head")
    with pytest.raises(UserError, match="imdb: the decoded texts and the token file list other examples"):
        from_token_file("imdb", tokens, texts.iloc[::-1], 2, vocab_tokenizer, 16, "head")
    with pytest.raises(UserError, match="imdb: the token file was made with other tokenize settings"):
        from_token_file("imdb", tokens, texts, 2, vocab_tokenizer, 12, "head")


def test_records_carry_what_the_report_needs(tiny_bert_dir, vocab_tokenizer):
    classifier = load_classifier(str(tiny_bert_dir))
    examples = from_sentences(["a fine film", "dull and long, far too long"], vocab_tokenizer, max_len=32)
    records = explain_examples(classifier, vocab_tokenizer, examples, PARAMS.ig_settings(), PARAMS.scoring())
    metrics = quality_metrics(records)
    ids, mask = pad([e.token_ids for e in examples], vocab_tokenizer.pad_token_id)
    probabilities = Predictor(classifier, 8).probabilities(ids, mask)  # an independent forward pass
    for example, stored, expected in zip(examples, records, probabilities):
        assert stored.token_ids == example.token_ids.tolist()
        assert stored.tokens == vocab_tokenizer.convert_ids_to_tokens(example.token_ids.tolist())
        assert stored.label is None and stored.source == "sentences" and stored.n_steps == 20
        assert stored.predicted == expected.argmax()
        assert stored.probability == pytest.approx(expected.max(), abs=1e-5)
        total = sum(stored.attributions)
        assert abs(total - (stored.f_x - stored.f_baseline) - stored.delta) < 1e-5
    errors = [r.completeness_error for r in records]
    assert metrics["sentences/completeness_error/median"] == pytest.approx(np.median(errors), rel=1e-3)
    methods = ["ig", "gradient_x_input", "saliency", "occlusion", "random"]
    for record in records:
        assert sorted(record.faithfulness) == sorted(f"{figure}/{method}" for method in methods
                                                        for figure in ("comprehensiveness", "sufficiency"))
        assert sorted(record.rank_agreement) == sorted(f"kendall_tau/{method}" for method in methods[1:])
    for key in records[0].faithfulness:
        assert metrics[f"sentences/{key}"] == pytest.approx(np.mean([r.faithfulness[key] for r in records]),
                                                            rel=1e-3, abs=1e-7)
    for key in records[0].rank_agreement:
        defined = [r.rank_agreement[key] for r in records if r.rank_agreement[key] is not None]
        assert metrics.get(f"sentences/{key}") == (pytest.approx(np.mean(defined), rel=1e-3) if defined else None)


def test_the_methods_param_chooses_the_rivals_and_their_order(tiny_bert_dir, vocab_tokenizer):
    classifier = load_classifier(str(tiny_bert_dir))
    examples = from_sentences(["a fine film"], vocab_tokenizer, max_len=32)
    only = explain_examples(classifier, vocab_tokenizer, examples, PARAMS.ig_settings(),
                            dataclasses.replace(PARAMS.scoring(), methods=("occlusion",)))
    assert sorted(only[0].faithfulness) == ["comprehensiveness/ig", "comprehensiveness/occlusion",
                                               "sufficiency/ig", "sufficiency/occlusion"]
    alone = explain_examples(classifier, vocab_tokenizer, examples, PARAMS.ig_settings(),
                             dataclasses.replace(PARAMS.scoring(), methods=()))
    assert sorted(alone[0].faithfulness) == ["comprehensiveness/ig", "sufficiency/ig"]
    assert alone[0].rank_agreement == {} and alone[0].attributions == only[0].attributions


def test_quality_metrics_are_per_source_with_significant_digits():
    def record(source: str, error: float, steps: int, comprehensiveness: float) -> ExplainedExample:
        return partial({"source": source, "completeness_error": error, "n_steps": steps,
                        "faithfulness": {"comprehensiveness/ig": comprehensiveness}, "rank_agreement": {}})

    records = [record("imdb", 2.345678e-06, 50, 0.3), record("imdb", 0.0004, 50, 0.2),
               record("sentences", 0.01, 16, 0.123456), record("imdb", 1e-06, 100, 0.1)]
    assert quality_metrics(records) == {
        "imdb/completeness_error/median": 2.346e-06, "imdb/completeness_error/max": 0.0004,
        "imdb/n_steps/mean": 66.67, "imdb/comprehensiveness/ig": 0.2,
        "sentences/completeness_error/median": 0.01, "sentences/completeness_error/max": 0.01,
        "sentences/n_steps/mean": 16.0, "sentences/comprehensiveness/ig": 0.1235}
    assert list(quality_metrics(records[2:3], prefix="pretrained")) == [
        "pretrained/completeness_error/median", "pretrained/completeness_error/max", "pretrained/n_steps/mean",
        "pretrained/comprehensiveness/ig"]
    assert quality_metrics([]) == {}


def test_pretrained_stage_off_records_that_it_did_not_run(tmp_path, monkeypatch, capsys):
    """The default: no model is loaded (the checkpoint is on the hub), and the files say so."""
    from stages import explain_pretrained

    def no_download(*args, **kwargs):
        raise AssertionError("the disabled stage loaded a model")

    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(explain_pretrained, "load_classifier", no_download)
    monkeypatch.setattr(explain_pretrained, "load_tokenizer", no_download)
    monkeypatch.setattr(sys, "argv", ["explain_pretrained", "out.json", "metrics.json"])
    explain_pretrained.main()
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["enabled"] is False and written["examples"] == []
    assert written["checkpoint"] == "distilbert-base-uncased-finetuned-sst-2-english"
    assert json.loads((tmp_path / "metrics.json").read_text()) == {}  # no metric columns for a stage not run
    assert "explain_pretrained.enabled=true" in capsys.readouterr().out


def test_an_explanations_file_gives_its_format_model_and_settings_then_the_summaries_and_records():
    """The keys in the order they are written (the file's bytes follow it), each with its own value."""
    records = [explained_record("imdb", 0, ("[CLS]", "good", "[SEP]"), [0.0, 0.4, 0.0]),
               explained_record("sentences", 1, ("[CLS]", "dull", "[SEP]"), [0.0, -0.2, 0.0])]
    payload = explanations_file("tiny", "/models/tiny", PARAMS.ig_settings(), PARAMS.scoring(), records,
                                enabled=True)
    assert list(payload) == ["format", "model", "checkpoint", "settings", "enabled", "sources", "examples"]
    assert (payload["format"], payload["model"], payload["checkpoint"], payload["enabled"]) == (
        3, "tiny", "/models/tiny", True)
    assert payload["settings"] == {
        "layer": "embeddings", "baseline": PARAMS.baseline, "n_steps": 20, "method": PARAMS.method,
        "engine": PARAMS.engine, "internal_batch_size": PARAMS.internal_batch_size,
        "completeness_target": PARAMS.completeness_target, "max_steps": PARAMS.max_steps,
        "faithfulness_k": list(PARAMS.faithfulness_k), "methods": list(PARAMS.methods)}
    assert payload["sources"] == source_summaries(records)
    assert [parsed(example) for example in payload["examples"]] == records


def test_scoring_seeds_the_random_ranking_from_position_0_names_its_bar_and_times_each_method(
        tiny_bert_dir, vocab_tokenizer, monkeypatch, capsys):
    """Without `positions` (the shortcut check and plausibility), the examples are at 0, 1, ...: the random
    ranking of a run given those positions, not of one at 5, 6. Occlusion leaves [CLS] and [SEP] at 0. IG's
    progress bar is named, and the line printed gives each method's seconds, none more than the call took."""
    classifier = load_classifier(str(tiny_bert_dir))
    examples = from_sentences(["a fine film", "dull and long, far too long"], vocab_tokenizer, max_len=32)
    scoring = dataclasses.replace(PARAMS.scoring(), methods=("random", "occlusion"))
    calls, _ = spy_on_explain(monkeypatch)
    started = time.perf_counter()
    default = explain_and_score(classifier, vocab_tokenizer, examples, PARAMS.ig_settings(), scoring)
    took = time.perf_counter() - started
    printed = capsys.readouterr().out
    given = explain_and_score(classifier, vocab_tokenizer, examples, PARAMS.ig_settings(), scoring, [0, 1], None)
    elsewhere = explain_and_score(classifier, vocab_tokenizer, examples, PARAMS.ig_settings(), scoring, [5, 6])
    assert [call["progress"] for call in calls] == ["explain", None, "explain"]
    for index in range(2):
        assert np.array_equal(default.scores["random"][index], given.scores["random"][index])
        assert not np.array_equal(default.scores["random"][index], elsewhere.scores["random"][index])
        occlusion = default.scores["occlusion"][index]
        assert occlusion[0] == occlusion[-1] == 0.0 and np.all(occlusion[1:-1] != 0.0)
    seconds = re.fullmatch(r"explained 2 examples: ig ([\d.]+) s, random ([\d.]+) s, occlusion ([\d.]+) s\n", printed)
    assert seconds and all(float(value) <= took + 0.05 for value in seconds.groups())


def test_each_records_faithfulness_and_rank_agreement_leave_the_special_tokens_out(tiny_bert_dir, vocab_tokenizer,
                                                                                  monkeypatch):
    """A record's figures are the functions' own, given the tokenizer's special ids (with none given, they
    differ on these examples); `explain_examples` names IG's progress bar `explain`."""
    classifier = load_classifier(str(tiny_bert_dir))
    examples = from_sentences(["a fine film", "dull and long, far too long"], vocab_tokenizer, max_len=32)
    scoring = dataclasses.replace(PARAMS.scoring(), methods=("occlusion",))
    calls, _ = spy_on_explain(monkeypatch)
    records = explain_examples(classifier, vocab_tokenizer, examples, PARAMS.ig_settings(), scoring)
    scored = explain_and_score(classifier, vocab_tokenizer, examples, PARAMS.ig_settings(), scoring, [0, 1])
    special, k = ig.SpecialTokens.of(vocab_tokenizer).ids, scoring.faithfulness_k
    assert [call["progress"] for call in calls] == ["explain", "explain"]
    for record, result, occlusion in zip(records, scored.results, scored.scores["occlusion"]):
        right = faithfulness(scored.predict, result, result.attributions, special, k)
        assert [record.faithfulness[f"{name}/ig"] for name in ("comprehensiveness", "sufficiency")] == [
            significant(value) for value in right]
        assert faithfulness(scored.predict, result, result.attributions, [], k) != right
        tau = kendall_tau(result.attributions, occlusion, result.token_ids, special)
        assert record.rank_agreement["kendall_tau/occlusion"] == significant(tau)
        assert kendall_tau(result.attributions, occlusion, result.token_ids, []) != tau


def test_a_record_keeps_its_examples_label_and_where_it_was_cut(tiny_bert_dir, vocab_tokenizer, monkeypatch):
    """A run asked for no progress bar (a Ray actor's) shows none."""
    calls, _ = spy_on_explain(monkeypatch)
    texts = ["good", "word " * 30]
    examples = from_token_file("imdb", token_file(texts, vocab_tokenizer, 16, "head_tail"),
                               pd.DataFrame({"id": [7, 8], "text": texts, "label": [1, 0]}), 2, vocab_tokenizer, 16,
                               "head_tail")
    records = explain_examples(load_classifier(str(tiny_bert_dir)), vocab_tokenizer, examples, PARAMS.ig_settings(),
                               dataclasses.replace(PARAMS.scoring(), methods=()), progress=None)
    assert [(r.id, r.label, r.truncated, r.tokens_cut, r.cut_at) for r in records] == [
        (7, 1, False, 0, None), (8, 0, True, 16, 4)]
    assert [call["progress"] for call in calls] == [None]
