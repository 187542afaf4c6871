"""``python -m core.read_worker FD``: the zygote that forks one bounded reader per upload (core.spreadsheet)."""

import sys

from core.spreadsheet import zygote_main

if __name__ == "__main__":
    zygote_main(int(sys.argv[1]))
