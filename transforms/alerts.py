"""Data-quality alerts: one message per validation run that had failures, by e-mail (SMTP) and/or an HTTP JSON
webhook, whichever ``settings`` configure.

The message says what failed (suite and expectation name), how badly (observed vs expected), for which as-of
date, whether publishing was blocked, and where the Data Docs page is. Delivery problems (target down, refused,
timed out, HTTP error status) are logged as errors and returned as failed deliveries; they never raise, so an
unreachable alert target can never hide or change the validation result.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from transforms.validation.results import ValidationOutcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Delivery:
    channel: str  # smtp | webhook
    target: str
    ok: bool
    error: str | None = None


def compose_alert(outcome: ValidationOutcome, publish_blocked: bool | None = None, stage: str = "validation") -> Alert:
    """The one message for a run with failures (``publish_blocked`` defaults to "a critical one failed")."""
    blocked = outcome.critical_failed if publish_blocked is None else publish_blocked
    failures = sorted(outcome.failures, key=lambda f: (f.severity != "critical", f.suite, f.expectation))
    n_crit, n_warn = len(outcome.critical_failures), len(outcome.warning_failures)
    level = "CRITICAL" if n_crit else "WARNING"
    names = ", ".join(f.label for f in failures[:3]) + (" ..." if len(failures) > 3 else "")
    subject = f"[riskcard] {level} data quality {outcome.as_of}: {len(failures)} expectation(s) failed ({names})" + (
        "; publishing blocked" if blocked else ""
    )
    docs = str(outcome.data_docs_index) if outcome.data_docs_index else "(no Data Docs built)"
    lines = [
        f"riskcard {stage} for as-of date {outcome.as_of} (run {outcome.run_id})",
        f"{n_crit} critical and {n_warn} warning expectation(s) failed "
        f"out of {len(outcome.results)} in suites {', '.join(outcome.suites)}.",
        (
            f"Publishing of the scorecard for {outcome.as_of} is BLOCKED: no new version; the previous version "
            "stays the latest."
            if blocked
            else "Publishing is not blocked (warnings only)."
        ),
        "",
    ]
    for f in failures:
        lines += [
            f"[{f.severity.upper()}] {f.label}",
            f"    observed: {f.observed}",
            f"    expected: {f.expected}",
        ]
        if f.description:
            lines.append(f"    why: {f.description}")
        if f.data_docs_page:
            lines.append(f"    page: {f.data_docs_page}")
    lines += ["", f"Data Docs: {docs}"]
    for note in outcome.notes:
        lines.append(f"Note: {note}")
    payload = {
        "event": "riskcard.data_quality",
        "stage": stage,
        "as_of_date": outcome.as_of.isoformat(),
        "run_id": outcome.run_id,
        "severity": level.lower(),
        "publish_blocked": blocked,
        "failed_critical": n_crit,
        "failed_warning": n_warn,
        "evaluated": len(outcome.results),
        "failures": [
            {
                "suite": f.suite,
                "expectation": f.expectation,
                "label": f.label,
                "type": f.type,
                "severity": f.severity,
                "observed": f.observed,
                "expected": f.expected,
                "description": f.description,
                "data_docs_page": f.data_docs_page,
            }
            for f in failures
        ],
        "data_docs_index": str(outcome.data_docs_index) if outcome.data_docs_index else None,
        "notes": list(outcome.notes),
        "summary": subject,
    }
    return Alert(subject=subject, text="\n".join(lines) + "\n", payload=payload)


def send_alerts(
    settings, outcome: ValidationOutcome, publish_blocked: bool | None = None, stage: str = "validation"
) -> list[Delivery]:
    """Send the run's alert to every configured target; nothing when nothing failed. Never raises."""
    if not outcome.failures:
        return []
    try:
        alert = compose_alert(outcome, publish_blocked, stage)
    except Exception:  # noqa: BLE001 - an alerting bug must not hide the validation result
        log.exception("could not compose the data-quality alert for run %s", outcome.run_id)
        return [Delivery("compose", "-", False, "could not compose the alert")]
    deliveries: list[Delivery] = []
    if settings.smtp_host and settings.smtp_to:
        deliveries.append(_deliver("smtp", f"{settings.smtp_host}:{settings.smtp_port}", send_email, settings, alert))
    elif settings.smtp_host:
        log.error("alert not e-mailed: smtp_host is set but smtp_to is empty")
    if settings.webhook_url:
        deliveries.append(_deliver("webhook", _safe_url(settings.webhook_url), post_webhook, settings, alert))
    if not deliveries:
        log.warning(
            "data-quality failures for %s but no alert target is configured (smtp_host/webhook_url)", outcome.as_of
        )
    return deliveries


def _deliver(channel: str, target: str, fn, settings, alert: Alert) -> Delivery:
    try:
        fn(settings, alert)
    except Exception as exc:  # noqa: BLE001 - logged and reported, never raised (see module docstring)
        message = f"{type(exc).__name__}: {exc}"
        log.error("data-quality alert via %s to %s failed: %s", channel, target, message)
        return Delivery(channel, target, False, message)
    log.info("data-quality alert sent via %s to %s", channel, target)
    return Delivery(channel, target, True)


def send_email(settings, alert: Alert) -> None:
    msg = EmailMessage()
    msg["Subject"] = alert.subject
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(settings.smtp_to)
    msg.set_content(alert.text)
    msg.add_attachment(
        json.dumps(alert.payload, ensure_ascii=False, indent=2, default=str).encode(),
        maintype="application",
        subtype="json",
        filename="riskcard-alert.json",
    )
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.alert_timeout_seconds) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(msg)


def post_webhook(settings, alert: Alert) -> None:
    body = json.dumps(alert.payload, ensure_ascii=False, default=str).encode()
    request = urllib.request.Request(
        settings.webhook_url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "riskcard-alerts"},
    )
    with urllib.request.urlopen(request, timeout=settings.alert_timeout_seconds) as response:
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(settings.webhook_url, response.status, response.reason, response.headers, None)


def _safe_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
