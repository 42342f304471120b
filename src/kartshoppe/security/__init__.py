"""Identity: the user store, signed tokens, and the FastAPI dependencies that enforce access."""
