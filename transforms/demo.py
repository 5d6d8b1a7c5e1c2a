"""`make demo`: generate a few months of demo logs and run the real pipeline through Airflow.

1. generate ``--days`` days of the four landing logs (ending yesterday, bank time) into ``landing/demo/``;
2. start a throwaway Airflow (SQLite metadata database in a temporary AIRFLOW_HOME, no examples) and run the
   ``riskcard_ingest`` DAG, then the ``riskcard_scorecard`` DAG for the last date, each with ``dag.test()``;
3. print the published scorecard (the table of `riskcard scorecard show`), the sensitivity analysis stored with
   it (`riskcard sensitivity`) and where the Parquet snapshot, the committee report, the Data Docs and the
   analysts' serving copy are.

The demo owns ``warehouse/demo/`` and ``landing/demo/`` (both git-ignored) and starts them afresh each time. It
runs in demo mode (RISKCARD_DEMO=1: the public demo hashing key, unless RISKCARD_SECRET_KEY is set). Airflow runs
in child processes (Airflow reads its configuration when first imported); their logs stay in the temporary
AIRFLOW_HOME with ``--keep-airflow``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from transforms.core.settings import PROJECT_DIR, load_settings

DEMO_WAREHOUSE = PROJECT_DIR / "warehouse" / "demo" / "riskcard.duckdb"
DEMO_LANDING = PROJECT_DIR / "landing" / "demo"


def demo_env(warehouse: Path, landing: Path) -> dict[str, str]:
    env = {"RISKCARD_WAREHOUSE": str(warehouse), "RISKCARD_LANDING": str(landing), "RISKCARD_DEMO": "1"}
    if os.environ.get("RISKCARD_SECRET_KEY"):
        env["RISKCARD_SECRET_KEY"] = os.environ["RISKCARD_SECRET_KEY"]
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transforms.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=90, help="days of logs to generate (default 90)")
    parser.add_argument("--transactions", type=int, default=150_000, help="transactions over the period")
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=None, help="last day (default: yesterday)")
    parser.add_argument("--keep-airflow", action="store_true", help="keep the temporary AIRFLOW_HOME and its logs")
    args = parser.parse_args(argv)

    from transforms.generate import generate
    from transforms.orchestration import dag_defaults, local_runner

    started = time.perf_counter()
    settings = load_settings(env={**os.environ, **demo_env(DEMO_WAREHOUSE, DEMO_LANDING)})
    end = args.end or (dt.datetime.now(settings.tz).date() - dt.timedelta(days=1))
    start = end - dt.timedelta(days=args.days - 1)
    for folder in (settings.warehouse_dir, settings.landing):
        shutil.rmtree(folder, ignore_errors=True)
    settings.landing.mkdir(parents=True)
    print(f"riskcard demo: {args.days} days of logs, {start} .. {end} ({settings.timezone})")
    print(f"  landing   {settings.landing}")
    print(f"  warehouse {settings.warehouse}")

    t = time.perf_counter()
    generate(settings.landing, start=start, days=args.days, transactions=args.transactions, seed=args.seed,
             timezone=settings.timezone)  # fmt: skip
    timings = {"generate": time.perf_counter() - t}
    print(f"[1/4] generated the landing logs in {timings['generate']:.1f}s")

    home = Path(tempfile.mkdtemp(prefix="riskcard-airflow-"))
    env = demo_env(settings.warehouse, settings.landing)
    try:
        # one child process (one Airflow start-up) runs both DAGs: ingest, then the scorecard for the last date
        child = local_runner.run_dag_subprocess(
            dag_defaults.SCORECARD_DAG_ID,
            home,
            env,
            conf={"as_of_date": end.isoformat()},
            log_name="demo",
            ingest_first=True,
        )
        ingest, scorecard = child.report.get("ingest") or {}, child.report
        timings["Airflow (start-up + both DAGs)"] = child.seconds
        timings["ingest DAG run"] = ingest.get("seconds", float("nan"))
        _report(2, ingest)
        if ingest.get("state") != "success":
            return _failed(child, args)
        loaded = (ingest.get("xcom") or {}).get("ingest", {})
        print(f"      {loaded.get('rows_loaded', '?')} rows loaded into raw.* ({_sources(loaded)})")
        timings["scorecard DAG run"] = scorecard.get("seconds", float("nan"))
        _report(3, scorecard)
        if scorecard.get("state") != "success":
            return _failed(child, args)
    finally:
        if not args.keep_airflow:
            shutil.rmtree(home, ignore_errors=True)

    print()
    from transforms.cli.main import main as riskcard

    code = riskcard(["scorecard", "show", "--warehouse", str(settings.warehouse), "--as-of", end.isoformat()])
    print()
    code = code or riskcard(["sensitivity", "--warehouse", str(settings.warehouse), "--as-of", end.isoformat()])
    xcom = scorecard.get("xcom") or {}
    final = xcom.get("serving") or xcom.get("publish") or {}
    print()
    print(f"Parquet snapshot : {final.get('snapshot_dir')}")
    if final.get("snapshot_dir"):
        print(f"Committee report : {Path(final['snapshot_dir']) / 'report.html'} (and report.pdf; opens offline)")
    print(f"Data Docs        : {final.get('data_docs_index')}")
    print(f"Serving copy     : {final.get('serving_db')}  (duckdb -readonly <path>, see README)")
    if args.keep_airflow:
        print(f"Airflow home     : {home} (SQLite metadata DB and the DAG runs' logs)")
    t = time.perf_counter()
    print()
    _intraday(settings, end + dt.timedelta(days=1))
    timings["intraday"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    print("Timings          : " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    return code


def _intraday(settings, day: dt.date) -> None:
    """The next day, intraday: a baseline monitor run, then one batch that pushes SP2 over its thresholds; the breach
    alert is printed as the local webhook receives it (the same function runs in the riskcard_intraday DAG)."""
    from transforms.generate.intraday import ordinary_transactions, software_defects, write_batch
    from transforms.ingest import ingest
    from transforms.monitoring.monitor import monitor

    hook = LocalWebhook()
    received = hook.received
    live = settings.replace(webhook_url=hook.url)
    try:
        print(f"[4/4] intraday monitoring of {day} (provisional, never published; alerts to a local webhook)")
        base = monitor(live, dt.datetime.combine(day, dt.time(7, 0)))
        open_now = ", ".join(f"{b['indicator_id']} {b['level']:g}" for b in base.breaches) or "none"
        print(f"      07:00 riskcard monitor: 30 provisional leaves; open breaches: {open_now} "
              f"({len(received)} alert(s) sent, once each)")  # fmt: skip
        before = len(received)
        write_batch(live.landing, "incidents", day, "defects", software_defects(day, live.timezone, at=(9, 30)))
        write_batch(live.landing, "transactions", day, "batch", ordinary_transactions(day, live.timezone, 0, (9, 35)))
        loaded = ingest(live)
        print(f"      09:40 landed 5 major software-defect incidents and 3 transactions; ingested "
              f"{loaded.rows_loaded} rows")  # fmt: skip
        result = monitor(live, dt.datetime.combine(day, dt.time(9, 45)))
        print(f"      09:45 riskcard monitor: provisional leaves refreshed in {result.seconds['provisional']:.1f}s")
        for alert in received[before:]:
            print(f"      webhook received: {alert['summary']}")
        if len(received) == before:
            print("      webhook received nothing new")
    finally:
        hook.close()


class LocalWebhook:
    """A webhook receiver on 127.0.0.1 for the demo and the intraday benchmark: each POSTed JSON body is appended to
    ``received`` (``arrivals`` holds the monotonic time of each)."""

    def __init__(self, path: str = "/riskops"):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received, arrivals = self.received, self.arrivals = [], []

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                arrivals.append(time.monotonic())
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _sources(summary: dict) -> str:
    sources = summary.get("sources") or {}
    return ", ".join(f"{name} {s.get('rows_loaded', '?')}" for name, s in sources.items())


def _report(step: int, report: dict) -> None:
    tasks = report.get("tasks", {})
    marks = " → ".join(f"{t} {'✓' if v['state'] == 'success' else v['state']}" for t, v in tasks.items())
    print(f"[{step}/4] {report.get('dag_id', '?')}: {report.get('state')} in {report.get('seconds', 0):.1f}s ({marks})")


def _failed(child, args) -> int:
    print(f"the DAG run failed; its Airflow log: {child.log_path}", file=sys.stderr)
    if not args.keep_airflow:
        kept = Path(tempfile.mkdtemp(prefix="riskcard-demo-log-")) / child.log_path.name
        shutil.copy(child.log_path, kept)
        print(f"(log kept at {kept})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
