"""The HTTP and WebSocket API (FastAPI): routes, the WebSocket hub and the app factory."""
