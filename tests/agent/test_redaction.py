from __future__ import annotations

import time

import pytest

from agent.redaction import Redaction, redact

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
EASTERN_ARABIC_INDIC = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


# Builders written from the standards, independently of the module under test, so a
# checksum bug in agent.redaction cannot also hide in the fixtures.
def luhn_complete(partial: str) -> str:
    """Append the Luhn check digit to ``partial``."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return partial + str((10 - total % 10) % 10)


def moroccan_rib(bank: str, city: str, account: str) -> str:
    first22 = bank + city + account
    assert len(first22) == 22
    return first22 + f"{97 - (int(first22) * 100) % 97:02d}"


def iban(country: str, bban: str) -> str:
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def spaced(value: str, every: int = 4) -> str:
    return " ".join(value[i : i + every] for i in range(0, len(value), every))


def wrong_last_digit(value: str) -> str:
    return value[:-1] + str((int(value[-1]) + 1) % 10)


RIB = moroccan_rib("011", "780", "0000123456789012")
RIB_WRITTEN = f"{RIB[:3]} {RIB[3:6]} {RIB[6:22]} {RIB[22:]}"
MA_IBAN = iban("MA", RIB)
FR_IBAN = iban("FR", "30006000011234567890189")


def test_fixture_builders_match_published_examples() -> None:
    # Guards the helpers themselves with known-good public test values.
    assert luhn_complete("411111111111111") == "4111111111111111"
    assert luhn_complete("555555555555444") == "5555555555554444"
    assert iban("GB", "WEST12345698765432") == "GB82WEST12345698765432"
    assert iban("FR", "30006000011234567890189") == "FR7630006000011234567890189"
    assert MA_IBAN.startswith("MA64")  # every Moroccan IBAN with a valid RIB key does


# --- cards -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",
        "4111111111111111",
        "5555555555554444",
        "5555-5555-5555-4444",
        "5555.5555.5555.4444",
        "3782 822463 10005",  # Amex 4-6-5
        "4222222222222",  # 13-digit Visa
        "4111 1111 1111 1111".translate(ARABIC_INDIC),
        "5555555555554444".translate(EASTERN_ARABIC_INDIC),
        "4111 ١١١١ 1111 ۱۱۱۱",
    ],
)
def test_luhn_valid_card_numbers_are_redacted(card: str) -> None:
    result = redact(f"voici ma carte {card} merci")
    assert result.text == "voici ma carte [CARD] merci"
    assert result.kinds == ["card_number"]
    assert result.has_card


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Ma carte est {card}, elle a été bloquée.", "Ma carte est [CARD], elle a été bloquée."),
        (
            "رقم البطاقة ديالي {card} واش ممكن توقفوها؟",
            "رقم البطاقة ديالي [CARD] واش ممكن توقفوها؟",
        ),
        ("salam, la carte dyali {card} tbloquat", "salam, la carte dyali [CARD] tbloquat"),
        ("my card number is {card}.", "my card number is [CARD]."),
    ],
)
def test_cards_inside_sentences_in_each_language(template: str, expected: str) -> None:
    assert redact(template.format(card="4111 1111 1111 1111")).text == expected


@pytest.mark.parametrize(
    "number",
    [
        "4111 1111 1111 1112",
        "5555555555554445",
        "1234-5678-9012-3456",
        wrong_last_digit("4111111111111111").translate(ARABIC_INDIC),
    ],
)
def test_luhn_invalid_sixteen_digit_numbers_are_left_alone(number: str) -> None:
    message = f"numéro de contrat {number}"
    result = redact(message)
    assert result.text == message
    assert result.kinds == []
    assert not result.has_card


def test_luhn_valid_digits_in_loose_groups_are_not_a_card() -> None:
    message = "codes 41 11 11 11 11 11 11 11"
    assert redact(message).text == message
    assert redact("codes 4111111111111111").kinds == ["card_number"]  # same digits, one block


def test_card_followed_by_expiry_and_other_digits_keeps_the_rest() -> None:
    assert redact("4111 1111 1111 1111 12/27").text == "[CARD] 12/27"


def test_card_glued_to_a_reference_code_is_not_a_card() -> None:
    message = "référence CMD-4111111111111111"
    assert redact(message).text == message


# --- IBAN --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        MA_IBAN,
        spaced(MA_IBAN),
        spaced(MA_IBAN).lower(),
        spaced(MA_IBAN).translate(ARABIC_INDIC),
        FR_IBAN,
        spaced(FR_IBAN),
        "GB82 WEST 1234 5698 7654 32",
    ],
)
def test_valid_ibans_are_redacted(written: str) -> None:
    result = redact(f"Mon IBAN : {written} merci d'avance")
    assert result.text == "Mon IBAN : [IBAN] merci d'avance"
    assert result.kinds == ["iban"]
    assert not result.has_card


@pytest.mark.parametrize(
    "written",
    [
        spaced("MA65" + MA_IBAN[4:]),  # wrong check digits
        spaced(MA_IBAN[:-1] + str((int(MA_IBAN[-1]) + 1) % 10)),  # BBAN typo
        spaced(iban("MA", RIB[:-2])),  # valid checksum, but 22 digits instead of 24
        iban("MA", RIB[:-2] + "AB"),  # valid checksum and length, but letters in the BBAN
    ],
)
def test_invalid_ibans_are_not_reported_as_iban(written: str) -> None:
    assert "iban" not in redact(f"IBAN {written}").kinds


def test_iban_stops_before_following_words_and_numbers() -> None:
    result = redact(f"virement vers {spaced(MA_IBAN)} 1500 DH stp")
    assert result.text == "virement vers [IBAN] 1500 DH stp"


def test_iban_does_not_swallow_a_following_word_that_happens_to_validate() -> None:
    # Senegal is outside the module's length table, so only the checksum bounds the match;
    # pick a BBAN for which "IBAN + MERCI" also passes mod-97.
    candidate = next(
        iban("SN", bban)
        for bban in (f"{n:020d}" for n in range(10_000))
        if iban("SN", bban + "MERCI")[:4] == iban("SN", bban)[:4]
    )
    assert redact(f"{spaced(candidate)} merci").text == "[IBAN] merci"


def test_rib_inside_an_iban_counts_once_as_iban() -> None:
    assert redact(spaced(MA_IBAN)).kinds == ["iban"]


# --- RIB ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        RIB,
        RIB_WRITTEN,
        spaced(RIB),
        RIB_WRITTEN.translate(EASTERN_ARABIC_INDIC),
        "-".join([RIB[:3], RIB[3:6], RIB[6:22], RIB[22:]]),
    ],
)
def test_valid_moroccan_ribs_are_redacted(written: str) -> None:
    result = redact(f"RIB dyali: {written}, 3afak")
    assert result.text == "RIB dyali: [RIB], 3afak"
    assert result.kinds == ["rib"]


def test_rib_key_uses_all_22_digits_not_french_weights() -> None:
    bank, city, account = "230", "810", "2110938211000230"
    french_key = 97 - (89 * int(bank) + 15 * int(city) + 3 * int(account)) % 97
    moroccan = moroccan_rib(bank, city, account)
    assert f"{french_key:02d}" != moroccan[22:]  # the two formulas really disagree here
    assert redact(moroccan).kinds == ["rib"]
    assert redact(bank + city + account + f"{french_key:02d}").kinds == []


def test_rib_with_wrong_key_is_left_alone() -> None:
    message = f"compte {wrong_last_digit(RIB)}"
    assert redact(message).text == message


def test_luhn_valid_account_inside_a_rib_does_not_make_it_a_card() -> None:
    account = luhn_complete("411111111111111")
    rib = moroccan_rib("007", "780", account)
    result = redact(f"{rib[:3]} {rib[3:6]} {rib[6:22]} {rib[22:]}")
    assert result.text == "[RIB]"
    assert not result.has_card


# --- CIN ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("ma CIN c'est BK123456", "ma CIN c'est [CIN]"),
        ("رقم البطاقة الوطنية AB 123456", "رقم البطاقة الوطنية [CIN]"),
        ("CIN: BE 654321.", "CIN: [CIN]."),
        ("J123456 hia la carte", "[CIN] hia la carte"),
        ("ma cin bk123456", "ma cin [CIN]"),
        ("cin AB ١٢٣٤٥٦", "cin [CIN]"),
        ("cnie (EE12345)", "cnie ([CIN])"),
    ],
)
def test_cin_numbers_are_redacted(message: str, expected: str) -> None:
    result = redact(message)
    assert result.text == expected
    assert result.kinds == ["cin"]


@pytest.mark.parametrize(
    "message",
    [
        "DH 500",
        "DH 1500 svp",
        "un forfait de GB 1024",
        "Go 10000",
        "en 2026",
        "EN 2026",
        "khlsst f 2025",
        "payé le 123456",
        "AB 1500 DH",
        "commande n 123456",
        "FAC-2026-000123",
        "la box ABC123456",
        "offre 4G 2026",
    ],
)
def test_words_amounts_and_codes_are_not_cins(message: str) -> None:
    assert redact(message).text == message


# --- phones ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "06 12 34 56 78",
        "0612345678",
        "07-12-34-56-78",
        "05.22.12.34.56",
        "061 234 5678",
        "+212 6 12 34 56 78",
        "+212612345678",
        "+212 (0)6 12 34 56 78",
        "+212(0)612345678",
        "00212 6 12 34 56 78",
        "00212712345678",
        "+212 0612345678",
        "٠٦١٢٣٤٥٦٧٨",
        "۰۷ ۱۲ ۳۴ ۵۶ ۷۸",
        "+٢١٢ ٦١٢٣٤٥٦٧٨",
        "06 12 ٣٤ ٥٦ 78",
    ],
)
def test_moroccan_phone_numbers_are_redacted(phone: str) -> None:
    for template in ("appelez-moi au {} svp", "عيط ليا ف {} عافاك", "rani f {}."):
        result = redact(template.format(phone))
        assert result.text == template.format("[PHONE]")
        assert result.kinds == ["phone"]


@pytest.mark.parametrize(
    "message",
    [
        "composez *3030# pour le solde",
        "service client 0801 00 00 00",
        "numéro vert 0800 00 12 34",
        "0612345",  # too short
        "061234567890",  # too long
        "04 12 34 56 78",  # not a 05/06/07 number
        "+212 8 12 34 56 78",
        "le 05.03.2026 10h30",
        "06-12 34.56 78",  # mixed separators: not how anyone writes a phone number
        "FAC-0612345678",
    ],
)
def test_non_personal_or_malformed_numbers_are_not_phones(message: str) -> None:
    assert redact(message).text == message


def test_two_phones_side_by_side_are_both_redacted() -> None:
    result = redact("0612345678 0698765432")
    assert result.text == "[PHONE] [PHONE]"
    assert result.kinds == ["phone"]


# --- e-mail ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("mon mail: jean.dupont@gmail.com", "mon mail: [EMAIL]"),
        ("Écrivez à karim_23+sav@mail.co.ma.", "Écrivez à [EMAIL]."),
        ("الإيميل ديالي salma.b@outlook.fr شكرا", "الإيميل ديالي [EMAIL] شكرا"),
        ("(contact@maroc-telecom.ma)", "([EMAIL])"),
    ],
)
def test_emails_are_redacted(message: str, expected: str) -> None:
    result = redact(message)
    assert result.text == expected
    assert result.kinds == ["email"]


@pytest.mark.parametrize("message", ["@orange_maroc", "a @ b", "user@localhost", "x@y."])
def test_email_lookalikes_are_left_alone(message: str) -> None:
    assert redact(message).text == message


# --- things that must never be redacted --------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "j'ai payé 1 500 DH",
        "facture de 299,00 MAD",
        "1 234 567 890 DH",
        "le 15/03/2026 à 14:30",
        "entre 2026-03-15 et 2026-04-15",
        "facture FAC-2026-000123",
        "ça fait 45 min que j'attends, 2h30 en tout",
        "remise de 15 % puis 0,5%",
        "الفاتورة ديال ٢٩٩ درهم نهار ١٥/٠٣/٢٠٢٦",
        "commande 1234567890123456",
        "salam, bghit n3ref 3lach l'facture tal3a",
    ],
)
def test_amounts_dates_references_and_plain_text_are_untouched(message: str) -> None:
    result = redact(message)
    assert result == Redaction(text=message, kinds=[])


# --- combinations, precedence, fidelity ----------------------------------------------------


def test_multiple_kinds_are_listed_once_in_order_of_first_appearance() -> None:
    message = (
        "Bonjour, je suis joignable au 06 12 34 56 78 ou par mail à k.alaoui@gmail.com. "
        "Ma CIN est BK123456, ma carte 4111 1111 1111 1111, "
        f"mon RIB {RIB_WRITTEN}, autre numéro +212 7 12 34 56 78."
    )
    result = redact(message)
    assert result.kinds == ["phone", "email", "cin", "card_number", "rib"]
    assert result.text == (
        "Bonjour, je suis joignable au [PHONE] ou par mail à [EMAIL]. "
        "Ma CIN est [CIN], ma carte [CARD], "
        "mon RIB [RIB], autre numéro [PHONE]."
    )
    assert result.has_card


def test_text_outside_spans_is_kept_byte_for_byte() -> None:
    # Odd spacing, non-breaking spaces, Arabic punctuation and emoji must survive as is.
    message = "  سلام،\u00a0رقمي  ٠٦١٢٣٤٥٦٧٨\t؛ و  الكارط 4111 1111 1111 1111 🙏\r\n  merci\u202f!"
    expected = "  سلام،\u00a0رقمي  [PHONE]\t؛ و  الكارط [CARD] 🙏\r\n  merci\u202f!"
    assert redact(message).text.encode() == expected.encode()


def test_redacting_twice_changes_nothing() -> None:
    message = (
        f"carte 5555555555554444, IBAN {spaced(MA_IBAN)}, RIB {RIB_WRITTEN}, "
        "tel 0612345678, CIN AB 123456, mail a.b@c.ma, montant 1 500 DH le 15/03/2026"
    )
    once = redact(message)
    assert once.kinds == ["card_number", "iban", "rib", "phone", "cin", "email"]
    twice = redact(once.text)
    assert twice.text == once.text
    assert twice.kinds == []


def test_placeholders_alone_are_stable() -> None:
    text = "[CARD] [IBAN] [RIB] [CIN] [PHONE] [EMAIL]"
    assert redact(text) == Redaction(text=text, kinds=[])


def test_card_takes_precedence_over_a_phone_sharing_its_digits() -> None:
    card = luhn_complete("411111111111061")  # ends in "061x": a phone can start there
    message = f"{spaced(card)} 3456 78"
    phone = message[15:]
    assert redact(phone) == Redaction(text="[PHONE]", kinds=["phone"])
    result = redact(message)
    assert result.text == "[CARD] 3456 78"
    assert result.kinds == ["card_number"]


def test_empty_message() -> None:
    assert redact("") == Redaction(text="", kinds=[])


def test_long_messages_stay_fast() -> None:
    chunk = "ma carte 4111 1111 1111 1111, tel 06 12 34 56 78, 1 500 DH, réf FAC-2026-000123. "
    noise = "1 2 3 4 5 6 7 8 9 0 " * 2000
    message = chunk * 300 + noise + "a" * 20000
    started = time.perf_counter()
    result = redact(message)
    assert time.perf_counter() - started < 2.0
    assert result.text.count("[CARD]") == 300
    assert result.text.count("[PHONE]") == 300
