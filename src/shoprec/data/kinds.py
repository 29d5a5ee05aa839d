"""The kinds of table a source can hold, and so `shoprec ingest --kind` can name.

Apart from shoprec.data.ingest (which re-exports them) so that the command line declares its
options without importing pandas and pyarrow.
"""

KINDS = ("events", "items", "users", "judgments")
