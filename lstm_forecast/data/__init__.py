"""Reading a table into a series and the typed hand-offs between stages."""
