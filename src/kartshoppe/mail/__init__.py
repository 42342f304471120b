"""Order e-mail: the confirmation's text and HTML, and a durable outbox sent over SMTP."""
