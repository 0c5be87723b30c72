"""Suite-wide guards and paths.

Tests never reach the network: any socket connection to a non-loopback address fails
loudly (loopback stays allowed so Gradio and local servers can be tested).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

from tests.helpers.network import NetworkAccessError

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# Libraries that would otherwise try a model hub must stay offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def _is_loopback(address) -> bool:
    if isinstance(address, tuple):
        host = address[0]
    else:
        return isinstance(address, (str, bytes))  # an AF_UNIX path is local
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost would need DNS: not allowed


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self, address):
    if not _is_loopback(address):
        raise NetworkAccessError(f"test tried to connect to {address!r}: tests never use the network")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_loopback(address):
        raise NetworkAccessError(f"test tried to connect to {address!r}: tests never use the network")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if host not in (None, "localhost") and not _is_loopback((host,)):
        try:
            ipaddress.ip_address(host)
        except ValueError as error:
            raise NetworkAccessError(f"test tried to resolve {host!r}: tests never use the network") from error
        raise NetworkAccessError(f"test tried to reach {host!r}: tests never use the network")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` beside the repository, or skip: the real data is not ours to ship."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real review data not found at {SHARED_DATA} (expected ../shared/data beside the repo)")
    return SHARED_DATA
