"""Configuration: defaults, file, environment, validation naming the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ilertd.config import OPTIONS, ConfigError, load_config, mask_url

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "ilertd.example.toml"


def test_defaults_without_file_or_environment() -> None:
    config = load_config(None, env={})
    assert config["http.listen"] == "127.0.0.1:8080"
    assert config["database.url"] == ""
    assert config.listen == ("127.0.0.1", 8080)
    assert config.data_dir == Path("~/.local/share/ilertd").expanduser()


def test_environment_wins_over_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('data_dir = "/srv/a"\n[database]\npool_size = 3\n')
    config = load_config(path, env={"ILERTD_DATABASE_POOL_SIZE": "7"})
    assert config["database.pool_size"] == 7
    assert config["data_dir"] == "/srv/a"
    assert config.source == path


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"ILERTD_HTTP_LISTEN": "8080"}, "http.listen"),
        ({"ILERTD_HTTP_LISTEN": "host:99999"}, "http.listen"),
        ({"ILERTD_DATABASE_POOL_SIZE": "0"}, "database.pool_size"),
        ({"ILERTD_DATABASE_CONNECT_RETRY_S": "soon"}, "database.connect_retry_s"),
        ({"ILERTD_LOG_FORMAT": "xml"}, "log.format"),
        ({"ILERTD_DATABASE_URL": "mysql://x"}, "database.url"),
    ],
)
def test_bad_values_name_their_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, env=env)
    assert caught.value.key.startswith(key)


def test_unknown_and_mistyped_file_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[http]\nlisten = 8080\n")
    with pytest.raises(ConfigError, match=r"http\.listen"):
        load_config(path, env={})
    path.write_text("[htp]\nlisten = '1:2'\n")
    with pytest.raises(ConfigError, match=r"htp\.listen"):
        load_config(path, env={})
    path.write_text("not toml [")
    with pytest.raises(ConfigError, match="TOML"):
        load_config(path, env={})


def test_secrets_are_masked() -> None:
    config = load_config(
        None,
        env={
            "ILERTD_DATABASE_URL": "postgresql://u:pw@h:5432/d",
            "ILERTD_ADMIN_API_KEY": "ilk_" + "a" * 40,
        },
    )
    masked = config.masked()
    assert masked["database.url"] == "postgresql://u:********@h:5432/d"
    assert masked["admin_api_key"] == "********"
    assert mask_url("postgresql://u@h/d") == "postgresql://u@h/d"
    assert (
        mask_url("postgresql://postgres:@/db?host=/tmp") == "postgresql://postgres:@/db?host=/tmp"
    )


def test_example_file_documents_every_option_and_loads() -> None:
    text = EXAMPLE.read_text()
    for option in OPTIONS:
        assert option.env in text, f"{option.env} is not documented in the example"
    flat = tomllib.loads(text)
    assert load_config(EXAMPLE, env={}).values == load_config(None, env={}).values
    assert flat["http"]["listen"] == "127.0.0.1:8080"


def test_unknown_ilertd_variables_are_named_with_the_likely_meant_one() -> None:
    from ilertd.config import closest_option_env

    config = load_config(
        None,
        env={"ILERTD_DATABSE_URL": "x", "ILERTD_EVENT_LOOP": "asyncio", "OTHER_THING": "1"},
    )
    assert config.unknown_env == ("ILERTD_DATABSE_URL",)
    assert closest_option_env("ILERTD_DATABSE_URL") == "ILERTD_DATABASE_URL"
    assert closest_option_env("ILERTD_ZZZZZZZZZZZZZZZZZZZZZ") is None
