"""Look-alike letters: generated from Unicode's confusables data, letters only, in step."""

import importlib.util

import pytest

from parsers.lookalikes import _TO_LATIN, to_latin
from parsers.lookalikes_data import PAIRS


def test_cyrillic_and_greek_look_alikes_read_as_latin() -> None:
    assert to_latin("ВН МК") == "BH MK"  # Cyrillic Ve, En, Em, Ka
    assert to_latin("ΒΗ ΜΚ") == "BH MK"  # Greek Beta, Eta, Mu, Kappa


def test_nothing_becomes_a_digit_and_ascii_is_left_alone() -> None:
    table = {chr(key): value for key, value in _TO_LATIN.items()}

    assert all(len(v) == 1 and v.isascii() and v.isalpha() and v.isupper() for v in table.values())
    assert not any(key.isascii() for key in table)
    assert to_latin("О З 0 3 O") == "O З 0 3 O"  # Cyrillic O is the letter O; Ze stays itself


@pytest.mark.skipif(
    importlib.util.find_spec("confusable_homoglyphs") is None,
    reason="confusable-homoglyphs (dev dependency) not installed",
)
def test_the_generated_table_matches_the_confusables_package() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
    try:
        from generate_lookalikes import latin_lookalikes
    finally:
        sys.path.pop(0)
    pairs = "".join(PAIRS)

    assert dict(zip(pairs[0::2], pairs[1::2], strict=True)) == latin_lookalikes()
