"""Faust adapter: the worker app and its agents, thin over the pipeline core."""
