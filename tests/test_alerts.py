"""Data-quality alerts to a real SMTP server (aiosmtpd) and a real HTTP server on 127.0.0.1; unreachable targets
are logged and never hide the validation result."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import json
import logging
import socket
import threading
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.warehouse_builder import AS_OF, build_warehouse, window_day_list
from transforms.quality import validate
from transforms.quality.alerts import compose_alert, send_alerts
from transforms.quality.results import ExpectationResult, ValidationOutcome


class _Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def _webhook_server(status: int = 200):
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, received


@pytest.fixture
def webhook():
    server, received = _webhook_server()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/dq", received
    finally:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stale_backups(template, settings) -> None:
    builder = build_warehouse(template, settings, skip_sources=["backups"])
    builder.add_source_days("backups", window_day_list(settings, AS_OF)[:-2])
    builder.con.close()


def _body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_critical_failure_reaches_both_real_servers_once(settings, warehouse_template, smtp_server, webhook):
    inbox, port = smtp_server
    url, received = webhook
    settings = settings.replace(
        smtp_host="127.0.0.1", smtp_port=port, smtp_to=("dq-owner@bank.example",), webhook_url=url
    )
    _stale_backups(warehouse_template, settings)
    outcome = validate(settings, AS_OF, run_id="run-alert")
    assert outcome.critical_failed

    (message,) = inbox.messages
    assert inbox.envelopes == [("riskcard@localhost", ["dq-owner@bank.example"])]
    subject = message["Subject"]
    assert "CRITICAL" in subject and "2025-03-31" in subject and "publishing blocked" in subject
    assert "ingestion_health.source_fresh" in subject
    body = _body(message)
    assert "[CRITICAL] ingestion_health.source_fresh" in body
    assert "observed: 1 of 4 rows: backups: allowed_age_days=0, age_days=2" in body
    assert "expected: allowed_age_days >= age_days" in body
    assert "BLOCKED" in body and "run-alert" in body
    assert f"Data Docs: {settings.data_docs_dir / 'index.html'}" in body
    attached = json.loads(next(message.iter_attachments()).get_content())
    assert attached["run_id"] == "run-alert"

    (hook,) = received
    assert hook["path"] == "/hooks/dq" and hook["type"].startswith("application/json")
    payload = hook["json"]
    assert payload["as_of_date"] == "2025-03-31" and payload["publish_blocked"] is True
    assert payload["severity"] == "critical" and payload["run_id"] == "run-alert"
    fresh = next(f for f in payload["failures"] if f["label"] == "ingestion_health.source_fresh")
    assert fresh["severity"] == "critical" and "age_days=2" in fresh["observed"]
    assert payload["data_docs_index"] == str(settings.data_docs_dir / "index.html")
    assert Path(payload["data_docs_index"]).exists()


def test_a_clean_run_sends_nothing_and_warnings_say_publishing_goes_on(
    settings, warehouse_template, smtp_server, webhook
):
    inbox, port = smtp_server
    url, received = webhook
    settings = settings.replace(smtp_host="127.0.0.1", smtp_port=port, smtp_to=("dq@bank.example",), webhook_url=url)
    build_warehouse(warehouse_template, settings).con.close()
    assert not validate(settings, AS_OF).failures
    assert inbox.messages == [] and received == []

    builder = build_warehouse(warehouse_template, settings)
    builder.set_no_events(["IC2", "BC1", "OS1", "OS2", "OS3", "LG2", "LG4"])  # 7 of 30: a warning
    builder.con.close()
    outcome = validate(settings, AS_OF)
    assert not outcome.critical_failed and outcome.failures
    (message,) = inbox.messages
    assert message["Subject"].startswith("[riskcard] WARNING") and "blocked" not in message["Subject"]
    assert "Publishing is not blocked" in _body(message)
    assert received[0]["json"]["publish_blocked"] is False


def test_unreachable_targets_are_logged_and_the_result_still_returned(settings, warehouse_template, caplog):
    closed = _free_port()  # nothing listens there
    settings = settings.replace(
        smtp_host="127.0.0.1",
        smtp_port=closed,
        smtp_to=("dq@bank.example",),
        webhook_url=f"http://127.0.0.1:{closed}/hook",
        alert_timeout_seconds=2.0,
    )
    _stale_backups(warehouse_template, settings)
    with caplog.at_level(logging.ERROR, logger="transforms.quality.alerts"):
        outcome = validate(settings, AS_OF)
    assert outcome.critical_failed  # the validation result is intact
    errors = [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name == "transforms.quality.alerts"
    ]
    assert any("via smtp to 127.0.0.1" in e and "failed" in e for e in errors), errors
    assert any("via webhook to http://127.0.0.1" in e and "failed" in e for e in errors), errors


def test_a_webhook_error_status_is_a_failed_delivery_not_an_exception(settings, caplog):
    server, received = _webhook_server(status=500)
    try:
        settings = settings.replace(webhook_url=f"http://127.0.0.1:{server.server_address[1]}/h")
        outcome = _outcome()
        with caplog.at_level(logging.ERROR, logger="transforms.quality.alerts"):
            (delivery,) = send_alerts(settings, outcome)
    finally:
        server.shutdown()
        server.server_close()
    assert len(received) == 1  # it was delivered, and refused
    assert not delivery.ok and "500" in delivery.error
    assert any("500" in r.getMessage() for r in caplog.records)


def _outcome(severity: str = "critical") -> ValidationOutcome:
    now = dt.datetime(2025, 4, 1, 2, 0, tzinfo=dt.UTC)
    failure = ExpectationResult(
        suite="ingestion_health",
        expectation="quarantine_rate_under_limit",
        type="expect_column_values_to_be_between",
        severity=severity,
        success=False,
        observed="1 of 4 rows: transactions: quarantine_rate=0.05",
        expected="quarantine_rate < 0.01",
        description="Quarantined rows / rows read stay under the limit.",
        data_docs_page="file:///docs/x.html",
    )
    passed = ExpectationResult(
        "indicators",
        "level_present",
        "expect_column_values_to_not_be_null",
        "critical",
        True,
        "0 of 30 rows unexpected",
        "level not null",
    )
    return ValidationOutcome(
        "run-x",
        AS_OF,
        ("ingestion_health", "indicators"),
        now,
        now,
        [failure, passed],
        Path("/docs/index.html"),
        notes=("a note",),
    )


def test_the_message_says_what_how_badly_when_and_where():
    alert = compose_alert(_outcome())
    assert alert.subject == (
        "[riskcard] CRITICAL data quality 2025-03-31: 1 expectation(s) failed "
        "(ingestion_health.quarantine_rate_under_limit); publishing blocked"
    )
    assert "observed: 1 of 4 rows: transactions: quarantine_rate=0.05" in alert.text
    assert "expected: quarantine_rate < 0.01" in alert.text
    assert "page: file:///docs/x.html" in alert.text and "Data Docs: /docs/index.html" in alert.text
    assert "Note: a note" in alert.text
    assert alert.payload["failed_critical"] == 1 and alert.payload["evaluated"] == 2
    assert compose_alert(_outcome(), publish_blocked=False).payload["publish_blocked"] is False


def test_no_target_configured_sends_nothing(settings):
    assert send_alerts(settings, _outcome()) == []


# ---- secrets: webhook tokens never in log lines, SMTP passwords only over TLS ------------------------------------

WEBHOOK_TOKENS = {  # (path and query as the chat service hands them out, the secret parts)
    "slack": ("/services/T0SECRET1/B0SECRET2/XXXXslacktokenXXXX", ["T0SECRET1", "B0SECRET2", "slacktoken"]),
    "teams": ("/webhookb2/abc-guid@tenant-guid/IncomingWebhook/teamsSECRET/owner", ["teamsSECRET", "tenant-guid"]),
    "dingtalk": ("/robot/send?access_token=dingSECRETtoken", ["dingSECRETtoken", "access_token"]),
    "wecom": ("/cgi-bin/webhook/send?key=wecom-SECRET-key", ["wecom-SECRET-key"]),
}


def _log_text(caplog) -> str:
    return "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)


@pytest.mark.parametrize("style", sorted(WEBHOOK_TOKENS))
@pytest.mark.parametrize("status", [200, 500])
def test_webhook_tokens_are_masked_in_log_lines_and_deliveries(settings, caplog, style, status):
    path, secrets = WEBHOOK_TOKENS[style]
    server, received = _webhook_server(status=status)
    port = server.server_address[1]
    try:
        settings = settings.replace(webhook_url=f"http://127.0.0.1:{port}{path}")
        with caplog.at_level(logging.DEBUG):
            (delivery,) = send_alerts(settings, _outcome())
    finally:
        server.shutdown()
        server.server_close()
    assert received[0]["path"] == path  # the real URL, token included, was used
    assert delivery.ok is (status == 200)
    assert delivery.target == f"http://127.0.0.1:{port}/***"
    shown = _log_text(caplog) + f" {delivery.target} {delivery.error or ''}"
    assert f"to http://127.0.0.1:{port}/***" in shown
    for secret in secrets:
        assert secret not in shown


def test_an_unreachable_webhook_is_logged_without_its_token(settings, caplog):
    closed = _free_port()
    settings = settings.replace(
        webhook_url=f"http://127.0.0.1:{closed}/services/T0SECRET1/B0SECRET2/XXXXslacktokenXXXX",
        alert_timeout_seconds=2.0,
    )
    with caplog.at_level(logging.DEBUG):
        (delivery,) = send_alerts(settings, _outcome())
    assert not delivery.ok and "refused" in delivery.error.lower()
    text = _log_text(caplog) + delivery.error
    assert f"via webhook to http://127.0.0.1:{closed}/*** failed" in text
    for secret in ("T0SECRET1", "B0SECRET2", "slacktoken", "/services/"):
        assert secret not in text


class _Logins:
    """aiosmtpd authenticator that accepts any login and remembers it, and whether the session was encrypted."""

    def __init__(self):
        self.seen: list[tuple[str, str, bool]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.seen.append((auth_data.login.decode(), auth_data.password.decode(), encrypted))
        return AuthResult(success=True)


@contextlib.contextmanager
def _smtp(**params):
    inbox, logins = _Inbox(), _Logins()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=logins, **params)
    controller.start()
    try:
        yield inbox, logins, controller.port
    finally:
        controller.stop()


def _mail_settings(settings, port: int, **changes):
    return settings.replace(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_to=("dq@bank.example",),
        smtp_user="riskcard",
        smtp_password="mail-Pa55word",
        alert_timeout_seconds=5.0,
        **changes,
    )


def test_a_password_is_never_sent_to_a_server_without_starttls(settings, caplog):
    # the server would take a plain login (auth_require_tls=False): today's code logs in and sends
    outcome = _outcome()
    quiet = caplog.at_level(logging.ERROR, logger="transforms.quality.alerts")
    with _smtp(auth_require_tls=False) as (inbox, logins, port), quiet:
        (delivery,) = send_alerts(_mail_settings(settings, port), outcome)
    assert inbox.messages == [] and logins.seen == []  # no message, and no password went over the wire
    assert not delivery.ok and "does not offer STARTTLS" in delivery.error
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("via smtp to 127.0.0.1" in e and "does not offer STARTTLS" in e for e in errors), errors
    assert all("mail-Pa55word" not in e for e in errors)
    assert outcome.critical_failed  # the validation result itself is untouched


def test_a_plain_login_needs_the_explicit_setting(settings):
    with _smtp(auth_require_tls=False) as (inbox, logins, port):
        (delivery,) = send_alerts(_mail_settings(settings, port, smtp_allow_plaintext_auth=True), _outcome())
    assert delivery.ok
    assert logins.seen == [("riskcard", "mail-Pa55word", False)]
    (message,) = inbox.messages
    assert message["Subject"].startswith("[riskcard] CRITICAL")


def test_without_a_password_no_tls_is_needed(settings):
    with _smtp(auth_require_tls=False) as (inbox, logins, port):
        settings = _mail_settings(settings, port).replace(smtp_user=None, smtp_password=None)
        (delivery,) = send_alerts(settings, _outcome())
    assert delivery.ok and len(inbox.messages) == 1 and logins.seen == []


@pytest.fixture
def self_signed(tmp_path):
    """A certificate for 127.0.0.1 made in the test, and the server's TLS context."""
    x509 = pytest.importorskip("cryptography.x509", reason="the cryptography package makes the test certificate")
    import ipaddress
    import ssl

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "smtp-cert.pem", tmp_path / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return cert_file, context


def test_a_password_goes_over_starttls_by_default(settings, self_signed):
    cert_file, server_tls = self_signed
    # auth_require_tls=True (aiosmtpd's default): the server only offers AUTH once the session is encrypted
    with _smtp(tls_context=server_tls) as (inbox, logins, port):
        (delivery,) = send_alerts(_mail_settings(settings, port, smtp_tls_ca_file=cert_file), _outcome())
    assert delivery.ok, delivery.error
    assert logins.seen == [("riskcard", "mail-Pa55word", True)]
    assert len(inbox.messages) == 1


def test_an_unverifiable_certificate_gets_no_password(settings, self_signed, caplog):
    _, server_tls = self_signed
    quiet = caplog.at_level(logging.ERROR, logger="transforms.quality.alerts")
    with _smtp(tls_context=server_tls) as (inbox, logins, port), quiet:
        (delivery,) = send_alerts(_mail_settings(settings, port), _outcome())  # no CA file: not trusted
    assert not delivery.ok and "CERTIFICATE_VERIFY_FAILED" in delivery.error
    assert inbox.messages == [] and logins.seen == []
    assert any("CERTIFICATE_VERIFY_FAILED" in r.getMessage() for r in caplog.records)


def test_smtps_on_the_setting(settings, self_signed):
    cert_file, server_tls = self_signed
    # aiosmtpd counts only STARTTLS as TLS for AUTH; the login below is seen inside the encrypted session
    with _smtp(ssl_context=server_tls, auth_require_tls=False) as (inbox, logins, port):
        settings = _mail_settings(settings, port, smtp_ssl=True, smtp_tls_ca_file=cert_file)
        (delivery,) = send_alerts(settings, _outcome())
    assert delivery.ok, delivery.error
    assert logins.seen == [("riskcard", "mail-Pa55word", True)]
    assert len(inbox.messages) == 1
