"""Company names → the short forms headlines use ("Apple Inc." → "Apple", "AMAZON COM INC" → "Amazon").

Also the tokeniser shared by alias indexing and text matching, so both sides split words alike.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

# Legal and instrument suffixes a headline leaves out. Stripped repeatedly from the end.
_SUFFIXES = {
    "inc", "incorporated", "corp", "corporation", "co", "company", "companies", "cos", "ltd", "limited",
    "plc", "llc", "lp", "l.p", "n.v", "nv", "s.a", "sa", "ag", "se", "holdings", "holding", "group",
    "trust", "the", "class", "a", "b", "c", "com", "de", "new", "ordinary", "shares", "adr", "ads",
    "tbk", "spa", "s.p.a", "oyj", "asa", "bhd", "intl", "international", "&", "reit",
}
# Words that head many company names or are ordinary English: never a one-word alias on their own
# ("Target" is mostly "price target" in Benzinga's Title Case headlines, "Delta" a virus variant).
COMMON_WORDS = frozenset("""
a about above across advance advanced after again against air all alliance alpha also american americas
an and any apex applied arch are as at atlantic automatic axis back ball bank be beacon best beta
big bio black block blue booking both bridge bright but by can capital carrier cat central century
charter choice citizens clear cloud coastal community compass core crown cross data day delta
digital direct discovery dollar dominion dover down dynamic eagle east eastern edge edison electric
element energy enterprise equity essential evolution every express federal fifth first five for
forward founders fox freedom from frontier fusion gap general genesis global gold golden good great
green growth guaranty harbor has health heritage high home horizon how i if in independence innovative
insight integrated international into is it its key keystone liberty life light live main match
may medical merchants meta mid monster more most national natural navigator new news next no north
northern not now ocean of old omega on one open or orion other our out over pacific park parker
partners peak peoples pioneer pool power precision premier price prime principal progressive public
quest range real red regions reliance republic resources river rock ross safe sciences score
security select service simple sky smart snap so solar south southern southwest spirit square
standard star state sterling strategic summit sun superior target technologies technology that the
their this three to total trade travelers true trust two under union united universal up us value
vanguard velocity via victory visa vision vital wave way we west western what when white who why
will with world yes you your zoom
able access acuity agree america ally amber apple arrow art atlas aurora avalon axon
beyond bright build business call capital card care casey cavco check city civic clarity clean
coherent commercial compass concord consensus continental cross crown daily deutsche discover
domino driven dutch elevate elite encore endeavor entergy envision equinox evergreen exact
express fair fidelity first flex focus forge fortune frontier genuine glacier graham group guard
hanover harmony hertz host hub impact inspire insulet intercontinental jack jones keen kinder
lazard legend lincoln lithia local logic loop lumen magnolia marathon marine maxim mercury merit
midland mission modern monarch motorola mueller nathan nexus noble nova nuvectra oak option orange
oxford paid patriot paycom penn photon pilgrim pinnacle planet plexus portland premium prospect
provident pulse quantum radius rapid regal relay resolute revolution royal sage saga schwab scholar
sentinel shell shift signal silver sleep sonic sovereign spark sprout stable staple stellar steward
strong sunrise supply sure symbol tandem telecom tesla textron tidal titan track trident trinity
triple trump ultimate unit unity universal urban valley vector venture verde vertex vertical viking
alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii idaho
illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota
mississippi missouri montana nebraska nevada ohio oklahoma oregon pennsylvania tennessee texas utah
vermont virginia washington wisconsin wyoming canada china japan india germany france britain europe
asia africa mexico brazil israel korea boston chicago dallas houston denver phoenix atlanta miami
waters bill cooper imperial joint martin analog equitable
village virtue vista voyager walker warrior watts wealth western willow wolf york zenith
""".split()) - {"meta", "zoom", "visa"}  # distinctive enough in financial text to stay aliases
# Industry words: a name made only of these and COMMON_WORDS ("Financial Institutions Inc") reads
# as a phrase, not a company, unless the company is a well-known one.
GENERIC_WORDS = frozenset("""
acquisition acquisitions aerospace agricultural airlines apparel auto automotive bancorp bancshares
beverage beverages biopharma computing biosciences biotech biotherapeutics brands care chemical chemicals
clean communications consulting credit cyber defense dental devices diagnostics education
entertainment environmental exchange fashion finance financial foods freight fund gaming gas
genetics genomics healthcare homes hotels housing income industrial industries institutions
instruments insurance interactive internet investment investments investors labs laboratories land
learning lending lines logistics marine markets materials media medicine metals minerals mining
mortgage motors networks oil online outdoor payments petroleum pharma pharmaceuticals products
properties rail realty renewable resorts restaurants retail robotics savings securities
semiconductor semiconductors services shipping software solutions sports staffing steel stores
systems telecom therapeutics tobacco transport trucking utilities ventures waste water wireless
""".split())
WEAK_WORDS = COMMON_WORDS | GENERIC_WORDS


# Exchange and index names: in news they mean the market, not the listed operator ("Nasdaq-100").
NOT_ALIASES = frozenset({"nasdaq", "nyse", "cboe", "dow", "s&p", "russell", "msci", "ftse", "nikkei", "stoxx"})


@cache
def derived_common_words() -> frozenset[str]:
    """Words financial headlines write in lower case (data/common_words.txt, see wordlist.py)."""
    path = Path(__file__).parent / "data" / "common_words.txt"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def is_ordinary(key: str) -> bool:
    """A word that cannot stand alone as a company name."""
    return key in WEAK_WORDS or key in derived_common_words() or key.isdigit() or len(key) < 3


def is_weak(keys: tuple[str, ...]) -> bool:
    """True when an alias reads as an ordinary phrase: it needs a curated source to be trusted. A
    single word is judged by the derived list too; a phrase only by the hand lists, since names like
    "Advance Auto Parts" are made of ordinary words yet are not ordinary phrases."""
    if len(keys) == 1:
        return is_ordinary(keys[0])
    return all(k in WEAK_WORDS or k.isdigit() or len(k) < 3 for k in keys)

_TOKEN = re.compile(r"[^\W_](?:[\w&'’.\-]*[^\W_])?|&")
_CLASS = re.compile(r"\b(class|series)\s+[a-z]\b.*$", re.IGNORECASE)
_STATE = re.compile(r"/[A-Za-z]{2,3}/?\s*$")


def fold(text: str) -> str:
    """Unicode and punctuation folding used before matching: NFKC, curly quotes and dashes to ASCII,
    accents dropped ("Estée" → "Estee")."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    text = text.replace("–", "-").replace("—", "-")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def match_key(token: str, possessive: bool = False) -> str:
    """How one token is compared: case-folded, dots dropped, and unless `possessive` the possessive
    dropped too ("Apple's" → "apple"; alias "Lowe's" keeps it, so "Aaron" is not "Aaron's")."""
    token = token.lower().replace(".", "")
    if possessive:
        return token
    if token.endswith("'s"):
        return token[:-2]
    if token.endswith("s'"):
        return token[:-1]
    return token


def tokens(text: str) -> list[tuple[str, int, int]]:
    """(token, start, end) over `text`; offsets index the string given."""
    return [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def alias_keys(alias: str) -> tuple[str, ...]:
    return tuple(match_key(t, possessive=True) for t, _, _ in tokens(fold(alias)))


def name_forms(name: str) -> list[str]:
    """The legal name and its shorter forms, longest first ("Meta Platforms, Inc." → ["Meta Platforms,
    Inc.", "Meta Platforms"]). Forms are strings; matching compares their token keys."""
    name = fold(name).strip()
    name = _STATE.sub("", name)
    if name.endswith("(The)"):
        name = name[: -len("(The)")].strip()
    forms = [name]
    base = _CLASS.sub("", name).strip()
    words = [t for t, _, _ in tokens(base)]
    if words and match_key(words[0]) == "the":
        words = words[1:]
    while words and match_key(words[-1]) in _SUFFIXES:
        words = words[:-1]
        if words:
            forms.append(" ".join(words))
    return list(dict.fromkeys(f for f in forms if f))


def short_form(name: str) -> str | None:
    """The first distinctive word of a name ("Advance Auto Parts" → None, "Agilent Technologies" →
    "Agilent"), or None when that word is common or too short to stand alone."""
    forms = name_forms(name)
    words = [t for t, _, _ in tokens(forms[-1])]
    if not words:
        return None
    first = words[0]
    key = match_key(first)
    if len(key) < 4 or is_ordinary(key) or key in _SUFFIXES:
        return None
    return first


def display_name(name: str) -> str:
    """SEC names are often upper case ("NVIDIA CORP"); show them in title case."""
    return name.title() if name.isupper() else name
