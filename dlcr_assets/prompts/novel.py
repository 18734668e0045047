"""Novel outfits beyond the original DLCR pool: new plausible clothing combinations, de-duplicated.

The original pool holds one prompt per training outfit, so a dataset with few outfits cannot reach
the 10x clothing diversity the paper claims. A combinatorial generator over the shared vocabulary
(garments, colours, patterns) draws outfits with a fixed structure, so each is wearable:
exactly one of {upper garment (optionally under a coat), dress}, one lower garment unless a dress,
and shoes. Draws are deterministic for a seed and unique against each other and the dataset.
"""
from __future__ import annotations

import random
from collections.abc import Iterable

from dlcr_assets.errors import StepInputError
from dlcr_assets.prompts.vocabulary import GARMENT_SYNONYMS, find_garment_mentions, format_item
from dlcr_assets.garments import COLOURS, GARMENT_REGIONS, PATTERNS

_UPPERS = sorted(g for g, region in GARMENT_REGIONS.items() if region == "upper")
_COATS = sorted(g for g, region in GARMENT_REGIONS.items() if region == "coat")
_DRESSES = sorted(g for g, region in GARMENT_REGIONS.items() if region == "dress")
# "pants" is left out: it is "trousers" again in other words and would only make near-duplicates.
_LOWERS = sorted(g for g, region in GARMENT_REGIONS.items() if region in {"lower", "skirt"} and g != "pants")
_SHOES = sorted(g for g, region in GARMENT_REGIONS.items() if region == "shoes")
_COLOURS = sorted(COLOURS)
_PATTERNED = sorted(p for p in PATTERNS if p != "plain")
_PATTERNABLE_REGIONS = {"upper", "dress", "skirt"}  # stripes on shoes or jeans read as noise

DRESS_PROBABILITY = 0.2
COAT_PROBABILITY = 0.4

# Synonyms that must not count as a new outfit ("navy pants" is "navy trousers").
_SAME_GARMENT = {**GARMENT_SYNONYMS, "pants": "trousers"}


def outfit_signature(items: Iterable[str]) -> tuple[str, ...]:
    """Order- and synonym-free key of an outfit, for de-duplication."""
    canonical = []
    for item in items:
        words = " ".join(item.lower().split())
        for synonym, garment in _SAME_GARMENT.items():
            if words == synonym or words.endswith(" " + synonym):
                words = words[: len(words) - len(synonym)] + garment
                break
        canonical.append(words)
    return tuple(sorted(set(canonical)))


def is_plausible(items: list[str]) -> bool:
    """True when the items form one wearable outfit by the generator's structure."""
    regions = []
    for item in items:
        mentions = find_garment_mentions(item)
        if len(mentions) != 1:
            return False
        regions.append(GARMENT_REGIONS[mentions[0][0]])
    uppers, coats, dresses = regions.count("upper"), regions.count("coat"), regions.count("dress")
    lowers = regions.count("lower") + regions.count("skirt")
    if uppers + dresses != 1 or coats > 1 or regions.count("shoes") != 1:
        return False
    return lowers == (0 if dresses else 1) and len(regions) == uppers + coats + dresses + lowers + 1


def _draw(rng: random.Random, distinct_adjacent_colours: bool, pattern_probability: float) -> list[str]:
    """One outfit, top to bottom: [coat], upper or dress, [lower], shoes."""
    layers: list[tuple[str, str]] = []  # (garment, region)
    if rng.random() < DRESS_PROBABILITY:
        if rng.random() < COAT_PROBABILITY:
            layers.append((rng.choice(_COATS), "coat"))
        layers.append((rng.choice(_DRESSES), "dress"))
    else:
        if rng.random() < COAT_PROBABILITY:
            layers.append((rng.choice(_COATS), "coat"))
        layers.append((rng.choice(_UPPERS), "upper"))
        lower = rng.choice(_LOWERS)
        layers.append((lower, GARMENT_REGIONS[lower]))
    layers.append((rng.choice(_SHOES), "shoes"))
    items = []
    previous_colour = None
    for garment, region in layers:
        choices = [c for c in _COLOURS if c != previous_colour] if distinct_adjacent_colours else _COLOURS
        colour = rng.choice(choices)
        pattern = None
        if region in _PATTERNABLE_REGIONS and rng.random() < pattern_probability:
            pattern = rng.choice(_PATTERNED)
        items.append(format_item(garment, colour, pattern))
        previous_colour = colour
    return items


def generate_novel_outfits(
    count: int,
    existing: Iterable[Iterable[str]] = (),
    seed: int = 0,
    distinct_adjacent_colours: bool = True,
    pattern_probability: float = 0.25,
) -> list[list[str]]:
    """``count`` plausible outfits (lists of items), unique and different from every ``existing`` outfit."""
    rng = random.Random(seed)
    seen = {outfit_signature(items) for items in existing}
    outfits: list[list[str]] = []
    max_draws = 50 * count + 1000
    for _ in range(max_draws):
        if len(outfits) == count:
            break
        items = _draw(rng, distinct_adjacent_colours, pattern_probability)
        signature = outfit_signature(items)
        if signature not in seen:
            seen.add(signature)
            outfits.append(items)
    if len(outfits) < count:
        raise StepInputError(
            f"prompts: only {len(outfits)} of {count} novel outfits are distinct from each other and "
            "the dataset; lower prompts.novel_factor / prompts.novel_outfits"
        )
    return outfits
