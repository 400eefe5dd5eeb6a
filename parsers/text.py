"""Fold what people type on phones into plain text, and strip Vietnamese accents from replies."""

import re
import unicodedata
from typing import Final

# Characters that render as nothing (or as blank) but break naive matching. Phones and
# copy-paste from web pages insert them: zero-width space/joiners, bidi marks, word joiner and
# invisible operators, soft hyphen, byte-order mark, Hangul fillers, variation selectors, tags,
# and the blank Braille pattern some keyboards offer as a "space".
_INVISIBLE: Final = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)

# Unicode decomposition leaves đ/Đ alone (they are letters of their own, not d + a mark), so
# they must be mapped explicitly. ð/Ð are what đ/Đ become when Windows-1258 text is decoded as
# Latin-1, which still happens with old exports.
_D_WITH_STROKE: Final = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})

# Non-spacing and enclosing marks: Vietnamese tones and vowel marks after NFD (U+0300 grave,
# U+0301 acute, U+0303 tilde, U+0309 hook above, U+0323 dot below, U+0302, U+0306, U+031B).
_MARK_CATEGORIES: Final = frozenset({"Mn", "Me"})


def fold(text: str) -> str:
    """Fold user-typed text to plain letters and digits without accents or invisible characters."""
    if text.isascii():
        return text
    # NFKC first: full-width letters, digits and spaces from Asian keyboards become ASCII.
    compatible = unicodedata.normalize("NFKC", text)
    visible = _INVISIBLE.sub("", compatible)
    return _strip_marks(visible)


def unaccent(text: str) -> str:
    """Remove Vietnamese accents (and đ) from text, keeping case and everything else."""
    if text.isascii():
        return text
    return _strip_marks(text)


def _strip_marks(text: str) -> str:
    """Map đ, decompose, drop combining marks and recompose what is left."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D_WITH_STROKE))
    kept = "".join(
        ch for ch in decomposed if ch < "\u0300" or unicodedata.category(ch) not in _MARK_CATEGORIES
    )
    return unicodedata.normalize("NFC", kept)
