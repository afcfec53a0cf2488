"""Post-OCR correction that fixes misreadings and leaves correct text alone.

A token is changed only when all of these hold: it is not inside a protected span (numbers,
dates, amounts, IBANs, e-mails, URLs, codes, acronyms); it is not a known word, a word the
document itself uses twice, a user-dictionary word, or (capitalised mid-sentence) a name; and a
reading reachable through typical OCR confusions is far more frequent in the page's languages
than what was printed. Tesseract's own confidence gates alphabetic tokens: a word it was sure of
is kept. Text in scripts other than Latin (Chinese, Japanese, Korean, ...) passes through.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hotocr.correct import model
from hotocr.datatypes import Correction

#: Tesseract language -> wordfreq language.
WORDFREQ_LANGUAGES = {"eng": "en", "deu": "de", "nld": "nl", "fra": "fr", "ita": "it", "spa": "es"}
#: Alphabetic tokens at least this frequent (Zipf) are real words and kept as printed.
KNOWN_WORD = 2.0
#: A replacement must be at least this frequent ...
MIN_CANDIDATE = 3.0
#: ... and, for an alphabetic token, beat the printed word by this much.
MIN_GAIN = 2.5
#: Tesseract confidence at or above which an alphabetic word is trusted as printed (real
#: misreadings such as Fraktur's "fie" for "sie" come with confidences up to 93).
TRUSTED_CONFIDENCE = 95.0
#: Languages that capitalise every noun: a capital letter mid-sentence is no sign of a name
#: there, so such words may be corrected, with a larger margin.
NOUN_CAPITALISING = frozenset({"de"})
NOUN_MIN_GAIN = 3.5
#: Fraktur's long s read as f ("ift", "fie", "fehr"): in a language that capitalises nouns
#: (German, where these prints are), an f-for-s reading this frequent and this much more
#: frequent than the printed word replaces it, even a word the page repeats (a misreading
#: repeats on every page) or one the lexicon knows (web text holds old misread books too).
LONG_S_MIN = 4.0
LONG_S_GAIN = 2.5
LONG_S_MAX_F = 4
#: Words run together (``TAXINVOICE``, ``youfor``; PP-OCR drops spaces more often than
#: Tesseract) are split where the lexicon is sure: a token of at least ``SPLIT_MIN_LENGTH``
#: letters, all small or all capitals (a capitalised one may be a name: "Thandar" is no
#: "Than dar"), that the lexicon does not know (below ``SPLIT_UNKNOWN``) and that splits in
#: exactly one way into two words of three letters or more, each at least ``SPLIT_MIN_PART``
#: frequent ("confidentis", a misread "confidential", is no "confident is"), in languages that
#: do not write compounds as one word. Receipts and forms of the development set: 4 such
#: splits by PP-OCR, all right; by Tesseract 1 of 1 wrong ("MARSHNESS").
SPLIT_LANGUAGES = frozenset({"en", "fr", "it", "es"})
SPLIT_MIN_LENGTH = 6
SPLIT_UNKNOWN = 1.0
SPLIT_MIN_PART = 3.25
SPLIT_PART_LENGTH = 3
#: All-capital tokens this long are no acronyms: they may be split.
SPLIT_CAPITALS_LENGTH = 8
#: A token starting with a digit (``1s``, ``5m``) is a unit or a code unless it misreads one of
#: the most frequent words of the language.
DIGIT_LEADING_MIN = 6.0

#: The page's language is in doubt when fewer than ``DOUBT_SHARE`` of its words of three
#: letters or more are at least ``DOUBT_KNOWN`` frequent in the configured languages (with
#: ``DOUBT_MIN_WORDS`` words or more to tell): a German page dropped into an English folder
#: ("rief" is no misread "rick"). Then only the folder's own rules apply. On the eval and
#: development pages (truth, Tesseract's and PP-OCR's readings) English pages under the
#: English lexicon: 0.57 or more, receipts and forms included; German ones: 0.46 at most.
DOUBT_KNOWN = 2.5
DOUBT_SHARE = 0.5
DOUBT_MIN_WORDS = 20
DOUBT_WORD_LENGTH = 3

# Latin-script word characters plus the symbols OCR puts in place of letters.
_TOKEN = re.compile(r"[A-Za-z\u00C0-\u024F0-9@$|]+")
_PROTECTED = re.compile(
    "|".join(
        (
            r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail
            r"(?:https?://|www\.)\S+",  # URL
            r"\b(?:[\w-]+\.)+(?:com|org|net|edu|gov|info|biz|io|[a-z]{2})(?:/\S*)?\b",  # host
            r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",  # IBAN
            r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b",  # dates
            r"[€$£¥]\s?\d[\d.,']*|\d[\d.,']*\s?(?:%|€|EUR|USD|CHF|GBP)",  # amounts
            r"\b\w*\d\w*(?:[-/]\w+)+\b",  # codes with digits and hyphens: INV-2024-07
            r"\b(?=\w*\d\w*\d)\w+\b",  # two or more digits: 2024, B12, X500, 10kg
            r"\b[A-Z]{1,2}\d{1,2}\b|\b\d[A-Z]{1,2}\b",  # short codes: A4, B2, 3M, F1
            r"\b\d+(?:st|nd|rd|th|e|er|ère|ème|te|de)\b",  # ordinals
        )
    )
)
#: Acronyms: VAT, IBAN (GmbH is mixed and not matched); protected like the spans above.
_ACRONYM = re.compile(r"\b[A-Z]{2,}\b")
_SENTENCE_END = frozenset(".!?:\n\f")


@dataclass(frozen=True)
class Corrected:
    text: str
    corrections: tuple[Correction, ...]
    #: Why the lexicon's corrections were left out (the page's language is in doubt).
    left_out: str = ""


class Lexicon:
    """Word frequencies (Zipf scale) of the page's languages, from wordfreq's bundled lists."""

    def __init__(self, languages: Iterable[str], extra_words: Iterable[str] = ()) -> None:
        import wordfreq  # noqa: PLC0415 - 60 MB of lists, loaded only where correction runs

        codes = [WORDFREQ_LANGUAGES[lang] for lang in languages if lang in WORDFREQ_LANGUAGES]
        self.languages = tuple(codes)
        self._freq: dict[str, float] = {}
        self._accented: dict[str, tuple[str, float]] = {}
        for code in codes:
            for word, freq in wordfreq.get_frequency_dict(code, wordlist="best").items():
                zipf = math.log10(freq * 1e9) if freq > 0 else 0.0
                if zipf > self._freq.get(word, 0.0):
                    self._freq[word] = zipf
                if zipf >= MIN_CANDIDATE and not word.isascii():
                    plain = model.strip_diacritics(word)
                    if plain != word and zipf > self._accented.get(plain, ("", 0.0))[1]:
                        self._accented[plain] = (word, zipf)
        self.capitalises_nouns = bool(NOUN_CAPITALISING & set(codes))
        self.splits_run_together = bool(codes) and set(codes) <= SPLIT_LANGUAGES
        self._user = {w.lower() for w in extra_words}
        for word in self._user:
            self._freq[word] = max(self._freq.get(word, 0.0), 5.0)

    def zipf(self, word: str) -> float:
        return self._freq.get(word, 0.0)

    def accented(self, word: str) -> tuple[str, float] | None:
        """The far more frequent accented spelling of ``word`` (``fur`` -> ``für``), if any."""
        return self._accented.get(word)

    def is_user_word(self, word: str) -> bool:
        return word in self._user


@lru_cache(maxsize=16)
def _lexicon(
    languages: tuple[str, ...], dictionary: Path | None, stamp: tuple[int, int] | None = None
) -> Lexicon:
    """Loaded once per process for each languages, dictionary and the dictionary's version
    (``stamp``: its mtime and size), so a word taught in the verification station reaches
    the next page read."""
    return Lexicon(languages, read_word_list(dictionary) if dictionary else ())


def _stamp(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def read_word_list(path: Path) -> list[str]:
    """One word per line; blank lines and ``#`` comments ignored."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def read_rules(path: Path) -> dict[str, str]:
    """Exact token replacements, one ``printed -> meant`` per line."""
    rules = {}
    for line in read_word_list(path):
        printed, sep, meant = line.partition("->")
        if not sep or not printed.strip() or not meant.strip():
            raise ValueError(f"{path}: expected 'printed -> meant', got {line!r}")
        rules[printed.strip()] = meant.strip()
    return rules


class Corrector:
    def __init__(self, lexicon: Lexicon, rules: Mapping[str, str] | None = None) -> None:
        self._lex = lexicon
        self._rules = dict(rules or {})

    def correct(self, text: str, confidences: Mapping[str, float] | None = None) -> Corrected:
        """``text`` with misreadings fixed; every character not in a correction is kept."""
        if not self._lex.languages and not self._rules:
            return Corrected(text, ())
        protected = [m.span() for m in _PROTECTED.finditer(text)]
        acronyms = [m.span() for m in _ACRONYM.finditer(text)]
        tokens: list[re.Match[str]] = []
        capitals: list[re.Match[str]] = []
        for m in _TOKEN.finditer(text):
            if _inside(m.span(), protected):
                continue
            (capitals if _inside(m.span(), acronyms) else tokens).append(m)
        vocabulary = Counter(m.group().lower() for m in tokens if m.group().isalpha())
        doubt = self._language_doubt(vocabulary)
        if doubt:  # another language: the folder's rules only, never the lexicon's guesses
            rules = [(m, self._rules[m.group()]) for m in tokens if m.group() in self._rules]
            return dataclasses.replace(_apply(text, rules), left_out=doubt)
        fixes: dict[int, str] = {}
        for i, match in enumerate(tokens):
            fixed = self._fix_token(text, match, vocabulary, confidences)
            if fixed is not None:
                fixes[i] = fixed
        self._fix_lone_symbols(text, tokens, fixes)
        replaced = [(tokens[i], word) for i, word in fixes.items()]
        for match in capitals:
            pieces = self._split(match.group())
            if pieces is not None and len(match.group()) >= SPLIT_CAPITALS_LENGTH:
                replaced.append((match, pieces))
        return _apply(text, sorted(replaced, key=lambda one: one[0].start()))

    def _language_doubt(self, vocabulary: Counter[str]) -> str:
        """Why the page may not be in the configured languages, or "" (see ``DOUBT_SHARE``)."""
        if not self._lex.languages:
            return ""
        words = {w: n for w, n in vocabulary.items() if len(w) >= DOUBT_WORD_LENGTH}
        total = sum(words.values())
        if total < DOUBT_MIN_WORDS:
            return ""
        known = sum(n for w, n in words.items() if self._lex.zipf(w) >= DOUBT_KNOWN) / total
        if known >= DOUBT_SHARE:
            return ""
        return (
            f"left out: {known:.0%} of the page's words are known in "
            f"{'+'.join(self._lex.languages)}, so its language is in doubt"
        )

    def _fix_token(
        self,
        text: str,
        match: re.Match[str],
        vocabulary: Counter[str],
        confidences: Mapping[str, float] | None,
    ) -> str | None:
        token = match.group()
        if token in self._rules:
            return self._rules[token]
        if len(token) < 2 or not any(c.isalpha() for c in token):
            return None
        pieces = self._split(token)
        if pieces is not None and not self._trusted(text, match, vocabulary, None):
            return pieces
        low = token.lower()
        long_s = self._long_s(token, low, confidences)
        if long_s is not None:
            return _with_case(token, long_s, sentence_start=False)
        suspicious = any(c in model.NON_LETTERS for c in token) or _odd_capital(token)
        if not suspicious and self._trusted(text, match, vocabulary, confidences):
            return None
        raw_zipf = self._lex.zipf(low)
        if not suspicious and raw_zipf >= KNOWN_WORD:
            return self._restore_accent(token, low, raw_zipf)
        best, best_score = None, -math.inf
        for word, edits in model.candidates(token).items():
            zipf = self._lex.zipf(word)
            # The printed word itself is no correction, unless only its odd capital was wrong.
            if (word == low and not suspicious) or zipf < MIN_CANDIDATE:
                continue
            score = zipf - model.EDIT_COST * edits
            if score > best_score:
                best, best_score = word, score
        if best is None:
            return self._restore_accent(token, low, raw_zipf)
        if token[0].isdigit() and self._lex.zipf(best) < DIGIT_LEADING_MIN:
            return None
        needed = MIN_GAIN
        if token[0].isupper() and not _sentence_start(text, match.start()):
            needed = NOUN_MIN_GAIN  # a German noun, or a name
        if not suspicious and self._lex.zipf(best) - raw_zipf < needed:
            return None
        return _with_case(token, best, _sentence_start(text, match.start()))

    def _split(self, token: str) -> str | None:
        """``token`` with a space where two words ran together, where the lexicon is sure."""
        low = token.lower()
        if (
            not self._lex.splits_run_together
            or len(token) < SPLIT_MIN_LENGTH
            or not token.isalpha()
            or not (token.islower() or token.isupper())
            or self._lex.zipf(low) >= SPLIT_UNKNOWN
            or self._lex.is_user_word(low)
        ):
            return None
        splits = [
            i
            for i in range(SPLIT_PART_LENGTH, len(low) - SPLIT_PART_LENGTH + 1)
            if min(self._lex.zipf(low[:i]), self._lex.zipf(low[i:])) >= SPLIT_MIN_PART
        ]
        if len(splits) != 1:
            return None  # no split, or more than one: not sure
        return f"{token[: splits[0]]} {token[splits[0] :]}"

    def _long_s(self, token: str, low: str, confidences: Mapping[str, float] | None) -> str | None:
        """The word a Fraktur long s read as f stands for, where that is clear."""
        if not self._lex.capitalises_nouns or "f" not in low or not token.isalpha():
            return None
        if self._lex.is_user_word(low):
            return None
        if confidences is not None and confidences.get(token, 0.0) >= TRUSTED_CONFIDENCE:
            return None
        where = [i for i, c in enumerate(low) if c == "f"][:LONG_S_MAX_F]
        best, best_zipf = None, 0.0
        for count in range(1, len(where) + 1):
            for chosen in itertools.combinations(where, count):
                word = "".join("s" if i in chosen else c for i, c in enumerate(low))
                if self._lex.zipf(word) > best_zipf:
                    best, best_zipf = word, self._lex.zipf(word)
        if best_zipf < LONG_S_MIN or best_zipf - self._lex.zipf(low) < LONG_S_GAIN:
            return None
        return best

    def _trusted(
        self,
        text: str,
        match: re.Match[str],
        vocabulary: Counter[str],
        confidences: Mapping[str, float] | None,
    ) -> bool:
        """An all-letter token that is kept as printed, whatever the frequencies say."""
        token = match.group()
        low = token.lower()
        return (
            self._lex.is_user_word(low)
            or vocabulary[low] >= 2  # the document's own word: a name, a term
            or (
                token[0].isupper()
                and not self._lex.capitalises_nouns
                and not _sentence_start(text, match.start())
            )  # a name
            or (confidences is not None and confidences.get(token, 0.0) >= TRUSTED_CONFIDENCE)
        )

    def _restore_accent(self, token: str, low: str, raw_zipf: float) -> str | None:
        found = self._lex.accented(low)
        if found and found[1] - raw_zipf >= 2.0 and token.isalpha():
            return _with_case(token, found[0], sentence_start=False)
        return None

    def _fix_lone_symbols(
        self, text: str, tokens: list[re.Match[str]], fixes: dict[int, str]
    ) -> None:
        """``1s 4 s@mple``: a lone ``4`` or ``@`` between two misread words is the word "a"."""
        for i, match in enumerate(tokens):
            token = match.group()
            if len(token) != 1 or token not in model.SINGLE or i in fixes:
                continue
            if i - 1 not in fixes or i + 1 not in fixes:
                continue
            if not _same_line(text, tokens[i - 1], match, tokens[i + 1]):
                continue
            readings = [c for c in model.SINGLE[token] if self._lex.zipf(c) >= MIN_CANDIDATE]
            if readings:
                best = max(readings, key=self._lex.zipf)
                fixes[i] = _with_case(token, best, _sentence_start(text, match.start()))


def _odd_capital(token: str) -> bool:
    """``typOs``: a capital O or I after a small letter is a misread o, l or i, not camel case
    (``GmbH``, ``iPhone`` and ``McDonald`` have other capitals and are left alone)."""
    return any(a.islower() and b in "OI" for a, b in itertools.pairwise(token))


def _inside(span: tuple[int, int], protected: list[tuple[int, int]]) -> bool:
    return any(start < span[1] and span[0] < end for start, end in protected)


def _sentence_start(text: str, offset: int) -> bool:
    i = offset - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def _same_line(text: str, first: re.Match[str], *rest: re.Match[str]) -> bool:
    return "\n" not in text[first.start() : rest[-1].end()]


def _with_case(printed: str, word: str, sentence_start: bool) -> str:
    letters = [c for c in printed if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return word.upper()
    if printed[0].isupper() or (sentence_start and not printed[0].isalpha()):
        return word[:1].upper() + word[1:]
    return word


def _apply(text: str, replaced: list[tuple[re.Match[str], str]]) -> Corrected:
    """``text`` with each token replaced (in order of their places in it)."""
    out: list[str] = []
    corrections: list[Correction] = []
    pos = 0
    for match, word in replaced:
        start, end = match.span()
        # A run of spaces after a corrected token is OCR noise too: keep one.
        while end + 1 < len(text) and text[end] == " " and text[end + 1] == " ":
            end += 1
        out.append(text[pos:start])
        out.append(word)
        corrections.append(Correction(raw=text[start:end], fixed=word, offset=start))
        pos = end
    out.append(text[pos:])
    return Corrected("".join(out), tuple(corrections))


def correct_text(
    raw_text: str,
    *,
    languages: tuple[str, ...],
    enabled: bool,
    confidences: Mapping[str, float] | None = None,
    dictionary: Path | None = None,
    rules: Path | None = None,
) -> Corrected:
    """The corrected page text, with the corrector for these languages loaded once per process."""
    if not enabled:
        return Corrected(raw_text, ())
    corrector = Corrector(
        _lexicon(tuple(languages), dictionary, _stamp(dictionary)),
        read_rules(rules) if rules else None,
    )
    return corrector.correct(raw_text, confidences)
