"""The demo: a plausible pilot district written into an empty database — an application above services.

``seed_demo(session, enterprises=3000, seed=42)`` (:mod:`demo.seeding`) is the one entry point; it draws
names and places from :mod:`demo.vocabulary`, indicator values from :mod:`demo.distributions`, stores
them as import batches and self-reports (:mod:`demo.rows`) and computes its runs through
``services.runs`` as an officer would. ``manage.py seed-demo`` and ``make run`` call it; tests seed
with it. Nothing below ``demo/`` imports it.
"""

from demo.seeding import SeedSummary, is_empty, seed_demo
from demo.vocabulary import DEMO_BANK, DEMO_PASSWORD, YEARS

__all__ = ["DEMO_BANK", "DEMO_PASSWORD", "YEARS", "SeedSummary", "is_empty", "seed_demo"]
