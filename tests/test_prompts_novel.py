"""Novel outfits: unique, plausible, deterministic by seed, different from the dataset's outfits."""
from __future__ import annotations

from dlcr_assets.prompts.novel import generate_novel_outfits, is_plausible, outfit_signature
from dlcr_assets.prompts.vocabulary import find_garment_mentions


def test_novel_outfits_are_unique_plausible_and_deterministic():
    outfits = generate_novel_outfits(500, seed=3)
    assert len(outfits) == 500
    assert len({outfit_signature(items) for items in outfits}) == 500
    assert all(is_plausible(items) for items in outfits)
    assert generate_novel_outfits(500, seed=3) == outfits
    assert generate_novel_outfits(500, seed=4) != outfits
    assert any(len(items) == 4 for items in outfits) and any("dress" in " ".join(items) for items in outfits)


def test_adjacent_garments_differ_in_colour_when_asked():
    for items in generate_novel_outfits(300, seed=0, distinct_adjacent_colours=True):
        colours = [find_garment_mentions(item)[0][1] for item in items]
        assert all(a != b for a, b in zip(colours, colours[1:]))


def test_dataset_outfits_are_never_proposed_again():
    first = generate_novel_outfits(50, seed=1)
    avoided = first[:10]
    again = generate_novel_outfits(50, existing=avoided, seed=1)
    taken = {outfit_signature(items) for items in avoided}
    assert not taken & {outfit_signature(items) for items in again}


def test_plausibility_rules():
    assert is_plausible(["red coat", "white t-shirt", "navy trousers", "black shoes"])
    assert is_plausible(["yellow striped dress", "white sneakers"])
    assert not is_plausible(["white t-shirt", "yellow dress", "black shoes"])  # top and dress
    assert not is_plausible(["white t-shirt", "black shoes"])  # no lower garment
    assert not is_plausible(["white t-shirt", "blue jeans"])  # no shoes
    assert not is_plausible(["yellow dress", "blue jeans", "black shoes"])  # dress and trousers
    assert outfit_signature(["navy pants", "red coat"]) == outfit_signature(["red coat", "navy trousers"])
