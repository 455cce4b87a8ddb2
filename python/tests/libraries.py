"""How each supported library reads a URL: the same helpers the SDK's hooks use."""
from __future__ import annotations

import urllib.request
from typing import Optional, Tuple

import httpx
import requests
import yarl

from sphyr_sdk import _aiohttp, _httpx, _requests, _urllib

LIBRARIES = ("requests", "httpx", "aiohttp", "urllib")

Parts = Tuple[str, str, Optional[int], str]


def library_parts(library: str, url: str) -> Parts:
    """Scheme, host, port and request target as ``library`` would send ``GET url``; raises where the
    library itself refuses to build or send the request."""
    if library == "requests":
        prepared = requests.Request("GET", url).prepare()
        requests.Session().get_adapter(prepared.url)  # raises InvalidSchema where requests would
        scheme, host, port = _requests.hop_parts(prepared.url)
        return scheme, host, port, prepared.path_url
    if library == "httpx":
        request = httpx.Request("GET", url)
        if request.url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported protocol {request.url.scheme!r}")
        return _httpx.hop_parts(request.url)
    if library == "aiohttp":
        parsed = yarl.URL(url)
        if not parsed.is_absolute():
            raise ValueError("aiohttp needs an absolute URL")
        return _aiohttp.hop_parts(parsed)
    if library == "urllib":
        return _urllib.hop_parts(urllib.request.Request(url).full_url)
    raise AssertionError(library)
