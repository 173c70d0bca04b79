"""Params sections that more than one stage reads: each stage's own, and crossval, which rebuilds every fold
with them."""
