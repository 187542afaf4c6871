"""Operating-system adapters: process and resource work that the pure ``core/`` must not do.

The layer sits between ``services/`` (which may import it) and ``core/`` (the only layer it imports);
``db/`` and ``core/`` never import it (tests/unit/test_layering.py). ``adapters.reader_worker`` reads an
untrusted upload in a forked child process under memory, CPU and time limits, around the pure in-process
reader ``core.spreadsheet.read_in_process``.
"""
