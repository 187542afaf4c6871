"""Persistence: tables (models), engine and sessions (session), queries, migrations, demo seed."""
