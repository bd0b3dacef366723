from __future__ import annotations

import codecs
import contextlib
import io
import json
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from pypdf import PdfWriter

from knowledge_base.documents import LoadedDocument, LoaderError, Section
from knowledge_base.loaders import SUPPORTED_SUFFIXES, load_document


def load(
    tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8"
) -> LoadedDocument:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return load_document(path, name)


def load_error(tmp_path: Path, name: str, content: str | bytes) -> str:
    with pytest.raises(LoaderError) as caught:
        load(tmp_path, name, content)
    return caught.value.reason


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal PDF with a text layer: one page per list of lines, set in Helvetica.

    Written by hand (catalog, page tree, font, one page and one content stream per page,
    optional info dictionary, exact xref offsets) to avoid a PDF-writing dependency.
    """

    def string(text: str) -> bytes:
        raw = text.encode("cp1252")  # WinAnsiEncoding, the font's declared encoding
        return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"

    page_ids = [4 + 2 * index for index in range(len(pages))]
    kids = b" ".join(b"%d 0 R" % page_id for page_id in page_ids)
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    for page_id, lines in zip(page_ids, pages, strict=True):
        stream = b"BT /F1 12 Tf 14 TL 72 720 Td %s ET" % b" ".join(
            string(line) + b" Tj T*" for line in lines
        )
        objects[page_id] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
            b" /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_id + 1)
        )
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    trailer = b"/Root 1 0 R"
    if title is not None:
        info_id = len(objects) + 1
        objects[info_id] = b"<< /Title %s >>" % string(title)
        trailer += b" /Info %d 0 R" % info_id
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number in range(1, len(objects) + 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer,
        xref,
    )
    return bytes(pdf)


def encrypt_pdf(pdf: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    # RC4 needs no optional crypto library, unlike AES.
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def docx_bytes(document: DocxDocument) -> bytes:
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


# --- dispatch and failures common to every format ---------------------------------


def test_supported_suffixes() -> None:
    assert {".md", ".markdown", ".csv", ".json", ".html", ".htm", ".pdf", ".docx", ".txt"} == (
        SUPPORTED_SUFFIXES
    )


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    document = load(tmp_path, "GUIDE.MD", "# Livraison\n\nSous 48 h.")
    assert document.sections == [Section(text="Sous 48 h.", title="Livraison")]


def test_source_is_recorded_as_given(tmp_path: Path) -> None:
    path = tmp_path / "faq.txt"
    path.write_text("Bonjour", encoding="utf-8")
    assert load_document(path, "support/faq.txt").source == "support/faq.txt"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("notes.xyz", "unsupported file type .xyz"),
        ("LISEZMOI", "unsupported file type (no extension)"),
    ],
)
def test_unsupported_suffix(tmp_path: Path, name: str, reason: str) -> None:
    assert load_error(tmp_path, name, "texte") == reason


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="cannot read file"):
        load_document(tmp_path / "absent.md", "absent.md")


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
@pytest.mark.parametrize("content", [b"", b"  \r\n\t\n"])
def test_empty_file(tmp_path: Path, suffix: str, content: bytes) -> None:
    assert load_error(tmp_path, f"vide{suffix}", content) == "empty file"


@pytest.mark.parametrize("suffix", [".txt", ".md", ".csv", ".json", ".html"])
def test_binary_junk_in_a_text_format(tmp_path: Path, suffix: str) -> None:
    junk = random.Random(7).randbytes(2048)
    assert load_error(tmp_path, f"image{suffix}", junk) == "binary file (NUL bytes)"


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
def test_garbage_only_ever_raises_loader_error(tmp_path: Path, suffix: str) -> None:
    generator = random.Random(suffix)
    # Without NUL bytes, so that text formats get past decoding into their parsers.
    samples = [generator.randbytes(size).replace(b"\0", b"\1") for size in (3, 64, 600)]
    samples += [make_pdf([["Bonjour"]])[:cut] for cut in (9, 120, 400)]
    for sample in samples:
        # Loading garbage may succeed or fail, but only ever fail with a LoaderError.
        with contextlib.suppress(LoaderError):
            load(tmp_path, f"x{suffix}", sample)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("guide.md", "# Abonnement\n\nيمكنك إلغاء الاشتراك في أي وقت."),
        ("faq.csv", "question,answer\nكيف ألغي الاشتراك؟,يمكنك إلغاء الاشتراك في أي وقت."),
        (
            "faq.json",
            '[{"question": "كيف ألغي الاشتراك؟",\n"answer": "يمكنك إلغاء الاشتراك في أي وقت."}]',
        ),
        ("page.html", "<p>يمكنك إلغاء الاشتراك في أي وقت.</p>"),
        ("notes.txt", "يمكنك إلغاء الاشتراك في أي وقت."),
    ],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1256"])
def test_text_formats_decode_every_encoding(
    tmp_path: Path, name: str, content: str, encoding: str
) -> None:
    document = load(tmp_path, name, content, encoding)
    assert document.sections[-1].text == "يمكنك إلغاء الاشتراك في أي وقت."


# --- Markdown ----------------------------------------------------------------------

MARKDOWN = """\
---
title: Aide
language: fr-FR
---
Bienvenue dans l'aide.

# Facturation

Vos factures sont mensuelles.

## Comment payer ma facture ?

Par carte ou par virement.

Le prélèvement est *gratuit*.

### Par carte

Visa et Mastercard.

## Délais ##

### Remboursement

Sous 14 jours.
#hashtag reste du texte

# الأسئلة الشائعة

## كيف أغير كلمة السر؟  \n\
اضغط على "نسيت كلمة السر".

```bash
# pas un titre
```
"""


def test_markdown_sections_faq_and_front_matter(tmp_path: Path) -> None:
    document = load(tmp_path, "aide.md", MARKDOWN)
    assert document.language == "fr"
    assert document.warnings == []
    assert document.sections == [
        Section(text="Bienvenue dans l'aide."),
        Section(text="Vos factures sont mensuelles.", title="Facturation"),
        Section(
            # The ### inside an answer stays in the answer, without its marker.
            text="Par carte ou par virement.\n\nLe prélèvement est *gratuit*.\n\n"
            "Par carte\n\nVisa et Mastercard.",
            title="Comment payer ma facture ?",
            section="Facturation",
            is_faq=True,
        ),
        # "Délais" has no text of its own, so it only appears in the path.
        Section(
            text="Sous 14 jours.\n#hashtag reste du texte",
            title="Remboursement",
            section="Facturation > Délais",
        ),
        Section(
            text='اضغط على "نسيت كلمة السر".\n\n```bash\n# pas un titre\n```',
            title="كيف أغير كلمة السر؟",
            section="الأسئلة الشائعة",
            is_faq=True,
        ),
    ]


def test_markdown_without_front_matter_has_no_language(tmp_path: Path) -> None:
    document = load(tmp_path, "a.md", "---\n\nTexte après un filet.\n")
    assert document.language is None
    assert document.sections == [Section(text="---\n\nTexte après un filet.")]


def test_markdown_question_without_answer_is_skipped_with_a_warning(tmp_path: Path) -> None:
    document = load(tmp_path, "faq.md", "## Où est ma commande ?\n\n## Horaires\n\n9h-18h\n")
    assert document.sections == [Section(text="9h-18h", title="Horaires")]
    assert document.warnings == ["question 'Où est ma commande ?': empty answer, skipped"]


def test_markdown_with_only_headings_has_no_text(tmp_path: Path) -> None:
    assert load_error(tmp_path, "vide.md", "---\nlanguage: ar\n---\n# Titre\n## Sous-titre\n") == (
        "no text found"
    )


# --- CSV ---------------------------------------------------------------------------


def test_csv_faq_rows(tmp_path: Path) -> None:
    content = (
        " Question ,ANSWER,Category,Language,notes\n"
        'Quels sont vos horaires ?,"De 9h à 18h, du lundi au samedi.\nFermé le dimanche.",'
        "horaires,FR,x\n"
        "Puis-je payer en espèces ?,,paiement,fr\n"
        "\n"
        "ما هي أوقات العمل؟,من 9 إلى 18,horaires,ar\n"
        "Livrez-vous à Fès ?,Oui.\n"
    )
    document = load(tmp_path, "faq.csv", content, "utf-8-sig")
    assert document.sections == [
        Section(
            text="De 9h à 18h, du lundi au samedi.\nFermé le dimanche.",
            title="Quels sont vos horaires ?",
            is_faq=True,
            category="horaires",
            language="fr",
        ),
        Section(
            text="من 9 إلى 18",
            title="ما هي أوقات العمل؟",
            is_faq=True,
            category="horaires",
            language="ar",
        ),
        Section(text="Oui.", title="Livrez-vous à Fès ?", is_faq=True),
    ]
    assert document.warnings == ["row 3: empty answer, skipped"]
    assert document.language is None


def test_csv_french_excel_export_with_semicolons(tmp_path: Path) -> None:
    content = (
        "question;answer;category\r\n"
        "Quel est le délai ?;Oui, bien sûr : 48 h, parfois 72 h.;livraison\r\n"
    )
    document = load(tmp_path, "faq.csv", content, "cp1252")
    assert document.sections == [
        Section(
            text="Oui, bien sûr : 48 h, parfois 72 h.",
            title="Quel est le délai ?",
            is_faq=True,
            category="livraison",
        ),
    ]


def test_csv_tab_separated(tmp_path: Path) -> None:
    document = load(tmp_path, "faq.csv", "question\tanswer\nCoût ?\t10 DH, TTC\n")
    assert document.sections == [Section(text="10 DH, TTC", title="Coût ?", is_faq=True)]


def test_csv_missing_answer_column(tmp_path: Path) -> None:
    reason = load_error(tmp_path, "faq.csv", "question;réponse\nQuel délai ?;48 h\n")
    assert reason == "missing column answer"


def test_csv_missing_both_columns(tmp_path: Path) -> None:
    reason = load_error(tmp_path, "faq.csv", "titre,texte\nA,B\n")
    assert reason == "missing column question and answer"


def test_csv_without_usable_rows(tmp_path: Path) -> None:
    reason = load_error(tmp_path, "faq.csv", "question,answer\n,Réponse orpheline\nQuestion ?,  \n")
    assert reason == "no usable question/answer (first problem: row 2: empty question, skipped)"


def test_csv_with_header_only(tmp_path: Path) -> None:
    assert load_error(tmp_path, "faq.csv", "question,answer\n") == "no question/answer found"


def test_csv_unterminated_quote(tmp_path: Path) -> None:
    reason = load_error(tmp_path, "faq.csv", 'question,answer\nA ?,"jamais fermé\nB ?,b\n')
    assert reason.startswith("invalid CSV")


# --- JSON --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrap",
    [
        lambda items: items,
        lambda items: {"faqs": items},
        lambda items: {"meta": {}, "items": items},
    ],
)
def test_json_faq_shapes(tmp_path: Path, wrap: Callable[[object], object]) -> None:
    items = [
        {
            "Question": "Comment résilier ?",
            "Answer": "Depuis votre espace client.",
            "category": "contrat",
            "language": "fr",
        },
        {"question": "كيف أدفع؟", "answer": "بالبطاقة أو نقدا عند التسليم."},
    ]
    document = load(tmp_path, "faq.json", json.dumps(wrap(items), ensure_ascii=False))
    assert document.sections == [
        Section(
            text="Depuis votre espace client.",
            title="Comment résilier ?",
            is_faq=True,
            category="contrat",
            language="fr",
        ),
        Section(text="بالبطاقة أو نقدا عند التسليم.", title="كيف أدفع؟", is_faq=True),
    ]
    assert document.warnings == []


def test_json_bad_items_are_skipped_with_warnings(tmp_path: Path) -> None:
    items = [
        "pas un objet",
        {"question": ["liste"], "answer": "x"},
        {"question": "Sans réponse ?"},
        {"question": "Horaires ?", "answer": "9h-18h"},
    ]
    document = load(tmp_path, "faq.json", json.dumps(items))
    assert document.sections == [Section(text="9h-18h", title="Horaires ?", is_faq=True)]
    assert document.warnings == [
        "item 1: not an object, skipped",
        "item 2: question is not text, skipped",
        "item 3: empty answer, skipped",
    ]


def test_invalid_json(tmp_path: Path) -> None:
    reason = load_error(tmp_path, "faq.json", '[\n  {"question": "A ?",\n   "answer": }\n]')
    assert reason == "invalid JSON: line 3 column 14 (Expecting value)"


@pytest.mark.parametrize("content", ['{"faq": []}', '"texte"', "42"])
def test_json_of_the_wrong_shape(tmp_path: Path, content: str) -> None:
    assert load_error(tmp_path, "faq.json", content).startswith("expected a list of FAQ objects")


def test_json_empty_list(tmp_path: Path) -> None:
    assert load_error(tmp_path, "faq.json", "[]") == "no question/answer found"


# --- HTML --------------------------------------------------------------------------

HTML_PAGE = """<!DOCTYPE html>
<html lang="fr-MA">
<head><title>Centre d'aide</title><style>p { color: red }</style></head>
<body>
<header><a href="/">Accueil</a></header>
<nav><ul><li>Menu</li></ul></nav>
<main>
  <p>Tout   ce qu'il faut
     savoir.</p>
  <!-- commentaire -->
  <h1>Livraison</h1>
  <h2>Délais</h2>
  <p>Livraison en <b>48&nbsp;h</b> à Casablanca,<br>72 h ailleurs.</p>
  <ul><li>Suivi par SMS</li><li>Point relais</li></ul>
  <script>var tracking = 1;</script>
  <h2>Tarifs</h2>
  <table><tr><th>Ville</th><th>Prix</th></tr><tr><td>Rabat</td><td>30 DH</td></tr></table>
  <form><label>Votre e-mail</label></form>
  <h3></h3>
  <aside>Publicité</aside>
</main>
<footer>© 2024</footer>
</body></html>"""


def test_html_main_content_in_sections(tmp_path: Path) -> None:
    document = load(tmp_path, "aide.html", HTML_PAGE)
    assert document.language == "fr"
    assert document.sections == [
        Section(text="Tout ce qu'il faut savoir.", title="Centre d'aide"),
        Section(
            text="Livraison en 48 h à Casablanca,\n72 h ailleurs.\nSuivi par SMS\nPoint relais",
            title="Délais",
            section="Livraison",
        ),
        Section(text="Ville | Prix\nRabat | 30 DH", title="Tarifs", section="Livraison"),
    ]


def test_html_falls_back_to_article_then_body(tmp_path: Path) -> None:
    page = "<body><p>Hors article</p><article><p>Dans l'article</p></article></body>"
    article = load(tmp_path, "a.htm", page)
    assert [section.text for section in article.sections] == ["Dans l'article"]
    page = "<body><nav>Menu</nav><h2>Contact</h2><div>Écrivez-nous</div></body>"
    body = load(tmp_path, "b.htm", page)
    assert body.sections == [Section(text="Écrivez-nous", title="Contact")]
    assert body.language is None


def test_html_fragment_without_body(tmp_path: Path) -> None:
    document = load(tmp_path, "f.html", "<title>T</title><h3>كيف أتصل بكم؟</h3><p>عبر الهاتف</p>")
    assert document.sections == [Section(text="عبر الهاتف", title="كيف أتصل بكم؟")]


def test_html_arabic_page(tmp_path: Path) -> None:
    page = '<html lang="ar" dir="rtl"><h1>الدفع</h1><p>الدفع عند الاستلام متاح.</p></html>'
    document = load(tmp_path, "ar.html", page, "cp1256")
    assert document.language == "ar"
    assert document.sections == [Section(text="الدفع عند الاستلام متاح.", title="الدفع")]


def test_html_without_text(tmp_path: Path) -> None:
    page = "<html><body><nav>Menu</nav><script>x()</script></body></html>"
    assert load_error(tmp_path, "vide.html", page) == "no text found"


# --- PDF ---------------------------------------------------------------------------


def test_pdf_one_section_per_page_with_metadata_title(tmp_path: Path) -> None:
    pdf = make_pdf(
        [["Conditions générales", "Article 1 (objet)"], [], ["Article 2"]], title="CGV 2024"
    )
    document = load(tmp_path, "cgv.pdf", pdf)
    assert document.sections == [
        Section(text="Conditions générales\nArticle 1 (objet)", title="CGV 2024", page=1),
        Section(text="Article 2", title="CGV 2024", page=3),
    ]


def test_pdf_title_defaults_to_first_line(tmp_path: Path) -> None:
    document = load(tmp_path, "guide.pdf", make_pdf([["Guide tarifaire", "Forfait 20 Go"]]))
    assert document.sections == [
        Section(text="Guide tarifaire\nForfait 20 Go", title="Guide tarifaire", page=1)
    ]


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    assert load_error(tmp_path, "scan.pdf", make_pdf([[], []])) == "no text layer (scanned PDF?)"


def test_truncated_pdf(tmp_path: Path) -> None:
    pdf = make_pdf([["Bonjour"]])
    assert load_error(tmp_path, "coupe.pdf", pdf[: len(pdf) // 2]).startswith("corrupt PDF (")


def test_pdf_that_is_not_a_pdf(tmp_path: Path) -> None:
    assert load_error(tmp_path, "faux.pdf", b"<html>pas un pdf</html>").startswith("corrupt PDF (")


def test_pdf_with_a_user_password(tmp_path: Path) -> None:
    pdf = encrypt_pdf(make_pdf([["Secret"]]), user_password="motdepasse")
    assert load_error(tmp_path, "secret.pdf", pdf) == "encrypted PDF (password required)"


def test_pdf_with_permissions_only_encryption_loads(tmp_path: Path) -> None:
    document = load(tmp_path, "public.pdf", encrypt_pdf(make_pdf([["Public"]]), user_password=""))
    assert [section.text for section in document.sections] == ["Public"]


# --- DOCX --------------------------------------------------------------------------


def test_docx_headings_paragraphs_and_tables(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Avant-propos.")
    document.add_paragraph("Guide client", style="Title")
    document.add_paragraph("Résiliation", style="Heading 1")
    document.add_paragraph("Préavis d'un mois.")
    document.add_paragraph("   ")
    document.add_paragraph("Frais", style="Heading 2")
    table = document.add_table(rows=3, cols=3)
    for row, cells in zip(
        table.rows, [["Offre", "Frais", ""], ["Fibre", "", "100 DH"], ["Note", "", ""]], strict=True
    ):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    table.cell(2, 0).merge(table.cell(2, 2))
    document.styles.add_style("Titre 1", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("الاشتراك", style="Titre 1")
    document.add_paragraph("يمكنكم الاشتراك عبر الموقع.")

    loaded = load(tmp_path, "guide.docx", docx_bytes(document))
    assert loaded.sections == [
        Section(text="Avant-propos."),
        Section(text="Préavis d'un mois.", title="Résiliation", section="Guide client"),
        # Empty cells keep their column; the merged cell appears once.
        Section(
            text="Offre | Frais\nFibre |  | 100 DH\nNote",
            title="Frais",
            section="Guide client > Résiliation",
        ),
        Section(text="يمكنكم الاشتراك عبر الموقع.", title="الاشتراك", section="Guide client"),
    ]


def test_docx_that_is_not_a_zip(tmp_path: Path) -> None:
    reason = load_error(tmp_path, "ancien.docx", b"\xd0\xcf\x11\xe0 ancien format .doc")
    assert reason.startswith("corrupt DOCX (BadZipFile")


def test_docx_zip_without_a_document(tmp_path: Path) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("readme.txt", "rien")
    assert load_error(tmp_path, "faux.docx", archive.getvalue()).startswith("corrupt DOCX (")


def test_truncated_docx(tmp_path: Path) -> None:
    data = docx_bytes(docx.Document())
    assert load_error(tmp_path, "coupe.docx", data[: len(data) // 2]).startswith("corrupt DOCX (")


def test_docx_without_text(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Titre seul", style="Heading 1")
    assert load_error(tmp_path, "vide.docx", docx_bytes(document)) == "no text found"


# --- plain text --------------------------------------------------------------------


def test_text_is_one_untitled_section(tmp_path: Path) -> None:
    text = "Horaires : 9h-18h.\r\n\r\nأوقات العمل: من 9 إلى 18.\n\ufefb"
    document = load(tmp_path, "notes.txt", "\n\n" + text + "\n")
    assert document.sections == [Section(text=text)]


def test_text_with_only_a_bom(tmp_path: Path) -> None:
    assert load_error(tmp_path, "bom.txt", codecs.BOM_UTF16_LE + " \n".encode("utf-16-le")) == (
        "no text found"
    )
