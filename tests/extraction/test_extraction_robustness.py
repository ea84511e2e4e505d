import os
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from leadbridge.scoring.extraction import extract
from leadbridge.scoring.extraction.inputs import MAX_CHARS

SENT = datetime(2026, 3, 10, tzinfo=UTC)


def test_empty_input_warns():
    for raw in ("", "   \n", b""):
        result = extract(raw, sent_at=SENT)
        assert result.fields == {}
        assert result.warnings == ("empty message",)


def test_huge_input_is_truncated_with_partial_result():
    text = "Bonjour, je cherche un prêt de 200 000 € en CDI. " + "bla " * 262_144
    assert len(text) > 1_000_000
    result = extract(text, sent_at=SENT)
    assert result.values()["requested_amount"] == 200000
    assert any("truncated" in w for w in result.warnings)
    assert len(result.text) == MAX_CHARS


def test_binary_input_is_ignored_with_warning():
    result = extract(os.urandom(4096) + b"\x00\x00", sent_at=SENT)
    assert result.fields == {}
    assert result.warnings == ("binary input ignored",)
    control = extract("\x01\x02\x03\x04\x05abc\x06\x07", sent_at=SENT)
    assert control.warnings == ("binary input ignored",)


def test_mixed_scripts_give_partial_result_and_warning():
    text = "Здравствуйте! 我想买房子 🏠🙂 prêt de 150 000 €, je suis en CDI"
    result = extract(text, sent_at=SENT)
    assert result.values()["requested_amount"] == 150000
    assert any("Cyrillic" in w and "Cjk" in w for w in result.warnings)


def test_only_foreign_script_and_emoji_is_empty_with_warnings():
    result = extract("Здравствуйте, хочу купить квартиру 🏠", sent_at=SENT)
    assert result.fields == {}
    assert result.warnings


def test_lone_surrogates_do_not_break_extraction():
    result = extract("prêt de 100 000 € \ud800 merci", sent_at=SENT)
    assert result.values()["requested_amount"] == 100000
    assert "invalid characters replaced" in result.warnings


def test_unsupported_language_hint_falls_back_to_detection():
    result = extract("Hallo, Kredit über 300.000 €", lang="es", sent_at=SENT)
    assert result.lang == "de"
    assert any("not supported" in w for w in result.warnings)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_any_input_never_raises(raw):
    result = extract(raw, sent_at=SENT)
    for f in result.fields.values():
        assert 0.0 <= f.confidence <= 1.0
