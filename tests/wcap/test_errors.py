from radicale_wcap.wcap.errors import MEANING, WcapErrno, WcapError

# Table 7-6, as printed in the manual (name, value).
TABLE_7_6 = {
    "LOGOUT": -1, "OK": 0, "LOGIN_FAILED": 1, "LOGIN_OK_DEFAULT_CALENDAR_NOT_FOUND": 2,
    "DELETE_EVENTS_BY_ID_FAILED": 6, "SETCALPROPS_FAILED": 8, "FETCH_EVENTS_BY_ID_FAILED": 9,
    "CREATECALENDAR_FAILED": 10, "DELETECALENDAR_FAILED": 11, "ADDLINK_FAILED": 12,
    "FETCHBYDATERANGE_FAILED": 13, "STOREEVENTS_FAILED": 14, "STORETODOS_FAILED": 15,
    "DELETE_TODOS_BY_ID_FAILED": 16, "FETCH_TODOS_BY_ID_FAILED": 17,
    "FETCHCOMPONENTS_FAILED_BAD_TZID": 18, "SEARCH_CALPROPS_FAILED": 19,
    "GET_CALPROPS_FAILED": 20, "DELETECOMPONENTS_BY_RANGE_FAILED": 21,
    "DELETEEVENTS_BY_RANGE_FAILED": 22, "DELETETODOS_BY_RANGE_FAILED": 23,
    "GET_ALL_TIMEZONES_FAILED": 24, "CREATECALENDAR_ALREADY_EXISTS_FAILED": 25,
    "SET_USERPREFS_FAILED": 26, "CHANGE_PASSWORD_FAILED": 27, "ACCESS_DENIED_TO_CALENDAR": 28,
    "CALENDAR_DOES_NOT_EXIST": 29, "ILLEGAL_CALID_NAME": 30, "CANNOT_MODIFY_LINKED_EVENTS": 31,
    "CANNOT_MODIFY_LINKED_TODOS": 32, "CANNOT_SENT_EMAIL": 33, "CALENDAR_DISABLED": 34,
    "WRITE_IMPORT_FAILED": 35, "FETCH_BY_LAST_MODIFIED_FAILED": 36, "CAPI_NOT_SUPPORTED": 37,
    "CALID_NOT_SPECIFIED": 38, "GET_FREEBUSY_FAILED": 39, "STORE_FAILED_DOUBLE_BOOKED": 40,
    "FETCH_BY_ALARM_RANGE_FAILED": 41, "FETCH_BY_ATTENDEE_ERROR_FAILED": 42,
    "ATTENDEE_GROUP_EXPANSION_CLIPPED": 43, "USERPREFS_ACCESS_DENIED": 44,
    "NOT_ALLOWED_TO_REQUEST_PUBLISH": 45, "INSUFFICIENT_PARAMETERS": 46,
    "MUSTBEOWNER_OPERATION": 47,
}


def test_table_7_6_complete():
    for name, value in TABLE_7_6.items():
        assert WcapErrno[name] == value


def test_wcap3_numbers_clients_know():
    assert WcapErrno.GETTIME_FAILED == 55
    assert WcapErrno.FETCH_DELETEDCOMPONENTS_FAILED == 56
    assert WcapErrno.FETCH_DELETEDCOMPONENTS_PARTIAL_RESULT == 57
    assert WcapErrno.NO_SUCH_FORMAT == 58
    assert WcapErrno.COMPONENT_NOT_FOUND == 59
    assert WcapErrno.MODIFY_NO_EVENT == 62
    assert WcapErrno.CREATE_EXISTS == 63
    # Lightning indexes -1..81 without gaps above 7.
    assert {int(e) for e in WcapErrno} >= set(range(48, 82))


def test_every_errno_has_a_meaning():
    for errno in WcapErrno:
        assert MEANING[errno].strip(), errno
    assert set(MEANING) == set(WcapErrno)


def test_wcap_error_carries_errno_and_detail():
    error = WcapError(29, "calid jdoe:x")
    assert error.errno is WcapErrno.CALENDAR_DOES_NOT_EXIST
    assert error.detail == "calid jdoe:x"
