"""Language: tell French, Italian, German and English apart without any download.

Lead messages are short and informal, so general-purpose detectors (which need models
or n-gram profiles) are overkill and often wrong on ten words of WhatsApp. Function
words and the domain's own vocabulary ("prêt", "mutuo", "Kredit", "mortgage") separate
the four languages reliably: each hit votes for its language, characters only one
language uses (ß, ç, ä) add a vote, and no vote at all means "unknown".

    >>> detect_language("Ciao, vorrei un mutuo per la prima casa")
    'it'
"""

from __future__ import annotations

import re

__all__ = ["LANGUAGES", "detect_language"]

LANGUAGES: tuple[str, ...] = ("fr", "it", "de", "en")


def _vocabulary(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORDS: dict[str, frozenset[str]] = {
    "fr": _vocabulary(
        "le la les un une des du de et est je j suis nous vous pour avec sur dans pas mon "
        "ma mes notre votre qui que ce cette ai avons bonjour merci prêt pret apport "
        "maison appartement achat acheter emprunter besoin mois ans salaire mensualité "
        "bien travaux cdi cdd retraité je voudrais svp stp cordialement aussi mais ou "
        "chez d'ici environ euros banque taux crédit credit être avoir très"
    ),
    "it": _vocabulary(
        "il lo la le gli un una di del della e è sono per con su non mio mia ho abbiamo "
        "buongiorno ciao grazie salve mutuo anticipo casa appartamento acquisto comprare "
        "mesi anni stipendio rata immobile lavoro indeterminato determinato pensione "
        "vorrei vorremmo entro circa euro banca tasso anche ma che sto siamo sarebbe "
        "prima nel nella al alla da dei più"
    ),
    "de": _vocabulary(
        "der die das ein eine einen und ist ich bin wir sie für mit auf im in nicht mein "
        "meine haben habe hallo guten tag danke grüße gruss kredit hypothek darlehen "
        "eigenkapital haus wohnung kauf kaufen monate jahre gehalt rate immobilie "
        "festanstellung befristet rente möchte möchten bis etwa euro franken bank zins "
        "auch aber oder noch schon sehr wäre würde vom zum zur"
    ),
    "en": _vocabulary(
        "the a an of and is i i'm am we you for with on in not my our have has hello hi "
        "thanks thank mortgage loan deposit house flat apartment buy buying purchase "
        "months years salary payment property job permanent contract retired would like "
        "by within about pounds bank rate also but or are was looking need to it"
    ),
}
_CHAR_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[ßäöü]"), "de"),
    (re.compile(r"[çêéœ]"), "fr"),
    (re.compile(r"\b\w+[àèìòù]\b"), "it"),
)
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def detect_language(text: str, *, sample: int = 4000) -> str | None:
    """The most likely of fr/it/de/en for `text`, or None when nothing votes.

    Only the first `sample` characters are read: a 1 MB message is judged by its start.
    """
    head = text[:sample].lower()
    votes = dict.fromkeys(LANGUAGES, 0.0)
    for token in _TOKEN.findall(head):
        for lang in LANGUAGES:
            if token in _WORDS[lang]:
                votes[lang] += 1.0
        if "'" in token:
            prefix = token.split("'", 1)[0]
            if prefix in ("j", "l", "d", "qu", "n", "c", "m", "s"):
                votes["fr"] += 0.5
            elif prefix in ("un", "dell", "all", "nell", "sull", "po"):
                votes["it"] += 0.5
    for pattern, lang in _CHAR_HINTS:
        if pattern.search(head):
            votes[lang] += 1.5
    best = max(LANGUAGES, key=lambda lang: votes[lang])
    return best if votes[best] > 0 else None
