"""Envoy's own replies as google.rpc.Status JSON, and the access log."""

from __future__ import annotations

from collections.abc import Mapping

from services.gateway.envoy.target import Node, typed

# Local replies (sent by Envoy itself, never by a service) -> the google.rpc code the
# gateway puts in its Status body for the same HTTP status (413: RESOURCE_EXHAUSTED).
LOCAL_REPLY_CODES: Mapping[int, int] = {
    400: 3,
    401: 16,
    403: 7,
    404: 5,
    413: 8,
    429: 8,
    500: 13,
    501: 12,
    502: 14,
    503: 14,
    504: 4,
}


def _not_native_grpc() -> Node:
    # gRPC callers get grpc-status from Envoy, so their replies are left alone. A
    # transcoded request also says application/grpc by now, but it keeps the
    # x-envoy-original-path header the transcoder added.
    return {
        "or_filter": {
            "filters": [
                {
                    "header_filter": {
                        "header": {
                            "name": "content-type",
                            "string_match": {"prefix": "application/grpc"},
                            "invert_match": True,
                            "treat_missing_header_as_empty": True,
                        }
                    }
                },
                {
                    "header_filter": {
                        "header": {"name": "x-envoy-original-path", "present_match": True}
                    }
                },
            ]
        }
    }


def _status_is(status: int) -> Node:
    return {
        "status_code_filter": {
            "comparison": {
                "op": "EQ",
                "value": {"default_value": status, "runtime_key": f"local_reply.status_{status}"},
            }
        }
    }


def _health_body(status: int, word: str) -> Node:
    # The gateway's /health body, so probes and dashboards read either face alike.
    path = {"header_filter": {"header": {"name": ":path", "string_match": {"exact": "/health"}}}}
    return {
        "filter": {"and_filter": {"filters": [_status_is(status), path]}},
        "body_format_override": {
            "json_format": {"status": word},
            "content_type": "application/json",
        },
    }


def local_reply_config() -> Node:
    mappers: list[Node] = [
        _health_body(200, "healthy"),
        _health_body(503, "unhealthy"),
    ]
    for status, code in sorted(LOCAL_REPLY_CODES.items()):
        mappers.append(
            {
                "filter": {"and_filter": {"filters": [_status_is(status), _not_native_grpc()]}},
                "body_format_override": {
                    "json_format": {"code": code, "message": "%LOCAL_REPLY_BODY%", "details": []},
                    "content_type": "application/json",
                },
            }
        )
    return {"mappers": mappers}


def access_log() -> list[Node]:
    # No Authorization, no bodies: tokens and messages stay out of logs.
    fields = {
        "time": "%START_TIME%",
        "method": "%REQ(X-ENVOY-ORIGINAL-METHOD?:METHOD)%",
        "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
        "grpc_path": "%REQ(:PATH)%",
        "status": "%RESPONSE_CODE%",
        "grpc_status": "%GRPC_STATUS%",
        "flags": "%RESPONSE_FLAGS%",
        "duration_ms": "%DURATION%",
        "upstream": "%UPSTREAM_HOST%",
        "request_id": "%REQ(X-REQUEST-ID)%",
    }
    return [
        {
            "name": "envoy.access_loggers.stdout",
            "typed_config": typed(
                "access_loggers.stream.v3.StdoutAccessLog",
                log_format={"json_format": fields},
            ),
        }
    ]
