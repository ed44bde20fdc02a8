"""The report's views: what each template section shows, built from the records and the stages' figures
(strings formatted, colours chosen, charts drawn); no file is read here."""
from __future__ import annotations

from typing import Any

from markupsafe import Markup

from stages.attribution.methods import METHODS
from stages.attribution.methods import order as method_order
from stages.attribution.record import ExplainedExample
from stages.attribution.word_stats import document_words
from stages.attribution.words import PAD_TOKEN, SPECIAL_TOKENS, words_and_cut
from stages.report.charts import top_words_chart
from stages.report.html import CLASS_NAMES, token_and_word_highlights

SOURCE_TITLES = {"imdb": "IMDB review", "rotten_tomatoes": "Rotten Tomatoes sentence", "sentences": "Sentence"}
SOURCE_NAMES = {"imdb": "held-out IMDB reviews", "rotten_tomatoes": "Rotten Tomatoes sentences",
                "sentences": "free sentences"}
SOURCE_UNITS = {"imdb": "reviews", "rotten_tomatoes": "sentences", "sentences": "sentences"}
CARD_LINKS = 8  # links to the cards a top word occurs in, the first in run order
CUT_MARK = "[…]"


def with_cut(items: list[dict[str, Any]], position: int | None, tokens_cut: int,
             unit: str = "tokens") -> list[dict[str, Any]]:
    """Highlighted items with a visible mark where the model's length cut the text (`tokens_cut` of `unit`)."""
    if position is None:
        return items
    mark = {"label": CUT_MARK, "colour": "#fff", "ink": "#555", "special": True,
            "title": f"{tokens_cut} {unit} cut here to fit the model's length"}
    return [*items[:position], mark, *items[position:]]


def example_card(example: ExplainedExample, salt: str) -> dict[str, Any]:
    """One example for card.html.j2: its figures, highlighted tokens and words, and top-words chart."""
    pairs = [(token, float(value)) for token, value in zip(example.tokens, example.attributions)
             if token != PAD_TOKEN]
    tokens = [token for token, _ in pairs]
    attributions = [value for _, value in pairs]
    cut_at, tokens_cut = example.cut_at, example.tokens_cut
    words, words_cut_at = words_and_cut(tokens, attributions, cut_at)
    token_items, word_items = token_and_word_highlights(tokens, attributions, words, SPECIAL_TOKENS)
    faithfulness = example.faithfulness
    label, predicted = example.label, example.predicted
    return {
        "anchor": salt, "title": SOURCE_TITLES.get(example.source, example.source), "id": example.id,
        "label": f"label: {CLASS_NAMES[label]}" if label is not None else "no label (free text)",
        "predicted": CLASS_NAMES[predicted], "probability": f"{example.probability:.3f}",
        "verdict": None if label is None else ("correct" if label == predicted else "wrong"),
        "completeness": f"{example.completeness_error:.2%}",
        "f_x": f"{example.f_x:.4f}", "f_baseline": f"{example.f_baseline:.4f}",
        "total": f"{sum(attributions):.4f}", "n_steps": example.n_steps,
        "extra": [f"comprehensiveness {faithfulness['comprehensiveness/ig']:.3f}, sufficiency "
                  f"{faithfulness['sufficiency/ig']:.3f}"
                  + (f" (random: {faithfulness['comprehensiveness/random']:.3f}, "
                     f"{faithfulness['sufficiency/random']:.3f})"
                     if "comprehensiveness/random" in faithfulness else "")]
                 + ([f"truncated: {tokens_cut} tokens cut at {CUT_MARK}"] if example.truncated else []),
        "tokens": with_cut(token_items, cut_at, tokens_cut),
        "words": with_cut(word_items, words_cut_at, tokens_cut),
        "text": example.text,
        "chart": Markup(top_words_chart(words, [item["colour"] for item in word_items], salt)),
    }


def quality_rows(sources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Completeness of IG, then each method's faithfulness and rank agreement with IG, for each source
    (its summary in the explanations file: all its records, where git keeps only some)."""
    rows = []
    for source, summary in sources.items():
        figures = summary["figures"]
        methods = sorted((key.split("/", 1)[1] for key in figures if key.startswith("comprehensiveness/")),
                         key=method_order)
        length, steps = round(float(summary["mean_tokens"])), round(float(figures["n_steps/mean"]))

        def figure(key: str, form: str = ".3f", figures: dict[str, Any] = figures) -> str:
            value = figures.get(key)
            return "—" if value is None else f"{float(value):{form}}"

        rows.append({"name": SOURCE_NAMES.get(source, str(source)), "count": int(summary["examples"]),
                     "completeness": f"{figure('completeness_error/median', '.2%')} / "
                                     f"{figure('completeness_error/max', '.2%')}",
                     "methods": [{"name": METHODS[method].title if method in METHODS else method,
                                  "cost": METHODS[method].cost(length, steps) if method in METHODS else "",
                                  "comprehensiveness": figure(f"comprehensiveness/{method}"),
                                  "sufficiency": figure(f"sufficiency/{method}"),
                                  "kendall_tau": "" if method == "ig" else figure(f"kendall_tau/{method}")}
                                 for method in methods]})
    return rows


def accuracy_text(scores: dict[str, Any], prefix: str, name: str) -> str:
    text = f"{name} {float(scores[f'{prefix}/accuracy']):.3f}"
    if f"{prefix}/n" in scores:
        text += f" on {int(scores[f'{prefix}/n'])}"
    if f"{prefix}/roc_auc" in scores:
        text += f" (ROC AUC {float(scores[f'{prefix}/roc_auc']):.3f})"
    return text


def word_sections(view: dict[str, Any], examples: list[ExplainedExample]) -> list[dict[str, Any]]:
    """The dataset view's top words per source and class, each with the cards (`finetuned-I`) of that source
    and predicted class it occurs in."""
    cards_of: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for index, example in enumerate(examples):
        group = (example.source, CLASS_NAMES[example.predicted])
        for word in dict.fromkeys(word for word, _ in document_words(example)):
            cards_of.setdefault((*group, word), []).append({"anchor": f"finetuned-{index}", "id": example.id})
    fdr = view["settings"]["fdr"]
    return [{"name": SOURCE_NAMES.get(source, source), "class": name, "documents": entry["documents"],
             "ranked": entry["ranked_words"],
             "verdict": verdict(entry, SOURCE_UNITS.get(source, "documents"), name, fdr),
             "words": [{**row, "z": "—" if row["log_odds_z"] is None else f"{row['log_odds_z']:.1f}",
                        "q": "—" if row["q"] is None else f"{row['q']:.3g}",
                        "interval": "—" if row["score_interval"] is None
                        else f"{row['score_interval'][0]:.4f} to {row['score_interval'][1]:.4f}",
                        "cards": cards_of.get((source, name, row["word"]), [])[:CARD_LINKS],
                        "more": max(0, len(cards_of.get((source, name, row["word"]), [])) - CARD_LINKS)}
                       for row in entry["top"]]}
            for source, classes in view["sources"].items() for name, entry in classes.items()]


def verdict(entry: dict[str, Any], unit: str, name: str, fdr: float) -> str:
    """What the class's list establishes, in words: how many words, or that none is and how many
    documents would establish its likeliest word."""
    established = entry["established_words"]
    if established:
        return (f"{entry['documents']} {unit}: {len(established)} of {entry['ranked_words']} ranked words are "
                f"established toward {name} (q at most {fdr:g}, Benjamini-Hochberg).")
    text = f"{entry['documents']} {unit}: no word is established toward {name} (q at most {fdr:g}, Benjamini-Hochberg)"
    needed = entry["needed"]
    if needed is not None:
        text += (f"; at the effect this run measured for “{needed['word']}”, about {needed['documents']} {unit} "
                 f"predicted {name} would establish it")
    return text + (". The list below is a ranking, not a finding." if entry["top"] else ".")


def kept_note(explanations: dict[str, Any]) -> str:
    """Where the explanations file keeps only some of its records: which, and where the rest are."""
    records = explanations.get("records")
    if not records or int(records["examples"]) == len(explanations["examples"]):
        return ""
    kept = ", ".join(f"{sum(e.source == source for e in explanations['examples'])} of {summary['examples']} "
                     f"{SOURCE_NAMES.get(source, source)}" for source, summary in explanations["sources"].items())
    return (f"Cards for the first examples of each source ({kept}); the quality table covers them all. "
            f"Every record is in {records['file']} (DVC's cache).")
