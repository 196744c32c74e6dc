import os

import pytest

from radicale_wcap import config


def write(tmp_path, text):
    path = tmp_path / "config"
    path.write_text(text)
    return str(path)


def test_project_sections_are_taken_out_before_radicale_reads(tmp_path):
    path = write(tmp_path, "[storage]\nfilesystem_folder = store\n[wcap]\n"
                           "recurrence_bound = 10\n[feeds]\nmax_delete_share = 0.25\n")
    configuration, settings = config.load(path)
    assert settings.get("wcap", "recurrence_bound") == 10
    assert settings.get("feeds", "max_delete_share") == 0.25
    assert "wcap" not in configuration.sections()
    # relative paths are relative to the config file
    assert configuration.get("storage", "filesystem_folder") == str(tmp_path / "store")


def test_plugin_options_live_in_plugin_sections(tmp_path):
    path = write(tmp_path, "[auth]\ntype = radicale_wcap.auth\nargon2_time_cost = 5\n")
    configuration, settings = config.load(path)
    assert settings.get("auth", "argon2_time_cost") == 5
    assert config.plugin_settings(configuration).get("auth", "argon2_time_cost") == 5


def test_only_radicale_keys_and_plugin_types_is_a_complete_instance(tmp_path):
    path = write(tmp_path, "[storage]\ntype = radicale_wcap.storage\nfilesystem_folder = s\n"
                           "[auth]\ntype = radicale_wcap.auth\n[rights]\n"
                           "type = radicale_wcap.rights\n")
    configuration, settings = config.load(path)
    assert settings.get("wcap", "default_fmt_out") == "text/calendar"
    assert config.data_folder(configuration).endswith(os.path.join("s", "collection-db", "wcap"))


@pytest.mark.parametrize("text, fragment", [
    ("[wcap]\nno_such_option = 1\n", "Unknown option [wcap] no_such_option"),
    ("[wcap]\nrecurrence_bound = many\n", "recurrence_bound"),
    ("[nonsense]\na = 1\n", "nonsense"),
    ("[feeds]\nmax_delete_share = 2\n", "max_delete_share"),
])
def test_bad_config_is_one_clear_error(tmp_path, text, fragment):
    with pytest.raises(config.ConfigError) as e:
        config.load(write(tmp_path, text))
    assert fragment in str(e.value)


def test_readme_settings_table_is_the_code_table():
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    assert config.settings_table_markdown() in readme
