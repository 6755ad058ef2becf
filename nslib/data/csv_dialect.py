"""How a CSV file is written: its encoding, its separator and decimal mark, and what marks a missing value.

Each is taken as given (``ENCODING=``, ``SEP=``, ``DECIMAL=``, ``NA=`` of ``make
study``) or sniffed. The separator and the decimal mark are sniffed together,
because ``1,5;2,25`` splits evenly at the comma and at the semicolon: the pair
that turns the most fields into numbers wins.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from collections.abc import Iterable

from nslib.data.csv_problems import Problems, option

# What pandas reads as missing by default, and the UCI repository's "?".
MISSING = frozenset({
    "", "?", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None", "<NA>",
    "#N/A", "#NA", "#N/A N/A", "-1.#IND", "1.#IND", "-1.#QNAN", "1.#QNAN",
})
SEPARATORS = (",", ";", "\t", "|")  # sniffed in this order; a tie keeps the earlier
_SEPARATOR_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|", "space": " "}
# UTF-32's little-endian mark begins with UTF-16's: it is tried first.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_NUMBER = {
    mark: re.compile(rf"[+-]?(\d+{re.escape(mark)}?\d*|{re.escape(mark)}\d+)([eE][+-]?\d+)?|[+-]?inf(inity)?", re.I)
    for mark in ".,"
}
_INTEGER = re.compile(r"[+-]?\d+")
_EXCEL_SEPARATOR = re.compile(r"sep=(.)[ \t]*(?=\n)")
_COMMA, _POINT = "decimal=','", "decimal='.'"
_SEMICOLON = option("SEP=';'", "sep=';'")
_TAB = option("SEP=tab", "sep='\\t'")


def number_kind(field: str, decimal: str) -> str | None:
    """``"int"`` or ``"float"`` when ``field`` is a number written with the decimal mark ``decimal``, else None."""
    text = field.strip()
    if _INTEGER.fullmatch(text):
        return "int"
    return "float" if _NUMBER[decimal].fullmatch(text) else None


def separator_option(sep: str | None, problems: Problems) -> str | None:
    """The separator asked for: one character, or its name (comma, semicolon, tab, pipe, space)."""
    if sep is None:
        return None
    sep = _SEPARATOR_NAMES.get(sep.lower(), sep) if isinstance(sep, str) else sep
    if not isinstance(sep, str) or len(sep) != 1 or sep in "\"\r\n":
        problems.refuse(f"the separator {sep!r} is not one character", f"give one, e.g. {_SEMICOLON} or {_TAB}")
    return sep


def excel_separator(text: str) -> tuple[str, str | None]:
    """The separator named by Excel's first line ``sep=;``, and the text with that line emptied; else None."""
    match = _EXCEL_SEPARATOR.match(text)
    if match is None:
        return text, None
    return text[match.end():], match.group(1)


def decode(raw: bytes, encoding: str | None, problems: Problems) -> tuple[str, str]:
    """The file's text and a sentence saying which encoding gave it and why.

    Given an encoding, it must decode every byte. Otherwise a byte-order mark
    decides; then UTF-8; a file that is not UTF-8 is read as cp1252 (Windows'
    Western European text, of which latin-1 is nearly a subset), or as latin-1
    where cp1252 has no character for a byte.
    """
    fix = f"name the file's encoding with {option('ENCODING=...', 'encoding=...')}, e.g. cp1252, latin-1 or utf-16"
    if encoding is not None:
        try:
            codec = codecs.lookup(encoding).name
        except (LookupError, TypeError):
            problems.refuse(f"ENCODING={encoding!r} is not an encoding Python knows", fix)
        try:
            return raw.decode(codec), f"Encoding {codec} (given)."
        except UnicodeDecodeError as error:
            problems.refuse(f"it is not {codec} text ({_where(raw, error)})", fix)
    for mark, codec in _BYTE_ORDER_MARKS:
        if raw.startswith(mark):
            try:
                return raw.decode(codec), f"Encoding {codec} (byte-order mark)."
            except UnicodeDecodeError as error:
                problems.refuse(f"it starts with a {codec} byte-order mark but is not {codec} text "
                                f"({_where(raw, error)})", fix)
    if b"\x00" in raw[:4096]:
        problems.refuse(
            "it holds NUL bytes: UTF-16 text without a byte-order mark, or not text at all",
            "if it is UTF-16, " + option("ENCODING=utf-16-le", "encoding='utf-16-le'") + " (or utf-16-be)",
        )
    try:
        return raw.decode("utf-8"), "Encoding utf-8."
    except UnicodeDecodeError as error:
        where = _where(raw, error)
    try:
        codec, text = "cp1252", raw.decode("cp1252")
    except UnicodeDecodeError:  # a byte cp1252 leaves undefined: latin-1 has a character for every byte
        codec, text = "latin-1", raw.decode("latin-1")
    return text, (f"Encoding {codec} (detected: {where} is not UTF-8; if names or labels look wrong, "
                  "give the encoding with ENCODING=).")


def _where(raw: bytes, error: UnicodeDecodeError) -> str:
    """Where decoding failed, for a person: "byte 0xe9 on line 1,203"."""
    line = raw.count(b"\n", 0, error.start) + 1
    return f"byte {raw[error.start]:#04x} on line {line:,}"


def sniff(lines: list[str], sep: str | None, decimal: str | None, problems: Problems) -> tuple[str, str, str]:
    """The separator and decimal mark of ``lines`` (given or sniffed), and a sentence saying which and how."""
    if decimal is not None and decimal not in (".", ","):
        problems.refuse(f"the decimal mark {decimal!r} is neither '.' nor ','",
                        f"give {option('DECIMAL=,', _COMMA)} or {option('DECIMAL=.', _POINT)}")
    if sep == "," and decimal == ",":
        problems.refuse("the separator and the decimal mark are both ','",
                        f"a file with decimal commas separates its values otherwise: give it, e.g. {_SEMICOLON}")
    candidates = [
        (candidate, mark)
        for candidate in ([sep] if sep is not None else SEPARATORS)
        for mark in ([decimal] if decimal is not None else (".", ","))
        if not (candidate == "," and mark == ",")
    ]
    scored = [(score, -rank, candidate, mark) for rank, (candidate, mark) in enumerate(candidates)
              if (score := _score(lines, candidate, mark)) is not None]
    if not scored:
        given = f"the separator {sep!r} (given)" if sep is not None else "',', ';', tab or '|'"
        problems.refuse(
            f"no line splits into two or more fields at {given}; a file for a classifier has feature columns "
            "and a label column",
            f"give the separator with {option('SEP=...', 'sep=...')}, e.g. SEP=';', SEP=tab or SEP=space",
        )
    _, _, chosen, mark = max(scored)
    return chosen, mark, f"Separator {chosen!r} ({_how(sep)}), decimal mark {mark!r} ({_how(decimal)})."


def _how(value: object) -> str:
    return "detected" if value is None else "given"


def _score(lines: Iterable[str], sep: str, decimal: str) -> tuple[float, int, int] | None:
    """How well ``sep`` and ``decimal`` read ``lines``: the share of rows of the usual width (to 1%), the
    fields that are numbers, and the width; None when the usual row has fewer than two fields.

    The right separator splits every line, the header too, into as many fields; among those that do,
    the one that reads the most numbers wins (a decimal comma splits numbers, never names).
    """
    rows = [row for row in csv.reader(lines, delimiter=sep, skipinitialspace=True) if row]
    if not rows:
        return None
    width, count = Counter(map(len, rows)).most_common(1)[0]
    if width < 2:
        return None
    numbers = sum(number_kind(field, decimal) is not None for row in rows for field in row)
    return round(count / len(rows), 2), numbers, width
