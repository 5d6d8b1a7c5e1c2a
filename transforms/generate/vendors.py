"""Third parties and their contracted restore times, read from the reference data (seeds/vendor_slas.csv).

Incidents name these vendors (and now and then one that has no contract row, which the OS1 indicator must handle
with the default restore time), so the generated logs and the reference data agree.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from transforms.core.settings import PROJECT_DIR

DEFAULT_ROW = "*"
UNLISTED_VENDOR = "northbridge_it"  # a contractor with no row in vendor_slas.csv: default restore time applies
# Which system each known vendor serves (the others fall back to any system).
VENDOR_SYSTEMS = {
    "cloudnet_idc": ("data_center", "online_banking", "mobile_banking"),
    "paylink_gateway": ("payment_gateway",),
    "securewall": ("auth_service", "online_banking"),
    "msgcast_sms": ("sms_gateway",),
    "coresoft": ("core_banking",),
    UNLISTED_VENDOR: ("online_banking", "mobile_banking"),
}


@dataclass(frozen=True)
class Vendors:
    names: tuple[str, ...]  # listed vendors, then the unlisted one
    restore_hours: tuple[float, ...]  # contracted restore time per name (default for the unlisted one)

    def systems_of(self, name: str) -> tuple[str, ...]:
        return VENDOR_SYSTEMS.get(name, ("online_banking",))


def load_vendors(seeds_dir: Path | None = None) -> Vendors:
    path = (seeds_dir or PROJECT_DIR / "seeds") / "vendor_slas.csv"
    default, names, hours = 4.0, [], []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["vendor"] == DEFAULT_ROW:
                default = float(row["restore_hours"])
            else:
                names.append(row["vendor"])
                hours.append(float(row["restore_hours"]))
    if UNLISTED_VENDOR in names:
        raise ValueError(f"{path}: {UNLISTED_VENDOR} is meant to be a vendor without a contract row")
    return Vendors(names=tuple(names) + (UNLISTED_VENDOR,), restore_hours=tuple(hours) + (default,))
