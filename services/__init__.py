"""Use cases: one transaction each, the only code that writes, each checking its Actor itself."""
