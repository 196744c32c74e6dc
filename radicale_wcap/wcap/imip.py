"""iMIP (RFC 6047): scheduling messages to attendees who are not users of this server.

The manual's storeevents says "When the notify value is 1, it sends an IMIP PUBLISH
message" and its Group Scheduling section has the server (the GSE) notify attendees;
here invitations (METHOD:REQUEST), cancellations (METHOD:CANCEL) and replies go out as a
``text/calendar; method=...`` MIME part through ``[mail] smtp_host``/``smtp_port``.
An empty ``smtp_host`` means this server sends no mail.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from radicale_wcap.icalparse import clone

logger = logging.getLogger("radicale.wcap.wcap.imip")

SMTP_TIMEOUT = 10


class MailError(Exception):
    """The message could not be handed to the SMTP server (WCAP errno 33)."""


def configured(settings) -> bool:
    return bool(settings.get("mail", "smtp_host"))


def message(method: str, vcalendar, sender: str, recipients: list[str]) -> EmailMessage:
    """One iMIP message: a short text part and the iCalendar object with METHOD."""
    vcal = clone(vcalendar)
    vcal.contents.pop("method", None)
    vcal.add("method").value = method
    comp = next((c for c in vcal.getChildren() if c.name in ("VEVENT", "VTODO")), None)
    summary = str(comp.summary.value) if comp is not None and "summary" in comp.contents \
        else "(no title)"
    msg = EmailMessage()
    msg["Subject"] = {"REQUEST": "Invitation: ", "CANCEL": "Cancelled: ",
                      "REPLY": "Reply: "}.get(method, "") + summary
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content("%s: %s\n" % (method.title(), summary))
    msg.add_alternative(vcal.serialize(), subtype="calendar",
                        params={"method": method})
    return msg


def send(settings, method: str, vcalendar, recipients: list[str], sender: str = "") -> None:
    """Send one message to ``recipients`` (bare addresses); raises MailError."""
    if not recipients:
        return
    host = settings.get("mail", "smtp_host")
    port = settings.get("mail", "smtp_port")
    envelope_from = settings.get("mail", "from_address")
    msg = message(method, vcalendar, sender or envelope_from, recipients)
    try:
        with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT) as smtp:
            refused = smtp.send_message(msg, from_addr=envelope_from, to_addrs=recipients)
    except (OSError, smtplib.SMTPException) as e:
        logger.warning("iMIP %s to %d recipient(s) via %s:%s failed: %s", method,
                       len(recipients), host, port, e)
        raise MailError(str(e)) from e
    if refused:
        logger.warning("iMIP %s: %d recipient(s) refused", method, len(refused))
        raise MailError("recipients refused")
    logger.info("iMIP %s sent to %d recipient(s)", method, len(recipients))
