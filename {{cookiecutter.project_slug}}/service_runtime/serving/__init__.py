"""How requests are served under either interface: ASGI deadlines, static files without a thread hop."""
