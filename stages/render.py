"""Stage `render`: a self-contained HTML report of the Integrated Gradients attributions.

Usage: python -m stages.render FINETUNED_JSON SENTENCES_JSON PRETRAINED_JSON DVCLIVE_DIR OUT_HTML
One card per explained example, its tokens highlighted as in alibi's example
(PiYG, scaled per example to its largest |attribution|) with a CSS-only switch
to whole words, the model's figures, the quality of the attributions per source
and the dvclive charts that exist. The page
loads nothing and runs no script; every text from the data is HTML-escaped and
the bytes are the same on every run.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
from html import escape
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import matplotlib
import numpy as np
from matplotlib.colors import Normalize, to_hex, to_rgb
from matplotlib.figure import Figure  # pyplot-free: no GUI backend and no global figure state

from stages.attribution.quality import quality_metrics
from stages.plumbing.artifacts import atomic_path, run
from stages.plumbing.params import UserError

CLASS_NAMES = ("negative", "positive")
SOURCE_TITLES = {"imdb": "IMDB review", "rotten_tomatoes": "Rotten Tomatoes sentence", "sentences": "Sentence"}
SOURCE_NAMES = {"imdb": "held-out IMDB reviews", "rotten_tomatoes": "Rotten Tomatoes sentences",
                "sentences": "free sentences"}
SPECIAL_TOKENS = {"[CLS]", "[SEP]"}
PAD_TOKEN = "[PAD]"
CONTINUATION = "##"
TOP_K = 8
EXAMPLE_KEYS = ("source", "id", "text", "label", "truncated", "tokens", "attributions", "predicted", "probability",
                "f_x", "f_baseline", "completeness_error", "n_steps", "faithfulness")
NUMBER_KEYS = ("probability", "f_x", "f_baseline", "completeness_error", "n_steps")
CHART_STYLE = {"svg.fonttype": "none", "font.size": 8,
               "axes.spines.top": False, "axes.spines.right": False}
ENABLE_PRETRAINED = "dvc exp run -S explain_pretrained.enabled=true"


class Word(NamedTuple):
    text: str
    attribution: float
    pieces: int


def token_colours(attributions: Sequence[float] | np.ndarray, cmap: str = "PiYG") -> list[str]:
    """Hex colours of `attributions` on a diverging map centred on zero.

    The scale is symmetric and per example: the largest |attribution| takes an
    end of the map, zero its neutral middle.
    """
    values = np.asarray(attributions, dtype=float)
    bound = float(np.abs(values).max(initial=0.0)) or 1.0  # all zeros: any bound puts them in the middle
    return [to_hex(colour) for colour in matplotlib.colormaps[cmap](Normalize(-bound, bound)(values))]


def merge_wordpieces(tokens: Sequence[str], attributions: Sequence[float]) -> list[Word]:
    """Whole words from WordPiece tokens; a word's attribution is the sum of its pieces' (so totals keep
    adding up to f(x) - f(baseline)). Padding is dropped."""
    words: list[Word] = []
    for token, attribution in zip(tokens, attributions):
        if token == PAD_TOKEN:
            continue
        if token.startswith(CONTINUATION) and words and words[-1].text not in SPECIAL_TOKENS:
            last = words[-1]
            words[-1] = Word(last.text + token[len(CONTINUATION):], last.attribution + attribution,
                             last.pieces + 1)
        else:
            words.append(Word(token, float(attribution), 1))
    return words


def read_json(path: Path, rebuild: str) -> Any:
    """A JSON input; a missing or broken file is a `UserError` naming the stage that rebuilds it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: missing; run `dvc repro {rebuild}`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: unreadable ({type(error).__name__}); rebuild it with "
                        f"`dvc repro -f {rebuild}`") from None


def read_explanations(path: Path, rebuild: str) -> dict[str, Any]:
    """An explanations file, checked for what the cards need before any HTML is written."""
    explanations = read_json(path, rebuild)
    try:
        for example in explanations["examples"]:
            missing = [key for key in EXAMPLE_KEYS if key not in example]
            if missing:
                raise ValueError(f"an example has no '{missing[0]}'")
            if len(example["tokens"]) != len(example["attributions"]):
                raise ValueError("an example has not one attribution per token")
            if example["label"] not in (0, 1, None) or example["predicted"] not in (0, 1):
                raise ValueError("labels must be 0, 1 or null")
            figures = [example[key] for key in NUMBER_KEYS] + list(example["faithfulness"].values())
            if not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in figures):
                raise ValueError(f"{', '.join(NUMBER_KEYS)} and the faithfulness figures must be numbers")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise UserError(f"{path}: not an explanations file ({error}); rebuild it with "
                        f"`dvc repro -f {rebuild}`") from None
    return explanations


def read_optional_json(path: Path, rebuild: str) -> Any | None:
    """A dvclive file, or None where that stage has not written it."""
    return read_json(path, rebuild) if path.is_file() else None


def read_curve(path: Path) -> tuple[list[float], list[float]] | None:
    """Steps and values of a dvclive TSV (`step<TAB>name`), or None where it does not exist."""
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        return [float(row["step"]) for row in rows], [float(row[path.stem]) for row in rows]
    except (KeyError, TypeError, ValueError) as error:
        raise UserError(f"{path}: unreadable ({type(error).__name__}); rebuild it with "
                        "`dvc repro -f train`") from None


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
        axes.set_yticks(positions, [shorten(words[index].text) for index in ranked], parse_math=False)
        axes.tick_params(axis="y", length=0)
        return svg_markup(figure, salt)


def shorten(text: str, width: int = 18) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def training_chart(live_dir: Path) -> str:
    """Training loss and accuracy against step, from the curves dvclive wrote."""
    folder = live_dir / "train" / "plots" / "metrics" / "train"
    curves = {name: read_curve(folder / f"{name}.tsv") for name in ("loss", "accuracy")}
    curves = {name: curve for name, curve in curves.items() if curve is not None}
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


def confusion_chart(path: Path, title: str) -> str:
    """A 2x2 confusion matrix from dvclive's (actual, predicted) rows, or "" where it does not exist."""
    rows = read_optional_json(path, rebuild="evaluate")
    if rows is None:
        return ""
    counts = np.zeros((2, 2), dtype=int)
    try:
        if not isinstance(rows, list):
            raise TypeError("not a list of rows")
        for row in rows:
            cell = int(row["actual"]), int(row["predicted"])
            if not set(cell) <= {0, 1}:  # a negative index would count as class 1
                raise IndexError("class index out of range")
            counts[cell] += 1
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise UserError(f"{path}: not a confusion matrix ({type(error).__name__}); rebuild it with "
                        "`dvc repro -f evaluate`") from None
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
        return svg_markup(figure, path.stem)


def chart_figure(svg: str, caption: str) -> str:
    """A chart with its caption, or "" for a chart left out."""
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>" if svg else ""


def ink(background: str) -> str:
    """Black or white text, whichever reads on `background` (the map's ends are dark)."""
    red, green, blue = to_rgb(background)
    return "#000" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "#fff"


def marks(labels: Sequence[str], colours: Sequence[str], titles: Sequence[str], css_class: str) -> str:
    return " ".join(
        f'<mark class="{css_class}{" special" if label in SPECIAL_TOKENS else ""}" '
        f'style="background:{colour};color:{ink(colour)}" title="{escape(title)}">{escape(label)}</mark>'
        for label, colour, title in zip(labels, colours, titles))


def example_facts(example: dict[str, Any], attributions: Sequence[float]) -> str:
    """Labels, prediction and completeness of one example, on one line."""
    label, predicted = example["label"], int(example["predicted"])
    verdict = "" if label is None else (' <span class="ok">correct</span>' if int(label) == predicted
                                        else ' <span class="wrong">wrong</span>')
    facts = [f"label: {CLASS_NAMES[int(label)]}" if label is not None else "no label (free text)",
             f"predicted: {CLASS_NAMES[predicted]} ({float(example['probability']):.3f}){verdict}",
             f"completeness error: {float(example['completeness_error']):.2%}",
             f"f(x) − f(baseline) = {float(example['f_x']):.4f} − {float(example['f_baseline']):.4f}; "
             f"Σ attributions = {sum(attributions):.4f}",
             f"{int(example['n_steps'])} steps"]
    if example["truncated"]:
        facts.append("truncated to the model's length")
    return " · ".join(facts)


def example_card(example: dict[str, Any], salt: str) -> str:
    """One example: highlighted tokens and words, its labels, completeness and top-words chart."""
    pairs = [(token, float(value)) for token, value in zip(example["tokens"], example["attributions"])
             if token != PAD_TOKEN]
    tokens = [token for token, _ in pairs]
    attributions = [value for _, value in pairs]
    words = merge_wordpieces(tokens, attributions)
    word_colours = token_colours([word.attribution for word in words])
    token_titles = [f"attribution: {value!r}" for value in attributions]
    word_titles = [f"attribution: {word.attribution:.7g}" + (f" (sum of {word.pieces} pieces)" if word.pieces > 1
                                                             else "") for word in words]
    title = SOURCE_TITLES.get(example["source"], str(example["source"]))
    return f"""<section class="card">
<h3>{escape(title)} #{escape(str(example["id"]))}</h3>
<p class="facts">{example_facts(example, attributions)}</p>
<div class="body">
<div>
<p class="tokens">{marks(tokens, token_colours(attributions), token_titles, "tok")}</p>
<p class="words">{marks([word.text for word in words], word_colours, word_titles, "word")}</p>
<details><summary>original text</summary><p class="raw">{escape(str(example["text"]))}</p></details>
</div>
{chart_figure(top_words_chart(words, word_colours, salt), "top words by |attribution|")}
</div>
</section>"""


def legend() -> str:
    stops = ", ".join(token_colours(np.linspace(-1.0, 1.0, 11)))
    return ('<div class="legend"><span>against the predicted class<br><small>negative attribution</small></span>'
            f'<span class="bar" style="background:linear-gradient(to right, {stops})"></span>'
            '<span>towards the predicted class<br><small>positive attribution</small></span></div>')


def model_facts(finetuned: dict[str, Any], examples: list[dict[str, Any]], scores: dict[str, Any]) -> list[str]:
    """The header's rows: model, data, accuracy, IG settings and the quality of the attributions."""
    facts = [f"<dt>model</dt><dd>{escape(str(finetuned.get('model', '')))} "
             f"<code>{escape(str(finetuned.get('checkpoint', '')))}</code></dd>"]
    if "data" in finetuned:
        data = {key: escape(str(value)) for key, value in finetuned["data"].items()}
        facts.append(f"<dt>data</dt><dd>{data.get('source')}: {data.get('train_size')} training, "
                     f"{data.get('test_size')} held-out reviews</dd>")
    accuracies = [accuracy_text(scores, prefix, name)
                  for prefix, name in (("imdb", "IMDB"), ("rotten_tomatoes", "Rotten Tomatoes"))
                  if f"{prefix}/accuracy" in scores]
    if accuracies:
        facts.append(f"<dt>accuracy</dt><dd>{'; '.join(accuracies)}</dd>")
    if "settings" in finetuned and examples:
        settings = {key: escape(str(value)) for key, value in finetuned["settings"].items()}
        mean_steps = float(np.mean([int(example["n_steps"]) for example in examples]))
        facts.append(f"<dt>Integrated Gradients</dt><dd>{settings.get('method')}, {settings.get('n_steps')} steps "
                     f"(mean {mean_steps:g}), layer {settings.get('layer')}</dd>")
    if examples:
        facts.append(f"<dt>attribution quality</dt><dd>{quality_table(examples)}</dd>")
    return facts


def quality_table(examples: list[dict[str, Any]]) -> str:
    """Completeness and faithfulness (IG against a random ranking) for each source of examples."""
    figures = quality_metrics(examples)
    rows = []
    for source in dict.fromkeys(example["source"] for example in examples):
        def value(key: str, form: str = ".3f") -> str:
            return format(float(figures[f"{source}/{key}"]), form)
        count = sum(example["source"] == source for example in examples)
        rows.append(f"<tr><th>{escape(SOURCE_NAMES.get(source, str(source)))}</th><td>{count}</td>"
                    f"<td>{value('completeness_error/median', '.2%')} / {value('completeness_error/max', '.2%')}</td>"
                    f"<td>{value('comprehensiveness/ig')} / {value('comprehensiveness/random')}</td>"
                    f"<td>{value('sufficiency/ig')} / {value('sufficiency/random')}</td></tr>")
    return ('<table class="quality"><tr><th></th><th>examples</th><th>completeness error<br><small>median / max'
            '</small></th><th>comprehensiveness<br><small>IG / random, higher is better</small></th>'
            '<th>sufficiency<br><small>IG / random, lower is better</small></th></tr>'
            + "".join(rows) + "</table>")


def accuracy_text(scores: dict[str, Any], prefix: str, name: str) -> str:
    text = f"{name} {float(scores[f'{prefix}/accuracy']):.3f}"
    if f"{prefix}/n" in scores:
        text += f" on {int(scores[f'{prefix}/n'])}"
    if f"{prefix}/roc_auc" in scores:
        text += f" (ROC AUC {float(scores[f'{prefix}/roc_auc']):.3f})"
    return text


def pretrained_section(pretrained: dict[str, Any]) -> str:
    if not pretrained.get("enabled", True):
        return ('<section class="examples"><h2>Pretrained SST-2 model</h2><p class="note">Not run. '
                f'Run it with <code>{ENABLE_PRETRAINED}</code>.</p></section>')
    cards = "\n".join(example_card(example, f"pretrained-{index}")
                      for index, example in enumerate(pretrained["examples"]))
    return (f'<section class="examples"><h2>Pretrained SST-2 model '
            f'<code>{escape(str(pretrained.get("checkpoint", "")))}</code></h2>\n{cards}\n</section>')


STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#fafafa;color:#222}
header,main{max-width:1180px;margin:0 auto;padding:0 20px}
h1{font-size:1.5em;margin:18px 0 6px}
h2{font-size:1.2em;margin:26px 0 10px}
h3{font-size:1em;margin:0 0 4px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0 0 10px}
dt{color:#666}dd{margin:0}
code{font-size:.9em;background:#eee;padding:0 3px;border-radius:3px}
#word-view{position:absolute;opacity:0}
.controls{position:sticky;top:0;z-index:1;display:flex;flex-wrap:wrap;align-items:center;gap:8px 28px;
 max-width:1180px;margin:0 auto 10px;padding:8px 20px;background:#fafafa;border-bottom:1px solid #ddd}
.switch{cursor:pointer;user-select:none;display:flex;align-items:center;gap:8px}
.knob{width:34px;height:18px;border-radius:9px;background:#bbb;position:relative;transition:background .15s}
.knob::after{content:"";position:absolute;left:2px;top:2px;width:14px;height:14px;border-radius:50%;background:#fff;
 transition:left .15s}
#word-view:checked~.controls .knob{background:#4d9221}
#word-view:checked~.controls .knob::after{left:18px}
#word-view:focus-visible~.controls .knob{outline:2px solid #276419;outline-offset:2px}
.legend{display:flex;align-items:center;gap:10px;font-size:.85em;text-align:center}
.legend .bar{width:220px;height:14px;border:1px solid #ccc;border-radius:3px}
.charts{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure{margin:0}figcaption{font-size:.8em;color:#666}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 14px;margin:0 0 14px}
.facts{margin:0 0 8px;font-size:.85em;color:#555}
.ok{color:#276419;font-weight:600}.wrong{color:#8e0152;font-weight:600}
.body{display:grid;grid-template-columns:minmax(0,1fr) auto;gap:16px;align-items:start}
.tokens,.words{margin:0;line-height:2}
.words{display:none}
#word-view:checked~main .tokens{display:none}
#word-view:checked~main .words{display:block}
mark{padding:1px 2px;border-radius:3px;white-space:pre-wrap;word-break:break-word}
mark.special{font-size:.75em;opacity:.7}
details{margin-top:6px;font-size:.85em;color:#555}
.raw{white-space:pre-wrap;word-break:break-word}
.note{color:#555}
.quality{border-collapse:collapse;font-size:.9em}
.quality th,.quality td{padding:1px 10px 1px 0;text-align:left;vertical-align:bottom}
.quality td{font-variant-numeric:tabular-nums}
"""


def render_report(finetuned: dict[str, Any], sentences: dict[str, Any], pretrained: dict[str, Any],
                  live_dir: Path) -> str:
    """The whole page: the fine-tuned model's reviews and sentences, then the pretrained model's."""
    scores = {**(read_optional_json(live_dir / "evaluate" / "per_class.json", rebuild="evaluate") or {}),
              **(read_optional_json(live_dir / "evaluate" / "metrics.json", rebuild="evaluate") or {})}
    examples = finetuned["examples"] + sentences["examples"]
    charts = [(training_chart(live_dir), "training curves")]
    charts += [(confusion_chart(live_dir / "evaluate" / "plots" / "sklearn" / f"confusion_{prefix}.json", name),
                f"confusion matrix, {name}")
               for prefix, name in (("imdb", "held-out IMDB"), ("rotten_tomatoes", "Rotten Tomatoes"))]
    figures = "\n".join(chart_figure(svg, caption) for svg, caption in charts)
    cards = "\n".join(example_card(example, f"finetuned-{index}") for index, example in enumerate(examples))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Integrated Gradients attributions</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>Integrated Gradients attributions</h1>
<dl>
{chr(10).join(model_facts(finetuned, examples, scores))}
</dl>
</header>
<input type="checkbox" id="word-view">
<div class="controls">
<label class="switch" for="word-view"><span class="knob"></span>whole words
<small>(WordPiece pieces merged, attributions summed)</small></label>
{legend()}
<small>Colours are scaled per example to its largest |attribution|; hover a token for its value.</small>
</div>
<main>
{f'<section class="charts">{figures}</section>' if figures else ""}
<section class="examples">
<h2>Fine-tuned model</h2>
{cards}
</section>
{pretrained_section(pretrained)}
</main>
</body>
</html>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("finetuned_json", "sentences_json", "pretrained_json", "live_dir", "out_html"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    explained = [read_explanations(args.finetuned_json, rebuild="explain"),
                 read_explanations(args.sentences_json, rebuild="explain_sentences"),
                 read_explanations(args.pretrained_json, rebuild="explain_pretrained")]
    page = render_report(*explained, args.live_dir)
    with atomic_path(args.out_html) as staging:
        staging.write_text(page, encoding="utf-8")
    print(f"{args.out_html}: {sum(len(file['examples']) for file in explained)} examples")


if __name__ == "__main__":
    run(main)
