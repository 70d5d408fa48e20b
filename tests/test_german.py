"""Folding in C (``_words.c``) gives exactly what its Python reference gives.

Tags and stories match words after folding: if the C folding spelled one character
differently, a district or topic term would silently stop matching. So both are compared
on every Latin-1 character (the table the C code folds most texts with), on characters
whose case folding changes their length or leaves Latin-1, and on seeded random texts.
"""

from __future__ import annotations

import random
import re

import pytest

from revier_feed import german
from revier_feed.german import fold, fold_python, folded_words, folded_words_python

#: Characters whose folding is not one lower-case character of the same block: ß, ẞ, µ
#: (Greek mu), the dotted and dotless i, final sigma, a ligature, a combining mark, digits
#: of other scripts, and characters outside the basic plane.
TRICKY = "ßẞµİıΣσςﬁ\u0308²½٣Ａ😀中\u200b_"


def test_extension_is_built() -> None:
    # Without it every item's texts are folded in Python, seconds slower a first cycle.
    assert german.NATIVE_WORDS, "revier_feed._words was not built: is a C compiler installed?"


def test_examples() -> None:
    assert fold("Ländliche RÄUME, Straße") == "laendliche raeume, strasse"
    assert folded_words("Ländliche RÄUME, Straße!") == " laendliche raeume strasse "
    assert folded_words("--") == "  "  # as " " + " ".join([]) + " "
    assert folded_words("") == "  "
    assert folded_words("µ-Sensor") == " μ sensor "


@pytest.mark.parametrize("code", range(256))
def test_every_latin1_character(code: int) -> None:
    c = chr(code)
    for text in (c, f"a{c}b", f"{c}{c}{c} Ä", f"Zeitz {c}"):
        assert fold(text) == fold_python(text)
        assert folded_words(text) == folded_words_python(text)


#: Random texts' characters: those the table folds alone, with the punctuation beyond
#: Latin-1 it passes over, and with characters that need str.casefold.
ALPHABETS = {
    "latin1": "".join(map(chr, range(256))),
    "german": "".join(map(chr, range(256))) + "„“‚‘–—…€\u2009",
    "mixed": "aÄöÜß .,-\t\n„“–€" + TRICKY,
}


@pytest.mark.parametrize("alphabet", ALPHABETS)
def test_random_texts(alphabet: str) -> None:
    rng = random.Random(alphabet)
    letters = ALPHABETS[alphabet]
    for _ in range(5000):
        text = "".join(rng.choice(letters) for _ in range(rng.randint(0, 60)))
        assert fold(text) == fold_python(text)
        assert folded_words(text) == folded_words_python(text)


@pytest.mark.parametrize(("low", "high"), [(0x2000, 0x206F), (0x20A0, 0x20CF)])
def test_the_punctuation_the_table_passes_over(low: int, high: int) -> None:
    # _words.c folds texts with these characters by its table, passing over them as they
    # are: so none may be a word character, and casefold must leave each as it is.
    for code in range(low, high + 1):
        c = chr(code)
        assert not re.match(r"\w", c) and c.casefold() == c, hex(code)
        for text in (c, f"„Ländliche{c}RÄUME“ – µ", f"Straße{c}{c}Zeitz"):
            assert fold(text) == fold_python(text)
            assert folded_words(text) == folded_words_python(text)


def test_not_a_str_is_an_error() -> None:
    with pytest.raises(TypeError):
        fold(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        folded_words(None)  # type: ignore[arg-type]


def test_files_are_shown_by_title_or_name_with_kind_and_size_in_german() -> None:
    from revier_feed.german import file_label

    pdf = "https://k.example/dokumente/Bericht%20l%C3%A4ndliche%20R%C3%A4ume.pdf"
    assert file_label(pdf, "application/pdf", 1_843_200) == (
        "Bericht ländliche Räume.pdf (PDF, 1,8 MB)"
    )
    assert file_label(pdf, "application/pdf", 837, "Der Bericht") == "Der Bericht (PDF, 837 Bytes)"
    assert file_label("https://k.example/f.mp3", "audio/mpeg", None) == "f.mp3 (MP3)"
    assert file_label("https://k.example/f.ogg", "audio/ogg", 12_500) == "f.ogg (Audio, 12 KB)"
    assert file_label("https://k.example/plan.dwg", "application/octet-stream", 999_600) == (
        "plan.dwg (DWG, 1,0 MB)"
    )
    assert file_label("https://k.example/", "application/octet-stream", None) == (
        "k.example (Datei)"
    )
    # A site's name for its file cannot break a mail's line or turn what follows it around.
    hostile = "https://k.example/a%0D%0ABcc:%20x%E2%80%AEfdp.exe"
    assert file_label(hostile, "application/x-msdownload", None) == "aBcc: xfdp.exe (EXE)"
    assert file_label(pdf, "application/pdf", None, "Titel\n\u202eevil") == "Titelevil (PDF)"
    # A link's text that is only the kind, or "Download", says less than the file's name.
    assert file_label(pdf, "application/pdf", None, "PDF") == "Bericht ländliche Räume.pdf (PDF)"
    assert file_label(pdf, "application/pdf", None, "[Download]") == (
        "Bericht ländliche Räume.pdf (PDF)"
    )
    # A title that names the kind is not told it again.
    assert file_label(pdf, "application/pdf", 837, "Richtlinie (PDF)") == (
        "Richtlinie (PDF) (837 Bytes)"
    )
    # A title of invisible characters is none; a script handing files out is no kind.
    assert file_label(pdf, "application/pdf", None, "\u200b\ufeff") == (
        "Bericht ländliche Räume.pdf (PDF)"
    )
    assert file_label("https://k.example/download.php?f=1", "application/octet-stream", 9) == (
        "download.php (Datei, 9 Bytes)"
    )
    # Rounded once: 9,951 bytes are "10 KB", not "10,0 KB".
    assert [german.size_text(n) for n in (9_949, 9_951, 999_499, 999_600)] == [
        "9,9 KB",
        "10 KB",
        "999 KB",
        "1,0 MB",
    ]
