"""The writer lock serialises writers across processes and names the holder when it gives up."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from transforms.core.warehouse import WarehouseBusy, connect, writer_lock

HOLD = """
import sys, time
from pathlib import Path
from transforms.core.settings import load_settings
from transforms.core.warehouse import writer_lock
s = load_settings(env={{}}, config_file=Path({cfg!r}), warehouse={wh!r})
with writer_lock(s, what="test holder"):
    print("locked", flush=True)
    time.sleep({secs})
"""


def _hold(settings, secs: float) -> subprocess.Popen:
    cfg = settings.warehouse.parent.parent / "riskcard.toml"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(cfg=str(cfg), wh=str(settings.warehouse), secs=secs)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_writer_waits_then_fails_clearly(settings):
    holder = _hold(settings, 30)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseBusy) as exc, writer_lock(settings, timeout=0.6):
            pass
        assert time.monotonic() - started >= 0.5
        assert "test holder" in str(exc.value) and str(settings.warehouse) in str(exc.value)
    finally:
        holder.kill()
        holder.wait()
    # the lock died with its holder: the next writer gets it at once
    with writer_lock(settings, timeout=1):
        con = connect(settings)
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
        con.close()


def test_waiting_writer_gets_the_lock_when_released(settings):
    holder = _hold(settings, 1.0)
    started = time.monotonic()
    try:
        with writer_lock(settings, timeout=20):
            waited = time.monotonic() - started
    finally:
        holder.wait()
    assert holder.returncode == 0
    assert waited >= 0.8, f"got the lock after {waited:.2f}s while the holder kept it for 1s"
