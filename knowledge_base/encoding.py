"""Turning the bytes of a text file into the exact text its author wrote.

Customer-service documents come from Windows tools as often as from editors: UTF-8
(with or without the BOM Excel and Notepad add), UTF-16, and the legacy single-byte
code pages, Windows-1256 for Arabic and Windows-1252 / Latin-1 for French. Decoding is
the only transformation applied: no Unicode normalisation, no presentation-form
folding, because the stored text is what users are eventually shown.
"""

from __future__ import annotations

import codecs
import re

from knowledge_base.documents import LoaderError

# Windows-1252 is used for Latin-1 as well: it agrees with ISO-8859-1 on every byte
# except 0x80-0x9F, which are control codes in Latin-1 and never occur in real
# Latin-1 text, but typographic quotes, "œ" and "€" in Windows-1252.
# Windows-1252 comes first so that a tie (text the heuristic cannot tell apart, which
# then decodes identically or nearly so) goes to French, the more common case.
_LEGACY_ENCODINGS = ("cp1252", "cp1256")

_WORD = re.compile(r"[^\W\d_]+")


def decode_text(data: bytes) -> str:
    """Decode ``data``, raising LoaderError for binary content or a broken BOM."""
    if data.startswith(codecs.BOM_UTF8):
        return _decode_strict(data[len(codecs.BOM_UTF8) :], "utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # The "utf-16" codec reads the BOM to pick the byte order, then drops it.
        return _decode_strict(data, "utf-16")
    if b"\x00" in data:
        # Text without a UTF-16 BOM never contains NUL; binary files almost always do.
        raise LoaderError("binary file (NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates: list[str] = []
    for encoding in _LEGACY_ENCODINGS:
        try:
            candidates.append(data.decode(encoding))
        except UnicodeDecodeError:
            # Windows-1252 leaves five bytes undefined; Windows-1256 defines all 256.
            continue
    return min(candidates, key=_implausible_letters)


def _decode_strict(data: bytes, encoding: str) -> str:
    """Decode text whose byte-order mark declares its encoding: no guessing then."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise LoaderError(
            f"invalid {encoding.upper()} despite the byte-order mark ({error.reason})"
        ) from error


def _implausible_letters(text: str) -> int:
    """Count letters in words that neither French nor Arabic spelling produces.

    A wrong code page betrays itself word by word. Arabic read as Windows-1252 gives
    words made only of accented Latin letters ("ÇáÚãíá"), while French words always
    contain some plain ASCII letter ("été", "où"). French read as Windows-1256 turns
    capital accented letters into Arabic letters inside Latin words ("ةcole" for
    "École"), while real Arabic words never mix scripts. Counting letters rather than
    words lets a long garbled word outweigh a short one.
    """
    count = 0
    for word in _WORD.findall(text):
        arabic = sum(1 for char in word if "\u0600" <= char <= "\u06ff")
        ascii_letters = sum(1 for char in word if char.isascii())
        mixed_scripts = 0 < arabic < len(word)
        accents_only = not arabic and not ascii_letters and len(word) > 1
        if mixed_scripts or accents_only:
            count += len(word)
    return count
