"""Online experiments: what was shown (served lists), what came of it (attributed clicks, carts,
purchases), A/B tests and team-draft interleaving between bundle entries or bundles, their
statistics, and a simulator of shoppers to test it all end to end (docs/experiments.md).

Kept free of imports: the store's erasure imports `shoprec.experiments.shown`.
"""
