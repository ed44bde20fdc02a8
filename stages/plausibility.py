"""Stage `plausibility`: do the explanations agree with people? IG and every method of `explain.methods`
scored against ERASER Movie Reviews' human rationales and the Stanford Sentiment Treebank's word and phrase labels
(`attribution/plausibility.py` defines each figure).

Usage: python -m stages.plausibility MODEL_DIR OUT_JSON METRICS_JSON
Reads the copies `plausibility.eraser` and `plausibility.sst` name (archive or unpacked folder; never copied
into the project), explains their first `n_docs` test documents and `n_sst` test sentences at the model's token
budget, and writes each method's AUPRC, token F1, IOU F1, comprehensiveness and sufficiency (ERASER) and
Spearman, AUPRC and phrase-sign agreement (SST) to METRICS_JSON; OUT_JSON (DVC's cache: it holds the datasets'
words) adds each copy's sha256, the phrase signs by length and the documents the report shows. With both null
it records that it was not run, and no metrics.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stages.attribution import word_alignment
from stages.attribution.faithfulness import faithfulness
from stages.attribution.methods import METHODS
from stages.attribution.plausibility import (
    DocumentFigures,
    SentenceScores,
    document_figures,
    eraser_summary,
    phrase_signs,
    spearman,
    sst_auprc,
    toward,
    word_scores,
)
from stages.attribution.records import Scored, explain_and_score
from stages.attribution.settings import Scoring, metadata
from stages.plumbing.artifacts import run, significant, write_json
from stages.plumbing.models import load_trained
from stages.plumbing.optional import write_not_run
from stages.plumbing.params import load_section
from stages.plumbing.rationales import Identity, RationaleDocument, TreeSentence, eraser_documents, sst_sentences
from stages.schemas.explain import ExplainParams
from stages.schemas.plausibility import PlausibilityParams
from stages.schemas.tokenize import TokenizeParams

PLAUSIBILITY_FORMAT = 1
MEASURE_COMMAND = ("dvc exp run -S plausibility.eraser=../shared/data/eraser_movies.tar.gz "
                   "-S plausibility.sst=../shared/data/sst_trees.tar.gz")


def first(items: list[Any], count: int | str) -> list[Any]:
    return items if count == "all" else items[:count]


def rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {key: value if value is None or isinstance(value, int) else significant(value)
            for key, value in figures.items()}


def explained(source: str, texts: Sequence[Sequence[str]], labels: Sequence[int | None], model: tuple[Any, Any],
              tokenize: TokenizeParams, explain: ExplainParams) -> tuple[list[word_alignment.Aligned], Scored]:
    """The texts aligned to their words and explained by IG and the rivals at the explain stages' settings."""
    classifier, tokenizer = model
    aligned = word_alignment.align(texts, tokenizer, tokenize.max_len, tokenize.truncation)
    examples = word_alignment.examples(source, texts, labels, aligned, tokenize.max_len, tokenize.truncation)
    return aligned, explain_and_score(classifier, tokenizer, examples, explain.ig_settings(), explain.scoring(),
                                      progress=f"plausibility {source}")


def method_scores(scored: Scored, method: str, index: int) -> np.ndarray:
    return scored.results[index].attributions if method == "ig" else scored.scores[method][index]


def eraser_part(documents: list[RationaleDocument], identity: Identity, model: tuple[Any, Any],
                tokenize: TokenizeParams, explain: ExplainParams, shown: int) -> dict[str, Any]:
    """ERASER's figures per method over the documents with a kept rationale word, and the shown documents."""
    aligned, scored = explained("eraser", [d.words for d in documents], [d.label for d in documents], model,
                                tokenize, explain)
    scoring: Scoring = explain.scoring()
    rationale = [d.marked for d in documents]
    kept = [text.kept_words for text in aligned]
    scorable = [i for i in range(len(documents)) if rationale[i][kept[i]].any()]
    methods, ig_toward_gold = {}, {}
    for method in ["ig", *scoring.methods]:
        figures: list[DocumentFigures] = []
        erasure = []
        for index, (document, result) in enumerate(zip(documents, scored.results)):
            values = method_scores(scored, method, index)
            erasure.append(faithfulness(scored.predict, result, values, scored.special_ids, scoring.faithfulness_k))
            if index in scorable:
                words = word_scores(aligned[index], toward(values, method, result.predicted, document.label))
                figures.append(document_figures(words, kept[index], document.spans))
                if method == "ig":
                    ig_toward_gold[index] = words
        methods[method] = rounded({**eraser_summary(figures),
                                   "comprehensiveness": float(np.mean([c for c, _ in erasure])),
                                   "sufficiency": float(np.mean([s for _, s in erasure]))})
    marked, kept_marked = sum(int(r.sum()) for r in rationale), sum(int(r[k].sum()) for r, k in zip(rationale, kept))
    return {"source": vars(identity), "documents": len(documents), "scored": len(scorable),
            "accuracy": significant(np.mean([r.predicted == d.label for r, d in zip(scored.results, documents)])),
            "rationale_share": significant(marked / sum(len(d.words) for d in documents)),
            "rationale_kept": significant(kept_marked / marked) if marked else None,
            "kept_density": significant(kept_marked / sum(len(k) for k in kept)),
            "methods": methods,
            "shown": [shown_document(documents[i], kept[i], int(scored.results[i].predicted), ig_toward_gold[i])
                      for i in scorable[:shown]]}


def shown_document(document: RationaleDocument, kept: np.ndarray, predicted: int,
                   ig_toward_gold: np.ndarray) -> dict[str, Any]:
    """A document as the report shows it: its kept words (document positions `kept`), IG's word scores toward
    the gold class, the rationale, and where the cut left words out (None: nowhere)."""
    gaps = np.flatnonzero(np.diff(kept) != 1)
    cut_at = int(gaps[0]) + 1 if len(gaps) else (len(kept) if len(kept) < len(document.words) else None)
    return {"id": document.id, "label": document.label, "predicted": predicted,
            "words": [document.words[p] for p in kept], "scores": [significant(v) for v in ig_toward_gold],
            "rationale": document.marked[kept].tolist(), "cut_at": cut_at, "total_words": len(document.words)}


def sst_part(sentences: list[TreeSentence], identity: Identity, model: tuple[Any, Any], tokenize: TokenizeParams,
             explain: ExplainParams) -> dict[str, Any]:
    """SST's figures per method: Spearman and phrase signs for signed methods, AUPRC for every one."""
    aligned, scored = explained("sst", [s.words for s in sentences], [None] * len(sentences), model, tokenize,
                                explain)
    methods, signs = {}, {}
    for method in ["ig", *explain.scoring().methods]:
        items = [SentenceScores(sentence, text.kept_words, word_scores(text, method_scores(scored, method, index)),
                                int(result.predicted))
                 for index, (sentence, text, result) in enumerate(zip(sentences, aligned, scored.results))]
        signed = METHODS[method].signed
        signs[method] = rounded(phrase_signs(items)) if signed else None
        methods[method] = rounded({"spearman": spearman(items) if signed else None, "auprc": sst_auprc(items),
                                   "phrase_sign": signs[method]["all"] if signed else None})
    polar = [(r.predicted, int(s.label > 2)) for r, s in zip(scored.results, sentences) if s.label != 2]
    return {"source": vars(identity), "sentences": len(sentences),
            "accuracy": significant(np.mean([p == g for p, g in polar])) if polar else None,
            "methods": methods, "phrase_signs": signs}


def summary_metrics(measured: dict[str, Any]) -> dict[str, Any]:
    """The few figures `dvc exp show` compares runs by: each dataset's size and each method's figures."""
    metrics = {}
    for dataset, counts in (("eraser", ("documents", "rationale_kept", "kept_density")), ("sst", ("sentences",))):
        if dataset in measured:
            part = measured[dataset]
            metrics[dataset] = {**{key: part[key] for key in counts}, **part["methods"]}
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("model_dir", "out_json", "metrics_json"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    params = load_section(PlausibilityParams)
    if params.eraser is None and params.sst is None:
        print(f"plausibility.eraser and plausibility.sst are null: not measured ({MEASURE_COMMAND} to measure)")
        write_not_run(args.out_json, args.metrics_json, PLAUSIBILITY_FORMAT)
        return
    eraser = None if params.eraser is None else eraser_documents(Path(params.eraser))
    sst = None if params.sst is None else sst_sentences(Path(params.sst))
    tokenize, explain = load_section(TokenizeParams), load_section(ExplainParams)
    model = load_trained(args.model_dir)
    measured: dict[str, Any] = {"format": PLAUSIBILITY_FORMAT, "enabled": True,
                                "settings": {**metadata(explain.ig_settings(), explain.scoring()),
                                             "max_len": tokenize.max_len, "truncation": tokenize.truncation}}
    if eraser is not None:
        measured["eraser"] = eraser_part(first(eraser[0], params.n_docs), eraser[1], model, tokenize, explain,
                                         params.report_examples)
    if sst is not None:
        measured["sst"] = sst_part(first(sst[0], params.n_sst), sst[1], model, tokenize, explain)
    metrics = summary_metrics(measured)
    write_json(args.out_json, measured)
    write_json(args.metrics_json, metrics)
    print(metrics)


if __name__ == "__main__":
    run(main)
