"""Client settings: ``~/.sphyr/config.json`` (as ``sphyr login`` writes it), overridden by
``SPHYR_CREDENTIAL`` and ``SPHYR_GATEWAY_URL`` (DESIGN §3.1). Mirrors src/config/local-config.ts."""
from __future__ import annotations

import json
import os
from typing import Mapping, NamedTuple, Optional

from .credential import Credential, parse_credential
from .errors import SphyrConfigError
from .urls import InvalidUrl, parse_url


class ClientSettings(NamedTuple):
    gateway_url: Optional[str]
    credential: Optional[Credential]


def config_path(home: Optional[str] = None) -> str:
    return os.path.join(home if home is not None else os.path.expanduser("~"), ".sphyr", "config.json")


def parse_gateway_url(text: str, source: str) -> str:
    """Validate a gateway URL (http/https, no credentials) and return its origin."""
    try:
        url = parse_url(text.strip())
    except InvalidUrl as error:
        if len(error.args) > 1 and error.args[1] == "scheme":
            raise SphyrConfigError(
                "gateway_url_invalid", f"{source}: the gateway URL must be http:// or https://"
            ) from None
        raise SphyrConfigError(
            "gateway_url_invalid", f'{source}: "{text}" is not a URL; expected something like http://127.0.0.1:7470'
        ) from None
    if url.username or url.password:
        raise SphyrConfigError(
            "gateway_url_invalid", f"{source}: the gateway URL must not contain credentials; use SPHYR_CREDENTIAL"
        )
    return url.origin


def _read_file(path: str) -> Optional[dict[str, object]]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise SphyrConfigError(
            "config_unreadable", f"{path}: cannot be read ({reason}); check its permissions", error
        ) from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise SphyrConfigError(
            "config_malformed", f"{path}: is not valid JSON ({error}); fix it or run `sphyr login` to rewrite it"
        ) from None
    if not isinstance(data, dict):
        raise SphyrConfigError(
            "config_malformed", f'{path}: must hold a JSON object like {{"gateway": "...", "credential": "..."}}'
        )
    for key in ("gateway", "credential"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise SphyrConfigError("config_malformed", f'{path}: "{key}" must be a string')
    return data


def read_client_settings(
    env: Optional[Mapping[str, str]] = None, home: Optional[str] = None
) -> ClientSettings:
    """Settings from the variables, else the file. A variable that is set wins even over a broken
    file, so CI never depends on a stray file; a malformed value raises ``SphyrConfigError``."""
    env = os.environ if env is None else env
    env_credential = (env.get("SPHYR_CREDENTIAL") or "").strip()
    env_gateway = (env.get("SPHYR_GATEWAY_URL") or "").strip()
    path = config_path(home)
    contents = None if env_credential and env_gateway else _read_file(path)
    gateway: Optional[str] = None
    credential: Optional[Credential] = None
    if env_gateway:
        gateway = parse_gateway_url(env_gateway, "SPHYR_GATEWAY_URL")
    elif contents and contents.get("gateway"):
        gateway = parse_gateway_url(str(contents["gateway"]), f'{path} ("gateway")')
    if env_credential:
        credential = parse_credential(env_credential, "SPHYR_CREDENTIAL")
    elif contents and contents.get("credential"):
        credential = parse_credential(str(contents["credential"]), f'{path} ("credential")')
    return ClientSettings(gateway, credential)
