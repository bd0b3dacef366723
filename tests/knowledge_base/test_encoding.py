from __future__ import annotations

import codecs

import pytest

from knowledge_base.documents import LoaderError
from knowledge_base.encoding import decode_text

ARABIC = [
    "السلام عليكم، كيف يمكنني مساعدتك؟",
    "مرحبا",
    # Darija, with the Persian letter gaf that Windows-1256 encodes in 0x80-0x9F.
    "واش كاين شي عرض على الانترنيت؟ بغيت نبدل الباقة ديالي، گولو ليا",
    "رقم الطلبية: 12345 - تواصل معنا عبر SMS أو Email",
    "مُحَمَّد",
]
FRENCH = [
    "Où est ma facture ? Elle sera envoyée après le paiement.",
    "École",
    "Été",
    "À bientôt, Élodie. ÇA MARCHE ! Noël à Fès, 25 °C.",
    "Veuillez réessayer : le délai est dépassé.",
]
FRENCH_CP1252_ONLY = "L’offre d’été – 5 € par mois, « sans engagement » … le cœur du forfait"


@pytest.mark.parametrize("text", ARABIC)
def test_arabic_in_windows_1256_round_trips(text: str) -> None:
    assert decode_text(text.encode("cp1256")) == text


@pytest.mark.parametrize("text", FRENCH)
@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_french_in_latin_1_and_windows_1252_round_trips(text: str, encoding: str) -> None:
    assert decode_text(text.encode(encoding)) == text


def test_windows_1252_punctuation_round_trips() -> None:
    assert decode_text(FRENCH_CP1252_ONLY.encode("cp1252")) == FRENCH_CP1252_ONLY


def test_bilingual_windows_1256_file_round_trips() -> None:
    # Windows-1256 also encodes the lower-case French accents, so bilingual files exist.
    text = "Service client / خدمة العملاء\nDélai de réponse : 24 h\nمدة الرد: 24 ساعة\n"
    assert decode_text(text.encode("cp1256")) == text


def test_utf8_is_decoded_as_is() -> None:
    text = "Facture réglée ✓ — تم الدفع\r\n\ttabulation conservée  "
    assert decode_text(text.encode("utf-8")) == text


def test_utf8_bom_is_removed() -> None:
    assert decode_text(codecs.BOM_UTF8 + "question;réponse".encode()) == "question;réponse"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(encoding: str) -> None:
    text = "Bonjour / مرحبا"
    bom = codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE
    assert decode_text(bom + text.encode(encoding)) == text


def test_arabic_presentation_forms_are_not_normalised() -> None:
    # "مرحبا" in isolated/initial/final presentation forms, and the lam-alef ligature.
    text = "\ufee3\ufeae\ufea3\ufe92\ufe8e \ufefb"
    assert decode_text(text.encode("utf-8")) == text


def test_decomposed_accents_are_not_recomposed() -> None:
    text = "e\u0301te\u0301"
    assert decode_text(text.encode("utf-8")) == text


def test_empty_input_gives_empty_text() -> None:
    assert decode_text(b"") == ""


def test_nul_bytes_mean_binary() -> None:
    with pytest.raises(LoaderError, match="binary file"):
        decode_text(b"PK\x03\x04\x14\x00\x00\x00\x08\x00")


def test_invalid_utf8_after_bom_is_an_error() -> None:
    with pytest.raises(LoaderError, match="invalid UTF-8 despite the byte-order mark"):
        decode_text(codecs.BOM_UTF8 + "clé".encode("cp1252"))
