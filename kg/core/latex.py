"""BibTeX field text: LaTeX to Unicode, author names, and brace-aware splitting.

One implementation for both readers of BibTeX: the seed import
(:mod:`ingest.sources.bibtex`, BibTeX and Zotero libraries) and the reading-list import
(:mod:`kg.formats.bibtex`).

* :func:`latex_to_text` decodes a field value: accents (``{\\"u}``, ``\\'{e}``,
  ``\\c s``), special letters (``{\\ss}``, ``\\o``, ``{\\L}``), escaped specials
  (``\\& \\% \\$ \\# \\_ \\{ \\}``), the symbols and Greek letters reference managers
  write (``\\textbackslash{}``, ``\\dots``, ``$\\beta$``), formatting commands
  (``\\emph{x}`` -> ``x``), simple math (``$L_0$`` -> ``L0``); braces are dropped,
  whitespace collapsed and the result NFC-normalised. Citation-like commands
  (``\\cite{..}``, ``\\footnote{..}``) are dropped with their argument; an unknown
  command keeps its name as text. TeX's ligatures (``--``, ``---``, ````` `` `````,
  ``''``) become dashes and quotes unless ``ligatures=False`` (the reading-list
  import, whose writer leaves them as typed, so that text round-trips exactly).
* :func:`bib_name` turns one BibTeX name (``von Last, First``, ``Last, Jr, First``,
  ``First von Last`` or a braced ``{Corporate, Inc.}``) into a display name
  ``First von Last``; :func:`split_authors` splits an ``author`` field at the
  ``and`` that are outside braces.
* :func:`split_top` and :func:`closing_brace` look at braces the way BibTeX does:
  an escaped ``\\{`` or ``\\}`` opens or closes nothing.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "bib_name",
    "closing_brace",
    "field_value",
    "latex_to_text",
    "plain_field",
    "quiet_bibtexparser",
    "split_authors",
    "split_top",
]

# --------------------------------------------------------------------------- tables
#: Accent commands and the combining mark each puts on the first letter of its argument.
_ACCENTS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
    "r": "\u030a", "d": "\u0323", "b": "\u0331", "t": "\u0361",
}  # fmt: skip
#: Control words that stand for one character or a short text.
_SYMBOLS = {
    # letters
    "i": "ı", "j": "ȷ", "l": "ł", "L": "Ł", "o": "ø", "O": "Ø", "ss": "ß", "aa": "å",
    "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "dh": "ð", "DH": "Ð", "th": "þ",
    "TH": "Þ", "ng": "ŋ", "NG": "Ŋ", "dj": "đ", "DJ": "Đ",
    # text symbols (the escapes a BibTeX writer uses included)
    "textbackslash": "\\", "textbraceleft": "{", "textbraceright": "}", "textasciicircum": "^",
    "textasciitilde": "~", "textunderscore": "_", "textbar": "|", "textless": "<",
    "textgreater": ">", "textdollar": "$", "textquotedbl": '"', "dots": "…", "ldots": "…",
    "cdots": "⋯", "textellipsis": "…", "dag": "†", "textdagger": "†", "ddag": "‡",
    "textdaggerdbl": "‡", "textpm": "±", "pm": "±", "texttimes": "×", "times": "×",
    "textendash": "–", "textemdash": "—", "textquoteright": "’", "textquoteleft": "‘",
    "textquotedblleft": "“", "textquotedblright": "”", "bullet": "•", "textbullet": "•",
    "textregistered": "®", "texttrademark": "™", "copyright": "©", "textcopyright": "©",
    "S": "§", "P": "¶", "euro": "€", "texteuro": "€", "pounds": "£", "textdegree": "°",
    "textperiodcentered": "·", "textsection": "§", "guillemotleft": "«",
    "guillemotright": "»", "textexclamdown": "¡", "textquestiondown": "¿", "LaTeX": "LaTeX",
    "TeX": "TeX", "BibTeX": "BibTeX",
    # math
    "sim": "∼", "approx": "≈", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠",
    "ne": "≠", "infty": "∞", "cdot": "·", "rightarrow": "→", "to": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "circ": "∘", "in": "∈", "partial": "∂", "nabla": "∇", "sum": "∑",
    "prod": "∏", "mid": "|", "vert": "|", "langle": "⟨", "rangle": "⟩", "ell": "ℓ",
    "star": "⋆", "ast": "∗", "prime": "′", "propto": "∝", "subset": "⊂", "subseteq": "⊆",
    "cup": "∪", "cap": "∩", "forall": "∀", "exists": "∃", "neg": "¬", "land": "∧",
    "lor": "∨", "oplus": "⊕", "otimes": "⊗", "log": "log", "exp": "exp", "min": "min",
    "max": "max", "varepsilon": "ε", "vartheta": "ϑ", "varphi": "φ", "varrho": "ϱ",
    "varsigma": "ς", "varpi": "ϖ",
    # spacing and layout
    "quad": " ", "qquad": " ", "newline": " ", "par": " ", "hfill": " ", "relax": "",
    "noindent": "", "displaystyle": "", "left": "", "right": "", "big": "", "Big": "",
    "ensuremath": "", "protect": "",
}  # fmt: skip
for _name in re.findall(
    r"\w+",
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
    "sigma tau upsilon phi chi psi omega",
):
    _unicode_name = "LAMDA" if _name == "lambda" else _name.upper()
    _SYMBOLS[_name] = unicodedata.lookup(f"GREEK SMALL LETTER {_unicode_name}")
    _SYMBOLS[_name.capitalize()] = unicodedata.lookup(f"GREEK CAPITAL LETTER {_unicode_name}")
#: Control symbols (a backslash and one non-letter) that are spacing, or nothing.
_CONTROL_SYMBOLS = {
    "\\": " ", " ": " ", ",": " ", ";": " ", ":": " ", "!": "", "-": "", "/": "", "@": "",
}  # fmt: skip
#: Commands whose argument is kept as plain text (formatting, font switches).
_TEXT_COMMANDS = frozenset(
    re.findall(
        r"\w+",
        "emph textit textbf texttt textsc textrm textsf textup textnormal textmd textsl mathrm "
        "mathbf mathit mathcal mathbb mathsf mathtt mathfrak text mbox hbox url underline uline "
        "textsuperscript textsubscript operatorname boldsymbol bm em it bf sc tt rm sf sl "
        "small large Large footnotesize normalsize tiny huge Huge scriptsize",
    )
)
#: Commands dropped together with their argument (citations, labels, notes).
_DROPPED_COMMANDS = frozenset(
    re.findall(
        r"\w+", "cite citep citet citealp citeauthor citeyear label ref eqref footnote thanks"
    )
)
#: TeX's ligatures of the default font encoding.
_LIGATURES = {"---": "—", "--": "–", "``": "“", "''": "”"}

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\\$|[{}$~]|-{2,3}|``|''|[^\\{}$~\-`']+|.", re.S)
_NEEDS_TEX = re.compile(r"[\\{}$~]")
_NEEDS_TEX_OR_LIGATURES = re.compile(r"[\\{}$~]|--|``|''")


# --------------------------------------------------------------------------- decoding
#: How deep groups and commands nest before the decoder stops recursing (a real field
#: nests a few levels; a hostile one thousands, past Python's recursion limit).
_MAX_DEPTH = 150


class _Decoder:
    """A recursive-descent reader over :data:`_TOKEN` tokens (see :func:`latex_to_text`)."""

    def __init__(self, text: str, *, ligatures: bool) -> None:
        self.toks: list[str] = _TOKEN.findall(text)
        self.i = 0
        self.math = False
        self.ligatures = ligatures
        self.depth = 0  # items being decoded, one inside the other

    def text(self) -> str:
        out: list[str] = []
        while self.i < len(self.toks):
            if self.toks[self.i] == "}":  # an unbalanced closing brace: dropped
                self.i += 1
                continue
            out.append(self.item())
        return "".join(out)

    def group(self) -> str:
        """The rest of a group whose ``{`` was consumed, through its ``}``."""
        out: list[str] = []
        while self.i < len(self.toks):
            if self.toks[self.i] == "}":
                self.i += 1
                break
            out.append(self.item())
        return "".join(out)

    def item(self) -> str:
        if self.depth >= _MAX_DEPTH:  # nested past any real field: braces and commands
            tok = self.toks[self.i]  # are dropped flat instead of recursing further
            self.i += 1
            return "" if tok in ("{", "}", "$") or tok.startswith("\\") else tok
        self.depth += 1
        try:
            return self._item()
        finally:
            self.depth -= 1

    def _item(self) -> str:
        tok = self.toks[self.i]
        self.i += 1
        if tok == "{":
            return self.group()
        if tok == "}":
            return ""
        if tok == "~":
            return " "
        if tok == "$":
            if self.math:
                self.math = False
                return ""
            return self.math_span()
        if tok.startswith("\\"):
            return self.command(tok[1:])
        if tok in _LIGATURES:
            return _LIGATURES[tok] if self.ligatures else tok
        if self.math:
            return tok.replace("^", "").replace("_", "")
        return tok

    def math_span(self) -> str:
        self.math = True
        out: list[str] = []
        while self.i < len(self.toks) and self.math:
            out.append(self.item())
        self.math = False
        return "".join(out)

    def eat_space(self) -> None:
        """TeX drops the spaces after a control word, and an empty ``{}`` ends one."""
        if self.toks[self.i : self.i + 2] == ["{", "}"]:
            self.i += 2
        elif self.i < len(self.toks) and self.toks[self.i][:1].isspace():
            rest = self.toks[self.i].lstrip()
            if rest:
                self.toks[self.i] = rest
            else:
                self.i += 1

    def argument(self) -> str:
        """The next argument decoded: a group, a command, or one character."""
        while self.i < len(self.toks) and self.toks[self.i].isspace():
            self.i += 1
        if self.i >= len(self.toks):
            return ""
        tok = self.toks[self.i]
        if tok == "}":
            return ""
        if tok == "{":
            self.i += 1
            return self.group()
        if tok.startswith("\\") or tok in ("$", "~"):
            return self.item()
        tok = tok.lstrip()
        if len(tok) > 1:
            self.toks[self.i] = tok[1:]
        else:
            self.i += 1
        return tok[:1]

    def command(self, name: str) -> str:
        if not name:  # a backslash at the very end
            return "\\"
        if name in _ACCENTS:
            if name.isalpha():
                self.eat_space()
            base = self.argument()
            if not base:
                return ""
            first = {"ı": "i", "ȷ": "j"}.get(base[0], base[0])
            return unicodedata.normalize("NFC", first + _ACCENTS[name]) + base[1:]
        if not name.isalpha():  # a control symbol: \& \% \{ \, \\ ...
            return _CONTROL_SYMBOLS.get(name, name)
        self.eat_space()
        if name in _SYMBOLS:
            return _SYMBOLS[name]
        if name in _TEXT_COMMANDS:
            return ""  # the argument group that follows is decoded as ordinary text
        if name in _DROPPED_COMMANDS:
            self.argument()
            return ""
        if name == "href":
            self.argument()  # the URL; the link text that follows is kept
            return ""
        return name  # an unknown command: its name is kept as text


def latex_to_text(value: str, *, ligatures: bool = True, unescape_twice: bool = False) -> str:
    """BibTeX field text as clean Unicode: ``Kram{\\'a}r`` -> ``Kramár``, ``\\&`` -> ``&``,
    ``{$\\bullet$}`` -> ``•``, ``{\\dots}`` -> ``…``, braces dropped, whitespace collapsed.

    ``ligatures``: ``--``, ``---``, ````` `` ````` and ``''`` become ``–``, ``—``, ``“``
    and ``”`` as TeX typesets them; with ``False`` they are kept as typed.
    ``unescape_twice``: Zotero escapes LaTeX that was typed into a title or abstract
    (``{\\textbackslash}textit\\{x\\}``, ``\\$L\\_0\\$``); that LaTeX is decoded as well
    (``x``, ``L0``).
    """
    needs = _NEEDS_TEX_OR_LIGATURES if ligatures else _NEEDS_TEX
    text = value
    if needs.search(text):
        text = _Decoder(text, ligatures=ligatures).text()
        if unescape_twice and ("\\" in text or "$" in text):
            text = _Decoder(text, ligatures=ligatures).text()
    return unicodedata.normalize("NFC", " ".join(text.split()))


def plain_field(value: str) -> str:
    """URL-, DOI- and eprint-like fields: escapes undone and braces dropped, no decoding.

    URLs and DOIs lose all whitespace (BibTeX writers wrap long ones); other values
    are stripped.
    """
    text = re.sub(r"\\([_%&#$~{}])", r"\1", value)
    text = text.replace("{", "").replace("}", "")
    return "".join(text.split()) if "://" in text or text.startswith("10.") else text.strip()


def field_value(value: object, *, enclosed: bool) -> str:
    """A field's value as a string; ``enclosed`` values still have their ``{}``/``""``
    delimiters (bibtexparser's entries recovered from a failed block), which are removed."""
    text = str(value).strip()
    if enclosed and len(text) >= 2 and (text[0], text[-1]) in (("{", "}"), ('"', '"')):
        text = text[1:-1]
    return text


# --------------------------------------------------------------------------- braces
def _unescaped(text: str) -> Iterator[tuple[int, str]]:
    """``(index, character)`` for the characters of ``text`` that no backslash escapes
    (the backslashes and what they escape are left out)."""
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        yield i, text[i]
        i += 1


def split_top(value: str, sep: re.Pattern[str]) -> list[str]:
    """``value`` split at the matches of ``sep`` outside braces (escaped braces and
    escaped characters are text: ``\\{`` opens no group)."""
    parts: list[str] = []
    depth = start = 0
    for i, ch in _unescaped(value):
        if i < start:
            continue  # inside the separator just matched
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif depth == 0 and (m := sep.match(value, i)):
            parts.append(value[start:i])
            start = m.end()
    parts.append(value[start:])
    return parts


def closing_brace(text: str) -> int:
    """Index of the ``}`` that closes the group opened by the first ``{`` of ``text``
    (escaped braces do not count), or -1."""
    depth = 0
    for i, ch in _unescaped(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


# --------------------------------------------------------------------------- names
_AND = re.compile(r"\s+and\s+", re.I)
_COMMA = re.compile(r",")


def split_authors(value: str) -> list[str]:
    """An ``author``/``editor`` field's names: split at ``and`` outside braces, so
    ``{Tom and Jerry} and Ann Lee`` is two names."""
    return [name for name in (n.strip() for n in split_top(value, _AND)) if name]


#: Footnote marks that BibTeX exports put beside a name (``{\\dag}, Nick Cammarata``).
_MARKS = frozenset("†‡§¶*")


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _is_name_part(text: str) -> bool:
    return any(ch not in _MARKS and not ch.isspace() for ch in text)


def bib_name(raw: str, *, ligatures: bool = True, letters_only: bool = True) -> str | None:
    """One BibTeX name as ``First von Last`` (``Jr`` last), decoded to Unicode.

    ``van Beethoven, Ludwig`` -> ``Ludwig van Beethoven``; ``King, Jr., Martin`` ->
    ``Martin King Jr.``; ``First Last`` is kept; a name braced whole
    (``{Anthropic, Inc.}``) is taken as it stands. Commas inside braces do not split.
    ``others`` (BibTeX's "et al.") and empty names give None; so do footnote marks:
    ``{\\dag}, Nick Cammarata`` is ``Nick Cammarata``.

    ``letters_only``: a comma-separated part without a letter is dropped, and a name
    without one gives None; with ``False`` any other text in a name is kept (the
    inverse of a writer that may put any text there). ``ligatures`` as for
    :func:`latex_to_text`.
    """
    raw = raw.strip()
    if not raw or raw.lower() == "others":
        return None
    if raw.startswith("{") and closing_brace(raw) == len(raw) - 1:
        parts = [latex_to_text(raw[1:-1], ligatures=ligatures)]
    else:
        parts = [latex_to_text(p, ligatures=ligatures) for p in split_top(raw, _COMMA)]
        if len(parts) == 2:  # von Last, First
            parts = [parts[1], parts[0]]
        elif len(parts) >= 3:  # von Last, Jr, First
            parts = [parts[2], parts[0], parts[1], *parts[3:]]
    keep = _has_letters if letters_only else _is_name_part
    return " ".join(p for p in parts if keep(p)) or None


# --------------------------------------------------------------------------- parser
class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextmanager
def quiet_bibtexparser() -> Iterator[None]:
    """Silence bibtexparser's loggers: it logs every malformed block, which the callers
    report themselves. A filter on a parent logger does not see its children's records,
    so every ``bibtexparser.*`` logger gets one."""
    names = ["bibtexparser", "bibtexparser.splitter", "bibtexparser.entrypoint"]
    names += [n for n in list(logging.Logger.manager.loggerDict) if n.startswith("bibtexparser.")]
    loggers = [logging.getLogger(n) for n in dict.fromkeys(names)]
    quiet = _Quiet()
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)
