"""The `kartshoppe` tools over the event store (`audit`, `sql`, `timetravel`, `replay`): argument
parsing and printing only; what they compute lives in `kartshoppe.eventstore`."""
