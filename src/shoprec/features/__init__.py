"""Features of items, users and the request context, for the learned ranker and explanations."""
