"""Recommender models behind one contract (`Recommender`), and the one ranked-list shape."""

from shoprec.models.base import Recommender, seen_items
from shoprec.models.ranked import RankedList

__all__ = ["RankedList", "Recommender", "seen_items"]
