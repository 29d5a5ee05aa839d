"""The API's routes, one file per resource; each module exposes a `router`."""
