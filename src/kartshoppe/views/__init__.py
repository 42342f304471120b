"""The read side (CQRS): query-shaped views kept current from the log."""
