"""Pure domain code: scoring model, engine, contract parsing."""
