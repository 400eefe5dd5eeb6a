"""Read look-alike letters from other scripts as the Latin letters they imitate.

Phones offer Cyrillic and Greek keyboards, and copied text brings their letters along:
``ВН МК`` (Cyrillic) and ``ΒΗ ΜΚ`` (Greek) look exactly like ``BH MK``. The table is generated
from Unicode's confusables data (scripts/generate_lookalikes.py, parsers/lookalikes_data.py)
rather than written by hand, and maps letters to letters only: no character is ever read as a
digit, so a number is never made out of letters.
"""

from typing import Final

from parsers.lookalikes_data import PAIRS

_PAIRS: Final = "".join(PAIRS)
_TO_LATIN: Final = str.maketrans(dict(zip(_PAIRS[0::2], _PAIRS[1::2], strict=True)))


def to_latin(text: str) -> str:
    """Replace each non-ASCII character that looks like one Latin letter by that letter
    (upper-case: call it on upper-cased text)."""
    if text.isascii():
        return text
    return text.translate(_TO_LATIN)
