"""The report's page: the fine-tuned model's figures, charts and cards, the quality of its attributions,
the dataset view's top words, the planted shortcut's check, the agreement with human rationales, then the
pretrained model's cards, rendered from report.html.j2."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from stages.report.charts import confusion_chart, randomisation_chart, training_chart
from stages.report.html import render_page
from stages.report.plausibility import plausibility_section
from stages.report.provenance import describe_run
from stages.report.readers import confusion_counts, read_optional_json, training_curves
from stages.report.shortcut import shortcut_section
from stages.report.views import accuracy_text, example_card, kept_note, quality_rows, word_sections

ENABLE_PRETRAINED = "dvc exp run -S explain_pretrained.enabled=true"


def render_report(finetuned: dict[str, Any], sentences: dict[str, Any], pretrained: dict[str, Any],
                  randomisation: list[dict[str, Any]], view: dict[str, Any], shortcut: dict[str, Any],
                  plausibility: dict[str, Any], live_dir: Path) -> str:
    """The whole page: the fine-tuned model's reviews and sentences, then the pretrained model's."""
    scores = {**(read_optional_json(live_dir / "evaluate" / "per_class.json", stage="evaluate") or {}),
              **(read_optional_json(live_dir / "evaluate" / "metrics.json", stage="evaluate") or {})}
    examples = finetuned["examples"] + sentences["examples"]
    charts = [(training_chart(training_curves(live_dir)), "training curves")]
    for prefix, name in (("imdb", "held-out IMDB"), ("rotten_tomatoes", "Rotten Tomatoes")):
        path = live_dir / "evaluate" / "plots" / "sklearn" / f"confusion_{prefix}.json"
        counts = confusion_counts(path)
        charts.append(("" if counts is None else confusion_chart(counts, name, path.stem), f"confusion matrix, {name}"))
    charts.append((randomisation_chart(randomisation), "model-parameter randomisation test (Adebayo et al. 2018)"))
    return render_page(
        "report.html.j2", model=str(finetuned.get("model", "")), checkpoint=str(finetuned.get("checkpoint", "")),
        data=finetuned.get("data"),
        accuracies=[accuracy_text(scores, prefix, name)
                    for prefix, name in (("imdb", "IMDB"), ("rotten_tomatoes", "Rotten Tomatoes"))
                    if f"{prefix}/accuracy" in scores],
        settings=finetuned.get("settings") if examples else None,
        mean_steps=f"{np.mean([example.n_steps for example in examples]):g}" if examples else "",
        quality=quality_rows({**finetuned["sources"], **sentences["sources"]}), randomisation=randomisation,
        charts=[{"svg": Markup(svg), "caption": caption} for svg, caption in charts if svg],
        cards=[example_card(example, f"finetuned-{index}") for index, example in enumerate(examples)],
        pretrained={"enabled": pretrained.get("enabled", True), "checkpoint": str(pretrained.get("checkpoint", "")),
                    "cards": [example_card(example, f"pretrained-{index}")
                              for index, example in enumerate(pretrained["examples"])]},
        kept_note=kept_note(finetuned), word_sections=word_sections(view, finetuned["examples"]),
        top_k=view.get("settings", {}).get("top_k"), level=view.get("settings", {}).get("level"),
        shortcut=shortcut_section(shortcut), plausibility=plausibility_section(plausibility),
        enable_command=ENABLE_PRETRAINED, run=describe_run())
