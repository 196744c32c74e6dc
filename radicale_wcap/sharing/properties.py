"""PROPPATCH of a shared collection: the subscriber's own name, colour and order.

Radicale would write a PROPPATCH into the collection's ``.Radicale.props``, which for
a shared collection is the owner's, and only for a user with write access. What
jsmith calls jdoe's calendar, and its colour, are jsmith's and need no right on
jdoe's calendar, so the CalDAV guard answers a PROPPATCH of a shared collection here:
the properties of ``subscriptions.OWN_PROPS`` go into the subscriber's preferences;
any other property is refused with 403 and, as RFC 4918 §9.2 makes a PROPPATCH all
or nothing, the rest with 424 and nothing is stored.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from typing import Tuple

import defusedxml.ElementTree as DefusedET
from radicale import xmlutils

from radicale_wcap.sharing import subscriptions
from radicale_wcap.sharing.shares import Share
from radicale_wcap.state import services

logger = logging.getLogger("radicale.wcap.sharing")

Response = Tuple[str, list, bytes]


def _multistatus(href: str, statuses: dict) -> bytes:
    multistatus = ET.Element(xmlutils.make_clark("D:multistatus"))
    response = ET.SubElement(multistatus, xmlutils.make_clark("D:response"))
    ET.SubElement(response, xmlutils.make_clark("D:href")).text = href
    by_status: dict = {}
    for name, status in statuses.items():
        by_status.setdefault(status, []).append(name)
    for status, names in sorted(by_status.items()):
        propstat = ET.SubElement(response, xmlutils.make_clark("D:propstat"))
        prop = ET.SubElement(propstat, xmlutils.make_clark("D:prop"))
        for name in names:
            # Radicale's parser calls a DAV:resourcetype "tag".
            ET.SubElement(prop, xmlutils.make_clark("D:resourcetype" if name == "tag"
                                                    else name))
        ET.SubElement(propstat, xmlutils.make_clark("D:status")).text = \
            xmlutils.make_response(status)
    return (b"<?xml version='1.0' encoding='utf-8'?>\n"
            + ET.tostring(multistatus, encoding="utf-8", xml_declaration=False))


def proppatch(configuration, share: Share, body: bytes, base_prefix: str) -> Response:
    """The 207 answer to a PROPPATCH of ``share``'s collection by its subscriber."""
    try:
        changes = xmlutils.props_from_request(DefusedET.fromstring(body) if body else None)
    except Exception as e:  # defusedxml and ElementTree raise several kinds
        logger.warning("PROPPATCH of %s refused: %s", share.path, str(e)[:200])
        return ("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")],
                b"Bad PROPPATCH body.")
    foreign = [name for name in changes if name not in subscriptions.OWN_PROPS]
    href = xmlutils.make_href(base_prefix, share.path)
    if foreign:
        logger.warning("PROPPATCH of %s by %r refused: %s are the owner's", share.path,
                       share.subscriber, ", ".join(sorted(foreign))[:200])
        statuses = {name: 403 if name in foreign else 424 for name in changes}
    else:
        try:
            subscriptions.set_own_props(services(configuration).directory,
                                        share.subscriber, share.calid, changes)
        except ValueError as e:
            logger.warning("PROPPATCH of %s by %r refused: %s", share.path,
                           share.subscriber, e)
            statuses = {name: 403 for name in changes}
        else:
            logger.info("PROPPATCH of %s by %r: %s stored as the subscriber's own",
                        share.path, share.subscriber, ", ".join(sorted(changes)))
            statuses = {name: 200 for name in changes}
    return ("207 Multi-Status", [("Content-Type", "text/xml; charset=utf-8")],
            _multistatus(href, statuses))
