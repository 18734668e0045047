"""Human-parsing label sets (LIP, ATR) and which labels count as clothes (SPEC §1.3).

Clothes = every label except background, hat, hair, face, arms and legs. The rule is applied to
both schemes by label *name*, so any checkpoint whose ``id2label`` uses LIP- or ATR-style names
works. Decisions for labels the SPEC rule leaves to us, all kept inside the mask:
- sunglasses: kept, exactly as the LIP rule (all but {0,1,2,13..17}) keeps LIP's Sunglasses (4);
- belt (ATR 8): a garment;
- bag (ATR 16): not a garment, but a strong appearance cue that a clothes-invariant model should
  also learn to ignore, and the SPEC rule keeps every label it does not list.
"""
from __future__ import annotations

import re

import numpy as np

LIP_LABELS: dict[int, str] = {
    0: "Background", 1: "Hat", 2: "Hair", 3: "Glove", 4: "Sunglasses", 5: "Upper-clothes",
    6: "Dress", 7: "Coat", 8: "Socks", 9: "Pants", 10: "Jumpsuits", 11: "Scarf", 12: "Skirt",
    13: "Face", 14: "Left-arm", 15: "Right-arm", 16: "Left-leg", 17: "Right-leg",
    18: "Left-shoe", 19: "Right-shoe",
}
ATR_LABELS: dict[int, str] = {
    0: "Background", 1: "Hat", 2: "Hair", 3: "Sunglasses", 4: "Upper-clothes", 5: "Skirt",
    6: "Pants", 7: "Dress", 8: "Belt", 9: "Left-shoe", 10: "Right-shoe", 11: "Face",
    12: "Left-leg", 13: "Right-leg", 14: "Left-arm", 15: "Right-arm", 16: "Bag", 17: "Scarf",
}

# Normalised names (lower case, no spaces/dashes/underscores) that are NOT clothes.
NOT_CLOTHES = {
    "background", "bg", "hat", "hair", "face", "head", "skin", "neck",
    "leftarm", "rightarm", "arm", "arms", "leftleg", "rightleg", "leg", "legs",
}

# Normalised name -> LIP id, so label maps from any scheme are stored in LIP ids (what the recolor
# backend and the CPU describer read). Names without a LIP counterpart map to 0 (belt, bag): they
# stay inside the mask but no garment colour is painted on them.
NAME_TO_LIP: dict[str, int] = {re.sub(r"[\s_\-]", "", name.lower()): lip for lip, name in LIP_LABELS.items()}
NAME_TO_LIP.update({
    "upperclothes": 5, "upper": 5, "top": 5, "jumpsuit": 10, "gloves": 3, "sock": 8,
    "trousers": 9, "pant": 9, "leftshoe": 18, "rightshoe": 19, "shoes": 18, "shoe": 18,
    "belt": 0, "bag": 0,
})


def normalise_label(name: str) -> str:
    return re.sub(r"[\s_\-]", "", str(name).lower())


def clothes_labels_from_id2label(id2label: dict) -> set[int]:
    """Ids of a model's labels that are clothes, from LIP- or ATR-style names (case/spacing-insensitive)."""
    return {int(i) for i, name in id2label.items() if normalise_label(name) not in NOT_CLOTHES}


def lip_lookup_from_id2label(id2label: dict) -> np.ndarray:
    """A lookup table turning a model's label ids into LIP ids (unknown names -> 0)."""
    size = max(int(i) for i in id2label) + 1
    table = np.zeros(max(size, 256), dtype=np.uint8)
    for i, name in id2label.items():
        table[int(i)] = NAME_TO_LIP.get(normalise_label(name), 0)
    return table


LIP_CLOTHES: frozenset[int] = frozenset(clothes_labels_from_id2label(LIP_LABELS))
ATR_CLOTHES: frozenset[int] = frozenset(clothes_labels_from_id2label(ATR_LABELS))
SCHEMES: dict[str, dict[int, str]] = {"lip": LIP_LABELS, "atr": ATR_LABELS}

assert LIP_CLOTHES == set(range(20)) - {0, 1, 2, 13, 14, 15, 16, 17}
