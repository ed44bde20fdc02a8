"""The report's plausibility section: each method's agreement with ERASER's human rationales and SST's labels,
with random (or the marked words' density, its expected AUPRC) as the floor, and a few ERASER documents with
the rationale underlined beside IG's highlight; and `compare`'s line (`stages/plausibility.py` writes both
files read here)."""
from __future__ import annotations

from typing import Any

from stages.attribution.methods import order as method_order
from stages.attribution.plausibility import LENGTH_BANDS, band_name
from stages.report.html import CLASS_NAMES, highlights
from stages.report.shortcut import figure, title
from stages.report.views import with_cut

MEASURE_HINT = ("dvc exp run -S plausibility.eraser=PATH -S plausibility.sst=PATH (the archives or folders; "
                "docs/quality.md, \"Plausibility\")")
ERASER_FIGURES = ("auprc", "token_f1", "iou_f1", "comprehensiveness", "sufficiency")
SST_FIGURES = ("spearman", "auprc", "phrase_sign")
BANDS = tuple(band_name(low, high) for low, high in LENGTH_BANDS)


def rows(methods: dict[str, dict[str, float | None]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"name": title(name), "floor": name == "random", "figures": [figure(methods[name][key]) for key in keys]}
            for name in sorted(methods, key=method_order)]


def document_view(document: dict[str, Any]) -> dict[str, Any]:
    """A shown ERASER document: its kept words coloured by IG toward the gold class, rationale underlined, the
    cut marked where the kept words jump."""
    items = highlights(document["words"], document["scores"],
                       [f"attribution toward {CLASS_NAMES[document['label']]}: {value:.7g}"
                        + (" (marked by people)" if marked else "")
                        for value, marked in zip(document["scores"], document["rationale"])])
    for item, marked in zip(items, document["rationale"]):
        item["rationale"] = marked
    items = with_cut(items, document["cut_at"], document["total_words"] - len(items), unit="words")
    return {"id": document["id"], "label": CLASS_NAMES[document["label"]],
            "predicted": CLASS_NAMES[document["predicted"]], "words": items,
            "marked": sum(document["rationale"]), "kept": len(document["words"]), "total": document["total_words"]}


def plausibility_section(measured: dict[str, Any]) -> dict[str, Any]:
    """What the template shows: `enabled` false with the command that measures, or the tables and documents."""
    if not measured.get("enabled"):
        return {"enabled": False, "command": MEASURE_HINT}
    section: dict[str, Any] = {"enabled": True, "settings": measured["settings"]}
    if "eraser" in measured:
        eraser = measured["eraser"]
        section["eraser"] = {
            "summary": (f"{eraser['scored']} of {eraser['documents']} ERASER Movie Reviews test documents with a "
                        f"marked word the model sees (accuracy {figure(eraser['accuracy'])}). People marked "
                        f"{figure(eraser['rationale_share'], '.1%')} of the words; the model's "
                        f"{measured['settings']['max_len']} tokens keep {figure(eraser['rationale_kept'], '.1%')} "
                        f"of the marked words, and {figure(eraser['kept_density'], '.1%')} of the kept words are "
                        "marked: random's expected AUPRC."),
            "source": eraser["source"], "rows": rows(eraser["methods"], ERASER_FIGURES),
            "density": figure(eraser["kept_density"]),
            "documents": [document_view(document) for document in eraser["shown"]]}
    if "sst" in measured:
        sst = measured["sst"]
        table = rows(sst["methods"], SST_FIGURES)
        for row, name in zip(table, sorted(sst["methods"], key=method_order)):
            signs = sst["phrase_signs"].get(name) or {}
            row["figures"] += [figure(signs.get(length)) for length in BANDS]
        section["sst"] = {
            "summary": (f"The first {sst['sentences']} Stanford Sentiment Treebank test sentences (accuracy on the "
                        f"non-neutral ones {figure(sst['accuracy'])})."),
            "source": sst["source"], "rows": table, "bands": BANDS}
    return section


def plausibility_line(left_name: str, right_name: str, left: dict[str, Any] | None,
                      right: dict[str, Any] | None) -> str | None:
    """`compare`'s line for a pair of revisions: IG's and each rival's ERASER AUPRC and SST Spearman, left →
    right, from metrics/plausibility.json; None where neither revision measured plausibility."""
    if not left and not right:
        return None
    if not left or not right:
        return (f"{left_name} vs {right_name}, plausibility: measured only at "
                f"{right_name if not left else left_name}")
    parts = []
    for dataset, key in (("eraser", "auprc"), ("sst", "spearman")):
        if dataset in left and dataset in right:
            methods = sorted(set(method_names(left[dataset])) & set(right[dataset]), key=method_order)
            parts.append(f"{dataset} {key} " + ", ".join(
                f"{method} {figure(left[dataset][method][key])} → {figure(right[dataset][method][key])}"
                for method in methods))
    return f"{left_name} vs {right_name}, plausibility: " + ("; ".join(parts) or "no dataset measured at both")


def method_names(figures: dict[str, Any]) -> list[str]:
    """The methods of a dataset's metrics (its other keys are counts and shares)."""
    return [name for name, value in figures.items() if isinstance(value, dict)]
