import pytest

from leadbridge.scoring.extraction.amounts import find_amounts, parse_number


@pytest.mark.parametrize(
    ("text", "lang", "value", "currency"),
    [
        ("prêt de 250 000 €", "fr", 250000, "EUR"),
        ("prêt de 250\u202f000 euros", "fr", 250000, "EUR"),
        ("mutuo di 250.000 euro", "it", 250000, "EUR"),
        ("Hypothek 850'000 CHF", "de", 850000, "CHF"),
        ("CHF 850'000.-", "de", 850000, "CHF"),
        ("a loan of 250,000", "en", 250000, None),
        ("Kredit 1,2 Mio. CHF", "de", 1200000, "CHF"),
        ("a villa for 1.05m", "en", 1050000, None),
        ("apport 200k", "fr", 200000, None),
        ("appart à 340k€", "fr", 340000, "EUR"),
        ("a flat for £340k", "en", 340000, "GBP"),
        ("250.000,- EUR", "de", 250000, "EUR"),
        ("150 mila euro", "it", 150000, "EUR"),
        ("deux cent cinquante mille euros", "fr", 250000, "EUR"),
        ("un mutuo di duecentomila euro", "it", 200000, "EUR"),
        ("two hundred and ten thousand pounds", "en", 210000, "GBP"),
        ("zwei Millionen Franken", "de", 2000000, "CHF"),
        ("$450,000.50 please", "en", 450000.5, "USD"),
    ],
)
def test_amount_formats_are_normalised(text, lang, value, currency):
    found = [c for c in find_amounts(text, lang) if c.kind == "amount"]
    assert [(c.value, c.currency) for c in found] == [(value, currency)]
    assert text[found[0].start : found[0].end] == found[0].text


@pytest.mark.parametrize(
    ("raw", "mult", "expected"),
    [
        ("250 000", False, 250000.0),
        ("250.000", False, 250000.0),
        ("250,000", False, 250000.0),
        ("1'250'000.50", False, 1250000.5),
        ("1.250.000,50", False, 1250000.5),
        ("1,2", False, 1.2),
        ("1.050", True, 1.05),
        ("abc", False, None),
    ],
)
def test_parse_number_separator_rule(raw, mult, expected):
    assert parse_number(raw, has_multiplier=mult) == expected


@pytest.mark.parametrize(
    "text",
    [
        "rappelez-moi au 06 12 34 56 78",
        "call me on 07700 900123",
        "rendez-vous le 12.03.2026",
        "j'ai 35 ans et 2 enfants",
        "in 2026 we move",
        "3 Zimmer, 85 m²",
        "Grazie mille",
    ],
)
def test_non_money_numbers_are_not_amounts(text):
    assert [c for c in find_amounts(text, "fr") if c.kind == "amount"] == []


def test_percentages_are_separate_candidates():
    found = find_amounts("apport de 20 % et vingt pour cent, taux 3,5%", "fr")
    assert [(c.kind, c.value) for c in found] == [
        ("percent", 20.0),
        ("percent", 20.0),
        ("percent", 3.5),
    ]


def test_several_amounts_keep_their_order_and_spans():
    text = "maison 320.000 €, apport 64k, salaire 3 200 € par mois"
    found = find_amounts(text, "fr")
    assert [c.value for c in found] == [320000, 64000, 3200]
    assert [text[c.start : c.end] for c in found] == ["320.000 €", "64k", "3 200 €"]
