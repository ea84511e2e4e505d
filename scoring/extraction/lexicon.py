"""Lexicon: the words that name a job status, a property type, a loan purpose or an energy class.

The categorical fields are closed sets, and people name them with a few hundred words
and abbreviations across French, Italian, German and English ("CDI", "tempo
indeterminato", "unbefristet", "permanent contract"). A lexicon finds them at a glance
and in every language at once, so a French lead who writes "je suis freelance" is
still understood. Whether a hit speaks about *this* lead's project ("mon mari est au
chômage", "nicht befristet", "prima casa" meaning home, not house) is decided by the
mention model from context, not by more patterns here.

Each entry is a regular expression (matched case-insensitively on word boundaries)
and a certainty: "CDI" cannot mean anything else, "casa" often just means home.

    >>> [(c.field, c.label) for c in find_mentions("en CDI, je vise un T3, DPE C")]
    [('job_status', 'permanent'), ('property_type', 'apartment'), ('energy_class', 'C')]
"""

from __future__ import annotations

import re

from leadbridge.scoring.extraction.candidates import Candidate

__all__ = ["FIELD_LABELS", "find_mentions"]

FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "job_status": (
        "permanent",
        "fixed_term",
        "self_employed",
        "civil_servant",
        "retired",
        "unemployed",
        "student",
    ),
    "property_type": ("apartment", "house", "villa", "land", "commercial"),
    "loan_purpose": ("purchase", "refinance", "renovation", "investment"),
    "energy_class": ("A", "B", "C", "D", "E", "F", "G"),
}

_E = "[eéèê]"
_ENTRIES: dict[tuple[str, str], tuple[tuple[str, float], ...]] = {
    ("job_status", "permanent"): (
        (r"cdi", 1.0),
        (rf"contrat (?:à|a) dur{_E}e ind{_E}termin{_E}e", 1.0),
        (r"(?:contratto )?(?:a )?tempo indeterminato", 1.0),
        (r"indeterminato", 0.95),
        (r"unbefristet(?:e[mnrs]?)?", 1.0),
        (r"festanstellung|festangestellt|fest angestellt|feste stelle|festvertrag", 1.0),
        (r"permanent (?:contract|job|position|role|employee|employment)", 1.0),
        (r"permanently employed|permanent full[- ]time", 1.0),
        (r"(?:employ[eé]e?|salari[eé]e?) (?:en )?cdi", 1.0),
    ),
    ("job_status", "fixed_term"): (
        (r"cdd", 1.0),
        (rf"contrat (?:à|a) dur{_E}e d{_E}termin{_E}e", 1.0),
        (r"(?:contratto )?(?:a )?tempo determinato", 1.0),
        (r"contratto a termine|a termine", 0.95),
        (r"befristet(?:e[mnrs]?)?(?: vertrag| angestellt| stelle)?", 1.0),
        (r"zeitvertrag", 1.0),
        (r"fixed[- ]term(?: contract| job| role)?", 1.0),
        (r"temporary (?:contract|job|position)|temp contract", 1.0),
        (r"int[eé]rim(?:aire)?|interinale|leiharbeit", 0.9),
    ),
    ("job_status", "self_employed"): (
        (rf"ind{_E}pendante?|auto[- ]?entrepreneur(?:e|se)?|micro[- ]entrepreneur", 1.0),
        (r"freelance|freelancer|free[- ]lance", 1.0),
        (r"(?:à|a) mon compte|profession lib[eé]rale|chef d'entreprise|artisan", 0.95),
        (r"lib[eé]rale?|commer[cç]ante?", 0.85),
        (r"libera? professionista|partita iva|lavoratore autonomo|autonom[oa]|in proprio", 1.0),
        (r"artigian[oa]|commerciante", 0.95),
        (r"titolare (?:di|della) (?:una )?(?:ditta|azienda)|imprenditore|imprenditrice", 0.95),
        (
            r"selbst(?:st)?ändig(?:e[rn]?)?|selbst(?:st)?aendig|freiberufler(?:in)?|freiberuflich",
            1.0,
        ),
        (r"(?:einzel)?unternehmer(?:in)?|eigene firma", 0.9),
        (r"self[- ]employed|sole trader|contractor|my own business|(?:own )?my own company", 1.0),
    ),
    ("job_status", "civil_servant"): (
        (r"fonctionnaire|fonction publique", 1.0),
        (r"dipendente pubblic[oa]|statale|impiegat[oa] pubblic[oa]|pubblico impiego", 1.0),
        (r"beamter|beamtin|beamte|verbeamtet|im öffentlichen dienst|staatsangestellte?r?", 1.0),
        (r"di ruolo", 0.9),
        (r"civil servant|public sector|government employee", 1.0),
    ),
    ("job_status", "retired"): (
        (rf"retrait{_E}e?s?|(?:à|a) la retraite", 1.0),
        (r"pensionat[oa]|in pensione", 1.0),
        (r"rentner(?:in)?|pensioniert|im ruhestand|pensionär(?:in)?|frührente|vorruhestand", 1.0),
        (r"retired|pensioner|retiree", 1.0),
    ),
    ("job_status", "unemployed"): (
        (r"(?:au )?ch[oô]mage|sans emploi|demandeur d'emploi", 1.0),
        (r"disoccupat[oa]|senza lavoro|in cerca di (?:lavoro|occupazione)", 1.0),
        (r"arbeitslos|arbeitssuchend|ohne arbeit|ohne job", 1.0),
        (r"unemployed|out of work|between jobs|jobless", 1.0),
    ),
    ("job_status", "student"): (
        (rf"{_E}tudiante?|{_E}tudes", 0.95),
        (r"student(?:e|essa|in)?|studio all'universit[aà]|universitari[oa]", 0.95),
        (r"doktorand(?:in)?|phd student|still at uni(?:versity)?", 0.95),
    ),
    ("property_type", "apartment"): (
        (r"appartements?|appart|duplex|[tf][1-6]", 1.0),
        (r"studio", 0.9),
        (r"appartamento|appartamenti|bilocale|trilocale|quadrilocale|monolocale|attico", 1.0),
        (r"(?:eigentums)?wohnung|etagenwohnung|dachwohnung|maisonette|penthouse|etw", 1.0),
        (r"\d(?:[.,]5)?[- ]?(?:zimmer|zi\.?)[- ]?wohnung", 1.0),
        (r"apartment|flat|condo", 1.0),
    ),
    ("property_type", "house"): (
        (r"maisons?|pavillon|longère|corps de ferme|fermette", 1.0),
        (r"casa indipendente|casa singola|villetta(?: a schiera)?|casetta|rustico|cascina", 1.0),
        (r"casa", 0.85),
        (
            r"(?:einfamilien|reihen|doppel|bauern|eigen)?haus(?:es)?|doppelhaushälfte|efh|chalet",
            1.0,
        ),
        (r"(?:detached |semi[- ]detached |terraced |town)?house|cottage|bungalow", 1.0),
    ),
    ("property_type", "villa"): ((r"villa|villas|villetta unifamiliare", 1.0),),
    ("property_type", "land"): (
        (r"terrain(?: constructible| à bâtir)?|parcelle", 1.0),
        (r"terreno(?: edificabile)?|lotto edificabile", 1.0),
        (r"grundstück|bauland|baugrundstück|grundstueck", 1.0),
        (r"(?:building )?plot(?: of land)?|land", 0.95),
    ),
    ("property_type", "commercial"): (
        (r"local commercial|locaux commerciaux|murs commerciaux|bureaux?|boutique", 1.0),
        (r"locale commerciale|negozio|ufficio|capannone|immobile commerciale", 1.0),
        (r"gewerbe(?:immobilie|fläche|objekt)?|büro(?:fläche|räume)?|ladenlokal|laden", 1.0),
        (r"commercial (?:property|premises|unit)|office (?:space|building)|shop|retail unit", 1.0),
    ),
    ("loan_purpose", "refinance"): (
        (
            r"ren[ée]goci(?:er|ation)|rachat (?:de|du) cr[ée]dit|racheter mon pr[eê]t|refinanc\w*",
            1.0,
        ),
        (r"renegociar|surroga(?:re|zione)?|rinegozia(?:re|zione)|rifinanzia\w*|sostituzione", 1.0),
        (r"umschuld\w*|anschlussfinanzierung|refinanzier\w*|ablösung|hypothek verlängern", 1.0),
        (r"remortgag\w*|refinanc\w*|switch (?:my )?(?:mortgage|lender)", 1.0),
    ),
    ("loan_purpose", "renovation"): (
        (r"travaux|r[ée]nov(?:er|ation)|r[ée]habilit\w*|agrandissement|refaire", 1.0),
        (r"ristruttura\w*|lavori|rinnova\w*|ammodernamento|rifare", 1.0),
        (r"renovier\w*|sanier\w*|modernisier\w*|umbau(?:en)?|anbau", 1.0),
        (r"renovat\w*|refurbish\w*|extension|home improvements?|loft conversion", 1.0),
    ),
    ("loan_purpose", "investment"): (
        (r"investissement(?: locatif)?|investir|mettre en location|louer|locatif|rendement", 1.0),
        (r"investimento|investire|mettere a reddito|affittare|da mettere in affitto", 1.0),
        (r"kapitalanlage|anlageobjekt|renditeobjekt|vermieten|vermietung|investition", 1.0),
        (r"buy[- ]to[- ]let|btl|investment(?: property)?|rent (?:it )?out", 1.0),
        (r"rental (?:property|income)", 1.0),
    ),
    ("loan_purpose", "purchase"): (
        (r"acheter|achat|acqu[ée]rir|acquisition|primo[- ]acc[ée]dant", 1.0),
        (r"comprare|acquist(?:o|are)|comprando|compravendita|prima casa", 1.0),
        (r"kaufen|kauf|erwerben|erwerb|kaufpreis", 1.0),
        (r"buy(?:ing)?|purchas(?:e|ing)|first[- ]time buyer", 1.0),
    ),
}
_ENERGY_RE = re.compile(
    r"\b(?:dpe|classe(?:\s+(?:[ée]nerg[ée]tique|energetica|[ée]nergie))?|class[ée]e?|"
    r"energie(?:effizienz)?klasse|effizienzklasse|energieklasse|energy\s+(?:class|rating)|"
    r"epc(?:\s+rating)?|ape|cee)\s*(?::|=|en|in|di)?\s*(?P<cls>[a-g])(?:[+1-4]*)(?![\w])",
    re.IGNORECASE,
)


def _compile() -> tuple[re.Pattern[str], list[tuple[str, str, float]]]:
    parts: list[str] = []
    meta: list[tuple[str, str, float]] = []
    for (field, label), entries in _ENTRIES.items():
        for pattern, certainty in entries:
            parts.append(f"(?P<g{len(meta)}>{pattern})")
            meta.append((field, label, certainty))
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE), meta


_MENTION_RE, _META = _compile()


def find_mentions(text: str) -> list[Candidate]:
    """Every lexicon hit in `text` (all four languages), with its proposed field value."""
    out: list[Candidate] = []
    for m in _MENTION_RE.finditer(text):
        name = m.lastgroup
        if name is None:
            continue
        field, label, certainty = _META[int(name[1:])]
        out.append(
            Candidate(
                kind="mention",
                start=m.start(),
                end=m.end(),
                text=m.group(),
                field=field,
                label=label,
                certainty=certainty,
                shape=m.group().lower(),
            )
        )
    for m in _ENERGY_RE.finditer(text):
        out.append(
            Candidate(
                kind="mention",
                start=m.start(),
                end=m.end(),
                text=m.group(),
                field="energy_class",
                label=m.group("cls").upper(),
                certainty=0.95 if m.group().lower().startswith("class") else 1.0,
                shape="energy",
            )
        )
    out.sort(key=lambda c: c.start)
    return out
