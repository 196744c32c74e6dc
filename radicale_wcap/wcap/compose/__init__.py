"""storeevents/storetodos parameters -> the VCALENDAR to store (Table 7-37, 7-39, 7-38).

`compose_component` (``request.py``: which components a request touches, by ``rid``
and ``mod``) applies the sent parameters to each of them (``properties.py``), with
times in their stored forms (``times.py``).  This face is what the commands import.
"""

from radicale_wcap.wcap.compose.times import (as_date, in_frame, native, same_instant,
                                              set_time, set_time_list, utc, zone_of)
from radicale_wcap.wcap.compose.properties import apply_params
from radicale_wcap.wcap.compose.request import (THISANDALL, THISANDFUTURE, THISANDPRIOR,
                                                THISINSTANCE, compose_component,
                                                in_request_zone)

__all__ = ["as_date", "in_frame", "native", "same_instant", "set_time", "set_time_list",
           "utc", "zone_of", "apply_params", "THISANDALL", "THISANDFUTURE", "THISANDPRIOR",
           "THISINSTANCE", "compose_component", "in_request_zone"]
