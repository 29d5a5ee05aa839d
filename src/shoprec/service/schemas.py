"""Request and response bodies of the API (pydantic): what the OpenAPI docs at /docs show.

Request models forbid unknown fields and take JSON types strictly (a number where a string is
due is an error, not a silent conversion); the rules on content (event types, timestamps,
prices) are the ingestion rules of shoprec.data.validate, applied by the routes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, model_validator

from shoprec.data.ids import ID_PATTERN, MAX_ID_LENGTH, RULE, checked_id
from shoprec.data.schema import EVENT_TYPES
from shoprec.ranking.limits import MAX_K, MAX_SEARCH_DEPTH

# An id as given, refused (never altered) when it breaks the id rule (data/ids.py); the schema
# states the rule as a pattern. Event bodies take plain strings: the ingestion rules check their ids
# with every other field (reason invalid_id).
_ID_SCHEMA = {"pattern": ID_PATTERN, "description": RULE}
Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH, json_schema_extra=_ID_SCHEMA), AfterValidator(checked_id)]
_ID = Field(min_length=1, max_length=MAX_ID_LENGTH, json_schema_extra=_ID_SCHEMA)


def _time_value(value: object) -> str | int | float | None:
    # One check with one message, instead of a union's error per member type.
    if value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool)):
        return value
    raise ValueError(f"expected an ISO 8601 string or epoch seconds/milliseconds, got {type(value).__name__}")


def _position(value: object) -> int | None:
    # A whole number (2.0 is one in JSON), never a string or a boolean.
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"expected a whole number, got {type(value).__name__}")
    if not 1 <= value <= MAX_SEARCH_DEPTH:
        raise ValueError(f"a position is 1..{MAX_SEARCH_DEPTH:,}, got {value}")
    return int(value)


Position = Annotated[int | None, PlainValidator(_position, json_schema_input_type=int | None)]
TimeValue = Annotated[str | int | float | None, PlainValidator(_time_value, json_schema_input_type=str | int | float | None)]


class _Strict(BaseModel):
    # NaN and Infinity are not numbers a shop means: refused, not stored as null.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class _Query(BaseModel):
    # Query strings are text: no strict mode (k=10 arrives as "10"), but unknown parameters are errors.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# ------------------------------------------------------------------ queries
class FilterQuery(_Query):
    """Filters shared by recommendations and search."""

    category: str | None = Field(None, max_length=500, description="A category path or its leading part, e.g. 'Audio > Headphones'.")
    brand: str | None = Field(None, max_length=200)
    price_min: float | None = Field(None, ge=0)
    price_max: float | None = Field(None, ge=0)


_TYPE = "|".join(EVENT_TYPES)
EXCLUDE_PATTERN = rf"^({_TYPE})(,({_TYPE}))*$"
MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:+-]*$"


class RecommendationQuery(FilterQuery):
    """`GET /v1/recommendations`: the options of `shoprec recommend`."""

    user_id: Id
    k: int = Field(10, ge=1, le=MAX_K)
    explain: bool = False
    model: str | None = Field(None, max_length=200, pattern=MODEL_PATTERN,
                              description="An entry of the bundle (a model or fusion:...); default: the bundle's default "
                                          "model (or the shopper's experiment variant). An entry the bundle lacks: 422.")
    diversity: Literal["none", "cap", "mmr"] | None = Field(None, description="Diversity re-rank (default: the service's, none).")
    exclude: str | None = Field(None, max_length=500, pattern=EXCLUDE_PATTERN,
                                description="Exclude only items the shopper had events of these types with, comma-separated "
                                            "(e.g. purchase); default: any item they interacted with.")
    include_seen: bool = Field(False, description="Allow items the shopper already interacted with.")
    history: str | None = Field(None, max_length=20_000,
                                description="Item ids a guest viewed, comma-separated, oldest first: added to the stored "
                                            "history (ids unknown to the bundle are ignored).")


class SimilarQuery(_Query):
    """`GET /v1/items/{item_id}/similar`. With `user_id`, the shopper's experiment variant answers."""

    k: int = Field(10, ge=1, le=MAX_K)
    explain: bool = False
    user_id: Id | None = None
    model: str | None = Field(None, max_length=200, pattern=MODEL_PATTERN,
                              description="An entry of the bundle to find similar items with (e.g. itemknn); default: "
                                          "similar_items when the bundle has it (or the shopper's experiment variant). "
                                          "An entry the bundle lacks: 422.")


SORTS = ("relevance", "price_asc", "price_desc", "popularity", "newest")
Sort = Literal["relevance", "price_asc", "price_desc", "popularity", "newest"]


class SearchQuery(FilterQuery):
    """`GET /v1/search`. An empty `q` browses the catalogue (by popularity unless sorted otherwise)."""

    q: str = Field("", max_length=500)
    user_id: Id | None = None
    k: int = Field(10, ge=1, le=MAX_K)
    page: int = Field(1, ge=1, le=10_000)
    sort: Sort = "relevance"
    mode: Literal["auto", "hybrid", "lexical", "semantic", "ltr"] = "auto"

    @model_validator(mode="after")
    def _within_reach(self) -> SearchQuery:
        if self.page * self.k > MAX_SEARCH_DEPTH:
            deepest = MAX_SEARCH_DEPTH // self.k
            raise ValueError(f"page {self.page} of {self.k} results would end at result {self.page * self.k:,}; search "
                             f"reaches the first {MAX_SEARCH_DEPTH:,} results (with k={self.k}, pages 1-{deepest})")
        return self


class AutocompleteQuery(_Query):
    """`GET /v1/autocomplete`."""

    q: str = Field(min_length=1, max_length=200)
    k: int = Field(8, ge=1, le=50)


# ------------------------------------------------------------------ bodies
class EventIn(_Strict):
    """One shopper event. `timestamp`: ISO 8601, 'YYYY-MM-DD HH:MM:SS', or epoch seconds/milliseconds;
    when left out, the time the server received it."""

    user_id: str = _ID
    item_id: str = _ID
    event_type: str = Field(min_length=1, max_length=64, description=f"One of {', '.join(EVENT_TYPES)}.",
                            json_schema_extra={"enum": list(EVENT_TYPES)})
    timestamp: TimeValue = None
    session_id: str | None = Field(None, min_length=1, max_length=MAX_ID_LENGTH, json_schema_extra=_ID_SCHEMA)
    value: float | None = Field(None, description="A rating, a quantity, an amount.")
    query: str | None = Field(None, max_length=1000)
    review_text: str | None = Field(None, max_length=20_000)
    request_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                   description="The `request_id` of the list (recommendations, search, similar items) "
                                               "the event came from: the event is credited to it.")
    position: Position = Field(None, description="The item's 1-based place in that list.",
                               json_schema_extra={"minimum": 1, "maximum": MAX_SEARCH_DEPTH})


class ItemIn(_Strict):
    """A whole catalogue item (`PUT` replaces every field; a field left out becomes empty)."""

    title: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=20_000)
    category: str | None = Field(None, max_length=500, description="Levels joined by '>', e.g. 'Audio > Headphones'.")
    brand: str | None = Field(None, max_length=200)
    price: float | None = Field(None, json_schema_extra={"minimum": 0})  # a negative one: 422 negative_price
    in_stock: bool | None = None
    attributes: dict[str, Any] | None = None


class SessionIn(_Strict):
    """`POST /v1/sessions`: a signed session for a shopper the shop knows (logged in)."""

    user_id: Id
    max_age_s: int = Field(30 * 24 * 3600, ge=60, le=365 * 24 * 3600, strict=False,  # 60.0 is an integer in JSON
                           description="How long the session lasts (seconds).")


class ReloadIn(_Strict):
    """`POST /v1/admin/reload`: which bundle (default: the one `bundles/CURRENT` names)."""

    version: str | None = Field(None, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# ------------------------------------------------------------------ answers
class ReasonOut(BaseModel):
    model: str | None
    contribution: float
    text: str


class RecommendationOut(BaseModel):
    item_id: str
    score: float
    title: str | None = None
    category: str | None = None
    brand: str | None = None
    price: float | None = None
    reasons: list[ReasonOut] | None = None


_REQUEST_ID = Field(description="This answer's id: send it (with the item's 1-based `position`) on the events it leads "
                                "to (POST /v1/events), so that they are credited to this list.")
_VARIANT = Field(None, description="The experiment variant that answered ('interleaved' for a merged list), or null.")
_EXPERIMENT = Field(None, description="The experiment the answer took part in, or null.")


class RecommendationsOut(BaseModel):
    user_id: str
    bundle: str
    model: str | None = Field(None, description="The bundle entry that answered (null for an interleaved list).")
    request_id: str = _REQUEST_ID
    variant: str | None = _VARIANT
    experiment: str | None = _EXPERIMENT
    items: list[RecommendationOut]


class SimilarOut(BaseModel):
    item_id: str
    bundle: str
    model: str | None = Field(None, description="The bundle entry that answered (null for an interleaved list, or when "
                                                "only popular items could answer).")
    request_id: str = _REQUEST_ID
    variant: str | None = _VARIANT
    experiment: str | None = _EXPERIMENT
    items: list[RecommendationOut]


class ItemOut(BaseModel):
    item_id: str
    title: str | None = None
    description: str | None = None
    category: str | None = None
    brand: str | None = None
    price: float | None = None
    in_stock: bool | None = None
    attributes: dict[str, Any] | None = None


class ItemWritten(BaseModel):
    item_id: str
    created: bool


class HitOut(BaseModel):
    item_id: str
    score: float
    title: str | None = None
    highlight: str | None = Field(None, description="The title with matched terms in <mark>…</mark> (HTML-escaped).")
    category: str | None = None
    brand: str | None = None
    price: float | None = None


class FacetValue(BaseModel):
    value: str
    count: int


class SearchOut(BaseModel):
    q: str
    total: int
    page: int
    k: int
    request_id: str = _REQUEST_ID
    variant: str | None = _VARIANT
    experiment: str | None = _EXPERIMENT
    hits: list[HitOut]
    facets: dict[str, list[FacetValue]]


class Suggestion(BaseModel):
    text: str
    kind: str


class AutocompleteOut(BaseModel):
    q: str
    suggestions: list[Suggestion]


class EventsAccepted(BaseModel):
    accepted: int = Field(description="Events stored now.")
    duplicates: int = Field(description="Exact repeats of events already stored (stored once).")


class EventOut(BaseModel):
    user_id: str
    item_id: str
    event_type: str
    timestamp: str
    session_id: str | None = None
    value: float | None = None
    query: str | None = None
    review_text: str | None = None


class UserDataOut(BaseModel):
    user_id: str
    user: dict[str, Any] | None
    events: list[EventOut]


class ErasureOut(BaseModel):
    user_id: str
    events: int
    segment_events: int
    live_events: int
    segments_rewritten: int
    user_rows: int
    quarantine_rows: int
    shown_rows: int = Field(0, description="Lists shown to the shopper and their attributed events (experiments).")


class SessionOut(BaseModel):
    user_id: str
    token: str = Field(description="The signed token: send the shopper to `url`, or set it as the `shoprec_session` cookie.")
    expires_at: str
    url: str = Field(description="The storefront path that sets the session cookie and opens the home page.")


class ReloadOut(BaseModel):
    version: str
    previous: str | None
    default_model: str
    models: list[str]


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    ready: bool
    bundle: str | None
    search: bool
    items: int
    reason: str | None = None
    search_reason: str | None = None
    worker: int = Field(description="The answering process's id (with `serve --workers N`, each worker answers for itself).")
