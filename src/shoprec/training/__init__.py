"""Training a bundle: which models with which hyperparameters, fitted where, and what the bundle records."""
