"""The baselines: the least a Textual app can do for the same figure, run the same way."""
