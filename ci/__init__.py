"""Tools for comparing experiments and reviewing changes: compare, sweep, report, gate. Run from the repo root."""
