"""A check for the streaming operation's NDJSON body, which schemathesis cannot read.

schemathesis validates a body it can deserialize as one document; an NDJSON stream is
one JSON document per line, and it skips the media type. This check reads each line
and validates it against the schema the document gives for `application/x-ndjson`
under the answer's status (`{"result": ...}` / `{"error": google.rpc.Status}` for 200,
`{"error": ...}` for an error before the first message), with the document itself as
the root so its `$ref`s resolve. It also checks the framing: a 200
stream is results, optionally ended by one error; a failure before the first message
is a single error line under the mapped HTTP status.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
from schemathesis import Case, CheckContext, CheckFunction, Response

NDJSON = "application/x-ndjson"


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _schema_pointer(document: dict[str, Any], path: str, method: str, status: int) -> str:
    """Where the NDJSON schema of this answer is: the status's response (or `default`),
    through the one `$ref` to components/responses that error responses use."""
    responses = document["paths"][path][method]["responses"]
    key = str(status) if str(status) in responses else "default"
    response = responses[key]
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[-1]
        return _pointer("components", "responses", name, "content", NDJSON, "schema")
    return _pointer("paths", path, method, "responses", key, "content", NDJSON, "schema")


def ndjson_conformance(document: dict[str, Any]) -> CheckFunction:
    validators: dict[str, jsonschema_rs.Validator] = {}

    def validator(pointer: str) -> jsonschema_rs.Validator:
        if pointer not in validators:
            validators[pointer] = jsonschema_rs.validator_for(
                {
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "$ref": pointer,
                    "paths": document["paths"],
                    "components": document["components"],
                }
            )
        return validators[pointer]

    def ndjson_stream_conformance(ctx: CheckContext, response: Response, case: Case) -> None:
        content_type = (response.headers.get("content-type") or [""])[0]
        if not content_type.startswith(NDJSON):
            return
        lines = [line for line in response.content.split(b"\n") if line.strip()]
        assert lines, "an NDJSON response with no line"
        operation = case.operation
        pointer = _schema_pointer(
            document, operation.path, operation.method.lower(), response.status_code
        )
        kinds = []
        for number, line in enumerate(lines, 1):
            value = json.loads(line)
            errors = [
                f"{e.instance_path}: {e.message}" for e in validator(pointer).iter_errors(value)
            ]
            assert not errors, f"line {number} violates {pointer}: {errors}: {value}"
            assert isinstance(value, dict) and len(value) == 1, f"line {number}: {value}"
            kinds.append(next(iter(value)))
        if response.status_code == 200:
            assert "error" not in kinds[:-1], f"an error line before the end: {kinds}"
        else:
            assert kinds == ["error"], f"status {response.status_code} with lines {kinds}"

    return ndjson_stream_conformance
