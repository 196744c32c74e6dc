"""The command line is a public interface: scripts depend on its output and exit codes."""

import json
import os
import subprocess
import sys

import pytest

from radicale_wcap import cli

CONFIG = """[storage]
filesystem_folder = store
[auth]
argon2_time_cost = 1
argon2_memory_cost = 8
failed_login_backoff = 0
[logging]
level = warning
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config"
    path.write_text(CONFIG)
    from radicale_wcap.state import forget
    forget(str(tmp_path / "store" / "collection-db" / "wcap"))
    return str(path)


def run(config, *args, password=None, capsys=None, monkeypatch=None):
    if password is not None:
        import io
        monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    code = cli.main(["--config", config, *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def sh(config, capsys, monkeypatch):
    def call(*args, password=None):
        return run(config, *args, password=password, capsys=capsys, monkeypatch=monkeypatch)
    return call


def test_user_lifecycle(sh):
    code, out, _ = sh("user", "add", "jdoe", "--email", "jdoe@example.com", "--name",
                      "John Doe", "--tz", "Europe/Berlin", "--password-stdin", password="pw1")
    assert code == 0 and "/jdoe/calendar/" in out
    code, out, _ = sh("user", "show", "jdoe")
    shown = json.loads(out)
    assert shown["email"] == "jdoe@example.com" and shown["tz"] == "Europe/Berlin"
    assert shown["calendars"] == ["jdoe"]
    assert sh("user", "list")[1].startswith("jdoe\tjdoe@example.com")
    assert sh("user", "passwd", "jdoe", "--password-stdin", password="pw2")[0] == 0
    code, _, err = sh("user", "del", "jdoe")
    assert code == 1 and "--delete-calendars" in err and "jdoe" in err
    assert sh("user", "del", "jdoe", "--delete-calendars")[0] == 0
    assert sh("user", "list")[1] == ""


def test_passwd_ends_the_users_sessions(sh, config):
    """An administrator's reset must lock out whoever holds a session (security
    issue 5); other users keep theirs."""
    from radicale_wcap.instance import Instance
    sh("user", "add", "jdoe", "--email", "jdoe@example.com", "--password-stdin", password="pw1")
    sh("user", "add", "bob", "--email", "bob@example.com", "--password-stdin", password="pw")
    server = Instance.from_file(config)
    sid, bobs = server.sessions.create("jdoe"), server.sessions.create("bob")
    assert server.directory.verify_password("jdoe", "pw1")  # now in its cache
    assert sh("user", "passwd", "jdoe", "--password-stdin", password="pw2")[0] == 0
    assert server.sessions.user_of(sid) is None
    assert server.sessions.user_of(bobs) == "bob"
    assert not server.directory.verify_password("jdoe", "pw1")
    assert server.directory.verify_password("jdoe", "pw2")


@pytest.mark.parametrize("args, fragment", [
    (("user", "add", "wcap", "--email", "w@example.com", "--password-stdin"), "reserved"),
    (("user", "add", "x", "--email", "not-an-address", "--password-stdin"), "mail address"),
    (("user", "add", "x", "--email", "x@example.com", "--tz", "Mars/Base",
      "--password-stdin"), "time zone"),
    (("user", "show", "nobody"), "no such user"),
    (("calendar", "show", "nobody:cal"), "no such calendar"),
    (("calendar", "create", "a:b:c"), "illegal"),
])
def test_errors_are_one_line_without_traceback(sh, args, fragment):
    code, out, err = sh(*args, password="pw")
    assert code == 1
    assert fragment in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_calendars_and_acl(sh):
    sh("user", "add", "jdoe", "--email", "jdoe@example.com", "--password-stdin", password="pw")
    assert sh("calendar", "create", "jdoe:work", "--name", "Work", "--tz",
              "America/New_York")[0] == 0
    assert sh("calendar", "create", "jdoe:work")[0] == 1
    shown = json.loads(sh("calendar", "show", "jdoe:work")[1])
    assert shown["caldav_url"] == "/jdoe/work/" and shown["name"] == "Work"
    assert shown["tz"] == "America/New_York" and shown["primary_owner"] == "jdoe"
    assert shown["number"] >= 1
    assert sh("calendar", "acl", "jdoe:work")[1].strip() == \
        "@@o^a^r^g;@@o^c^cdeiw^g;@^a^fs^g;@^c^^g;@^p^r^g"
    assert sh("calendar", "acl", "jdoe:work", "@^a^r^g;john^c^WD^g")[1].strip() == \
        "@^a^r^g;john^c^dw^g"
    code, _, err = sh("calendar", "acl", "jdoe:work", "@^a^r^g;john^c^Q^g")
    assert code == 1 and "john^c^Q^g" in err
    assert sh("calendar", "acl", "jdoe:work")[1].strip() == "@^a^r^g;john^c^dw^g"
    shown = json.loads(sh("calendar", "set", "jdoe:work", "--webname", "Foobar")[1])
    assert shown["webname"] == "Foobar"
    sh("calendar", "create", "jdoe:other")
    code, _, err = sh("calendar", "set", "jdoe:other", "--webname", "foobar")
    assert code == 1 and "used by calendar jdoe:work" in err
    assert sh("calendar", "set", "jdoe:other", "--webname", "../x")[0] == 1
    listing = sh("calendar", "list")[1]
    assert "jdoe:work\t/jdoe/work/\tjdoe" in listing
    assert sh("calendar", "delete", "jdoe:work")[0] == 0
    assert sh("calendar", "show", "jdoe:work")[0] == 1


def test_apikeys(sh):
    sh("user", "add", "jdoe", "--email", "jdoe@example.com", "--password-stdin", password="pw")
    code, out, _ = sh("apikey", "create", "jdoe", "--label", "feed")
    key = out.strip().splitlines()[-1]
    assert code == 0 and key.startswith("rwk_")
    listing = sh("apikey", "list")[1]
    assert "jdoe\tfeed" in listing and key not in listing
    key_id = int(listing.split("\t")[0])
    assert sh("apikey", "revoke", str(key_id))[0] == 0
    assert sh("apikey", "revoke", str(key_id))[0] == 1


def test_verify_and_reindex(sh, config, tmp_path):
    sh("user", "add", "jdoe", "--email", "jdoe@example.com", "--password-stdin", password="pw")
    folder = tmp_path / "store" / "collection-root" / "jdoe" / "calendar"
    (folder / "a.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\n"
        "DTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\nSUMMARY:a\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n")
    code, out, _ = sh("verify")
    assert code == 0, out
    assert "1 item(s) indexed" in sh("reindex")[1]
    (folder / "b.ics").write_text("this is not iCalendar")
    code, out, err = sh("verify")
    assert code == 3 and "problem" in err


def test_console_script_runs_without_config_error():
    result = subprocess.run([sys.executable, "-m", "radicale_wcap.cli", "user", "list"],
                            capture_output=True, text=True,
                            env={**os.environ, "RADICALE_WCAP_CONFIG": ""})
    assert result.returncode == 2 and "--config" in result.stderr


def test_settings_needs_no_config(capsys, monkeypatch):
    """The README's settings table is printed on machines without a configuration."""
    monkeypatch.delenv("RADICALE_WCAP_CONFIG", raising=False)
    assert cli.main(["settings"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| section | option | default | meaning |")
    assert "`[wcap]`" in out


def test_every_command_family_is_registered():
    """A family is a module of radicale_wcap/cli with add_commands; one left out of
    FAMILIES would be a command that silently does not exist."""
    import importlib
    import pkgutil
    import radicale_wcap.cli as package
    helpers = {"common", "__main__"}
    modules = [importlib.import_module("radicale_wcap.cli." + m.name)
               for m in pkgutil.iter_modules(package.__path__) if m.name not in helpers]
    assert modules and all(callable(getattr(m, "add_commands", None)) for m in modules)
    assert set(modules) == set(package.FAMILIES)


def _commands(parser, prefix=()):
    """(words, long options) of every command the parser runs."""
    import argparse
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers and prefix:
        yield " ".join(prefix), [o for a in parser._actions for o in a.option_strings
                                 if o.startswith("--") and o != "--help"]
    for action in subparsers:
        for name, sub in action.choices.items():
            yield from _commands(sub, prefix + (name,))


def test_readme_documents_every_command_and_option():
    """The command line is a public interface documented in the README's Command line
    section: a command or an option added without a line there fails here."""
    readme = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "README.md")
    with open(readme, encoding="utf-8") as f:
        section = f.read().split("## Command line", 1)[1].split("\n## ", 1)[0]
    undocumented = [(words, [o for o in options if o not in section])
                    for words, options in _commands(cli.build_parser())]
    undocumented = [(w, o) for w, o in undocumented if o or w not in section]
    assert not undocumented, undocumented
