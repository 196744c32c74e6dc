"""What the three renderers (`ical`, `xml`, `js`) share, below them in the import graph.

The package face (`render/__init__`) imports the renderers to choose one by ``fmt-out``;
the renderers import this module, never the face, so nothing here may import them.

The readers here take vobject components without changing them (a renderer must not
add a UID or DTSTAMP the handler did not put there, which vobject's own ``serialize``
would do) and without failing on values vobject refuses (a ``"`` in a CN).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from ..result import CalendarLayer, Prop

PRODID = "-//radicale_wcap//WCAP 3.0//EN"
ICAL_VERSION = "2.0"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_controls(text: str) -> str:
    """Drop control characters no format can carry (XML 1.0 forbids them outright)."""
    return _CONTROL.sub("", text)


def line_value(line: Any, escaped: bool) -> tuple[str, list[tuple[str, str]]]:
    """The text value and parameters of a vobject ContentLine.

    ``escaped``: iCalendar TEXT escaping applied (for text/calendar); otherwise the plain
    value (for XML and JS, which have their own escaping).
    """
    work = line.duplicate(line)
    if work.isNative:
        work = work.transformFromNative()
    if escaped and work.behavior is not None and not work.encoded:
        work.behavior.encode(work)
    value = work.value
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    elif value is None:
        value = ""
    elif not isinstance(value, str):
        value = str(value)
    params = [(key.upper(), ",".join(str(v) for v in vals))
              for key, vals in work.params.items()]
    return value, params


RELATIVE_CALID = "X-NSCP-CALPROPS-RELATIVE-CALID"


def layer_props(layer: CalendarLayer) -> list[Prop]:
    """A layer's properties, always naming its calendar first.

    A layer that failed (28 denied, 29 missing) has no properties of its own, and a
    block with only an errno does not say which calid it answers: php-wcap-client
    collects the 28 layers of a multi-calendar fetch to ask free/busy for them, and
    Lightning keys everything on the calid it sent (docs/wcap-clients.md#calprops-answer).
    The manual's examples name every successful layer with
    ``X-NSCP-CALPROPS-RELATIVE-CALID``; every layer, of every command and in every format,
    gets one (as the client sent it)."""
    if any(p.name.upper() == RELATIVE_CALID for p in layer.props):
        return list(layer.props)
    return [Prop(RELATIVE_CALID, layer.calid)] + list(layer.props)


def children(component: Any) -> Iterator[Any]:
    """Child lines and sub-components in their stored order."""
    return iter(component.getChildren())


def is_component(obj: Any) -> bool:
    return hasattr(obj, "getChildren") and hasattr(obj, "useBegin")


@dataclass(frozen=True)
class Rendered:
    """One component already laid out in one format.

    The fetch commands keep these across requests (`wcap.output_cache`): laying out
    the same stored event again for every client poll was half of a fetch's time.
    ``name`` (VEVENT, VTODO) lets maxResults count kinds; ``array`` is the text/js
    array the entry belongs to (event, eventD, todo, todoD). A text/js ``text`` is
    the entry's fields without braces and without ``calid``, which depends on the
    layer and is added when the page is rendered.
    """

    name: str
    fmt_out: str
    text: str
    array: str = ""
