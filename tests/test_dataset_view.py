"""The dataset-level view: word figures against a hand computation, the log-odds z-scores, the artefact
flags, the view's summary and difference, and the aggregation's memory on 200,000 records."""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from stages.attribution.dataset_view import dataset_view, difference, plot_rows, summary_metrics
from stages.attribution.log_odds import class_counts, words_of, z_scores
from stages.attribution.word_flags import Capitals, flags
from stages.attribution.word_stats import WordStatistics, ranked
from stages.schemas.aggregate_words import AggregateWordsParams
from tests.conftest import explained_record

ROOT = Path(__file__).resolve().parents[1]


def doc(source: str, predicted: int, words: list[str], values: list[float], **fields) -> dict:
    return explained_record(source, 0, ["[CLS]", *words, "[SEP]"], [0.0, *values, 0.0], predicted=predicted, **fields)


RECORDS = [
    doc("imdb", 1, ["Good", "good", "film"], [0.4, 0.2, 0.1]),  # "good" twice: one document
    doc("imdb", 1, ["good", "plot"], [0.3, -0.1]),
    doc("imdb", 0, ["bad", "film"], [0.5, 0.2]),
    doc("imdb", 0, ["zz", "aa"], [0.3, 0.3]),  # a tie: aa first, in the ranking and in the document's top 1
    doc("rotten_tomatoes", 1, ["good"], [0.9]),  # another source: counted apart
]


def statistics(top_k: int = 1) -> WordStatistics:
    return WordStatistics(top_k=top_k).add_all(RECORDS)


def test_the_word_figures_are_those_computed_by_hand():
    good, film, plot = ranked(statistics(), ("imdb", 1), min_documents=1, shrinkage=1.0)
    # good: 0.4 + 0.2 + 0.3 over 3 occurrences in 2 documents, top word of both; score 0.9 / (3 + 1);
    # p: its per-document sums 0.6 and 0.3, mean 0.45, s = 0.2121, t = 0.45 / (0.2121 / sqrt 2) = 3 on 1
    # degree of freedom, one-sided: 1/2 - atan(3) / pi = 0.1024 (two-sided 0.2048; over its 3 occurrences,
    # t = 5.196 on 2: 0.0176)
    assert good == {"word": "good", "score": 0.225, "occurrences": 3, "documents": 2, "sum": 0.9, "mean": 0.3,
                    "mean_abs": 0.3, "top_k_share": 1.0, "p": 0.1024}
    assert film["p"] is None  # one document: no variance, no test
    assert (film["word"], film["score"], film["top_k_share"]) == ("film", 0.05, 0.0)  # 0.1 / (1 + 1)
    assert (plot["word"], plot["score"], plot["mean_abs"]) == ("plot", -0.05, 0.1)  # negative: ranked last


def test_the_minimum_count_and_the_shrinkage_decide_the_ranking():
    assert [row["word"] for row in ranked(statistics(), ("imdb", 1), 2, 1.0)] == ["good"]
    # one occurrence each: bad 0.5, aa and zz 0.3, film 0.2, whatever the shrinkage
    assert [row["word"] for row in ranked(statistics(), ("imdb", 0), 1, 0.0)] == ["bad", "aa", "zz", "film"]
    many = WordStatistics(top_k=1).add_all([doc("imdb", 1, ["rare"], [0.5])]
                                           + [doc("imdb", 1, ["often"], [0.2])] * 20)
    assert [row["word"] for row in ranked(many, ("imdb", 1), 1, 0.0)] == ["rare", "often"]  # 0.5 > 0.2
    assert [row["word"] for row in ranked(many, ("imdb", 1), 1, 5.0)] == ["often", "rare"]  # 4 / 25 > 0.5 / 6


def test_ties_rank_alphabetically_in_the_list_and_in_a_documents_top_k():
    rows = {row["word"]: row for row in ranked(statistics(), ("imdb", 0), 1, 1.0)}
    assert rows["aa"]["score"] == rows["zz"]["score"] == 0.15
    assert rows["aa"]["top_k_share"] == 0.5 and rows["zz"]["top_k_share"] == 0.0  # of 2 negative documents


def test_a_documents_top_k_ranks_by_the_exact_sums():
    """b's 1e-17 is above a's 0: b is the document's top word, however small the difference."""
    rows = {row["word"]: row for row in ranked(WordStatistics(top_k=1).add_all([doc("imdb", 1, ["b", "a"],
                                                                                     [1e-17, 0.0])]),
                                               ("imdb", 1), 1, 0.0)}
    assert (rows["b"]["top_k_share"], rows["a"]["top_k_share"]) == (1.0, 0.0)


def test_the_word_figures_have_four_significant_digits():
    """0.1234567 twice: sum 0.2469, mean and mean |a| 0.1235, score 0.2469134 / (2 + 1) = 0.0823."""
    (row,) = ranked(WordStatistics(top_k=1).add_all([doc("imdb", 1, ["w", "w"], [0.1234567, 0.1234567])]),
                    ("imdb", 1), 1, 1.0)
    assert (row["sum"], row["mean"], row["mean_abs"], row["score"]) == (0.2469, 0.1235, 0.1235, 0.0823)


def test_a_class_with_no_documents_ranks_no_words():
    assert ranked(WordStatistics(top_k=1).add_all([doc("imdb", 1, ["good"], [0.5])]), ("imdb", 0), 1, 1.0) == []


def test_sources_and_classes_are_kept_apart():
    counted = statistics()
    assert counted.documents == {("imdb", 1): 2, ("imdb", 0): 2, ("rotten_tomatoes", 1): 1}
    (good,) = ranked(counted, ("rotten_tomatoes", 1), 1, 1.0)
    assert (good["occurrences"], good["score"]) == (1, 0.45)
    assert "good" not in {row["word"] for row in ranked(counted, ("imdb", 0), 1, 1.0)}


def test_words_are_the_reports_words_and_never_join_across_the_cut():
    record = doc("imdb", 1, ["un", "##believ", "##able", "##s", "end"], [0.1, 0.2, 0.3, 0.4, 0.5], cut_at=4)
    rows = {row["word"]: row for row in ranked(WordStatistics(top_k=1).add_all([record]), ("imdb", 1), 1, 0.0)}
    assert rows["unbelievable"]["sum"] == pytest.approx(0.6) and rows["##s"]["sum"] == 0.4  # the tail's fragment


def test_a_contraction_is_one_word_as_a_reader_writes_it():
    """BERT splits "didn't" into didn ' t: one word in the view (not t, a top word toward negative of 10
    reviews before), its attribution the parts' sum; the apostrophe of a quote stays a word of its own."""
    record = doc("imdb", 0, ["didn", "'", "t", "'", "fun", "'"], [0.1, 0.2, 0.3, 0.05, 0.4, 0.05])
    rows = {row["word"]: row for row in ranked(WordStatistics(top_k=1).add_all([record]), ("imdb", 0), 1, 0.0)}
    assert sorted(rows) == ["'", "didn't", "fun"] and rows["didn't"]["sum"] == pytest.approx(0.6)
    assert rows["'"]["occurrences"] == 2


def test_the_log_odds_z_scores_are_those_computed_by_hand():
    """n = 5 words a class, prior 10 words: film (2 negative, 1 positive) has a = 3, delta = log(4 / 11) -
    log(5 / 10) = -0.31845, var = 1/4 + 1/5, z = -0.47472; good (0, 4), a = 4: delta = log(8 / 7) - log(4 / 11)
    = 1.14513, var = 1/8 + 1/4, z = 1.86999; bad (3, 0), a = 3: delta = log(3 / 12) - log(6 / 9), var = 1/3 + 1/6,
    z = -1.38710."""
    scores = z_scores(Counter({"bad": 3, "film": 2}), Counter({"good": 4, "film": 1}), prior_words=10)
    assert scores == {"film": pytest.approx(-0.474723, abs=1e-6), "good": pytest.approx(1.869993, abs=1e-6),
                      "bad": pytest.approx(-1.387102, abs=1e-6)}


def test_training_texts_are_split_as_bert_splits_them():
    assert words_of("It's 7/10, Café!") == ["it's", "7", "/", "10", ",", "cafe", "!"]  # a contraction whole
    assert words_of("Rock 'n' roll, 'd'") == ["rock", "'", "n", "'", "roll", ",", "'", "d", "'"]  # no clitic
    negative, positive = class_counts([("Bad, bad.", 0), ("Good!", 1)])
    assert negative == Counter({"bad": 2, ",": 1, ".": 1}) and positive == Counter({"good": 1, "!": 1})


def test_the_artefact_rule_flags_markup_numbers_and_names():
    capitals = Capitals()
    for text in ("We saw Kubrick films. Later Kubrick spoke.", "Kubrick again, and I liked it.",
                 "Then Jaws came. Jaws was big. But jaws and more jaws bored me."):
        capitals.add(text)
    assert flags("?", capitals) == ["markup"] and flags("br", capitals) == ["markup"]
    assert flags("10", capitals) == ["number"] and flags("1950s", capitals) == ["number"]
    assert flags("kubrick", capitals) == ["name"]  # 2 of 2 inside a sentence capitalised ("Kubrick again": first)
    assert flags("jaws", capitals) == []  # 1 of 3 inside a sentence ("Jaws was": after a full stop)
    assert flags("i", capitals) == [] and flags("good", capitals) == []


def test_the_name_rule_counts_capitals_inside_sentences_only():
    """Inside a sentence (not a text's first word, not after . ! ?, two letters or more):
    al 2 of 2 capitalised: a name (two letters count); capra 1 of 1: too few; kubrick only first in its
    texts (two of them with no full stop to end them) and jaws only after a full stop: never inside;
    welles 4 of 5 (0.8 of them, the share itself): a name; lang 2 of 3: below the share."""
    capitals = Capitals()
    for text in ("Kubrick saw Al. Then Al met Capra and me.", "Kubrick won. Jaws won. Jaws lost!", "Kubrick rules",
                 "Kubrick again", "We met Welles, then Welles, then Welles, then Welles, then welles.",
                 "We saw Lang and Lang and lang."):
        capitals.add(text)
    assert {word: flags(word, capitals) for word in ("al", "capra", "kubrick", "jaws", "welles", "lang")} == {
        "al": ["name"], "capra": [], "kubrick": [], "jaws": [], "welles": ["name"], "lang": []}


def view(records: list[dict], **params) -> dict:
    settings = AggregateWordsParams(**{"min_documents": 1, "shrinkage": 1.0, "top_k": 1, "top_words": 2, **params})
    counted = WordStatistics(top_k=settings.top_k).add_all(records)
    capitals = Capitals()
    return dataset_view(counted, capitals, {"good": 2.5, "bad": -3.0, "film": 0.1}, settings.view_settings(),
                        len(records))


def test_the_view_lists_the_top_words_with_the_data_side_toward_each_class():
    built = view(RECORDS)
    negative, positive = built["sources"]["imdb"]["negative"], built["sources"]["imdb"]["positive"]
    assert [row["word"] for row in positive["top"]] == ["good", "film"] and positive["ranked_words"] == 3
    assert positive["top"][0]["log_odds_z"] == 2.5 and negative["top"][0]["log_odds_z"] == 3.0  # toward the class
    assert negative["top"][1]["log_odds_z"] is None  # aa: not in the training split
    assert positive["scores"] == {"good": 0.225, "film": 0.05, "plot": -0.05}
    assert [row["group"] for row in plot_rows(built)][:2] == ["imdb · toward negative"] * 2


def test_the_summary_is_the_flagged_share_of_attribution_and_the_share_backed_by_the_data():
    records = [doc("imdb", 1, ["good", "?"], [0.6, 0.2]), doc("imdb", 0, ["bad", "10"], [0.3, 0.1])]
    metrics = summary_metrics(view(records))
    # top words: good 0.6, ? 0.2 | bad 0.3, 10 0.1; flagged ? and 10: 0.3 of 1.2; z > 1.96 toward the class:
    # good (2.5) and bad (3.0) of 4 words
    assert metrics == {"imdb/words/flagged_share": 0.25, "imdb/words/data_share": 0.5,
                       "imdb/words/established/negative": 0, "imdb/words/established/positive": 0}  # 1 document


def test_two_views_differ_by_the_words_entering_and_leaving_and_the_rank_correlation():
    before, after = view(RECORDS), view(RECORDS[:1] + [doc("imdb", 1, ["plot"], [0.9])] + RECORDS[2:])
    rows = {(row["source"], row["class"]): row for row in difference(before, after)}
    positive = rows[("imdb", "positive")]
    assert positive["entered"] == ["plot"] and positive["left"] == ["film"]
    # words in both: film, good, plot; scores before 0.05, 0.225, -0.05; after 0.05, 0.175, 0.45: ranks differ
    assert positive["common_words"] == 3 and positive["spearman"] == pytest.approx(-0.5)
    assert rows[("imdb", "negative")]["spearman"] == 1.0 and rows[("imdb", "negative")]["entered"] == []


# Built so that each plausible misreading of a figure's definition gives another number than the right
# reading (docs/figures.md, "The dataset view"): a word twice in a document, signs that cancel, a document
# whose top word by its summed attribution is neither its largest single value nor its largest |value|,
# a class with fewer documents than the records, z-scores on and around the threshold and of either sign.
DISCRIMINATING = [
    doc("imdb", 1, ["nice", "nice", "great", "dull"], [0.3, 0.3, 0.5, -0.8]),
    doc("imdb", 1, ["great", "dull", "nice"], [0.2, 0.4, -0.1]),
    doc("imdb", 1, ["10"], [0.1]),
    doc("imdb", 0, ["bad"], [0.6]),
]
DISCRIMINATING_Z = {"great": 2.0, "nice": 1.96, "dull": -2.5, "bad": -1.0}


def discriminating_view(**params) -> dict:
    settings = AggregateWordsParams(**{"min_documents": 1, "shrinkage": 2.0, "top_k": 1, "top_words": 4, **params})
    counted = WordStatistics(top_k=settings.top_k).add_all(DISCRIMINATING)
    return dataset_view(counted, Capitals(), DISCRIMINATING_Z, settings.view_settings(), len(DISCRIMINATING))


def test_each_word_figure_differs_from_its_misreadings():
    """Positive class, 3 documents (4 records), shrinkage 2, each document's top 1 word:
    nice: 0.3 + 0.3 - 0.1 = 0.5 over 3 occurrences in 2 documents: mean 0.1667 (not per document: 0.25),
    mean |a| 0.7 / 3 = 0.2333 (not |mean|), score 0.5 / (3 + 2) = 0.1 (not over documents: 0.125);
    the first document's top word (nice 0.6 summed; not great 0.5, its largest value, nor dull, its largest
    |value| 0.8): top_k_share 1 of the class's 3 documents (not of nice's 2, nor of the 4 records);
    great: 0.7 / (2 + 2) = 0.175; dull: -0.4 / 4 = -0.1, mean |a| 0.6, the second document's top word;
    10: 0.1 / 3 = 0.03333 (4 significant digits). The ranking runs down the score; z toward the class:
    dull -2.5, bad +1. The t-tests over per-document sums, one-sided, 1 degree of freedom, p = 1/2 - atan(t) / pi:
    great (0.5, 0.2) t = 0.35 / 0.15 = 2.333, p 0.1289; nice (0.6, -0.1) t = 0.25 / 0.35, p 0.3026; dull
    (-0.8, 0.4) t = -0.2 / 0.6, p 0.6024; 10 in one document: no test. q over the 3 tested (m = 3): dull
    0.6024, nice min(0.6024, 0.3026 x 3 / 2) = 0.4539, great 0.3867; none at or under 0.05."""
    positive = discriminating_view()["sources"]["imdb"]["positive"]
    assert (positive["documents"], positive["ranked_words"]) == (3, 4)
    rows = {row["word"]: row for row in positive["top"]}
    assert [row["word"] for row in positive["top"]] == ["great", "nice", "10", "dull"]
    assert rows["nice"] == {"word": "nice", "score": 0.1, "occurrences": 3, "documents": 2, "sum": 0.5,
                            "mean": 0.1667, "mean_abs": 0.2333, "top_k_share": 0.3333, "log_odds_z": 1.96,
                            "flags": [], "p": 0.3026, "q": 0.4539, "established": False, "score_interval": None,
                            "mean_interval": None}
    assert [rows[word]["q"] for word in ("great", "dull", "10")] == [0.3867, 0.6024, None]
    assert positive["established_words"] == []
    assert (rows["great"]["score"], rows["great"]["top_k_share"], rows["great"]["log_odds_z"]) == (0.175, 0.0, 2.0)
    assert (rows["dull"]["score"], rows["dull"]["mean"], rows["dull"]["mean_abs"]) == (-0.1, -0.2, 0.6)
    assert (rows["dull"]["top_k_share"], rows["dull"]["log_odds_z"]) == (0.3333, -2.5)
    assert (rows["10"]["score"], rows["10"]["log_odds_z"], rows["10"]["flags"]) == (0.03333, None, ["number"])
    negative = discriminating_view()["sources"]["imdb"]["negative"]
    assert negative["top"][0]["log_odds_z"] == 1.0 and negative["documents"] == 1  # -(-1.0): toward negative


def test_min_documents_keeps_the_words_in_at_least_that_many_documents():
    positive = discriminating_view(min_documents=2)["sources"]["imdb"]["positive"]
    assert [row["word"] for row in positive["top"]] == ["great", "nice", "dull"] and positive["ranked_words"] == 3
    assert discriminating_view(min_documents=3)["sources"]["imdb"]["positive"]["ranked_words"] == 0


def test_the_summary_figures_differ_from_their_misreadings():
    """Top words: great 0.7, nice 0.5, 10 0.1, dull -0.4 | bad 0.6. flagged_share: |0.1| of |sums| 2.3 =
    0.04348 (signed sums: 0.1 / 1.5; a count: 1 of 5; mean |a| instead of sums: 0.1 / 1.7833).
    data_share: z above 1.96 toward the class: great only, of the 5 top words = 0.2 (|z|: great, dull; >= 1.96:
    great, nice: 0.4 each; of the 3 words with a z: 0.3333; a mean of the classes' shares: 0.125)."""
    assert summary_metrics(discriminating_view()) == {"imdb/words/flagged_share": 0.04348,
                                                      "imdb/words/data_share": 0.2,
                                                      "imdb/words/established/negative": 0,
                                                      "imdb/words/established/positive": 0}


def test_a_source_or_class_one_view_lacks_is_left_out_and_the_rest_still_compared():
    """The right view has imdb's positive class only: rotten_tomatoes and imdb's negative class (listed
    before the positive) are left out, and the positive class is compared."""
    rows = difference(view(RECORDS), view(RECORDS[:2]))
    assert [(row["source"], row["class"]) for row in rows] == [("imdb", "positive")]


def test_the_plot_rows_name_each_top_word_by_rank_from_1_with_its_flags():
    rows = plot_rows(view([doc("imdb", 1, ["good", "10"], [0.5, 0.25])]))
    assert rows == [{"group": "imdb · toward positive", "rank": 1, "word": "good", "score": 0.25, "low": None,
                     "high": None, "established": False, "documents": 1, "flags": "none"},
                    {"group": "imdb · toward positive", "rank": 2, "word": "10", "score": 0.125, "low": None,
                     "high": None, "established": False, "documents": 1, "flags": "number"}]


def test_the_view_keeps_its_settings_and_gives_z_to_four_digits():
    settings = AggregateWordsParams(min_documents=1, shrinkage=1.0, top_k=1, top_words=2)
    built = dataset_view(WordStatistics(top_k=1).add_all([doc("imdb", 1, ["good"], [0.5])]), Capitals(),
                         {"good": 2.3456789}, settings.view_settings(), 1)
    assert (built["format"], built["settings"], built["records"]) == (2, settings.model_dump(), 1)
    assert built["sources"]["imdb"]["positive"]["top"][0]["log_odds_z"] == 2.346


def test_a_plot_row_joins_a_words_flags_with_a_comma():
    capitals = Capitals()
    capitals.add("We saw R2 and R2 again.")  # r2: a number, and a name (capitalised both times inside)
    settings = AggregateWordsParams(min_documents=1, shrinkage=1.0, top_k=1, top_words=2).view_settings()
    built = dataset_view(WordStatistics(top_k=1).add_all([doc("imdb", 1, ["r2"], [0.5])]), capitals, {}, settings, 1)
    assert [row["flags"] for row in plot_rows(built)] == ["number, name"]


def test_the_summary_skips_a_source_with_no_top_word_and_has_no_flagged_share_of_nothing():
    """min_documents 2: imdb's words are in one document each, so imdb has no top word and no figure.
    rotten_tomatoes: good (z 2.5), film (0.1) and plot (none) in two documents: 1 strong of 3 = 0.3333;
    sentences: ? and bad with attribution 0: no attribution to share, flagged_share 0; bad strong: 1 of 2.
    Established: rotten_tomatoes' three words, the same positive sum in both documents (p 0); none of
    sentences' (sums of 0: p 1)."""
    records = [doc("imdb", 1, ["good"], [0.5]),
               *[doc("rotten_tomatoes", 1, ["good", "film", "plot"], [0.2, 0.1, 0.1])] * 2,
               *[doc("sentences", 0, ["?", "bad"], [0.0, 0.0])] * 2]
    assert summary_metrics(view(records, min_documents=2, top_words=3)) == {
        "rotten_tomatoes/words/flagged_share": 0.0, "rotten_tomatoes/words/data_share": 0.3333,
        "rotten_tomatoes/words/established/positive": 3, "sentences/words/flagged_share": 0.0,
        "sentences/words/data_share": 0.5, "sentences/words/established/negative": 0}


def test_the_difference_gives_the_spearman_of_the_scores_to_four_digits():
    """Six words, two neighbours swapped: rho = 1 - 6 * 2 / (6 * 35) = 0.942857..., written 0.9429."""
    words = ["a", "b", "c", "d", "e", "f"]
    before = view([doc("imdb", 1, [word], [value]) for word, value in zip(words, [0.6, 0.5, 0.4, 0.3, 0.2, 0.1])],
                  shrinkage=0.0)
    after = view([doc("imdb", 1, [word], [value]) for word, value in zip(words, [0.5, 0.6, 0.4, 0.3, 0.2, 0.1])],
                 shrinkage=0.0)
    (row,) = difference(before, after)
    assert (row["common_words"], row["spearman"]) == (6, 0.9429)


def test_the_aggregation_holds_one_record_at_a_time(tmp_path, monkeypatch):
    """Its memory follows the vocabulary, not the records (benchmarks/aggregation_memory.py measures it): when
    the stage's aggregation asks for a record, none it was given before the last one is still alive."""
    import weakref

    from stages import aggregate_words
    from stages.attribution.record_table import iter_records, write_records

    write_records(tmp_path / "records.parquet", {}, RECORDS * 4)
    given, alive_at_each_ask = [], []

    def watched(path, columns):
        for record in iter_records(path, columns=columns, batch_rows=3):
            alive_at_each_ask.append(sum(ref() is not None for ref in given))
            given.append(weakref.ref(record))
            yield record

    monkeypatch.setattr(aggregate_words, "iter_records", watched)
    statistics, _, count = aggregate_words.aggregated(tmp_path / "records.parquet",
                                                      AggregateWordsParams().view_settings())
    assert count == len(given) == 20 and statistics.resamples == 200
    assert max(alive_at_each_ask) == 1  # the record given last: still the aggregation's loop variable


def run_stage(folder: Path, monkeypatch) -> list[Path]:
    from stages import aggregate_words

    outputs = [folder / "dataset.json", folder / "metrics.json", folder / "plot.json"]
    monkeypatch.chdir(folder)
    monkeypatch.setattr(sys, "argv", ["aggregate_words", "records.parquet", "decoded", *map(str, outputs)])
    aggregate_words.main()
    return outputs


def test_the_stage_writes_the_view_its_figures_and_its_plot(tmp_path, monkeypatch):
    import shutil

    from stages.attribution.record_table import write_records

    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    write_records(tmp_path / "records.parquet", {}, RECORDS * 3)  # 3 documents each: min_documents 3
    (tmp_path / "decoded").mkdir()
    (tmp_path / "decoded" / "train.csv").write_text('id,text,label\n1,"Good, good film.",1\n2,"A bad film.",0\n')
    view_path, metrics_path, plot_path = run_stage(tmp_path, monkeypatch)
    view = json.loads(view_path.read_text())
    positive = view["sources"]["imdb"]["positive"]
    assert view["records"] == 15 and positive["documents"] == 6
    assert [row["word"] for row in positive["top"]] == ["good", "film", "plot"]
    assert positive["top"][0]["log_odds_z"] > 0 and positive["top"][2]["log_odds_z"] is None  # plot: not trained on
    assert json.loads(metrics_path.read_text()) == summary_metrics(view)
    assert len(json.loads(plot_path.read_text())) == sum(len(entry["top"]) for classes in view["sources"].values()
                                                         for entry in classes.values())


def test_a_missing_training_split_is_one_line_and_writes_nothing(tmp_path, monkeypatch):
    import shutil

    from stages.attribution.record_table import write_records
    from stages.plumbing.errors import UserError

    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    write_records(tmp_path / "records.parquet", {}, RECORDS)
    with pytest.raises(UserError, match=r"^decoded/train.csv: missing; run `dvc repro decode`$"):
        run_stage(tmp_path, monkeypatch)
    assert not list(tmp_path.glob("*.json"))
