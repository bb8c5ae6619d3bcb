"""The pure credit policy (SPEC §4, §4.1): a leaf package, no I/O, no domain imports."""
