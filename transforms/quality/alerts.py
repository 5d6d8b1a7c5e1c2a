"""Data-quality alerts: one message per validation run that had failures, by e-mail (SMTP) and/or an HTTP JSON
webhook, whichever ``settings`` configure.

The message says what failed (suite and expectation name), how badly (observed vs expected), for which as-of
date, whether publishing was blocked, and where the Data Docs page is. Delivery problems (target down, refused,
timed out, HTTP error status, no TLS for an SMTP password) are logged as errors and returned as failed deliveries;
they never raise, so an unreachable alert target can never hide or change the validation result.

Secrets stay out of logs and messages: a webhook is named by :func:`transforms.core.settings.mask_url` (scheme, host and
port; chat webhooks carry their token in the path or query), and a delivery error is rewritten without the URL's
path, query or the SMTP password. An SMTP password is only sent over TLS (STARTTLS, or SMTPS with ``smtp_ssl``)
unless ``smtp_allow_plaintext_auth`` says otherwise; a server that offers no STARTTLS then gets nothing.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from transforms.core.settings import mask_url
from transforms.quality.results import ValidationOutcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    subject: str
    text: str
    payload: dict[str, Any]


class DeliveryError(RuntimeError):
    """An alert could not be delivered; the message says why and holds no secret (token, password)."""


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
    deliveries = deliver(settings, alert)
    if not deliveries:
        log.warning(
            "data-quality failures for %s but no alert target is configured (smtp_host/webhook_url)", outcome.as_of
        )
    return deliveries


def deliver(settings, alert: Alert, *, what: str = "data-quality alert", skip: tuple[str, ...] = ()) -> list[Delivery]:
    """Send one alert to every configured channel (SMTP, webhook) except those in ``skip``; one Delivery each (none
    when no channel is configured). Never raises: a channel's failure is logged and reported in its Delivery."""
    deliveries: list[Delivery] = []
    if settings.smtp_host and settings.smtp_to and "smtp" not in skip:
        target = f"{settings.smtp_host}:{settings.smtp_port}"
        deliveries.append(_deliver("smtp", target, send_email, settings, alert, what))
    elif settings.smtp_host and not settings.smtp_to:
        log.error("%s not e-mailed: smtp_host is set but smtp_to is empty", what)
    if settings.webhook_url and "webhook" not in skip:
        deliveries.append(_deliver("webhook", mask_url(settings.webhook_url), post_webhook, settings, alert, what))
    return deliveries


def _deliver(channel: str, target: str, fn, settings, alert: Alert, what: str) -> Delivery:
    try:
        fn(settings, alert)
    except Exception as exc:  # noqa: BLE001 - logged and reported, never raised (see module docstring)
        message = str(exc) if isinstance(exc, DeliveryError) else _scrubbed(f"{type(exc).__name__}: {exc}", settings)
        log.error("%s via %s to %s failed: %s", what, channel, target, message)
        return Delivery(channel, target, False, message)
    log.info("%s sent via %s to %s", what, channel, target)
    return Delivery(channel, target, True)


def send_email(settings, alert: Alert) -> None:
    """E-mail the alert. Raises DeliveryError (no secret in its message) when it cannot be sent.

    With a password set, the session is encrypted first (STARTTLS, or SMTPS with ``smtp_ssl``) and a server that
    does not offer STARTTLS gets nothing, not even the message; ``smtp_allow_plaintext_auth = true`` accepts a
    login in clear.
    """
    msg = EmailMessage()
    msg["Subject"] = alert.subject
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(settings.smtp_to)
    if alert.payload.get("alert_id"):  # lets a mailbox drop a repeat (transforms.monitoring.outbox)
        msg["Message-ID"] = f"<{alert.payload['alert_id']}@riskcard>"
    msg.set_content(alert.text)
    msg.add_attachment(
        json.dumps(alert.payload, ensure_ascii=False, indent=2, default=str).encode(),
        maintype="application",
        subtype="json",
        filename="riskcard-alert.json",
    )
    try:
        _smtp_send(settings, msg)
    except DeliveryError:
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised without secrets in its text
        raise DeliveryError(_scrubbed(f"{type(exc).__name__}: {exc}", settings)) from None


def _smtp_send(settings, msg: EmailMessage) -> None:
    server = f"{settings.smtp_host}:{settings.smtp_port}"
    timeout = settings.alert_timeout_seconds
    context = _tls_context(settings) if settings.smtp_ssl or smtp_tls_required(settings) else None
    if settings.smtp_ssl:
        smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    with smtp:
        if not settings.smtp_ssl and smtp_tls_required(settings):
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                why = "a password is set" if settings.smtp_password else "smtp_starttls is set"
                raise DeliveryError(
                    f"not sent: TLS is required ({why}) but the mail server {server} does not offer STARTTLS, so "
                    "the login would travel in clear. Enable STARTTLS on the server, use SMTPS (smtp_ssl = true, "
                    "usually port 465), or accept a plain login explicitly with smtp_allow_plaintext_auth = true."
                )
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(msg)


def smtp_tls_required(settings) -> bool:
    """STARTTLS is required: asked for, or a password is set and plain login was not explicitly allowed."""
    return bool(settings.smtp_starttls or (settings.smtp_password and not settings.smtp_allow_plaintext_auth))


def _tls_context(settings) -> ssl.SSLContext:
    ca_file = settings.smtp_tls_ca_file
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def post_webhook(settings, alert: Alert) -> None:
    """POST the alert's JSON. Raises DeliveryError (the URL's token not in its message) when it is not taken."""
    body = json.dumps(alert.payload, ensure_ascii=False, default=str).encode()
    try:
        request = urllib.request.Request(
            settings.webhook_url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "riskcard-alerts"},
        )
        with urllib.request.urlopen(request, timeout=settings.alert_timeout_seconds) as response:
            status, reason = response.status, response.reason
    except Exception as exc:  # noqa: BLE001 - re-raised without the URL's token in its text
        raise DeliveryError(_scrubbed(f"{type(exc).__name__}: {exc}", settings)) from None
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status} {reason} from {mask_url(settings.webhook_url)}")


def _scrubbed(text: str, settings) -> str:
    """``text`` without the webhook URL's path, query and credentials, or the SMTP password."""
    secrets: set[str] = set()
    if settings.webhook_url:
        url = str(settings.webhook_url)
        secrets.add(url)
        try:
            parts = urlsplit(url)
        except ValueError:
            parts = None
        if parts is not None:
            secrets.update(p for p in (parts.query, parts.fragment, parts.username, parts.password) if p)
            if parts.path not in ("", "/"):
                secrets.add(parts.path)
                secrets.update(seg for seg in parts.path.split("/") if len(seg) >= 8)  # tokens, not "hooks"
    if settings.smtp_password:
        secrets.add(settings.smtp_password)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
