"""Pages from the Jinja2 templates in stages/report/templates, with autoescaping on: every value from the data
is escaped unless it is markup made here (the charts' SVG), which is passed as `Markup`."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from matplotlib.colors import Normalize, to_hex, to_rgb

TEMPLATES = Path(__file__).resolve().parent / "templates"
CLASS_NAMES = ("negative", "positive")


def token_colours(attributions: Sequence[float] | np.ndarray, cmap: str = "PiYG") -> list[str]:
    """Hex colours of `attributions` on a diverging map centred on zero.

    The scale is symmetric and per example: the largest |attribution| takes an
    end of the map, zero its neutral middle.
    """
    values = np.asarray(attributions, dtype=float)
    bound = float(np.abs(values).max(initial=0.0)) or 1.0  # all zeros: any bound puts them in the middle
    return [to_hex(colour) for colour in matplotlib.colormaps[cmap](Normalize(-bound, bound)(values))]


def ink(background: str) -> str:
    """Black or white text, whichever reads on `background` (the map's ends are dark)."""
    red, green, blue = to_rgb(background)
    return "#000" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "#fff"


def highlights(labels: Sequence[str], values: Sequence[float], titles: Sequence[str],
               special: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """One highlighted piece of text per label, coloured by its value (the `marks` macro draws them)."""
    return [{"label": label, "colour": colour, "ink": ink(colour), "title": title, "special": label in special}
            for label, colour, title in zip(labels, token_colours(values), titles)]


def token_and_word_highlights(tokens: Sequence[str], values: Sequence[float], words: Sequence[Any],
                              special: frozenset[str] = frozenset(),
                              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The two views of an example: its tokens, and its whole `words` (text, attribution, pieces)."""
    token_items = highlights(tokens, values, [f"attribution: {value!r}" for value in values], special)
    word_items = highlights([word.text for word in words], [word.attribution for word in words],
                            [f"attribution: {word.attribution:.7g}" + (f" (sum of {word.pieces} pieces)"
                                                                       if word.pieces > 1 else "") for word in words],
                            special)
    return token_items, word_items


def legend_stops() -> str:
    """The colour map's stops from -1 to 1, for the legend's CSS gradient."""
    return ", ".join(token_colours(np.linspace(-1.0, 1.0, 11)))


def render_page(template: str, **context: Any) -> str:
    """The page `template` filled with `context`; bytes depend on the context only."""
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return environment.get_template(template).render(legend_stops=legend_stops(), **context)
