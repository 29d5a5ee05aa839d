"""Text analysis for search: words and English stems as tantivy indexes them, Chinese words by
jieba, the typo rule, query terms with their synonyms, and highlighting.

Latin-script text is analysed by tantivy's own analysers, so a query word and an indexed word
go through exactly the same tokenizer, lowercasing and (English) stemming. Text with CJK
characters is segmented by jieba in search mode ("无线蓝牙耳机" -> 无线, 蓝牙, 耳机) and indexed
as space-separated words in separate fields.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from pathlib import Path
from types import ModuleType

from tantivy import Filter, TextAnalyzer, TextAnalyzerBuilder, Tokenizer

from shoprec.errors import ConfigError

# Kana, CJK extension A, CJK unified ideographs, compatibility ideographs.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W_]+")  # a run of letters and digits, as tantivy's simple tokenizer splits
# tantivy's "default" and "en_stem" analysers drop tokens longer than this many bytes.
MAX_TOKEN_BYTES = 40
# A query is cut to this many characters and this many words (Algolia caps queries at 512 characters).
MAX_QUERY_CHARS = 512
MAX_QUERY_WORDS = 32


def has_cjk(text: str) -> bool:
    """True when `text` holds any Chinese or Japanese character."""
    return _CJK.search(text) is not None


@cache
def _analyzer(stem: bool) -> TextAnalyzer:
    # The same chain as tantivy's built-in "default" (stem=False) and "en_stem" tokenizers.
    builder = TextAnalyzerBuilder(Tokenizer.simple()).filter(Filter.remove_long(MAX_TOKEN_BYTES)).filter(Filter.lowercase())
    if stem:
        builder = builder.filter(Filter.stemmer("english"))
    return builder.build()


def words(text: str) -> list[str]:
    """Lowercase words of `text`, as tantivy's "default" tokenizer indexes them."""
    return _analyzer(False).analyze(text)


def stem(word: str) -> str:
    """The English stem of one lowercase word, as tantivy's "en_stem" tokenizer indexes it."""
    out = _analyzer(True).analyze(word)
    return out[0] if out else word


@cache
def _jieba() -> ModuleType:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs its dictionary loading at INFO
    return jieba


def _keep(token: str) -> bool:
    return any(ch.isalnum() for ch in token) and len(token.encode("utf-8")) <= MAX_TOKEN_BYTES


def segment_for_search(text: str) -> list[str]:
    """jieba's search-mode words of `text`, lowercase, punctuation and spaces dropped: each word
    and its shorter dictionary words ("蓝牙耳机" -> 蓝牙, 耳机, ...)."""
    return [t for t in (w.strip().lower() for w in _jieba().cut_for_search(text)) if _keep(t)]


def segment_words(text: str) -> list[str]:
    """jieba's precise-mode words of `text` (no overlaps), lowercase, punctuation dropped."""
    return [t for t in (w.strip().lower() for w in _jieba().cut(text)) if _keep(t)]


def search_word_starts(text: str) -> list[int]:
    """Where jieba's search-mode words of `text` begin (character offsets)."""
    return [start for word, start, _ in _jieba().tokenize(text, mode="search") if _keep(word.strip())]


def chinese_index_text(text: str) -> str:
    """What a Chinese text field indexes: its search-mode words joined by spaces."""
    return " ".join(segment_for_search(text))


@dataclass(frozen=True)
class TypoRule:
    """How many typos a query word may have, by its length (Algolia's and Typesense's defaults):
    none below `one_edit_from` characters, one from there, two from `two_edits_from`."""

    one_edit_from: int = 5
    two_edits_from: int = 9

    def __post_init__(self) -> None:
        if self.one_edit_from < 1 or self.two_edits_from <= self.one_edit_from:
            raise ConfigError(f"typo rule: need 1 <= one_edit_from < two_edits_from, got "
                              f"{self.one_edit_from} and {self.two_edits_from}")

    def edits(self, word: str) -> int:
        """Edits allowed for `word` (0 for a CJK word: a typo there is another word)."""
        if has_cjk(word) or len(word) < self.one_edit_from:
            return 0
        return 1 if len(word) < self.two_edits_from else 2


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance counting a swap of neighbours as one edit (optimal string alignment).

    Written here because it must agree with tantivy's fuzzy automaton (transposition cost one)
    and only highlighting needs it in Python; no dependency of ours provides it.
    """
    return _last_row(a, b)[len(b)]


def prefix_distance(text: str, word: str) -> int:
    """The smallest edit distance between `text` and a beginning of `word` (tantivy's fuzzy
    match with prefix=True accepts a word when this is within the allowance)."""
    return min(_last_row(text, word))


def _last_row(a: str, b: str, limit: int | None = None) -> list[int]:
    """The last row of the alignment table: entry j is the distance between `a` and b[:j].
    With `limit`, stops early (returning a row of limit + 1) once every entry exceeds it."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if limit is not None and min(current) > limit:
            return [limit + 1] * (len(b) + 1)
        previous2, previous = previous, current
    return previous


@dataclass(frozen=True)
class Token:
    """One query word: `text` lowercase as typed (matched by typo and prefix matching and by
    the Chinese fields), `stem` its English stem (None for a CJK word), the typos it may have,
    whether it may be a word's beginning, and for a CJK word its shorter dictionary words
    (`pieces`), which together also match it."""

    text: str
    stem: str | None
    edits: int = 0
    prefix: bool = False
    pieces: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """What synonyms are looked up by: the stem, or the CJK word itself."""
        return self.stem if self.stem is not None else self.text


@dataclass(frozen=True)
class QueryTerm:
    """A unit of the query that must match: the words as typed (usually one; several where a
    multi-word synonym matched), or any of the `synonyms`, each a sequence of words matched
    exactly."""

    tokens: tuple[Token, ...]
    synonyms: tuple[tuple[Token, ...], ...] = ()


def _plain_tokens(text: str) -> list[Token]:
    if has_cjk(text):
        out = []
        for word in segment_words(text):
            if has_cjk(word):
                pieces = tuple(p for p in dict.fromkeys(segment_for_search(word)) if p != word)
                out.append(Token(word, None, pieces=pieces))
            else:
                out.append(Token(word, stem(word)))
        return out
    return [Token(word, stem(word)) for word in words(text)]


def query_tokens(query: str, rule: TypoRule | None = None, *, prefix_last: bool = True) -> list[Token]:
    """The words of a query, with their allowed typos; the last may be a word's beginning
    (search as you type) unless the query ends in a space. Never raises on any text."""
    rule = rule or TypoRule()
    text = query[:MAX_QUERY_CHARS]
    tokens = [replace(t, edits=rule.edits(t.text)) for t in _plain_tokens(text)[:MAX_QUERY_WORDS]]
    if tokens and prefix_last and not text[-1:].isspace():
        tokens[-1] = replace(tokens[-1], prefix=True)
    return tokens


class Synonyms:
    """Groups of interchangeable words or phrases ("tv, television"); a query word (or phrase)
    of a group also matches, exactly, every other member."""

    def __init__(self, groups: Iterable[Sequence[str]] = ()) -> None:
        self._alternatives: dict[tuple[str, ...], list[tuple[Token, ...]]] = {}
        self.groups = 0
        for group in groups:
            members = [tuple(_plain_tokens(entry)) for entry in group]
            members = [m for m in members if m]
            for member in members:
                alternatives = self._alternatives.setdefault(tuple(t.key for t in member), [])
                alternatives.extend(m for m in members if m != member and m not in alternatives)
            self.groups += 1
        self.longest = max((len(k) for k in self._alternatives), default=0)

    @classmethod
    def parse(cls, text: str, source: str = "synonyms") -> Synonyms:
        """One group per line, members separated by commas; blank lines and lines starting with
        '#' are skipped. A line with fewer than two members is a ConfigError naming the line."""
        groups = []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            members = [m.strip() for m in line.split(",") if m.strip()]
            if len(members) < 2 or any(not _plain_tokens(m) for m in members):
                raise ConfigError(f"{source}:{number}: expected two or more comma-separated words or phrases "
                                  f"(e.g. 'tv, television'), got {line!r}")
            groups.append(members)
        return cls(groups)

    @classmethod
    def load(cls, path: Path) -> Synonyms:
        """Read a synonyms file (UTF-8, see `parse`)."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"synonyms file not found: {path}")
        return cls.parse(path.read_text(encoding="utf-8"), str(path))

    def __len__(self) -> int:
        return self.groups

    def expand(self, tokens: Sequence[Token]) -> list[QueryTerm]:
        """Query terms from query words: the longest run of words that is a group member
        becomes one term with the group's other members as alternatives."""
        terms: list[QueryTerm] = []
        i = 0
        while i < len(tokens):
            for length in range(min(self.longest, len(tokens) - i), 0, -1):
                alternatives = self._alternatives.get(tuple(t.key for t in tokens[i:i + length]))
                if alternatives:
                    terms.append(QueryTerm(tuple(tokens[i:i + length]), tuple(alternatives)))
                    i += length
                    break
            else:
                terms.append(QueryTerm((tokens[i],)))
                i += 1
        return terms


def highlight(text: str | None, terms: Sequence[QueryTerm]) -> str | None:
    """`text` as HTML (escaped) with the words that match the query wrapped in <mark>: same stem,
    within the typo allowance, a prefix of the last word, a synonym, or a CJK query word."""
    if text is None:
        return None
    tokens = [t for term in terms for t in term.tokens]
    exact = [t for term in terms for alt in term.synonyms for t in alt] + tokens
    stems = {t.stem for t in exact if t.stem is not None}
    loose = [(t.text, t.edits, t.prefix) for t in tokens if t.stem is not None and (t.edits or t.prefix)]
    spans: list[tuple[int, int]] = []
    for match in _WORD.finditer(text):
        word = match.group().lower()
        if not has_cjk(word) and (stem(word) in stems or any(_near(word, *rule) for rule in loose)):
            spans.append(match.span())
    for needle in {s for t in exact if t.stem is None for s in (t.text, *t.pieces)}:
        spans.extend(m.span() for m in re.finditer(re.escape(needle), text, re.IGNORECASE))
    return _render(text, spans)


@lru_cache(maxsize=1 << 16)  # titles repeat their words; highlighting a page asks the same pairs again
def _near(word: str, text: str, edits: int, prefix: bool) -> bool:
    """Whether `word` matches query word `text` as tantivy's fuzzy (prefix) automaton would."""
    if prefix:
        if word.startswith(text):
            return True
        # A beginning longer than the text plus the allowance is too far anyway.
        return edits > 0 and min(_last_row(text, word[:len(text) + edits], edits)) <= edits
    return 0 < edits >= abs(len(word) - len(text)) and _last_row(word, text, edits)[len(text)] <= edits


def _render(text: str, spans: list[tuple[int, int]]) -> str:
    parts, at = [], 0
    for start, end in _merge(spans):
        parts += [html.escape(text[at:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        at = end
    parts.append(html.escape(text[at:]))
    return "".join(parts)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
