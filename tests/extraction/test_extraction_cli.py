import json

import typer
from typer.testing import CliRunner

from leadbridge.cli.extract import register


def _app():
    app = typer.Typer()

    @app.command()
    def version() -> None:
        """Keep typer in group mode."""

    register(app)
    return app


def test_json_lines_in_and_out_with_bad_lines_reported():
    lines = [
        json.dumps(
            {"id": "a", "text": "prêt de 200 000 € en CDI", "sent_at": "2026-03-10T10:00:00+01:00"}
        ),
        "not json",
        json.dumps({"text": 42}),
        json.dumps(
            {
                "id": "b",
                "text": "Kauf bis Mai, Haus 500.000 €",
                "lang": "de",
                "sent_at": "2026-03-10",
            }
        ),
        json.dumps({"text": "x", "sent_at": "yesterday"}),
    ]
    result = CliRunner().invoke(_app(), ["extract", "--json"], input="\n".join(lines) + "\n")
    assert result.exit_code == 1
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b"]
    assert out[0]["fields"]["requested_amount"]["value"] == 200000
    assert out[0]["fields"]["job_status"]["value"] == "permanent"
    assert "down_payment" not in out[0]["fields"]
    assert out[1]["fields"]["target_month"]["value"] == "2026-05"
    errors = result.stderr.splitlines()
    assert [e.split(":")[0] for e in errors] == ["line 2", "line 3", "line 5"]


def test_crm_payload_mode():
    line = json.dumps({"text": "Bonjour, prêt de 200 000 € pour une maison à 300 000 €, CDI"})
    result = CliRunner().invoke(
        _app(), ["extract", "--json", "--crm", "--source", "Whatsapp_Business"], input=line
    )
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["lead_source"] == "Whatsapp_Business"
    assert payload["extracted_data"]["requested_amount"] == 200000
    assert payload["routing_action"] in {"senior_consultant", "assign_to_human", "nurturing_bot"}


def test_without_json_flag_prints_help_and_fails():
    result = CliRunner().invoke(_app(), ["extract"])
    assert result.exit_code == 2
    assert "--json" in result.stdout


def test_correct_retrain_and_train_commands(tmp_path):
    runner = CliRunner()
    store = tmp_path / "c.db"
    result = runner.invoke(
        _app(),
        [
            "extract",
            "correct",
            "--text",
            "je suis en cdd",
            "--field",
            "job_status",
            "--value",
            "fixed_term",
            "--store",
            str(store),
            "--sent-at",
            "2026-03-10",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "correction 1 stored" in result.stdout
    out = tmp_path / "m.npz"
    result = runner.invoke(
        _app(), ["extract", "retrain", "--store", str(store), "--out", str(out), "--size", "400"]
    )
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert "1 corrected" in result.stdout
    trained = tmp_path / "t.npz"
    result = runner.invoke(_app(), ["extract", "train", "--out", str(trained), "--size", "400"])
    assert result.exit_code == 0, result.output
    line = json.dumps({"text": "je suis en cdd"})
    result = runner.invoke(_app(), ["extract", "--json", "--model", str(trained)], input=line)
    assert json.loads(result.stdout)["fields"]["job_status"]["value"] == "fixed_term"
