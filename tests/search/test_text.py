"""Text analysis: tantivy-consistent words and stems, jieba, the typo rule, synonyms, highlighting."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from tantivy import Document, Index, Query, SchemaBuilder

from shoprec.errors import ConfigError
from shoprec.search.text import (
    MAX_QUERY_WORDS,
    QueryTerm,
    Synonyms,
    Token,
    TypoRule,
    edit_distance,
    has_cjk,
    highlight,
    prefix_distance,
    query_tokens,
    search_word_starts,
    segment_for_search,
    stem,
    words,
)


def test_words_and_stems_are_the_terms_tantivy_indexes(tmp_path: Path) -> None:
    builder = SchemaBuilder()
    builder.add_text_field("stemmed", tokenizer_name="en_stem")
    builder.add_text_field("plain", tokenizer_name="default")
    schema = builder.build()
    index = Index(schema, path=str(tmp_path))
    writer = index.writer(15_000_000, 1)
    text = "Running Shoes with 3/4 in. Batteries, cordless USB-C Drills"
    doc = Document()
    doc.add_text("stemmed", text)
    doc.add_text("plain", text)
    writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    found = words(text)
    assert found == ["running", "shoes", "with", "3", "4", "in", "batteries", "cordless", "usb", "c", "drills"]
    for word in found:
        assert searcher.search(Query.term_query(schema, "plain", word), 1).hits, word
        assert searcher.search(Query.term_query(schema, "stemmed", stem(word)), 1).hits, word
    assert stem("running") == stem("runs") == "run"
    assert not searcher.search(Query.term_query(schema, "stemmed", "running"), 1).hits  # stored as its stem


@pytest.mark.parametrize(("word", "edits"), [("drll", 0), ("dril", 0), ("drill", 1), ("cordless", 1), ("hammering", 2),
                                              ("screwdrivers", 2), ("蓝牙耳机降噪款", 0)])
def test_typo_rule_by_length(word: str, edits: int) -> None:
    assert TypoRule().edits(word) == edits


def test_typo_rule_rejects_nonsense() -> None:
    with pytest.raises(ConfigError, match="one_edit_from"):
        TypoRule(5, 5)


@pytest.mark.parametrize(("a", "b", "distance"), [
    ("drill", "drilll", 1), ("cordles", "cordless", 1), ("ab", "ba", 1), ("kitten", "sitting", 3),
    ("", "abc", 3), ("abc", "abc", 0), ("ca", "abc", 3),  # optimal string alignment: no edit of a swapped pair
])
def test_edit_distance_by_hand(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance == edit_distance(b, a)


def test_prefix_distance_by_hand() -> None:
    assert prefix_distance("cord", "cordless") == 0
    assert prefix_distance("crod", "cordless") == 1  # a swap
    assert prefix_distance("cxrdl", "cordless") == 1
    assert prefix_distance("xyz", "cordless") == 3


def test_edit_distance_agrees_with_tantivys_fuzzy_automaton(tmp_path: Path) -> None:
    rng = random.Random(7)
    vocab = sorted({"".join(rng.choice("abc") for _ in range(rng.randint(1, 6))) for _ in range(300)})
    builder = SchemaBuilder()
    builder.add_text_field("w", stored=True, tokenizer_name="raw")
    schema = builder.build()
    index = Index(schema, path=str(tmp_path))
    writer = index.writer(15_000_000, 1)
    for word in vocab:
        doc = Document()
        doc.add_text("w", word)
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    for query in rng.sample(vocab, 30):
        for distance in (0, 1, 2):
            hits = searcher.search(Query.fuzzy_term_query(schema, "w", query, distance=distance), 1000).hits
            assert {searcher.doc(a)["w"][0] for _, a in hits} == {w for w in vocab if edit_distance(query, w) <= distance}
            hits = searcher.search(Query.fuzzy_term_query(schema, "w", query, distance=distance, prefix=True), 1000).hits
            tantivy_prefix = {searcher.doc(a)["w"][0] for _, a in hits}
            ours = {w for w in vocab if prefix_distance(query, w) <= distance}
            # At two edits tantivy's prefix automaton misses some words whose best beginning is
            # shorter than the query (e.g. "cac" and "bcb", two edits from its beginning "bc"):
            # highlighting may then mark a word tantivy did not match on, never the reverse.
            assert tantivy_prefix == ours if distance < 2 else tantivy_prefix <= ours


def test_query_tokens_stems_typos_and_prefix() -> None:
    tokens = query_tokens("Running SHOES cordles")
    assert [t.text for t in tokens] == ["running", "shoes", "cordles"]
    assert [t.stem for t in tokens] == ["run", "shoe", stem("cordles")]
    assert [t.edits for t in tokens] == [1, 1, 1]
    assert [t.prefix for t in tokens] == [False, False, True]
    assert not query_tokens("drill ")[-1].prefix  # a typed space finishes the word
    assert not query_tokens("drill", prefix_last=False)[-1].prefix


@pytest.mark.parametrize("hostile", ["", "   ", '"', ":", "(", "*", "AND", "-", "^", "~", "[", '"unclosed (AND:* -x^2~ [a TO',
                                     "x" * 10_000, "😀🔥", "ünïcödé", "\x00\n\t"])
def test_query_tokens_never_raise(hostile: str) -> None:
    tokens = query_tokens(hostile)
    assert len(tokens) <= MAX_QUERY_WORDS
    assert all(t.text and len(t.text.encode()) <= 40 for t in tokens)


def test_long_queries_are_capped() -> None:
    assert len(query_tokens("word " * 5_000)) == MAX_QUERY_WORDS


def test_chinese_detection_and_segmentation() -> None:
    assert has_cjk("无线蓝牙耳机") and has_cjk("Sonora 耳机") and not has_cjk("héllo wörld")
    pieces = segment_for_search("无线蓝牙耳机 降噪, 65W快充")
    assert {"蓝牙", "耳机", "降噪", "65w", "快充"} <= set(pieces)
    assert "," not in pieces and " " not in pieces
    tokens = query_tokens("蓝牙耳机")
    assert all(t.stem is None and t.edits == 0 for t in tokens)
    assert {t.text for t in tokens} | {p for t in tokens for p in t.pieces} >= {"蓝牙", "耳机"}
    assert search_word_starts("小犀 无线蓝牙耳机") == [0, 3, 5, 7]


def test_synonyms_parse_and_expand(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.txt"
    path.write_text("# comment\n\ntv, television, telly\nsofa, couch\nwashing machine, washer\n", encoding="utf-8")
    synonyms = Synonyms.load(path)
    assert len(synonyms) == 3
    terms = synonyms.expand(query_tokens("cheap TV", prefix_last=False))
    assert len(terms) == 2 and terms[0].synonyms == ()
    assert sorted(alt[0].text for alt in terms[1].synonyms) == ["television", "telly"]
    multi = synonyms.expand(query_tokens("washing machines", prefix_last=False))
    assert len(multi) == 1 and [t.text for t in multi[0].tokens] == ["washing", "machines"]
    assert [[t.text for t in alt] for alt in multi[0].synonyms] == [["washer"]]
    back = synonyms.expand(query_tokens("washer", prefix_last=False))
    assert [[t.text for t in alt] for alt in back[0].synonyms] == [["washing", "machine"]]


@pytest.mark.parametrize("line", ["tv", "tv,", "tv, ***"])
def test_synonyms_reject_a_bad_line_naming_it(line: str) -> None:
    with pytest.raises(ConfigError, match=r"syn:2: expected two or more"):
        Synonyms.parse(f"sofa, couch\n{line}\n", "syn")


def test_missing_synonyms_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        Synonyms.load(tmp_path / "nope.txt")


def test_highlight_marks_stems_typos_prefixes_and_escapes() -> None:
    terms = [QueryTerm((t,)) for t in query_tokens("run cordles bat")]
    assert highlight("Runs & <Cordless> Battery", terms) == \
        "<mark>Runs</mark> &amp; &lt;<mark>Cordless</mark>&gt; <mark>Battery</mark>"
    assert highlight("nothing here", terms) == "nothing here"
    assert highlight(None, terms) is None
    tv = [QueryTerm((Token("tv", "tv"),), ((Token("television", stem("television")),),))]
    assert highlight("Big Television", tv) == "Big <mark>Television</mark>"


def test_highlight_chinese_substrings() -> None:
    terms = [QueryTerm((t,)) for t in query_tokens("蓝牙耳机")]
    assert highlight("声悦 无线蓝牙耳机 降噪", terms) == "声悦 无线<mark>蓝牙耳机</mark> 降噪"
