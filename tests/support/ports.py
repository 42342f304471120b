"""Loopback ports for the servers tests start: the project's own helpers."""

from kartshoppe.infra.ports import LOOPBACK, free_port, port_accepts

__all__ = ["LOOPBACK", "free_port", "port_accepts"]
