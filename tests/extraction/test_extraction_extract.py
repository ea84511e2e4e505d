from datetime import UTC, datetime

import pytest

from leadbridge.scoring.extraction import (
    TO_VERIFY,
    ExtractedField,
    Extraction,
    extract,
    quality_score,
)

SENT = datetime(2026, 3, 10, 9, tzinfo=UTC)


def test_seed_example_is_extracted_with_spans():
    text = (
        "Je suis fonctionnaire et je cherche un prêt pour une maison de 250 000 euros, "
        "j'ai 50k d'apport."
    )
    result = extract(text, sent_at=SENT)
    values = result.values()
    assert values["property_value"] == 250000
    assert values["down_payment"] == 50000
    assert values["currency"] == "EUR"
    assert values["job_status"] == "civil_servant"
    assert values["property_type"] == "house"
    assert values["ltv"] == pytest.approx(0.8)
    assert result.lang == "fr"
    for name, f in result.fields.items():
        if f.span is not None:
            assert text[f.span[0] : f.span[1]] == f.text, name
        assert 0.0 <= f.confidence <= 1.0


def test_salary_and_monthly_payment_are_not_the_loan():
    result = extract(
        "Bonsoir, je gagne 3 200 € net par mois en CDI, je voudrais emprunter 230 000 € "
        "pour un T3 à 275 000 €. Mensualité max 1 100 €.",
        sent_at=SENT,
    )
    assert result.values()["requested_amount"] == 230000
    assert result.values()["property_value"] == 275000
    assert 3200 not in result.values().values()
    assert 1100 not in result.values().values()


def test_percentage_down_payment_becomes_an_amount():
    result = extract("We want to buy a house for £300,000 with a 20% deposit.", sent_at=SENT)
    assert result.values()["down_payment"] == 60000
    assert result.values()["ltv"] == pytest.approx(0.8)


def test_target_month_and_lang_hint():
    result = extract("vorrei rogitare entro marzo, mutuo 150 mila", lang="it", sent_at=SENT)
    assert result.values()["target_month"] == "2026-03"
    assert result.values()["requested_amount"] == 150000


def test_message_without_facts_is_empty_and_routed_to_the_bot():
    result = extract("Merci pour votre réponse, je vous rappelle demain.", sent_at=SENT)
    assert result.fields == {}
    assert result.quality.routing == "nurturing_bot"


def test_complete_lead_with_sound_ltv_goes_to_senior_consultant():
    result = extract(
        "Hallo, ich brauche einen Kredit über 400.000 € für ein Haus, Kaufpreis 600.000 €. "
        "Ich bin unbefristet angestellt, Kauf bis Juni.",
        sent_at=SENT,
    )
    assert result.values()["ltv"] == pytest.approx(0.6667, abs=1e-3)
    assert result.quality.routing == "senior_consultant"
    assert result.quality.score >= 80


def test_seed_lead_b_partial_high_ltv_fixed_term_goes_to_bot():
    q = quality_score(
        {
            "job_status": ("fixed_term", 0.95),
            "requested_amount": (290000, 0.95),
            "property_value": (300000, 0.95),
            "ltv": (0.9667, 0.95),
        }
    )
    assert q.routing == "nurturing_bot"
    assert any("95 %" in r for r in q.reasons)


def test_low_confidence_fields_are_written_to_verify():
    fields = {
        "requested_amount": ExtractedField(value=200000, confidence=0.97, span=(0, 3), text="200k"),
        "job_status": ExtractedField(value="permanent", confidence=0.6, span=(5, 8), text="CDI"),
    }
    result = Extraction(text="200k, CDI", lang="fr", fields=fields)
    payload = result.to_crm_fields(lead_source="Whatsapp_Business")
    assert payload["lead_source"] == "Whatsapp_Business"
    assert payload["message_body"] == "200k, CDI"
    assert payload["extracted_data"] == {"requested_amount": 200000, "job_status": TO_VERIFY}
    assert set(payload) == {
        "lead_source",
        "message_body",
        "extracted_data",
        "ai_score",
        "routing_action",
    }
    assert result.to_crm_fields(threshold=0.5)["extracted_data"]["job_status"] == "permanent"


def test_bytes_input_and_naive_sent_at_are_accepted():
    result = extract("Kredit 300.000 € bis Mai".encode(), sent_at=datetime(2026, 3, 1))
    assert result.values()["target_month"] == "2026-05"


def test_extraction_is_frozen():
    result = extract("prêt de 100 000 €", sent_at=SENT)
    with pytest.raises(Exception):  # noqa: B017, PT011 - pydantic's frozen error type
        result.lang = "it"  # type: ignore[misc]
