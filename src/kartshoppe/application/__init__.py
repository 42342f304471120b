"""The application layer: the shop service (write side) and its fold of the log."""
