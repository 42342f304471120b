"""The event log: the port every part of KartShoppe appends to and consumes from."""
