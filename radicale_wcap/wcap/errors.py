"""WCAP error numbers: the manual's Table 7-6 plus the WCAP 3.x numbers clients know.

`WcapErrno` spells every member as the manual (or, for 48..81, the later Sun docs as
copied into Lightning's ``calWcapErrors.js``) names it, so a grep from either lands here.
`MEANING` is the one table of what each number means; the tests loop over it.

Raise ``WcapError(WcapErrno.X, "detail for the log")`` anywhere below the dispatcher;
`radicale_wcap.wcap.dispatch` turns it into an answer in the requested ``fmt-out``
(always HTTP 200, ``X-NSCP-WCAP-ERRNO`` in the body). ``detail`` goes to the log only and
must never hold a password or a session id.

Numbers with special client behaviour (docs/wcap-clients.md#errno-handling): 1 makes
Lightning log in again and repeat the request forever, so it means *only* "invalid or
expired session"; 9 and 59 are "not found" for fetch*_by_id; 28 on fetchcomponents_by_range
makes the client fall back to free/busy; logout must answer -1.
"""

from enum import IntEnum


class WcapErrno(IntEnum):
    # Table 7-6 (Sun ONE Calendar Server Programmer's Manual, 2002)
    LOGOUT = -1
    OK = 0
    LOGIN_FAILED = 1
    LOGIN_OK_DEFAULT_CALENDAR_NOT_FOUND = 2
    DELETE_EVENTS_BY_ID_FAILED = 6
    SETCALPROPS_FAILED = 8
    FETCH_EVENTS_BY_ID_FAILED = 9
    CREATECALENDAR_FAILED = 10
    DELETECALENDAR_FAILED = 11
    ADDLINK_FAILED = 12
    FETCHBYDATERANGE_FAILED = 13
    STOREEVENTS_FAILED = 14
    STORETODOS_FAILED = 15
    DELETE_TODOS_BY_ID_FAILED = 16
    FETCH_TODOS_BY_ID_FAILED = 17
    FETCHCOMPONENTS_FAILED_BAD_TZID = 18
    SEARCH_CALPROPS_FAILED = 19
    GET_CALPROPS_FAILED = 20
    DELETECOMPONENTS_BY_RANGE_FAILED = 21
    DELETEEVENTS_BY_RANGE_FAILED = 22
    DELETETODOS_BY_RANGE_FAILED = 23
    GET_ALL_TIMEZONES_FAILED = 24
    CREATECALENDAR_ALREADY_EXISTS_FAILED = 25
    SET_USERPREFS_FAILED = 26
    CHANGE_PASSWORD_FAILED = 27
    ACCESS_DENIED_TO_CALENDAR = 28
    CALENDAR_DOES_NOT_EXIST = 29
    ILLEGAL_CALID_NAME = 30
    CANNOT_MODIFY_LINKED_EVENTS = 31
    CANNOT_MODIFY_LINKED_TODOS = 32
    CANNOT_SENT_EMAIL = 33
    CALENDAR_DISABLED = 34
    WRITE_IMPORT_FAILED = 35
    FETCH_BY_LAST_MODIFIED_FAILED = 36
    CAPI_NOT_SUPPORTED = 37
    CALID_NOT_SPECIFIED = 38
    GET_FREEBUSY_FAILED = 39
    STORE_FAILED_DOUBLE_BOOKED = 40
    FETCH_BY_ALARM_RANGE_FAILED = 41
    FETCH_BY_ATTENDEE_ERROR_FAILED = 42
    ATTENDEE_GROUP_EXPANSION_CLIPPED = 43
    USERPREFS_ACCESS_DENIED = 44
    NOT_ALLOWED_TO_REQUEST_PUBLISH = 45
    INSUFFICIENT_PARAMETERS = 46
    MUSTBEOWNER_OPERATION = 47
    # WCAP 3.x (Calendar Server 6 docs; Lightning calWcapErrors.js indexes -1..81)
    DWP_CONNECTION_FAILED = 48
    DWP_MAX_CONNECTION_REACHED = 49
    DWP_CANNOT_RESOLVE_CALENDAR = 50
    DWP_BAD_DATA = 51
    BAD_COMMAND = 52
    NOT_FOUND = 53
    WRITE_IMPORT_CANT_EXPAND_CALID = 54
    GETTIME_FAILED = 55
    FETCH_DELETEDCOMPONENTS_FAILED = 56
    FETCH_DELETEDCOMPONENTS_PARTIAL_RESULT = 57
    NO_SUCH_FORMAT = 58
    COMPONENT_NOT_FOUND = 59
    BAD_ARGUMENTS = 60
    GET_USERPREFS_FAILED = 61
    MODIFY_NO_EVENT = 62
    CREATE_EXISTS = 63
    MODIFY_CANT_MAKE_COPY = 64
    STORE_FAILED_RECUR_SKIP = 65
    STORE_FAILED_RECUR_SAMEDAY = 66
    BAD_ORG_ARGUMENTS = 67
    STORE_FAILED_RECUR_PRIVACY = 68
    LDAP_ERROR = 69
    GET_INVITE_COUNT_FAILED = 70
    LIST_FAILED = 71
    LIST_SUBSCRIBED_FAILED = 72
    SUBSCRIBE_FAILED = 73
    UNSUBSCRIBE_FAILED = 74
    ANONYMOUS_NOT_ALLOWED = 75
    ACCESS_DENIED = 76
    BAD_IMPORT_ARGUMENTS = 77
    READONLY_DATABASE = 78
    ATTENDEE_NOT_ALLOWED_TO_REQUEST_ON_MODIFY = 79
    TRANSP_RESOURCE_NOT_ALLOWED = 80
    RECURRING_COMPONENT_NOT_FOUND = 81


E = WcapErrno

MEANING: dict[WcapErrno, str] = {
    E.LOGOUT: "Logout successful.",
    E.OK: "Command successful.",
    E.LOGIN_FAILED: "Login failed, session ID timed out. Invalid session ID.",
    E.LOGIN_OK_DEFAULT_CALENDAR_NOT_FOUND: "login.wcap was successful, but the default calendar for this user was not found. A new default calendar set to the userid was created.",
    E.DELETE_EVENTS_BY_ID_FAILED: "Command failed.",
    E.SETCALPROPS_FAILED: "Command failed.",
    E.FETCH_EVENTS_BY_ID_FAILED: "Command failed.",
    E.CREATECALENDAR_FAILED: "Command failed.",
    E.DELETECALENDAR_FAILED: "Command failed.",
    E.ADDLINK_FAILED: "Command failed.",
    E.FETCHBYDATERANGE_FAILED: "Command failed.",
    E.STOREEVENTS_FAILED: "Command failed.",
    E.STORETODOS_FAILED: "Command failed.",
    E.DELETE_TODOS_BY_ID_FAILED: "Command failed.",
    E.FETCH_TODOS_BY_ID_FAILED: "Command failed.",
    E.FETCHCOMPONENTS_FAILED_BAD_TZID: "Command failed to find correct tzid. Applies to fetchcomponents_by_range, fetchevents_by_id, fetchtodos_by_id.",
    E.SEARCH_CALPROPS_FAILED: "Command failed.",
    E.GET_CALPROPS_FAILED: "Command failed.",
    E.DELETECOMPONENTS_BY_RANGE_FAILED: "Command failed.",
    E.DELETEEVENTS_BY_RANGE_FAILED: "Command failed.",
    E.DELETETODOS_BY_RANGE_FAILED: "Command failed.",
    E.GET_ALL_TIMEZONES_FAILED: "Command failed.",
    E.CREATECALENDAR_ALREADY_EXISTS_FAILED: "createcalendar.wcap failed; calendar with that name already exists in the database.",
    E.SET_USERPREFS_FAILED: "Command failed.",
    E.CHANGE_PASSWORD_FAILED: "Command failed.",
    E.ACCESS_DENIED_TO_CALENDAR: "Command failed; user denied access to a calendar.",
    E.CALENDAR_DOES_NOT_EXIST: "Command failed; calendar does not exist in the database.",
    E.ILLEGAL_CALID_NAME: "createcalendar.wcap failed; calid passed in was invalid.",
    E.CANNOT_MODIFY_LINKED_EVENTS: "storeevents.wcap failed; event to modify was a linked event.",
    E.CANNOT_MODIFY_LINKED_TODOS: "storetodos.wcap failed; todo to modify was a linked todo.",
    E.CANNOT_SENT_EMAIL: "Command failed; the email notification failed.",
    E.CALENDAR_DISABLED: "Command failed; calendar is disabled in the database.",
    E.WRITE_IMPORT_FAILED: "Import failed when writing files to the server.",
    E.FETCH_BY_LAST_MODIFIED_FAILED: "Command failed.",
    E.CAPI_NOT_SUPPORTED: "Failed trying to read from CS&T calendar data.",
    E.CALID_NOT_SPECIFIED: "Calendar ID was not specified.",
    E.GET_FREEBUSY_FAILED: "Command failed.",
    E.STORE_FAILED_DOUBLE_BOOKED: "storeevents or storetodos failed while attempting to store an event/todo in a time slot that was already filled. Double booking is not allowed.",
    E.FETCH_BY_ALARM_RANGE_FAILED: "Command failed.",
    E.FETCH_BY_ATTENDEE_ERROR_FAILED: "Command failed.",
    E.ATTENDEE_GROUP_EXPANSION_CLIPPED: "An LDAP group being expanded was too large and exceeded the maximum number allowed in an expansion.",
    E.USERPREFS_ACCESS_DENIED: "Either the server does not allow this administrator access to get/modify user preferences, or the requester is not an administrator.",
    E.NOT_ALLOWED_TO_REQUEST_PUBLISH: "The requester was not an organizer of the event, and, therefore, is not allowed to edit the component using the PUBLISH or REQUEST method.",
    E.INSUFFICIENT_PARAMETERS: "The caller tried to invoke verifyevents_by_ids, or verifytodos_by_ids with insufficient arguments (mismatched number of uids and rids).",
    E.MUSTBEOWNER_OPERATION: "The user needs to be an owner or co-owner of the calendar in questions to complete this operation.",
    E.DWP_CONNECTION_FAILED: "GSE scheduling engine failed to make connection to DWP.",
    E.DWP_MAX_CONNECTION_REACHED: "Reached the maximum number of connections.",
    E.DWP_CANNOT_RESOLVE_CALENDAR: "Front end can't resolve to a particular back end.",
    E.DWP_BAD_DATA: "Generic response. Check all DWP servers.",
    E.BAD_COMMAND: "The command sent in was not recognized.",
    E.NOT_FOUND: "Returned for all errors from a write to the database (internal error).",
    E.WRITE_IMPORT_CANT_EXPAND_CALID: "Can't expand calid when importing file.",
    E.GETTIME_FAILED: "Get server time failed.",
    E.FETCH_DELETEDCOMPONENTS_FAILED: "fetch_deletedcomponents.wcap failed.",
    E.FETCH_DELETEDCOMPONENTS_PARTIAL_RESULT: "Success but partial result.",
    E.NO_SUCH_FORMAT: "Returned in any of the commands when supplied fmt-out is not a supported format.",
    E.COMPONENT_NOT_FOUND: "Returned when a fetch or delete is attempted that does not exist.",
    E.BAD_ARGUMENTS: "Bad arguments (e.g. an attendee or organizer without a valid email address).",
    E.GET_USERPREFS_FAILED: "get_userprefs.wcap failed.",
    E.MODIFY_NO_EVENT: "storeevents.wcap issued with storetype set to 2 (modify) and the event doesn't exist.",
    E.CREATE_EXISTS: "storeevents.wcap issued with storetype set to 1 (create) and the event already exists.",
    E.MODIFY_CANT_MAKE_COPY: "storeevents.wcap issued and copy of event failed during processing.",
    E.STORE_FAILED_RECUR_SKIP: "One instance of a recurring event skips over another.",
    E.STORE_FAILED_RECUR_SAMEDAY: "Two instances of a recurring event can't occur on the same day.",
    E.BAD_ORG_ARGUMENTS: "Bad organizer arguments: orgCalid or orgEmail must be passed if any other org parameter is sent.",
    E.STORE_FAILED_RECUR_PRIVACY: "Cannot change the privacy or transparency of a single instance in a recurring series.",
    E.LDAP_ERROR: "Error getting directory-derived calendar property values.",
    E.GET_INVITE_COUNT_FAILED: "Error in getting invite count.",
    E.LIST_FAILED: "list.wcap failed.",
    E.LIST_SUBSCRIBED_FAILED: "list_subscribed.wcap failed.",
    E.SUBSCRIBE_FAILED: "subscribe.wcap failed.",
    E.UNSUBSCRIBE_FAILED: "unsubscribe.wcap failed.",
    E.ANONYMOUS_NOT_ALLOWED: "Command cannot be executed as anonymous.",
    E.ACCESS_DENIED: "A non-administrator tried to read or set another user's owned or subscribed calendar list.",
    E.BAD_IMPORT_ARGUMENTS: "Incorrect parameter received by import.wcap.",
    E.READONLY_DATABASE: "Database is in read-only mode.",
    E.ATTENDEE_NOT_ALLOWED_TO_REQUEST_ON_MODIFY: "Attendee is not allowed to modify an event with method=request.",
    E.TRANSP_RESOURCE_NOT_ALLOWED: "Resources do not permit the transparency parameter.",
    E.RECURRING_COMPONENT_NOT_FOUND: "Recurring component not found (part of a recurring series is missing).",
}


class WcapError(Exception):
    """A failure that has a WCAP answer.

    ``errno`` is what the client sees; ``detail`` is for the server log only (never a
    password, a session id or other secret), so the client cannot learn internals.
    """

    def __init__(self, errno: WcapErrno | int, detail: str = "") -> None:
        self.errno = WcapErrno(errno)
        self.detail = detail
        super().__init__(f"{self.errno.name}({int(self.errno)}): {detail}")
