"""Terminal clients: `todochat chat` and `todochat tasks`, over gRPC like any service."""
