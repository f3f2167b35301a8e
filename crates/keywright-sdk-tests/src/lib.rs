//! No library: see `tests/`.
