"""Numbers in JSON output follow Go protojson: whole doubles print without a fraction."""

from __future__ import annotations

import json

from google.protobuf import struct_pb2

from services.gateway.runtime.marshal import JsonMarshaler


def test_struct_numbers_print_like_protojson() -> None:
    value = struct_pb2.Struct()
    value.update({"page_size": 100, "ratio": 0.25, "huge": 1e300, "nested": [1, 2.5, {"n": 3}]})
    out = json.loads(JsonMarshaler().marshal(value))
    assert out == {"page_size": 100, "ratio": 0.25, "huge": 1e300, "nested": [1, 2.5, {"n": 3}]}
    text = JsonMarshaler().marshal(value).decode()
    assert '"page_size":100,' in text or '"page_size":100}' in text
    assert "100.0" not in text
