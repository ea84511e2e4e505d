import pytest

from leadbridge.scoring.extraction.language import detect_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Bonjour, je cherche un prêt pour une maison", "fr"),
        ("slt jveu acheté une mison, g 20k dapport", "fr"),
        ("Ciao, vorrei un mutuo per la prima casa", "it"),
        ("Hallo, ich brauche einen Kredit für eine Wohnung", "de"),
        ("Hi, I'm looking for a mortgage on a flat", "en"),
    ],
)
def test_detects_the_four_languages(text, lang):
    assert detect_language(text) == lang


def test_no_votes_means_unknown():
    assert detect_language("12345 🙂🙂") is None
