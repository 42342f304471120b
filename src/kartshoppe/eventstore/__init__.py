"""The event store: every event of the log kept in an Apache Paimon table for audit, time
travel, replay and SQL reports. `schema` defines the table, `table` reads and writes it,
`sink` fills it from the log, `index` is its derived SQLite index; the commands over it are in
`kartshoppe.commands`. Nothing is imported here, so the PyFlink venv can import `schema`."""
