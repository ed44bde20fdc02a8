"""Smoke test of benchmarks/aggregation_memory.py on a few records: what it counts is the records' own."""
from __future__ import annotations

import json

import pytest

from benchmarks import aggregation_memory
from stages.plumbing.errors import UserError


def test_a_small_run_counts_the_records_and_their_words_in_each_class(tmp_path, capsys):
    out = tmp_path / "memory.json"
    aggregation_memory.main(["--records", "40", "--vocabulary", "30", "--out", str(out)])
    report = json.loads(out.read_text())
    records = list(aggregation_memory.synthetic_records(40, 30))
    by_class = {(record.predicted, token) for record in records for token in record.tokens[1:-1]}
    assert len({token for _, token in by_class}) <= 30 < len(by_class)  # words in both classes count twice
    for name, resamples in (("with_resamples", 200), ("without_resamples", 0)):  # params.yaml's, then none
        assert report[name]["records"] == 40 and report[name]["words"] == len(by_class), name
        assert report[name]["resamples"] == resamples and report[name]["peak_rss_mb"] > 0, name
    assert report["target"] == {"peak_rss_mb_below": 300, "met": None}  # set for 200,000 records only
    assert capsys.readouterr().out.splitlines()[-1].startswith("target, under 300 MB resident: set for 200,000")


def test_the_records_are_alternately_negative_and_positive_with_their_words_in_the_text():
    records = list(aggregation_memory.synthetic_records(4, 10, seed=1))
    assert [record.predicted for record in records] == [0, 1, 0, 1]
    assert all(record.text.lower() == " ".join(record.tokens[1:-1]) + "." for record in records)
    assert all(len(record.attributions) == aggregation_memory.WORDS_PER_RECORD + 2 for record in records)


def test_the_target_is_under_300_mb_at_200000_records_of_5000_words_only():
    assert aggregation_memory.target_met(200_000, 5000, 299) is True
    assert aggregation_memory.target_met(200_000, 5000, 300) is False
    assert aggregation_memory.target_met(199_999, 5000, 10) is None
    assert aggregation_memory.target_met(200_000, 4999, 10) is None


@pytest.mark.parametrize("option", ["--records", "--vocabulary"])
def test_a_size_below_one_is_one_line(option):
    with pytest.raises(UserError, match=rf"^{option} 0: expected an integer >= 1$"):
        aggregation_memory.main([option, "0"])
