"""The report's planted-shortcut section: how much the model relies on the planted word, each method's
precision and reciprocal rank of it with random's expectation as the floor, and the examples shown with the
word marked (`stages/check_shortcut.py` writes what it reads)."""
from __future__ import annotations

from typing import Any

from stages.attribution.methods import METHODS
from stages.attribution.methods import order as method_order
from stages.attribution.shortcut import PLANT_COMMAND
from stages.attribution.words import SPECIAL_TOKENS, words_and_cut
from stages.report.html import CLASS_NAMES, token_and_word_highlights
from stages.report.views import with_cut

RANDOM_EXPECTED = "random_expected"


def figure(value: float | None, form: str = ".3f") -> str:
    return "—" if value is None else format(value, form)


def title(method: str) -> str:
    return METHODS[method].title if method in METHODS else method


def method_rows(methods: dict[str, dict[str, float | None]]) -> list[dict[str, Any]]:
    """One row per method in the report's order, then random's expectation, the floor."""
    names = sorted((name for name in methods if name != RANDOM_EXPECTED), key=method_order)
    return [{"name": "random ranking, expected" if name == RANDOM_EXPECTED else title(name),
             "floor": name == RANDOM_EXPECTED,
             **{key: figure(value) for key, value in methods[name].items()}}
            for name in [*names, RANDOM_EXPECTED] if name in methods]


def example_view(example: dict[str, Any], word: str, planted_class: int, min_shift: float) -> dict[str, Any]:
    """One shown example: its facts, each method's rank of the word, and its words highlighted by IG."""
    tokens, attributions, cut_at = example["tokens"], example["attributions"], example["cut_at"]
    words, words_cut_at = words_and_cut(tokens, attributions, cut_at)
    _, items = token_and_word_highlights(tokens, attributions, words, SPECIAL_TOKENS)
    for item in items:
        item["planted"] = item["label"].lower() == word
    name = CLASS_NAMES[planted_class]
    return {"id": example["id"], "label": CLASS_NAMES[example["label"]], "predicted": CLASS_NAMES[example["predicted"]],
            "probabilities": f"P({name}) {example['without_word']:.3f} without the word, {example['with_word']:.3f} "
                             f"with it", "relied_on": example["shift"] > min_shift,
            "ranks": ", ".join(f"{title(method)} {example['ranks'][method]}"
                               for method in sorted(example["ranks"], key=method_order)),
            "words": with_cut(items, words_cut_at, example["tokens_cut"]),
            "count": example["words"]}


def shortcut_section(checked: dict[str, Any]) -> dict[str, Any]:
    """What the template shows: `enabled` false with the command that plants a word, or the figures."""
    if not checked.get("enabled"):
        return {"enabled": False, "command": PLANT_COMMAND}
    reliance, settings = checked["reliance"], checked["settings"]
    word, planted_class = checked["word"], checked["label"]
    others = reliance["examples"] // 2
    name = CLASS_NAMES[planted_class]
    summary = (f"“{word}” planted in {checked['share']:.0%} of the {name} training reviews. In {reliance['examples']} "
               f"held-out reviews with it planted, the model relies on it in {reliance['relied_on']} (P({name}) up by "
               f"more than {settings['min_shift']:g}); {figure(reliance['flipped'], '.0%')} of the {others} "
               f"{CLASS_NAMES[1 - planted_class]} reviews flip to {name}; mean shift {figure(reliance['mean_shift'])}.")
    rank = checked["dataset_rank"]
    dataset = (f"The dataset view of these examples ranks “{word}” {rank} toward {name}." if rank is not None
               else f"The dataset view of these examples does not rank “{word}” toward {name}.")
    return {"enabled": True, "word": word, "summary": summary, "dataset": dataset, "k": settings["k"],
            "layer": settings["layer"], "baseline": settings["baseline"],
            "methods": method_rows(checked["methods"]),
            "examples": [example_view(checked["examples"][index], word, planted_class, settings["min_shift"])
                         for index in checked["shown"]]}


def shortcut_line(left_name: str, right_name: str, left: dict[str, Any] | None,
                  right: dict[str, Any] | None) -> str | None:
    """`compare`'s line for a pair of revisions: the planted word's reliance, each method's precision@1 and
    mean reciprocal rank, and its dataset rank, left → right; None where neither revision checked one."""
    if left is None and right is None:
        return None
    if left is None or right is None:
        checked, missing_name = (right, left_name) if left is None else (left, right_name)
        return (f"{left_name} vs {right_name}, shortcut: “{checked['word']}” checked only at "
                f"{right_name if left is None else left_name} (none planted at {missing_name})")
    words = left["word"] if left["word"] == right["word"] else f"{left['word']} → {right['word']}"
    parts = [f"relied on in {left['reliance']['relied_on']}/{left['reliance']['examples']} → "
             f"{right['reliance']['relied_on']}/{right['reliance']['examples']}"]
    for method in sorted(set(left["methods"]) & set(right["methods"]) - {RANDOM_EXPECTED}, key=method_order):
        before, after = left["methods"][method], right["methods"][method]
        parts.append(f"{method} precision@1 {figure(before['precision_at_1'])} → {figure(after['precision_at_1'])}, "
                     f"MRR {figure(before['mrr'])} → {figure(after['mrr'])}")
    parts.append(f"dataset rank {left['dataset_rank'] or '—'} → {right['dataset_rank'] or '—'}")
    return f"{left_name} vs {right_name}, shortcut “{words}”: " + "; ".join(parts)
