import socket

import pytest

from tests.helpers.network import NetworkAccessError


def test_outbound_connection_fails():
    with pytest.raises(NetworkAccessError), socket.create_connection(("93.184.216.34", 80), timeout=1):
        pass


def test_hostname_resolution_fails():
    with pytest.raises(NetworkAccessError):
        socket.getaddrinfo("example.com", 443)


def test_loopback_is_allowed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        with socket.create_connection(server.getsockname(), timeout=1) as client:
            accepted, peer = server.accept()
            accepted.sendall(b"ok")
            assert client.recv(2) == b"ok"
            assert peer[0] == "127.0.0.1"
            accepted.close()
    finally:
        server.close()
