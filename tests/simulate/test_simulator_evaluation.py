"""The offline evaluation: the recommender clearly beats popularity on planted affinities."""

from __future__ import annotations

from pathlib import Path

from kartshoppe.simulate.evaluate import evaluate, evaluate_main


def test_the_recommender_clearly_beats_the_popularity_baseline() -> None:
    result = evaluate(train=400, test=150, seed=11)
    assert result.targets > 100
    rec_hit, rec_mrr = result.rate(result.recommender)
    base_hit, base_mrr = result.rate(result.baseline)
    assert rec_hit > 2 * base_hit
    assert rec_mrr > 2 * base_mrr


def test_the_same_seed_gives_the_same_scores() -> None:
    first = evaluate(train=100, test=40, seed=5)
    second = evaluate(train=100, test=40, seed=5)
    assert (first.recommender, first.baseline) == (second.recommender, second.baseline)


def test_the_command_writes_a_markdown_report_with_both_rankers(tmp_path: Path) -> None:
    out = tmp_path / "recs.md"
    assert evaluate_main(["--train", "60", "--test", "20", "--output", str(out)]) == 0
    report = out.read_text()
    assert "Command: `kartshoppe evaluate-recs --train 60 --test 20`" in report
    assert str(out) not in report, "where the report went is not what produced its figures"
    assert "| popularity baseline |" in report
    assert "| recommender (`RecommendationsProcessor`) |" in report
