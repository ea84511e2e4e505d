from datetime import UTC, datetime

import pytest

from leadbridge.core.errors import ScoringError
from leadbridge.scoring.extraction import Extractor
from leadbridge.scoring.extraction.corrections import CorrectionStore, normalise_value, retrain

SENT = datetime(2026, 3, 10, tzinfo=UTC)


def test_corrections_are_stored_and_newest_wins(tmp_path):
    store = CorrectionStore(tmp_path / "c.db")
    store.correct("m1", "job_status", "Permanent", text="je bosse en cdi", sent_at=SENT)
    store.correct("m1", "job_status", "fixed_term")  # same message, found by id
    store.correct(None, "requested_amount", "250'000", text="il me faut 250k")
    rows = CorrectionStore(tmp_path / "c.db").corrections()  # reopened: persisted
    assert [(r.field, r.value) for r in rows] == [
        ("job_status", "permanent"),
        ("job_status", "fixed_term"),
        ("requested_amount", 250000),
    ]
    messages = store.corrected_messages(Extractor())
    by_text = {m.text: m for m in messages}
    assert by_text["je bosse en cdi"].values == {"job_status": "fixed_term"}
    assert by_text["je bosse en cdi"].sent_at == SENT


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ltv", "0.8"),
        ("job_status", "astronaut"),
        ("requested_amount", "lots"),
        ("currency", "JPY"),
        ("target_month", "June"),
        ("energy_class", "H"),
    ],
)
def test_invalid_corrections_are_refused(field, value):
    with pytest.raises(ScoringError):
        normalise_value(field, value)


def test_unknown_message_id_without_text_is_refused(tmp_path):
    with pytest.raises(ScoringError, match="unknown message id"):
        CorrectionStore(tmp_path / "c.db").correct("nope", "currency", "EUR")


def test_none_means_the_field_is_absent():
    assert normalise_value("job_status", "none") is None
    assert normalise_value("energy_class", "c") == "C"


def test_retrain_learns_from_corrections(tmp_path):
    text = "Ciao, la mia collega ha un mutuo di 120.000 euro, io cerco 90.000 euro"
    base = Extractor()
    assert base.extract(text, sent_at=SENT).values().get("requested_amount") != 90000
    store = CorrectionStore(tmp_path / "c.db")
    for _ in range(3):
        store.correct(None, "requested_amount", "90000", text=text, lang="it", sent_at=SENT)
    report = retrain(store, out=tmp_path / "m.npz", n=800, seed=2, extractor=base)
    assert report.corrections == 1
    tuned = Extractor(model_path=tmp_path / "m.npz")
    assert tuned.extract(text, sent_at=SENT).values()["requested_amount"] == 90000
