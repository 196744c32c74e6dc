"""Passwords from another Radicale backend, attributes in the directory.

LDAP and IMAP can not run here; htpasswd goes through exactly the same
delegation (a Radicale auth backend built from our [auth] options), so it
stands in for them.
"""

from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, make_instance


def test_first_login_creates_the_user_and_the_default_calendar(tmp_path):
    htpasswd = tmp_path / "users"
    htpasswd.write_text("ldapuser:from-ldap\n")
    instance = make_instance(str(tmp_path), {"auth": {
        "password_backend": "htpasswd", "htpasswd_filename": str(htpasswd),
        "htpasswd_encryption": "plain"}})
    client = InProcessClient(make_app(instance))
    assert instance.directory.get("ldapuser") is None
    assert client.request("PROPFIND", "/ldapuser/", "", {"Depth": "1"}, user="ldapuser",
                          password="wrong").status == 401
    assert instance.directory.get("ldapuser") is None
    response = client.request("PROPFIND", "/ldapuser/", "", {"Depth": "1"}, user="ldapuser",
                              password="from-ldap")
    assert response.status == 207
    user = instance.directory.get("ldapuser")
    assert user is not None and not user.has_password
    assert instance.store.exists("/ldapuser/calendar/")
    login = client.request("GET", "/login.wcap?user=ldapuser&password=from-ldap"
                                  "&fmt-out=text/calendar")
    assert b"X-NSCP-WCAP-SESSION-ID" in login.body


def test_back_off_guards_the_other_backend_too(tmp_path):
    """While a name's failed-login back-off lasts, the other backend is not asked
    (no brute force through WCAP against LDAP), and nobody is provisioned."""
    import time
    htpasswd = tmp_path / "users"
    htpasswd.write_text("ldapuser:from-ldap\n")
    instance = make_instance(str(tmp_path), {"auth": {
        "password_backend": "htpasswd", "htpasswd_filename": str(htpasswd),
        "htpasswd_encryption": "plain", "failed_login_backoff": "2"}})
    client = InProcessClient(make_app(instance))

    def login(password):
        return client.request("GET", "/login.wcap?user=ldapuser&password=%s"
                                     "&fmt-out=text/calendar" % password).body
    assert b"X-NSCP-WCAP-SESSION-ID" not in login("wrong")
    failed_at = time.monotonic()
    assert b"X-NSCP-WCAP-SESSION-ID" not in login("from-ldap")
    assert time.monotonic() - failed_at < 2
    assert instance.directory.get("ldapuser") is None
    time.sleep(max(0.0, failed_at + 2.1 - time.monotonic()))
    assert b"X-NSCP-WCAP-SESSION-ID" in login("from-ldap")
    assert instance.directory.get("ldapuser") is not None
