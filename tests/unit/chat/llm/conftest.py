from tests.fakes.fixtures import closed_port_origin, gemini_server, openai_server

__all__ = ["closed_port_origin", "gemini_server", "openai_server"]
