"""CPU prompt writer: finds "<colour> [<pattern>] <garment>" items in description text with the shared vocabulary.

It stands in for the LLM of the original pipeline (and catches the LLM's unusable replies): the
answers of one outfit mention the same garments several times, possibly in different words and
shades, so each garment keeps its most frequent colour and pattern.
"""
from __future__ import annotations

import re
from collections import Counter

from dlcr_assets.garments import COLOURS, GARMENT_REGIONS, PATTERNS

# Words VLMs use for the vocabulary's colours.
COLOUR_SYNONYMS: dict[str, str] = {
    "gray": "grey",
    "light gray": "light grey",
    "dark gray": "dark grey",
    "dark blue": "navy",
    "navy blue": "navy",
    "sky blue": "light blue",
    "tan": "beige",
    "burgundy": "maroon",
    "violet": "purple",
    "off-white": "cream",
    "dark brown": "brown",
    "light brown": "beige",
}

PATTERN_SYNONYMS: dict[str, str] = {
    "stripy": "striped",
    "stripe": "striped",
    "pinstriped": "striped",
    "plaid": "checked",
    "checkered": "checked",
    "chequered": "checked",
    "polka-dot": "dotted",
    "polka": "dotted",
    "spotted": "dotted",
}

# Spellings and numbers of the vocabulary's garments. Words that are plural by nature
# (trousers, shoes) keep the plural; the others are named in the singular.
GARMENT_SYNONYMS: dict[str, str] = {
    "tshirt": "t-shirt",
    "t shirt": "t-shirt",
    "tee": "t-shirt",
    "tee-shirt": "t-shirt",
    "trouser": "trousers",
    "sneaker": "sneakers",
    "trainers": "sneakers",
    "boot": "boots",
    "shoe": "shoes",
    "sock": "socks",
    "glove": "gloves",
    "jean": "jeans",
}

# Tokens that end the phrase describing a garment: a colour before them belongs to something else.
_PHRASE_BREAKS = {",", ".", ";", ":", "!", "?", "\n", "and", "or", "over", "under", "with", "while", "but", "is", "are"}
_TOKEN_RE = re.compile(r"[a-z]+(?:-[a-z]+)*|[,.;:!?\n]")
_LOOKBACK = 5
_REGION_ORDER = ["coat", "upper", "dress", "jumpsuit", "scarf", "lower", "skirt", "gloves", "socks", "shoes"]  # tokens searched before a garment for its colour and pattern


def _phrase_table() -> dict[tuple[str, ...], tuple[str, str]]:
    """Token tuple -> (kind, canonical word) for colours, patterns and garments, singular and plural."""
    table: dict[tuple[str, ...], tuple[str, str]] = {}

    def add(phrase: str, kind: str, canonical: str) -> None:
        table[tuple(phrase.split(" "))] = (kind, canonical)

    for name in COLOURS:
        add(name, "colour", name)
    for word, name in COLOUR_SYNONYMS.items():
        add(word, "colour", name)
    for name in PATTERNS:
        add(name, "pattern", name)
    for word, name in PATTERN_SYNONYMS.items():
        add(word, "pattern", name)
    for garment in GARMENT_REGIONS:
        add(garment, "garment", garment)
        if not garment.endswith("s"):
            add(garment + ("es" if garment.endswith(("ch", "sh", "ss")) else "s"), "garment", garment)
    for word, garment in GARMENT_SYNONYMS.items():
        add(word, "garment", garment)
    add("dresses", "garment", "dress")
    add("t shirts", "garment", "t-shirt")
    return table


_PHRASES = _phrase_table()
_MAX_PHRASE = max(len(key) for key in _PHRASES)


def _tag(tokens: list[str]) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, canonical) of vocabulary phrases in ``tokens``, longest match first."""
    tags = []
    position = 0
    while position < len(tokens):
        for length in range(min(_MAX_PHRASE, len(tokens) - position), 0, -1):
            hit = _PHRASES.get(tuple(tokens[position : position + length]))
            if hit:
                tags.append((position, position + length, *hit))
                position += length
                break
        else:
            position += 1
    return tags


def find_garment_mentions(text: str) -> list[tuple[str, str | None, str | None]]:
    """Every garment mentioned in ``text`` as (garment, colour or None, pattern or None), in order."""
    tokens = _TOKEN_RE.findall(text.lower())
    mentions = []
    tags = _tag(tokens)
    for index, (start, _end, kind, garment) in enumerate(tags):
        if kind != "garment":
            continue
        colour = pattern = None
        # Walk back over the phrase before the garment; stop at a break or a previous garment.
        floor = max(0, start - _LOOKBACK)
        previous_garment_end = max((e for s, e, k, _ in tags[:index] if k == "garment"), default=0)
        floor = max(floor, previous_garment_end)
        breaks = [i for i in range(floor, start) if tokens[i] in _PHRASE_BREAKS]
        if breaks:
            floor = breaks[-1] + 1
        for s, e, k, word in reversed(tags[:index]):
            if s < floor:
                break
            if k == "colour" and colour is None:
                colour = word
            elif k == "pattern" and pattern is None:
                pattern = word
        mentions.append((garment, colour, pattern))
    return mentions


def format_item(garment: str, colour: str | None = None, pattern: str | None = None) -> str:
    """ "<colour> [<pattern>] <garment>"; "plain" is left out because it adds nothing to a prompt."""
    words = [colour, pattern if pattern and pattern != "plain" else None, garment]
    return " ".join(word for word in words if word)


def extract_items(text: str) -> list[str]:
    """The outfit's items found in ``text``: one per garment, with its most frequent colour and pattern."""
    by_garment: dict[str, list[tuple[str | None, str | None]]] = {}
    for garment, colour, pattern in find_garment_mentions(text):
        by_garment.setdefault(garment, []).append((colour, pattern))
    items = []
    # Outer layer first, then top to bottom, whatever order the answers mentioned them in.
    ordered = sorted(by_garment, key=lambda garment: _REGION_ORDER.index(GARMENT_REGIONS[garment]))
    for garment in ordered:
        described = by_garment[garment]
        coloured = [pair for pair in described if pair[0] is not None] or described
        # Counter.most_common keeps first-seen order among ties, so the first mention wins a tie.
        colour, pattern = Counter(coloured).most_common(1)[0][0]
        items.append(format_item(garment, colour, pattern))
    return [item for item in items if len(item) > 2]
