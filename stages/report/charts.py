"""The report's charts, drawn with matplotlib as inline SVG whose bytes are the same on every run."""
from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure  # pyplot-free: no GUI backend and no global figure state

from stages.attribution.words import SPECIAL_TOKENS, Word
from stages.report.html import CLASS_NAMES

TOP_K = 8  # words in an example's chart
CHART_STYLE = {"svg.fonttype": "none", "font.size": 8,
               "axes.spines.top": False, "axes.spines.right": False}


def svg_markup(figure: Figure, salt: str) -> str:
    """The figure as inline SVG. A fixed salt per chart makes its element ids the same on every run
    and different from the other charts' on the page."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def top_words_chart(words: Sequence[Word], colours: Sequence[str], salt: str) -> str:
    """Bars of the example's TOP_K words by |attribution|, coloured as in the text."""
    ranked = sorted((index for index, word in enumerate(words) if word.text not in SPECIAL_TOKENS),
                    key=lambda index: -abs(words[index].attribution))[:TOP_K]
    if not ranked:
        return ""
    with matplotlib.rc_context(CHART_STYLE):
        figure = Figure(figsize=(2.6, 0.4 + 0.17 * len(ranked)), layout="constrained")
        axes = figure.add_subplot()
        positions = np.arange(len(ranked))[::-1]
        axes.barh(positions, [words[index].attribution for index in ranked],
                  color=[colours[index] for index in ranked], edgecolor="#777", linewidth=0.4)
        axes.axvline(0, color="#777", linewidth=0.6)
        axes.set_yticks(positions, bar_labels(words, ranked), parse_math=False)
        axes.tick_params(axis="y", length=0)
        return svg_markup(figure, salt)


def bar_labels(words: Sequence[Word], ranked: Sequence[int]) -> list[str]:
    """The ranked words' labels; a word shown more than once gets its occurrence, "awful (2nd)"."""
    texts = [words[index].text for index in ranked]
    labels = []
    for index in ranked:
        text = words[index].text
        occurrence = sum(word.text == text for word in words[:index + 1])
        labels.append(shorten(text) + (f" ({ordinal(occurrence)})" if texts.count(text) > 1 else ""))
    return labels


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def shorten(text: str, width: int = 18) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def training_chart(curves: dict[str, tuple[list[float], list[float]]]) -> str:
    """Training loss and accuracy against step (each a curve of steps and values); "" without curves."""
    if not curves:
        return ""
    with matplotlib.rc_context(CHART_STYLE):
        figure = Figure(figsize=(2.7 * len(curves), 2.0), layout="constrained")
        for axes, (name, (steps, values)) in zip(figure.subplots(1, len(curves), squeeze=False)[0],
                                                 curves.items()):
            axes.plot(steps, values, color="#4d9221", linewidth=1.0)
            axes.set_xlabel("step")
            axes.set_title(f"training {name}", fontsize=8)
        return svg_markup(figure, "training")


def confusion_chart(counts: np.ndarray, title: str, salt: str) -> str:
    """A 2x2 confusion matrix of counts[actual, predicted]."""
    with matplotlib.rc_context(CHART_STYLE):
        figure = Figure(figsize=(2.3, 2.1), layout="constrained")
        axes = figure.add_subplot()
        axes.imshow(counts, cmap="Greys", vmin=0, vmax=max(int(counts.max()), 1) * 1.6)
        for (actual, predicted), count in np.ndenumerate(counts):
            axes.text(predicted, actual, str(count), ha="center", va="center", fontsize=9)
        axes.set_xticks([0, 1], CLASS_NAMES)
        axes.set_yticks([0, 1], CLASS_NAMES)
        axes.set_xlabel("predicted")
        axes.set_ylabel("actual")
        axes.set_title(title, fontsize=8)
        return svg_markup(figure, salt)


def randomisation_chart(rows: list[dict[str, Any]]) -> str:
    """The randomisation cascade: mean Spearman correlation with the original attributions per level."""
    if len(rows) < 2:
        return ""
    with matplotlib.rc_context(CHART_STYLE):
        figure = Figure(figsize=(0.45 * len(rows) + 1.2, 2.0), layout="constrained")
        axes = figure.add_subplot()
        values = [np.nan if row["spearman"] is None else float(row["spearman"]) for row in rows]
        axes.plot(range(len(rows)), values, color="#c51b7d", marker="o", markersize=3, linewidth=1.0)
        axes.axhline(0, color="#777", linewidth=0.6)
        axes.set_ylim(-1.05, 1.05)
        axes.set_xticks(range(len(rows)), [str(row["level"]) for row in rows], rotation=45, ha="right")
        axes.set_ylabel("Spearman with original")
        axes.set_title("randomised from the head down", fontsize=8)
        return svg_markup(figure, "randomisation")
