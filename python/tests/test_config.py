"""Credential and config: ~/.sphyr/config.json, SPHYR_* overrides, errors that name the culprit."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sphyr_sdk import SphyrConfigError, parse_credential, read_client_settings
from sphyr_sdk._state import resolve_settings
from support import load_shared

GOOD = load_shared("signing-vectors.json")["relay"]["credential"]
OTHER = "sphyr.key_other." + "A" * 43


def _home(tmp_path: Path, contents: object, raw: bool = False) -> str:
    (tmp_path / ".sphyr").mkdir()
    text = contents if raw else json.dumps(contents)
    (tmp_path / ".sphyr" / "config.json").write_text(str(text), encoding="utf-8")
    return str(tmp_path)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("sphyr.key.c2hvcnQ", "at least 32"),
        ("nope.key_1." + "A" * 43, "sphyr.<keyid>.<secret>"),
        ("sphyr.key 1." + "A" * 43, "key id"),
        ("sphyr.key_1." + "A" * 42 + "=", "base64url"),
        ("sphyr.key_1." + "A" * 41, "base64url"),  # a length base64 cannot have
    ],
)
def test_malformed_credentials_name_their_source_and_never_echo_the_secret(text: str, says: str) -> None:
    with pytest.raises(SphyrConfigError) as raised:
        parse_credential(text, "SPHYR_CREDENTIAL")
    assert raised.value.code == "credential_malformed"
    assert "SPHYR_CREDENTIAL" in str(raised.value) and says in str(raised.value)
    assert text.rsplit(".", 1)[-1] not in str(raised.value)


def test_the_file_as_sphyr_login_writes_it(tmp_path: Path) -> None:
    home = _home(tmp_path, {"gateway": "http://127.0.0.1:7470/ignored/path", "credential": GOOD})
    settings = read_client_settings({}, home)
    assert settings.gateway_url == "http://127.0.0.1:7470"
    assert settings.credential is not None and settings.credential.key_id == "key_live_7Qm2"


def test_variables_override_the_file_even_a_broken_one(tmp_path: Path) -> None:
    home = _home(tmp_path, "{not json", raw=True)
    env = {"SPHYR_CREDENTIAL": OTHER, "SPHYR_GATEWAY_URL": "https://GW.example:443/"}
    settings = read_client_settings(env, home)
    assert settings.gateway_url == "https://gw.example"
    assert settings.credential is not None and settings.credential.key_id == "key_other"
    # One variable alone: the other value still comes from the (good) file.
    good_home = tmp_path / "good"
    good_home.mkdir()
    good = _home(good_home, {"gateway": "http://a:1", "credential": GOOD})
    one = read_client_settings({"SPHYR_CREDENTIAL": OTHER}, good)
    assert one.gateway_url == "http://a:1" and one.credential is not None and one.credential.key_id == "key_other"


@pytest.mark.parametrize(
    ("contents", "code", "says"),
    [
        ("{not json", "config_malformed", "is not valid JSON"),
        ("[1, 2]", "config_malformed", "must hold a JSON object"),
        ('{"gateway": 7470}', "config_malformed", '"gateway" must be a string'),
        ('{"gateway": "ftp://gw", "credential": "x"}', "gateway_url_invalid", "http:// or https://"),
        ('{"gateway": "http://u:p@gw", "credential": "x"}', "gateway_url_invalid", "must not contain credentials"),
        ('{"gateway": "http://gw", "credential": "sphyr.k.AAAA"}', "credential_malformed", '("credential")'),
    ],
)
def test_a_malformed_file_is_a_config_error_naming_it(tmp_path: Path, contents: str, code: str, says: str) -> None:
    home = _home(tmp_path, contents, raw=True)
    with pytest.raises(SphyrConfigError) as raised:
        read_client_settings({}, home)
    assert raised.value.code == code
    assert str(tmp_path / ".sphyr" / "config.json") in str(raised.value) and says in str(raised.value)


def test_a_folder_where_the_file_should_be_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / ".sphyr" / "config.json").mkdir(parents=True)
    with pytest.raises(SphyrConfigError) as raised:
        read_client_settings({}, str(tmp_path))
    assert raised.value.code == "config_unreadable" and "config.json" in str(raised.value)


def test_no_file_no_variables_is_not_an_error_until_used(tmp_path: Path) -> None:
    assert read_client_settings({}, str(tmp_path)) == (None, None)
    settings = resolve_settings(True, None, None, None, (), (), env={}, home=str(tmp_path))
    assert settings.problem is not None and settings.problem.code == "not_configured"
    assert "sphyr login" in str(settings.problem)


def test_options_win_then_variables_then_the_file(tmp_path: Path) -> None:
    home = _home(tmp_path, {"gateway": "http://file:1", "credential": GOOD})
    env = {"SPHYR_GATEWAY_URL": "http://env:2", "SPHYR_AGENT_NAME": "from-env",
           "SPHYR_INSTRUMENT_HOSTS": "127.0.0.1, db.lan", "SPHYR_DIRECT_HOSTS": "x.lan"}
    settings = resolve_settings(False, "http://option:3", None, None, (), (), env=env, home=home)
    assert settings.gateway_url == "http://option:3" and settings.credential is not None
    assert settings.agent_name == "from-env" and settings.fail_closed is False
    assert settings.instrument_hosts == ("127.0.0.1", "db.lan") and settings.direct_hosts == ("x.lan",)
    explicit = resolve_settings(True, None, OTHER, "mine", ("a",), ("b",), env=env, home=home)
    assert explicit.gateway_url == "http://env:2" and explicit.credential is not None
    assert explicit.credential.key_id == "key_other" and explicit.agent_name == "mine"
    assert explicit.direct_hosts == ("a",) and explicit.instrument_hosts == ("b",)
    # A malformed option is kept as the problem every relayed request will fail with.
    broken = resolve_settings(True, "http://gw:1", "sphyr.k.bad", None, (), (), env={}, home=home)
    assert broken.problem is not None and broken.problem.code == "credential_malformed"
    assert "the credential option" in str(broken.problem)
