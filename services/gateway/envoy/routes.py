"""Routes and CORS: matched on the gRPC path after transcoding, one catch-all before it."""

from __future__ import annotations

from collections.abc import Sequence

from services.gateway.envoy.descriptor import TranscodedService
from services.gateway.envoy.target import BUFFER_FILTER, LUA_FILTER, Node, Target, seconds, typed

_NO_CLUSTER_HEADER = "x-todochat-no-such-cluster"
_STREAMING_TIMEOUT = 0.0
EXPOSED_HEADERS = (
    "grpc-status",
    "grpc-message",
    "next-page-token",
    "grpc-metadata-next-page-token",
    "x-request-id",
)
ALLOWED_HEADERS = ("authorization", "content-type", "x-request-id", "grpc-timeout")
ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def cors_policy(target: Target) -> Node:
    return typed(
        "filters.http.cors.v3.CorsPolicy",
        allow_origin_string_match=[{"exact": o} for o in target.cors_origins],
        allow_methods=", ".join(ALLOWED_METHODS),
        allow_headers=", ".join(ALLOWED_HEADERS),
        expose_headers=", ".join(EXPOSED_HEADERS),
        max_age="600",
        # Answer a refused preflight here (no CORS headers) instead of passing it to the
        # transcoder, where an OPTIONS matches no HttpRule.
        forward_not_matching_preflights=False,
    )


_RETRY = {
    # Only failures where the request never reached a service: always safe to retry.
    "retry_on": "connect-failure,refused-stream,reset-before-request",
    "num_retries": 2,
    "retry_host_predicate": [
        {
            "name": "envoy.retry_host_predicates.previous_hosts",
            "typed_config": typed("retry.host.previous_hosts.v3.PreviousHostsPredicate"),
        }
    ],
    "host_selection_retry_max_attempts": 3,
}


def _grpc_route(name: str, match: Node, cluster: str, timeout: float) -> Node:
    route: Node = {
        "name": name,
        "match": match,
        "route": {"cluster": cluster, "timeout": seconds(timeout), "retry_policy": _RETRY},
        # A native gRPC call matches here before any filter runs, so the body limit
        # (meant for REST bodies, which match the catch-all first) leaves it alone.
        "typed_per_filter_config": {
            BUFFER_FILTER: typed("filters.http.buffer.v3.BufferPerRoute", disabled=True)
        },
    }
    if timeout > 0:
        # The gateway gives every call a deadline; Envoy forwards a client's Grpc-Timeout
        # but invents none, so a call without one would run unbounded on the service.
        route["request_headers_to_add"] = [
            {
                "header": {"key": "grpc-timeout", "value": f"{round(timeout * 1000)}m"},
                "append_action": "ADD_IF_ABSENT",
            }
        ]
    return route


def routes(services: Sequence[TranscodedService], target: Target) -> list[Node]:
    found: list[Node] = []
    unary = target.unary_timeout_seconds
    for service in services:
        for unwrap in service.unwraps:
            path = service.method_path(unwrap.method)
            route = _grpc_route(path, {"path": path}, service.cluster, unary)
            # Read by response_body.lua once the transcoder has written the JSON.
            route["metadata"] = {
                "filter_metadata": {
                    LUA_FILTER: {"response_body": unwrap.field, "absent": unwrap.absent}
                }
            }
            found.append(route)
        for method in service.streaming_methods:
            path = service.method_path(method)
            # The default 15 s would cut every stream that outlives it.
            found.append(_grpc_route(path, {"path": path}, service.cluster, _STREAMING_TIMEOUT))
        found.append(
            _grpc_route(service.full_name, {"prefix": service.path_prefix}, service.cluster, unary)
        )
    found.append(
        {
            "name": "not-transcoded",
            "match": {"prefix": "/"},
            # Not a direct_response: the cors filter skips routes without a route entry.
            # No request carries this header, so the router answers 404 itself.
            "route": {
                "cluster_header": _NO_CLUSTER_HEADER,
                "cluster_not_found_response_code": "NOT_FOUND",
            },
        }
    )
    return found
