class NetworkAccessError(RuntimeError):
    """Raised when a test tries to connect anywhere but loopback."""
