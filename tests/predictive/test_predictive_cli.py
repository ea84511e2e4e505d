import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from leadbridge.cli.model import register


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test root."""

    register(app)
    return app


def test_train_json_registry_promote_rollback(tmp_path: Path, leads_csv_maker) -> None:
    runner = CliRunner()
    app = _app()
    data = leads_csv_maker(tmp_path / "leads.csv", n=600)
    holdout = leads_csv_maker(tmp_path / "recent.csv", n=300, seed=11)
    db = str(tmp_path / "reg.db")
    base = ["model", "train", "--csv", str(data), "--target", "Converted", "--positive", "1"]
    result = runner.invoke(app, [*base, "--json", "--registry", db, "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    for key in ("roc_auc", "pr_auc", "brier", "n_train", "n_test", "positive_rate", "split"):
        assert key in payload
    assert payload["registered"] == "default v1"
    assert (tmp_path / "m" / "model.ubj").exists()

    first = runner.invoke(app, ["model", "promote", "v1", "--registry", db, "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["promoted"] is True

    runner.invoke(app, [*base, "--registry", db, "--exclude", "Lead Source,Occupation"])
    promo = [
        "model",
        "promote",
        "v2",
        "--registry",
        db,
        "--csv",
        str(holdout),
        "--target",
        "Converted",
        "--positive",
        "1",
        "--json",
    ]
    decision = json.loads(runner.invoke(app, promo).stdout)
    assert decision["promoted"] is False  # fewer features loses on the same holdout
    assert decision["holdout_rows"] == 300

    listing = json.loads(runner.invoke(app, ["model", "list", "--registry", db, "--json"]).stdout)
    assert [r["champion"] for r in listing] == [True, False]

    evaluated = runner.invoke(
        app,
        [
            "model",
            "evaluate",
            "--model",
            str(tmp_path / "m"),
            "--csv",
            str(holdout),
            "--target",
            "Converted",
            "--positive",
            "1",
            "--json",
        ],
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["model"]["roc_auc"] > 0.7

    rolled = runner.invoke(app, ["model", "rollback", "--registry", db])
    assert rolled.exit_code == 2
    assert "no previous champion" in rolled.stderr


def test_errors_are_one_line_exit_2(tmp_path: Path, leads_csv_maker) -> None:
    runner = CliRunner()
    data = leads_csv_maker(tmp_path / "leads.csv", n=100)
    cases = [
        (["--target", "Converted", "--positive", "1", "--exclude", "Converted"], "exclude list"),
        (["--target", "Missing", "--positive", "1"], "not found"),
        (["--target", "Converted", "--positive", "9"], "no row has"),
    ]
    for extra, needle in cases:
        result = runner.invoke(_app(), ["model", "train", "--csv", str(data), *extra])
        assert result.exit_code == 2
        assert needle in result.stderr
        assert result.stderr.count("\n") == 1
        assert "Traceback" not in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n1,2,3,4\n")
    result = runner.invoke(
        _app(), ["model", "train", "--csv", str(bad), "--target", "a", "--positive", "1"]
    )
    assert result.exit_code == 2
    assert "unparseable CSV" in result.stderr
