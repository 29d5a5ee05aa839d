"""MovieLens: the 100K release (u.data, u.item, u.user) and the ratings.csv/movies.csv/tags.csv releases.

Ratings become `rating` events with the rating as value. Movies become items: the title, the
first genre as category, all genres and users' tags (latest releases) in the attributes and in
the description, so that content models have text to read.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd

from shoprec.data import schema as S
from shoprec.data.adapters.common import dataset_folder, file_source, find, frame_source
from shoprec.data.ingest import Source
from shoprec.data.mapping import ColumnMapping
from shoprec.data.readers import ReadOptions

RATING_MAPPING = ColumnMapping(columns={S.VALUE: "rating"}, event_type="rating")


def sources(path: Path, options: ReadOptions) -> list[Source]:
    """Items first (so events find their catalogue), then users where present, then ratings."""
    folder = dataset_folder(path, ("u.data", "ratings.csv", "ratings.dat"))
    if find(folder, "u.data", required=False):
        return _ml100k(folder, options)
    return _latest(folder, options)


def _ml100k(folder: Path, options: ReadOptions) -> list[Source]:
    genres = pd.read_csv(folder / "u.genre", sep="|", header=None, names=["genre", "idx"], encoding="latin-1").dropna()
    genre_names = list(genres.sort_values("idx")["genre"])

    def items() -> pd.DataFrame:
        cols = ["item_id", "title", "release_date", "video_release", "imdb_url", *genre_names]
        raw = pd.read_csv(find(folder, "u.item"), sep="|", header=None, names=cols, encoding="latin-1", dtype=str)
        flags = raw[genre_names].astype(int).to_numpy()
        genre_lists = [[g for g, f in zip(genre_names, row) if f] for row in flags]
        return _movie_items(raw["item_id"], raw["title"], genre_lists, {}, raw["release_date"])

    ratings = replace(options, file_format="tsv", columns=("user_id", "item_id", "rating", "timestamp"))
    result = [frame_source("items", str(folder / "u.item"), items)]
    user_file = find(folder, "u.user", required=False)
    if user_file is not None:
        user_options = replace(options, delimiter="|", columns=("user_id", "age", "gender", "occupation", "zip_code"))
        result.append(file_source("users", user_file, user_options, ColumnMapping()))
    result.append(file_source("events", find(folder, "u.data"), ratings, RATING_MAPPING))  # type: ignore[arg-type]
    return result


def _latest(folder: Path, options: ReadOptions) -> list[Source]:
    movies_path = find(folder, "movies.csv")
    tags_path = find(folder, "tags.csv", required=False)

    def items() -> pd.DataFrame:
        movies = pd.read_csv(movies_path, dtype=str, encoding=options.encoding)
        tags: dict[str, list[str]] = {}
        if tags_path is not None:
            tag_frame = pd.read_csv(tags_path, dtype=str, encoding=options.encoding).dropna(subset=["movieId", "tag"])
            for movie, group in tag_frame.groupby("movieId"):
                tags[str(movie)] = sorted(set(group["tag"].str.strip().str.lower()))
        genre_lists = [[g for g in str(gs).split("|") if g and g != "(no genres listed)"] for gs in movies["genres"]]
        return _movie_items(movies["movieId"], movies["title"], genre_lists, tags, None)

    return [
        frame_source("items", str(movies_path), items),
        file_source("events", find(folder, "ratings.csv"), options, ColumnMapping(  # type: ignore[arg-type]
            columns={S.USER_ID: "userId", S.ITEM_ID: "movieId", S.VALUE: "rating"}, event_type="rating")),
    ]


def _movie_items(ids: pd.Series, titles: pd.Series, genre_lists: list[list[str]], tags: dict[str, list[str]],
                 release: pd.Series | None) -> pd.DataFrame:
    descriptions, categories, attributes = [], [], []
    for i, (movie, genres) in enumerate(zip(ids, genre_lists)):
        movie_tags = tags.get(str(movie), [])
        text = f"Genres: {', '.join(genres) or 'unknown'}."
        if movie_tags:
            text += f" Tags: {', '.join(movie_tags)}."
        descriptions.append(text)
        categories.append(genres[0] if genres else None)
        attrs: dict[str, object] = {"genres": genres}
        if movie_tags:
            attrs["tags"] = movie_tags
        if release is not None and isinstance(release.iloc[i], str):
            attrs["release_date"] = release.iloc[i]
        attributes.append(json.dumps(attrs, ensure_ascii=False))
    return pd.DataFrame({S.ITEM_ID: ids.astype(str), S.TITLE: titles, S.DESCRIPTION: descriptions,
                         S.CATEGORY: categories, S.ATTRIBUTES: attributes})
