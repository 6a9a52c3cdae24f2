"""``ilertd check-config``: effective values, secrets masked, bad values exit 2 by key."""

from __future__ import annotations

from pathlib import Path

from .daemon import base_env, run_cli


def test_check_config_masks_secrets(tmp_path: Path) -> None:
    env = base_env(
        ILERTD_DATABASE_URL="postgresql://ilertd:hunter2@db.example:5432/ilertd",
        ILERTD_ADMIN_API_KEY="ilk_supersecret_0123456789abcdefgh",
    )
    result = run_cli("check-config", env=env)
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout and "supersecret" not in result.stdout
    assert 'database.url = "postgresql://ilertd:********@db.example:5432/ilertd"' in result.stdout
    assert 'admin_api_key = "********"' in result.stdout
    assert 'http.listen = "127.0.0.1:8080"' in result.stdout


def test_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "ilertd.toml"
    config.write_text('[http]\nlisten = "0.0.0.0:9000"\n[log]\nlevel = "debug"\n')
    env = base_env(ILERTD_LOG_LEVEL="warning")
    result = run_cli("--config", str(config), "check-config", env=env)
    assert result.returncode == 0, result.stderr
    assert 'http.listen = "0.0.0.0:9000"' in result.stdout
    assert 'log.level = "warning"' in result.stdout


def test_bad_values_exit_2_naming_the_key(tmp_path: Path) -> None:
    bad_env = run_cli("check-config", env=base_env(ILERTD_HTTP_LISTEN="nonsense"))
    assert bad_env.returncode == 2 and "http.listen" in bad_env.stderr
    bad_pool = run_cli("check-config", env=base_env(ILERTD_DATABASE_POOL_SIZE="lots"))
    assert bad_pool.returncode == 2 and "database.pool_size" in bad_pool.stderr
    config = tmp_path / "ilertd.toml"
    config.write_text('[log]\nformat = "xml"\n')
    file_only = base_env()
    del file_only["ILERTD_LOG_FORMAT"]  # the environment would win over the file
    bad_file = run_cli("--config", str(config), "check-config", env=file_only)
    assert bad_file.returncode == 2 and "log.format" in bad_file.stderr
    config.write_text("[http]\nlisten_port = 1\n")
    unknown = run_cli("--config", str(config), "check-config", env=base_env())
    assert unknown.returncode == 2 and "http.listen_port" in unknown.stderr
    missing = run_cli("--config", str(tmp_path / "nope.toml"), "check-config", env=base_env())
    assert missing.returncode == 2 and "nope.toml" in missing.stderr
