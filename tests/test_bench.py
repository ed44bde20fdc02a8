"""Smoke test of benchmarks/bench.py: a --quick run end to end on the tiny BERT and a few made-up reviews."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from benchmarks import bench

WORDS = ("the film was a wonderful moving story with great acting but the plot felt dull and slow "
         "i loved every minute of it although the ending was terrible and boring").split()
MAX_LEN = 64
ROOT = Path(__file__).resolve().parents[1]


def write_tokens(path, tokenizer, texts, seed):
    """A token file as the `tokenize` stage writes it: ids and mask padded to MAX_LEN, labels, ids."""
    encoded = tokenizer(texts, padding="max_length", truncation=True, max_length=MAX_LEN, return_tensors="np")
    labels = np.random.default_rng(seed).integers(0, 2, len(texts)).astype(np.int32)
    np.savez(path, input_ids=encoded["input_ids"].astype(np.int32),
             attention_mask=encoded["attention_mask"].astype(np.int32), label=labels,
             id=np.arange(len(texts), dtype=np.int32))


def texts(count, low, high, seed):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, int(rng.integers(low, high)))) for _ in range(count)]


@pytest.fixture
def inputs(tmp_path, tiny_bert_dir, vocab_tokenizer):
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    write_tokens(tokens / "train.npz", vocab_tokenizer, texts(24, 25, 45, seed=1), seed=1)
    write_tokens(tokens / "test.npz", vocab_tokenizer, texts(24, 25, 45, seed=2), seed=2)
    write_tokens(tokens / "rotten_tomatoes.npz", vocab_tokenizer, texts(20, 3, 10, seed=3), seed=3)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["models"]["tiny"] = {**params["models"]["minilm"], "checkpoint": str(tiny_bert_dir), "batch_size": 8}
    params["model"] = "tiny"
    params["explain"]["internal_batch_size"] = 400  # one gradient pass per chunk: a shorter smoke test
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return tokens, tmp_path / "params.yaml"


def test_quick_benchmark_reports_every_figure(inputs, tiny_bert_dir, tmp_path, capsys):
    tokens, params = inputs
    out = tmp_path / "results.json"
    bench.main(["--quick", "--model-dir", str(tiny_bert_dir), "--tokens-dir", str(tokens), "--params", str(params),
                "--out", str(out), "--max-len", str(MAX_LEN), "--n-reviews", "2", "--n-sentences", "4",
                "--memory-engine", "compiled"])
    report = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert "| reviews (2) | project, engine alibi (explain's) |" in printed
    assert "| IG speed-up on sentences | >= 10x |" in printed

    assert report["machine"]["cpu_count"] >= 1 and report["machine"]["tensorflow"]
    captum_ran = not report["captum"]["skipped"]
    for workload, count in (("reviews", 2), ("sentences", 4)):
        figures = report["ig"][workload]
        assert figures["n_examples"] == count
        for config in ("reference", "alibi", "compiled", "floor") + (("captum",) if captum_ran else ()):
            assert figures[config]["median_s"] > 0 and figures[config]["examples_per_s"] > 0, config
        assert figures["reference"]["padding_attribution_max_abs"] < 1e-6
        assert figures["floor"]["max_attribution_diff_vs_alibi"] < 1e-3
        for config in ("reference", "alibi", "compiled"):
            assert figures[config]["peak_rss_mib"] > 0
            assert 0 <= figures[config]["completeness_error_median"] < 0.05
        for engine in ("alibi", "compiled"):
            run = figures[engine]
            assert run["predictions_agree_with_reference"], engine
            assert run["max_attribution_diff_vs_reference"] < 1e-3, engine
            assert run["time_multiple_of_floor"] > 0 and run["speedup"] > 0
        if captum_ran:
            assert figures["captum"]["max_attribution_diff_vs_alibi"] < 1e-3
            assert figures["compiled"]["time_ratio_vs_captum"] > 0

    speedups = {row["target"]: row for row in report["targets"]}["IG speed-up on sentences"]
    assert speedups["values"]["compiled"] == report["ig"]["sentences"]["compiled"]["speedup"]
    assert speedups["met"]["compiled"] == (speedups["values"]["compiled"] >= 10)

    training = report["training"]
    for variant in ("trimmed", "padded"):
        assert training[variant]["examples_per_s"] > 0 and training[variant]["steps"] == 3
        assert 0 <= training[variant]["validation_accuracy"] <= 1
    assert training["padded"]["mean_width"] == MAX_LEN > training["trimmed"]["mean_width"]

    memory = report["memory"]
    assert (memory["small"]["n_examples"], memory["large"]["n_examples"]) == (4, 20)
    assert memory["engine"] == "compiled"
    assert memory["small"]["peak_rss_mib"] > 0 and memory["large"]["peak_rss_mib"] > 0
