"""One configuration file for Radicale and for radicale_wcap.

Radicale refuses sections it does not know, so the project's own sections
(``PROJECT_SECTIONS``) are taken out of the file before Radicale sees the rest.
Options that the three plugins need live in the plugin sections themselves
(``[auth]``, ``[rights]``, ``[storage]``): Radicale accepts unknown options
there because the plugin types are not built in, and so a plugin, which only
ever receives Radicale's configuration object, can read them.

``SETTINGS`` is the single table of every project setting; the README's
settings table is generated from it (``radicale-wcap settings``) and a test
keeps the two in step.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Optional, Tuple

from radicale import config as radicale_config

PROJECT_SECTIONS = ("wcap", "feeds", "api", "mail", "http")
# A database_url of these kinds puts the items in that database too (the SQL storage
# plugin) unless [storage] type names another plugin than the default file one.
SHARED_DATABASES = ("postgresql:", "postgres:", "postgresql+psycopg:")
SQL_STORAGE = "radicale_wcap.storage.sql"
PLUGIN_SECTIONS = ("auth", "rights", "storage")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("1", "yes", "true", "on"):
        return True
    if lowered in ("0", "no", "false", "off"):
        return False
    raise ValueError("not a boolean: %r" % value)


def _positive_float(value: Any) -> float:
    number = float(value)
    if number < 0:
        raise ValueError("must not be negative: %r" % value)
    return number


def _non_negative_int(value: Any) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must not be negative: %r" % value)
    return number


def _share(value: Any) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError("must be between 0 and 1: %r" % value)
    return number


def _one_of(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise ValueError("not one of %s: %r" % (", ".join(choices), value))
        return text
    check.choices = choices  # type: ignore[attr-defined]
    return check


def _str_list(value: Any) -> Tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


def _database_url(value: Any) -> str:
    text = str(value).strip()
    if text and text.partition("://")[0] not in (
            "postgresql", "postgres", "postgresql+psycopg", "sqlite"):
        raise ValueError("not a postgresql:// URL")
    return text


@dataclass(frozen=True)
class Setting:
    section: str
    option: str
    default: Any
    type: Callable[[Any], Any]
    help: str
    secret: bool = False  # never echoed in an error (a password in a URL)


SETTINGS: Tuple[Setting, ...] = (
    # -- plugin sections (read by the plugins from Radicale's configuration)
    Setting("auth", "password_backend", "internal", str,
            "Where passwords are checked: `internal` (this server's user "
            "directory, argon2 hashes) or a Radicale auth type such as `ldap`, "
            "`imap`, `htpasswd` configured with its usual `[auth]` options; the "
            "directory then only keeps the users' attributes"),
    Setting("auth", "argon2_time_cost", 3, int,
            "argon2id iterations for new password hashes"),
    Setting("auth", "argon2_memory_cost", 65536, int,
            "argon2id memory in KiB for new password hashes"),
    Setting("auth", "credential_cache_seconds", 60, _non_negative_int,
            "How long a verified password is remembered in memory so that CalDAV "
            "clients, which send it on every request, do not pay a hash each time "
            "(0 disables); dropped on password change"),
    Setting("auth", "failed_login_backoff", 1.0, _positive_float,
            "Seconds for which a user's logins are refused after a failed login, "
            "answered at once; doubles with each further failure (every door)"),
    Setting("auth", "failed_login_backoff_max", 30.0, _positive_float,
            "Upper bound of the failed-login delay in seconds"),
    Setting("rights", "default_acl",
            "@@o^a^r^g;@@o^c^wdeic^g;@^a^fs^g;@^c^^g;@^p^r^g", str,
            "ACL (semicolon-separated ACE strings) given to new calendars and to "
            "calendars found in an existing store"),
    Setting("rights", "admin_overrides_acl", True, _bool,
            "Administrators pass every ACE check (the manual's "
            "service.admin.calmaster.overrides.accesscontrol)"),
    Setting("rights", "private_events", "redact", _one_of("redact", "hide", "show"),
            "What everyone but a calendar's owners (and administrators) gets of its "
            "CLASS:PRIVATE and CLASS:CONFIDENTIAL items, in every door: `redact` (date "
            "and time only, titled `Busy` / `Confidential`), `hide` (private ones left "
            "out, confidential ones redacted) or `show` (everything); free/busy is the "
            "same in all three. Unless `show`, only they change or delete such items "
            "(see `privacy.py`)"),
    Setting("rights", "share_granted_calendars", False, _bool,
            "Besides the calendars a user subscribed to, his CalDAV home lists every "
            "other user's calendar whose ACL grants him read (`/<user>/~<owner>~<name>/`, "
            "see the README's Sharing)"),
    Setting("rights", "shared_freebusy", "hide", _one_of("hide", "show"),
            "A subscribed calendar whose ACL grants the subscriber free/busy only: "
            "`hide` leaves it out of his CalDAV home, `show` lists it answering "
            "free/busy and no event details"),
    Setting("storage", "wcap_folder", "", str,
            "Folder for the project's own data (users, sessions, ACLs, index, "
            "spool); default `<filesystem_folder>/collection-db/wcap`"),
    Setting("storage", "database_url", "", _database_url,
            "Where users, sessions, API keys, the calendar registry, tombstones, item ids, "
            "feed origins and the batch journal live: empty for the embedded "
            "`wcap.sqlite` in the wcap folder, or `postgresql://user:password@host/db` "
            "shared by several hosts (README: Where data lives)", secret=True),
    Setting("storage", "database_pool", 5, _non_negative_int,
            "Connections each process keeps open to the database (PostgreSQL allows "
            "three times as many more under load)"),
    Setting("storage", "index_horizon_days", 730, _non_negative_int,
            "Recurring events are indexed instance by instance up to this many days "
            "ahead; later queries expand them on demand"),
    Setting("storage", "index_max_instances", 2000, _non_negative_int,
            "At most this many instances of one recurring item are indexed"),
    Setting("storage", "recurrence_budget_seconds", 1.0, _positive_float,
            "Time budget for expanding or validating one recurrence rule"),
    Setting("storage", "max_occurrences", 10000, _non_negative_int,
            "A finite rule with more occurrences than this is refused when written"),
    Setting("storage", "max_infinite_frequency", "HOURLY", str,
            "The finest FREQ allowed for a rule without COUNT or UNTIL"),
    Setting("storage", "max_item_size", 1_048_576, _non_negative_int,
            "Largest calendar object (one UID: master, overrides, their time zones) in "
            "bytes, in every door (0: no limit); bigger ones are attachments or attacks"),
    Setting("storage", "max_item_lines", 20_000, _non_negative_int,
            "Most content lines (unfolded, BEGIN/END included) in one calendar object: "
            "what parsing it costs, about a second per 10,000 lines (a series with 200 "
            "changed instances of 100 lines fits)"),
    Setting("storage", "max_item_components", 1_000, _non_negative_int,
            "Most components in one calendar object: overrides, alarms, time zones"),
    Setting("storage", "max_component_properties", 2_000, _non_negative_int,
            "Most properties in one component (a meeting of 1,900 attendees fits)"),
    Setting("storage", "max_line_size", 262_144, _non_negative_int,
            "Longest content line (unfolded, parameters included) in characters: room "
            "for Outlook's HTML descriptions and small inline attachments"),
    # -- project sections
    Setting("http", "max_body_size", 10_000_000, _non_negative_int,
            "Largest request body in bytes accepted by any door (refused with 413 "
            "before it is read); Radicale's own limit does not apply behind waitress"),
    Setting("http", "threads", 8, int, "Worker threads of the built-in waitress server"),
    Setting("http", "connection_limit", 1000, int,
            "Open connections the built-in server keeps before it stops accepting "
            "(waitress's 100 were filled by 100 half-sent requests); one file descriptor "
            "each, the soft limit is raised to fit"),
    Setting("http", "channel_timeout", 30, int,
            "Seconds of silence after which the built-in server closes a connection, "
            "also one in the middle of a request"),
    Setting("http", "max_header_size", 65_536, int,
            "Largest request line and headers in bytes (431 beyond)"),
    Setting("http", "fast_calendar_query", True, _bool,
            "Answer plain time-range calendar-query REPORTs for events from the index "
            "(same bytes as Radicale, several times faster); other REPORTs go to Radicale"),
    Setting("http", "access_log", "", str,
            "Where the access line of each request goes: empty for the server log (shown "
            "at `[logging] level = info`), a file (appended, safe to rotate), or `off`"),
    Setting("http", "access_log_format", "text", str,
            "`text` (`door method command user= calid= path= status= errno= ms= bytes=`) "
            "or `json` (one object per line, for log shippers)"),
    Setting("http", "health_path", "/.well-known/health", str,
            "Unauthenticated health check: 200 when the store and the databases answer, "
            "503 otherwise (empty: off)"),
    Setting("http", "metrics", False, _bool,
            "Serve Prometheus metrics at `metrics_path` (requests and latency per door "
            "and command, errors, feed imports, index rebuilds, sessions)"),
    Setting("http", "metrics_path", "/metrics", str, "Path of the Prometheus metrics"),
    Setting("http", "metrics_allow", ("127.0.0.1", "::1"), _str_list,
            "Addresses or networks that may read the metrics; a request forwarded by a "
            "proxy (X-Forwarded-For) needs the token"),
    Setting("http", "metrics_token", "", str,
            "Bearer token that opens the metrics from any address (empty: none)"),
    Setting("http", "request_timeout", 0, _non_negative_int,
            "Seconds the longest request may run; sizes `deploy/gunicorn.conf.py`'s "
            "timeouts (0: computed from the import limits, see the README)"),
    Setting("wcap", "enabled", True, _bool, "Serve WCAP (`*.wcap`)"),
    Setting("wcap", "base_paths", ("/", "/wcap/", "/davserver/wcap/"), _str_list,
            "URL prefixes under which `<command>.wcap` is served (`/davserver/wcap/` is "
            "Oracle Calendar Server 7/8's)"),
    Setting("wcap", "default_fmt_out", "text/calendar", str,
            "Output format when a request names none: text/calendar, as Calendar Server "
            "6.x and Oracle CS 7/8 answered (clients written for them send none); the "
            "2002 manual's text/js is still available"),
    Setting("wcap", "session_idle_timeout", 1800, _non_negative_int,
            "Seconds of inactivity after which a WCAP session id expires"),
    Setting("wcap", "session_max_lifetime", 86400, _non_negative_int,
            "Seconds after login after which a WCAP session id expires regardless"),
    Setting("wcap", "recurrence_bound", 60, _non_negative_int,
            "Instances generated for a rule without COUNT or UNTIL "
            "(X-NSCP-RECURRENCE-BOUND)"),
    Setting("wcap", "output_cache_size", 32, _non_negative_int,
            "MiB per process of fetch output kept laid out per stored item and request "
            "shape (0: off); what makes repeated fetches of a big calendar fast"),
    Setting("wcap", "max_import_size", 10_000_000, _non_negative_int,
            "Largest `import`/`upload_file` body in bytes"),
    Setting("wcap", "spool_expiry", 3600, _non_negative_int,
            "Seconds an `upload_file` upload is kept for `write_file`"),
    Setting("wcap", "server_version", "", str,
            "Value of X-NSCP-SERVERVERSION (default: this package's version)"),
    Setting("feeds", "enabled", True, _bool, "Serve `PUT /service/<webname>.ics`"),
    Setting("feeds", "max_body_size", 20_000_000, _non_negative_int,
            "Largest feed in bytes"),
    Setting("feeds", "max_events", 50000, _non_negative_int,
            "Most events accepted in one feed"),
    Setting("feeds", "max_delete_share", 0.5, _share,
            "A full feed that would delete more than this share of the calendar is "
            "refused unless the calendar allows it"),
    Setting("api", "enabled", True, _bool, "Serve `/api/ics` and `/restapi/v1/`"),
    Setting("api", "max_body_size", 1_048_576, _non_negative_int,
            "Largest request body for `/api/` and `/restapi/` in bytes"),
    Setting("api", "ics_strict", False, _bool,
            "ICS generator answers strict RFC 5545 instead of the spec's shape"),
    Setting("mail", "smtp_host", "", str,
            "SMTP server for iMIP invitations to non-local attendees (empty: no mail)"),
    Setting("mail", "smtp_port", 25, int, "SMTP port"),
    Setting("mail", "from_address", "calendar@localhost", str,
            "Envelope sender of invitation mail"),
)

_BY_KEY: Dict[Tuple[str, str], Setting] = {
    (s.section, s.option): s for s in SETTINGS}


class Settings:
    """Typed project settings with the table's defaults filled in."""

    def __init__(self, raw: Dict[str, Dict[str, Any]], source: str) -> None:
        self._values: Dict[Tuple[str, str], Any] = {}
        for (section, option), setting in _BY_KEY.items():
            if option in raw.get(section, {}):
                value = raw[section][option]
                try:
                    self._values[section, option] = setting.type(value)
                except (TypeError, ValueError) as e:
                    raise ConfigError("Invalid value for [%s] %s in %s: %s (%s)" % (
                        section, option, source,
                        "(not shown)" if setting.secret else repr(value), e)) from e
            else:
                self._values[section, option] = setting.default
        for section in PROJECT_SECTIONS:
            for option in raw.get(section, {}):
                if (section, option) not in _BY_KEY:
                    raise ConfigError("Unknown option [%s] %s in %s" % (
                        section, option, source))

    def get(self, section: str, option: str) -> Any:
        return self._values[section, option]


class ConfigError(ValueError):
    pass


def _plugin_raw(configuration: "radicale_config.Configuration"
                ) -> Dict[str, Dict[str, Any]]:
    raw: Dict[str, Dict[str, Any]] = {}
    for section in PLUGIN_SECTIONS:
        for option in configuration.options(section):
            if (section, option) in _BY_KEY:
                raw.setdefault(section, {})[option] = configuration.get(
                    section, option)
    return raw


def plugin_settings(configuration: "radicale_config.Configuration") -> Settings:
    """Settings as seen by a plugin, which only gets Radicale's configuration."""
    cached = getattr(configuration, "_radicale_wcap_settings", None)
    if cached is None:
        cached = Settings(_plugin_raw(configuration), "Radicale configuration")
        configuration._radicale_wcap_settings = cached  # type: ignore[attr-defined]
    return cached


def data_folder(configuration: "radicale_config.Configuration") -> str:
    """The folder of the project's own files (see docs/design.md)."""
    folder = plugin_settings(configuration).get("storage", "wcap_folder")
    if folder:
        return os.path.abspath(os.path.expanduser(folder))
    return os.path.join(configuration.get("storage", "filesystem_folder"),
                        "collection-db", "wcap")


def _resolve_paths(section: str, options: Dict[str, Any], base: str) -> None:
    """Relative file paths are taken relative to the config file, not the CWD.

    Radicale itself resolves them against the working directory, which makes
    a config file under the repository depend on where it is started from.
    """
    schema = radicale_config.DEFAULT_CONFIG_SCHEMA.get(section, {})
    for option, value in list(options.items()):
        entry = schema.get(option)
        is_path = entry is not None and entry.get("type") is radicale_config.filepath
        if section == "storage" and option == "wcap_folder":
            is_path = True
        if is_path and value and not os.path.isabs(os.path.expanduser(value)):
            options[option] = os.path.normpath(os.path.join(base, value))


def read_file(path: str) -> Dict[str, Dict[str, str]]:
    parser = configparser.RawConfigParser()
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except FileNotFoundError as e:
        raise ConfigError("Config file not found: %s" % path) from e
    except (OSError, configparser.Error, UnicodeDecodeError) as e:
        raise ConfigError("Cannot read config file %s: %s" % (path, e)) from e
    base = os.path.dirname(os.path.abspath(path))
    raw: Dict[str, Dict[str, str]] = {}
    for section in parser.sections():
        options = {o: parser[section][o] for o in parser.options(section)}
        _resolve_paths(section, options, base)
        raw[section] = options
    return raw


def load(path: Optional[str], overrides: Optional[Dict[str, Dict[str, Any]]] = None
         ) -> Tuple["radicale_config.Configuration", Settings]:
    """Read one config file; return Radicale's configuration and ours."""
    raw: Dict[str, Dict[str, Any]] = read_file(path) if path else {}
    for section, options in (overrides or {}).items():
        raw.setdefault(section, {}).update(options)
    source = "config file %r" % path if path else "defaults"
    project_raw = {s: raw.pop(s) for s in list(raw) if s in PROJECT_SECTIONS}
    radicale_raw = raw
    for section, plugin in (("auth", "radicale_wcap.auth"),
                            ("rights", "radicale_wcap.rights"),
                            ("storage", "radicale_wcap.storage")):
        radicale_raw.setdefault(section, {}).setdefault("type", plugin)
    storage = radicale_raw["storage"]
    if (storage["type"] == "radicale_wcap.storage"
            and str(storage.get("database_url", "")).strip().startswith(SHARED_DATABASES)):
        # Items go where everything else goes: several hosts share them there.
        storage["type"] = SQL_STORAGE
    configuration = radicale_config.load()
    try:
        configuration.update(radicale_raw, source)
    except (ValueError, RuntimeError) as e:
        raise ConfigError(str(e)) from e
    settings = Settings({**project_raw, **_plugin_raw(configuration)}, source)
    return configuration, settings


def settings_table_markdown(settings: Iterable[Setting] = SETTINGS) -> str:
    lines = ["| section | option | default | meaning |", "|---|---|---|---|"]
    for s in settings:
        default = ", ".join(s.default) if isinstance(s.default, tuple) else s.default
        lines.append("| `[%s]` | `%s` | `%s` | %s |" % (
            s.section, s.option, default, s.help))
    return "\n".join(lines)
