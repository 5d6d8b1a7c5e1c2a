"""The realistic landing-log generator behind ``riskcard generate``.

run.generate() plans and writes a run; the modules each do one job:
scenarios (parameter sets), clock (local days as UTC instants), randomness (seeded streams, sampling),
customers (the pool), vendors (reference data), fraud (the fraud plan), transactions (day-by-day simulation),
complaints / incidents / backups (whole-run entities and their versions), changelog (snapshots and routing),
encode (text and Arrow values), writers (files, temp-then-rename), badrows / badfiles (contract violations).
"""

from transforms.generate.run import BAD_ROWS_REPORT_NAME, REPORT_NAME, generate
from transforms.generate.scenarios import SCENARIOS
from transforms.generate.writers import FORMATS

__all__ = ["generate", "SCENARIOS", "FORMATS", "REPORT_NAME", "BAD_ROWS_REPORT_NAME"]
