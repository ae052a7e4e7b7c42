"""One module per group of figures; each has `GROUP`, `IDS` and `run(cfg) -> list[Figure]`."""
