"""The ACE model: parsing, formatting, first match wins (manual, ACE strings)."""

import pytest

from radicale_wcap.acl.ace import InvalidACL, normalize_acl, parse_ace, parse_acl
from radicale_wcap.acl.evaluate import Access, CalendarACL, Principal
from radicale_wcap.acl.letters import FLAGS, GRANT, HOW, WHO_CLASSES

SUN_DEFAULT = "@@o^a^r^g;@@o^c^wdeic^g;@^a^fs^g;@^c^^g;@^p^r^g"


def calendar(acl, owner="jdoe", owners=()):
    return CalendarACL("/jdoe/calendar/", owner, frozenset(owners), parse_acl(acl))


def test_every_letter_of_the_tables_parses_and_formats():
    for who in list(WHO_CLASSES) + ["john", "@example.com"]:
        for flags in FLAGS:
            for letter in HOW:
                for grant in GRANT:
                    text = "%s^%s^%s^%s" % (who, flags, letter, grant)
                    assert str(parse_ace(text)) == text


def test_upper_case_spelling_of_the_manual_is_accepted():
    assert normalize_acl("@@o^c^WDEIC^g") == "@@o^c^cdeiw^g"


def test_manual_extended_example_parses():
    acl = "@domainname^a^sfr^g;@@o^c^wd^g;@@o^a^zsfr^g;susan^a^zfsdwr^d;@^c^r^g"
    assert len(parse_acl(acl)) == 5


@pytest.mark.parametrize("bad, fragment", [
    ("john^a^r", "4 parts"),
    ("john^x^r^g", "flags"),
    ("john^a^q^g", "unknown access character"),
    ("john^a^r^x", "grant"),
    ("^a^r^g", "empty 'who'"),
    ("jo hn^a^r^g", "'who'"),
    ("@@o^a^r^g;john^a^rQ^g", "john^a^rQ^g"),
])
def test_invalid_ace_names_the_ace_and_the_reason(bad, fragment):
    with pytest.raises(InvalidACL) as e:
        parse_acl(bad)
    assert fragment in str(e.value)


def test_first_match_wins_deny_before_grant():
    acl = calendar("susan^a^r^d;@^a^r^g")
    assert not Access(Principal("susan"), acl).allows("c", "r")
    assert Access(Principal("john"), acl).allows("c", "r")


def test_grant_before_deny_wins_too():
    acl = calendar("susan^a^r^g;susan^a^r^d")
    assert Access(Principal("susan"), acl).allows("c", "r")


def test_no_match_denies_and_says_so():
    decision = Access(Principal("john"), calendar("@@o^a^r^g")).decide("read")
    assert not decision.allowed and decision.reason == "no ACE matched"


def test_primary_owner_needs_no_ace():
    assert Access(Principal("jdoe"), calendar("")).permits("delete")


def test_admin_override_can_be_switched_off():
    acl = calendar("")
    assert Access(Principal("root", admin=True), acl).permits("write")
    assert not Access(Principal("root", admin=True), acl, admin_overrides=False).permits("write")


def test_sun_default_acl():
    acl = calendar(SUN_DEFAULT, owners=("mary",))
    owner = Access(Principal("mary"), acl)
    other = Access(Principal("john"), acl)
    assert owner.permits("read") and owner.permits("write") and owner.permits("delete")
    assert not other.permits("read") and other.permits("freebusy")
    assert other.permits("schedule") and other.permits("read_props")
    assert not other.permits("write") and not other.permits("write_props")
    assert other.radicale_letters() == "fl"
    assert owner.radicale_letters() == "rwl"


def test_delete_needs_write_and_delete():
    acl = calendar("john^c^w^g;mary^c^wd^g;pete^c^d^g")
    assert not Access(Principal("john"), acl).permits("delete")
    assert Access(Principal("mary"), acl).permits("delete")
    assert not Access(Principal("pete"), acl).permits("delete")


def test_scopes_components_and_properties():
    acl = calendar("john^p^rw^g;mary^c^r^g")
    john, mary = Access(Principal("john"), acl), Access(Principal("mary"), acl)
    assert john.permits("write_props") and not john.permits("read")
    assert mary.permits("read") and not mary.permits("read_props")


def test_who_classes():
    acl = calendar("@@p^a^w^g;@@n^a^r^g;@@o^a^f^g", owner="jdoe", owners=("mary",))
    assert Access(Principal("mary"), acl).permits("freebusy")
    assert Access(Principal("john"), acl).permits("read")
    assert not Access(Principal("mary"), acl).allows("c", "r")


def test_domain_and_anonymous():
    acl = calendar("@example.com^a^r^g;@^a^f^g")
    assert Access(Principal("john", email="john@example.com"), acl).permits("read")
    assert not Access(Principal("eve", email="eve@evil.test"), acl).permits("read")
    anonymous = Access(Principal(""), acl)
    assert anonymous.permits("freebusy") and not anonymous.permits("read")


def test_public_read_includes_anonymous():
    assert Access(Principal(""), calendar("@^a^r^g")).radicale_letters().startswith("r")


def test_registry_cache_sees_a_change_committed_through_another_connection(tmp_path):
    """The ACL cache is keyed on the registry revision that triggers bump in the
    writing transaction, not on a per-connection ``PRAGMA data_version``: a change
    by another process (here another Database on the same file) decides the next
    call in every thread."""
    from concurrent.futures import ThreadPoolExecutor

    from radicale_wcap.db import Database
    from radicale_wcap.registry import Registry
    from radicale_wcap.schema import WCAP
    path = str(tmp_path / "wcap.sqlite")
    mine = Registry(Database(path, WCAP), SUN_DEFAULT)
    other = Registry(Database(path, WCAP), SUN_DEFAULT)
    bob = Principal("bob")

    def reads(_):
        return Access(bob, mine.acl_for("/jdoe/calendar/")).permits("read")

    with ThreadPoolExecutor(8) as pool:
        for acl, expected in (("bob^a^r^g", True), ("bob^a^r^d", False)) * 3:
            before = mine.revision()
            other.set_acl("/jdoe/calendar/", acl)
            assert mine.revision() != before
            assert list(pool.map(reads, range(64))) == [expected] * 64
