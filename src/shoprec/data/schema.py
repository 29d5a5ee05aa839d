"""The canonical tables: column names, event types and Arrow schemas.

Every source (a generic file, an adapter, the synthetic shop, the API) is turned into these
tables at the boundary; nothing further in shoprec knows a source's own column names.
"""

from __future__ import annotations

from enum import Enum

import pyarrow as pa

# Column names are constants so that a typo is an import error, not a silent miss.
USER_ID = "user_id"
ITEM_ID = "item_id"
EVENT_TYPE = "event_type"
TIMESTAMP = "timestamp"
SESSION_ID = "session_id"
VALUE = "value"
QUERY = "query"
REVIEW_TEXT = "review_text"
EVENT_HASH = "event_hash"

TITLE = "title"
DESCRIPTION = "description"
CATEGORY = "category"
BRAND = "brand"
PRICE = "price"
IN_STOCK = "in_stock"
ATTRIBUTES = "attributes"

AGE = "age"
GENDER = "gender"
LOCATION = "location"

# Category paths are stored as one string, levels joined by this separator.
CATEGORY_SEPARATOR = " > "


class EventType(str, Enum):
    """What a shopper did."""

    VIEW = "view"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    REMOVE_FROM_CART = "remove_from_cart"
    PURCHASE = "purchase"
    RATING = "rating"
    REVIEW = "review"
    SEARCH = "search"
    RETURN = "return"  # a purchase returned or cancelled (a negative quantity, a cancelled invoice)


EVENT_TYPES: tuple[str, ...] = tuple(e.value for e in EventType)
# Integer codes used inside (Dataset.event_types); the order above is the code.
EVENT_TYPE_CODE: dict[str, int] = {name: i for i, name in enumerate(EVENT_TYPES)}

EVENT_SCHEMA = pa.schema(
    [
        pa.field(USER_ID, pa.string(), nullable=False),
        pa.field(ITEM_ID, pa.string(), nullable=False),
        pa.field(EVENT_TYPE, pa.string(), nullable=False),
        pa.field(TIMESTAMP, pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field(SESSION_ID, pa.string()),
        pa.field(VALUE, pa.float64()),
        pa.field(QUERY, pa.string()),
        pa.field(REVIEW_TEXT, pa.string()),
    ]
)
# Stored event segments carry a content hash, used to merge exact repeats.
STORED_EVENT_SCHEMA = EVENT_SCHEMA.append(pa.field(EVENT_HASH, pa.uint64(), nullable=False))

ITEM_SCHEMA = pa.schema(
    [
        pa.field(ITEM_ID, pa.string(), nullable=False),
        pa.field(TITLE, pa.string()),
        pa.field(DESCRIPTION, pa.string()),
        pa.field(CATEGORY, pa.string()),
        pa.field(BRAND, pa.string()),
        pa.field(PRICE, pa.float64()),
        pa.field(IN_STOCK, pa.bool_()),
        pa.field(ATTRIBUTES, pa.string()),  # a JSON object, or null
    ]
)

USER_SCHEMA = pa.schema(
    [
        pa.field(USER_ID, pa.string(), nullable=False),
        pa.field(AGE, pa.float64()),
        pa.field(GENDER, pa.string()),
        pa.field(LOCATION, pa.string()),
        pa.field(ATTRIBUTES, pa.string()),
    ]
)

EVENT_COLUMNS = tuple(EVENT_SCHEMA.names)
ITEM_COLUMNS = tuple(ITEM_SCHEMA.names)
USER_COLUMNS = tuple(USER_SCHEMA.names)
# Item columns an event row may carry inline (a log such as REES46 has price, brand, category per
# event): they update the catalogue.
ITEM_COLUMNS_IN_EVENTS = (TITLE, DESCRIPTION, CATEGORY, BRAND, PRICE, IN_STOCK)

TABLE_KINDS = ("events", "items", "users")


def category_levels(path: str | None) -> list[str]:
    """Split a stored category path into its levels, top first."""
    if not path:
        return []
    return [p for p in path.split(CATEGORY_SEPARATOR) if p]
