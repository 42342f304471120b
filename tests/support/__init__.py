"""Test support: start the real KartShoppe server as a process and talk to it over loopback."""

from tests.support.ports import free_port, port_accepts
from tests.support.server import ServerProcess, ServerStartError, running_server

__all__ = ["ServerProcess", "ServerStartError", "free_port", "port_accepts", "running_server"]
