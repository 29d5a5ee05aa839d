"""Product search: lexical (tantivy), semantic and hybrid retrieval over the catalogue."""
