"""Value transforms: every side's format to one canonical value and back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbridge.core.errors import MappingError
from leadbridge.mappings.places import CANTONS
from leadbridge.mappings.transforms import FORMATS, make_codec


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("044 123 45 67", "+41441234567"), ("+41 (0)44 123 45 67", "+41441234567"),
     ("0041441234567", "+41441234567"), ("+33 7 79 89 07 53", "+33779890753")],
)  # fmt: skip
def test_phone_numbers_become_e164(raw: str, expected: str) -> None:
    codec = make_codec("phone", "international", region="CH")
    assert codec.parse(raw) == expected
    assert codec.render(expected).startswith("+")
    assert codec.roundtrip(expected) == expected


@pytest.mark.parametrize("junk", ["n/a", "+41 79 ABC DE FG", "123"])
def test_junk_phone_numbers_are_refused(junk: str) -> None:
    with pytest.raises(MappingError, match="phone"):
        make_codec("phone").parse(junk)


@pytest.mark.parametrize(
    ("raw", "code"),
    [("Switzerland", "CH"), ("Schweiz", "CH"), ("Suisse", "CH"), ("svizzera", "CH"),
     ("CHE", "CH"), ("United Kingdom", "GB"), ("Allemagne", "DE"), ("usa", "US")],
)  # fmt: skip
def test_countries_in_any_language_become_iso2(raw: str, code: str) -> None:
    assert make_codec("country", "name").parse(raw) == code


def test_country_formats_render() -> None:
    assert make_codec("country", "iso3").render("CH") == "CHE"
    assert make_codec("country", "name_de").render("CH") == "Schweiz"
    assert make_codec("country", "name_fr").render("DE") == "Allemagne"


@pytest.mark.parametrize("code", sorted(CANTONS))
def test_every_canton_round_trips_through_every_format(code: str) -> None:
    for fmt in FORMATS["canton"]:
        codec = make_codec("canton", fmt)
        assert codec.parse(codec.render(code)) == code, fmt


def test_canton_aliases() -> None:
    codec = make_codec("canton", "code")
    assert [codec.parse(v) for v in ("Zürich", "zurich", "CH-ZH", "Zurigo")] == ["ZH"] * 4
    assert codec.parse("St. Gallen") == codec.parse("Sankt Gallen") == "SG"
    with pytest.raises(MappingError):
        codec.parse("Bayern")


def test_languages_and_currencies() -> None:
    language = make_codec("language", "name")
    assert [language.parse(v) for v in ("de", "de-CH", "fr_CH", "German", "Deutsch")] == [
        "de", "de", "fr", "de", "de"]  # fmt: skip
    assert language.render("it") == "Italian"
    currency = make_codec("currency")
    assert [currency.parse(v) for v in ("CHF", "Fr.", "€", "Swiss Franc", "usd")] == [
        "CHF", "CHF", "EUR", "CHF", "USD"]  # fmt: skip


def test_dates_and_datetimes() -> None:
    date = make_codec("date", "epoch_ms")
    assert date.parse("1714521600000") == "2024-05-01"
    assert date.render("2024-05-01") == "1714521600000"
    assert make_codec("date", "swiss").render("2024-05-01") == "01.05.2024"
    assert make_codec("date").parse("01.05.2024") == "2024-05-01"
    moment = make_codec("datetime")
    assert moment.parse("2024-05-01T14:30:00.000+0200") == "2024-05-01T12:30:00.000Z"
    assert make_codec("datetime", "epoch_ms").render("2024-05-01T12:30:00.000Z") == "1714566600000"


def test_numbers_and_booleans() -> None:
    number = make_codec("number", "string", scale=2)
    assert number.parse("1'200.50") == 1200.5
    assert number.parse("1 200,5") == 1200.5
    assert number.render(1200) == "1200"
    assert make_codec("integer").parse("41.6") == 42
    flag = make_codec("bool", "string")
    assert flag.parse("Yes") is True
    assert flag.render(False) == "false"
    with pytest.raises(MappingError):
        flag.parse("perhaps")


def test_enums_translate_both_ways_and_refuse_unknowns() -> None:
    table = {"lead": "Lead", "marketingqualifiedlead": "MQL"}
    side_a, side_b = make_codec("enum", values=table), make_codec("enum", side="b", values=table)
    assert side_b.parse("mql") == "marketingqualifiedlead"
    assert side_b.render("lead") == "Lead"
    assert side_a.parse("LEAD") == "lead"
    with pytest.raises(MappingError):
        side_b.parse("Customer")


def test_blank_is_none_everywhere() -> None:
    for transform in FORMATS:
        codec = make_codec(transform, values={"x": "y"})
        assert codec.parse("") is None
        assert codec.parse("   ") is None
        assert codec.render(None) is None


@given(st.dates(min_value=__import__("datetime").date(1900, 1, 1)))
def test_date_formats_round_trip(day: object) -> None:
    iso = str(day)
    for fmt in FORMATS["date"]:
        assert make_codec("date", fmt).roundtrip(iso) == iso


@given(st.text(max_size=40))
def test_text_is_whitespace_normalised_and_stable(text: str) -> None:
    codec = make_codec("text")
    once = codec.parse(text)
    assert once is None or codec.parse(codec.render(once)) == once


def test_unknown_transform_or_format_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown transform"):
        make_codec("colour")
    with pytest.raises(ValueError, match="no format"):
        make_codec("country", "klingon")
