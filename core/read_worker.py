"""``python -m core.read_worker``: reads one untrusted upload under limits (see core.spreadsheet)."""

from core.spreadsheet import worker_main

if __name__ == "__main__":
    worker_main()
