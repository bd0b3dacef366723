"""PII redaction for customer messages, applied before anything is stored, logged or prompted.

Detection runs on a copy of the message whose Arabic-Indic (٠-٩) and Eastern Arabic-Indic
(۰-۹) digits are mapped to ASCII one character for one character, so every offset found
there is also an offset in the original; the output keeps everything outside the spans
exactly as the customer wrote it.

Judgement calls, kept here because they change what gets through:

* RIB key. A Moroccan RIB is bank (3) + city (3) + account (16) + key (2), and the key
  makes the whole 24-digit number divisible by 97: key = 97 - (first22 * 100 mod 97).
  The French formula 97 - ((89*bank + 15*guichet + 3*compte) mod 97) is the same rule
  written for French field widths (89, 15 and 3 are 10**18, 10**13 and 10**2 mod 97), so
  its weights do not apply to Moroccan widths. Cross-check: with a valid key the IBAN
  check digits for MA always come out as 64, and Moroccan IBANs do all start "MA64".
  We test ``int(all24) % 97 == 0``, which also accepts the rare "00" written for "97".
* 08xx numbers (0800 toll-free, 0801/0802 shared-cost) are company service lines, not a
  customer's personal number, so they are left alone; so are short codes such as *3030#.
  Only Moroccan numbers are recognised (05 fixed, 06/07 mobile, +212/00212 forms).
* Overlaps. Precedence is card > iban > rib > phone > cin > email, except that a span
  lying strictly inside another detected span loses to it: the 16-digit account inside a
  RIB, or four groups inside an IBAN, can pass Luhn by chance, and calling the whole RIB
  a card (or leaving the rest of it visible) would be wrong.
* Cards must start with 1-9 (no issuer uses 0) and be written as one block, groups of
  four, or Amex/Diners 4-6-5 / 4-6-4; loose runs of small numbers are not cards.
* Digits glued to a Latin letter by a hyphen or underscore ("FAC-2026-0612345678") are
  part of a reference code and are not redacted.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple

RedactionKind = Literal["card_number", "iban", "rib", "cin", "phone", "email"]

PLACEHOLDERS: dict[RedactionKind, str] = {
    "card_number": "[CARD]",
    "iban": "[IBAN]",
    "rib": "[RIB]",
    "cin": "[CIN]",
    "phone": "[PHONE]",
    "email": "[EMAIL]",
}

_PRECEDENCE: dict[RedactionKind, int] = {
    "card_number": 0,
    "iban": 1,
    "rib": 2,
    "phone": 3,
    "cin": 4,
    "email": 5,
}


@dataclass(frozen=True)
class Redaction:
    text: str  # the message with each PII span replaced by its placeholder
    kinds: list[RedactionKind]  # distinct kinds removed, in order of first appearance

    @property
    def has_card(self) -> bool:
        return "card_number" in self.kinds


class _Span(NamedTuple):
    start: int
    end: int
    kind: RedactionKind


_DIGITS = str.maketrans(
    {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}
)

# Latin letters (with accents), ASCII digits and underscore: what glues a number into a
# longer token. Arabic letters are deliberately absent: Arabic-script messages often run a
# number straight into a word, and Arabic script never forms reference codes with digits.
_W = r"0-9A-Za-z_\u00C0-\u024F"
_SEP = r"[ \-.\u00A0\u202F]"
_START = rf"(?<![{_W}+])(?<![{_W}][\-_])"
_END = rf"(?![{_W}])(?![\-_][{_W}])"

_DIGIT_RUN = re.compile(rf"{_START}[0-9]++(?:{_SEP}[0-9]++)*+{_END}")
_NATIONAL_PHONE = re.compile(rf"{_START}(?P<body>0[5-7](?:{_SEP}?[0-9]){{8}}){_END}")
_INTL_PHONE = re.compile(
    rf"(?<![{_W}+])(?:\+|00){_SEP}?212{_SEP}?(?:\(0\){_SEP}?|0)?"
    rf"(?P<body>[5-7](?:{_SEP}?[0-9]){{8}}){_END}"
)
_IBAN_HEAD = re.compile(rf"(?<![{_W}])[A-Za-z]{{2}}[0-9]{{2}}")
_IBAN_GLUED = re.compile(r"([A-Za-z0-9]+)")
_IBAN_CHUNK = re.compile(r"[ \-\u00A0]([A-Za-z0-9]+)")
_CIN = re.compile(
    rf"(?<![{_W}\-./])(?P<letters>[A-Za-z]{{1,2}})(?P<space> ?)(?P<digits>[0-9]{{4,6}})"
    rf"(?![{_W}])(?![\-/.,][{_W}])"
)
_EMAIL = re.compile(
    r"(?<![\w.%+\-])[\w%+\-](?:[\w.%+\-]*[\w%+\-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?![A-Za-z0-9\-])"
)
_NEXT_WORD = re.compile(r"\s*([^\s0-9]+)")

# IBAN lengths from the ISO 13616 registry for the countries a Moroccan contact centre sees
# most; other country codes fall back to the 15-34 range and the checksum alone.
_IBAN_LENGTHS: dict[str, int] = {
    "MA": 28, "FR": 27, "ES": 24, "BE": 16, "DE": 22, "IT": 27, "NL": 18, "GB": 22,
    "PT": 25, "CH": 21, "LU": 20, "IE": 22, "AT": 20, "MC": 27, "TN": 24, "DZ": 26,
    "SA": 24, "AE": 23, "QA": 29,
}  # fmt: skip

# Units and currencies that precede or follow a number ("DH 500", "AB 1500 DH"): a CIN
# is never written next to one.
_UNITS = frozenset(
    "dh dhs mad eur euro euros usd € $ % go mo ko to gb mb kb tb h mn min km kg cm mm ml "
    "da dt".split()
)
# One- and two-letter French, English and Darija (Arabizi) words that can stand before a
# number ("en 2026", "f 2025", "le 123456"). Written in capitals with five or more digits
# they are still taken as a CIN prefix (A, B, D, ... are real prefixes).
_SHORT_WORDS = frozenset(
    "a y en le la de du un et ou on ne se ce il je tu me te ma ta sa es au ai as vs nb n "
    "no nr pr p s t i in at to of is it my by or an be do go he if so up us we f l b w o "
    "fi li bi wa ya ha".split()
)


def redact(text: str) -> Redaction:
    """Replace every card number, IBAN, RIB, CIN, phone number and e-mail with a token."""
    norm = text.translate(_DIGITS)
    kept = _resolve(
        [
            *_digit_run_spans(norm),
            *_iban_spans(norm),
            *_phone_spans(norm),
            *_cin_spans(norm),
            *(_Span(m.start(), m.end(), "email") for m in _EMAIL.finditer(norm)),
        ]
    )
    pieces: list[str] = []
    kinds: list[RedactionKind] = []
    cursor = 0
    for span in kept:
        pieces += [text[cursor : span.start], PLACEHOLDERS[span.kind]]
        cursor = span.end
        if span.kind not in kinds:
            kinds.append(span.kind)
    pieces.append(text[cursor:])
    return Redaction(text="".join(pieces), kinds=kinds)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def rib_ok(digits: str) -> bool:
    return len(digits) == 24 and digits.isdigit() and int(digits) % 97 == 0


def iban_ok(compact: str) -> bool:
    """ISO 13616 mod-97 on an IBAN with no separators (any case)."""
    iban = compact.upper()
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    if not iban.isascii() or not iban.isalnum():
        return False
    expected = _IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    if iban[:2] == "MA" and not iban[4:].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _resolve(spans: list[_Span]) -> list[_Span]:
    # Drop spans lying strictly inside another one. Sorted by start, then longest first,
    # every earlier span starts no later, so reaching past this end means containment;
    # a span with identical bounds (another kind) is not a container.
    ordered = sorted(set(spans), key=lambda s: (s.start, -s.end))
    survivors: list[_Span] = []
    reach, reach_bounds = -1, (-1, -1)
    for span in ordered:
        bounds = (span.start, span.end)
        if reach >= span.end and reach_bounds != bounds:
            continue
        survivors.append(span)
        if span.end > reach:
            reach, reach_bounds = span.end, bounds
    survivors.sort(key=lambda s: (_PRECEDENCE[s.kind], s.start - s.end, s.start))
    kept: list[_Span] = []
    for span in survivors:
        i = bisect.bisect_left(kept, span)
        before_ok = i == 0 or kept[i - 1].end <= span.start
        after_ok = i == len(kept) or span.end <= kept[i].start
        if before_ok and after_ok:
            kept.insert(i, span)
    return kept


def _digit_run_spans(norm: str) -> Iterator[_Span]:
    """Cards and RIBs: any run of consecutive digit groups inside a separated number."""
    for run in _DIGIT_RUN.finditer(norm):
        text, base = run.group(), run.start()
        groups = [(m.start(), m.end()) for m in re.finditer(r"[0-9]+", text)]
        for i, (first, _) in enumerate(groups):
            digits = ""
            lengths: list[int] = []
            seps: set[str] = set()
            for j in range(i, len(groups)):
                a, b = groups[j]
                digits += text[a:b]
                if len(digits) > 24:
                    break
                lengths.append(b - a)
                if j > i:
                    seps.add(text[a - 1])
                if len(digits) < 13:
                    continue
                span = (base + first, base + b)
                if _card_shaped(digits, lengths, seps) and luhn_ok(digits):
                    yield _Span(*span, "card_number")
                elif len(digits) == 24 and rib_ok(digits):
                    yield _Span(*span, "rib")


def _card_shaped(digits: str, lengths: list[int], seps: set[str]) -> bool:
    if not 13 <= len(digits) <= 19 or digits[0] == "0" or len(seps) > 1:
        return False
    if len(lengths) == 1 or lengths in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(n == 4 for n in lengths[:-1]) and lengths[-1] <= 4


def _iban_spans(norm: str) -> Iterator[_Span]:
    for head in _IBAN_HEAD.finditer(norm):
        # (end offset, text) of each alphanumeric chunk after the check digits; the
        # first may be glued to them ("MA640117...") or follow a separator.
        chunks: list[tuple[int, str]] = []
        pos, length = head.end(), 4
        while length <= 34:
            glued = _IBAN_GLUED.match(norm, pos) if pos == head.end() else None
            m = glued or _IBAN_CHUNK.match(norm, pos)
            # Only the bank code ("NWBK") may be all letters: this keeps the match from
            # running on into the next word of the sentence.
            if m is None or (chunks and not any(c.isdigit() for c in m.group(1))):
                break
            chunks.append((m.end(), m.group(1)))
            pos, length = m.end(), length + len(m.group(1))
        # Longest prefix that validates: digits unrelated to the IBAN may follow it.
        for n in range(len(chunks), 0, -1):
            if iban_ok(head.group() + "".join(text for _, text in chunks[:n])):
                yield _Span(head.start(), chunks[n - 1][0], "iban")
                break


def _phone_spans(norm: str) -> Iterator[_Span]:
    for pattern in (_NATIONAL_PHONE, _INTL_PHONE):
        for m in pattern.finditer(norm):
            # One separator style per number: "05.03.2026 10" is a date and a time.
            if len(set(re.findall(_SEP, m.group("body")))) <= 1:
                yield _Span(m.start(), m.end(), "phone")


def _cin_spans(norm: str) -> Iterator[_Span]:
    for m in _CIN.finditer(norm):
        letters, digits = m.group("letters"), m.group("digits")
        lowered = letters.lower()
        if lowered in _UNITS:
            continue
        after = _NEXT_WORD.match(norm, m.end())
        if after is not None and after.group(1).lower().rstrip(".,;:!?") in _UNITS:
            continue
        if (
            m.group("space")
            and lowered in _SHORT_WORDS
            and not (letters.isupper() and len(digits) >= 5)
        ):
            continue
        yield _Span(m.start(), m.end(), "cin")
