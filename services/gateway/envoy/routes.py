"""Routes and CORS: matched on the gRPC path after transcoding, one catch-all before it."""

from __future__ import annotations

from collections.abc import Sequence

from services.gateway.envoy.descriptor import TranscodedService
from services.gateway.envoy.target import LUA_FILTER, Node, Target, seconds, typed

_NO_CLUSTER_HEADER = "x-todochat-no-such-cluster"
_STREAMING_TIMEOUT = "0s"
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


def routes(services: Sequence[TranscodedService], target: Target) -> list[Node]:
    routes: list[Node] = []
    unary_timeout = seconds(target.unary_timeout_seconds)
    retry = {
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
    for service in services:
        for unwrap in service.unwraps:
            routes.append(
                {
                    "name": service.method_path(unwrap.method),
                    "match": {"path": service.method_path(unwrap.method)},
                    "route": {
                        "cluster": service.cluster,
                        "timeout": unary_timeout,
                        "retry_policy": retry,
                    },
                    # Read by response_body.lua once the transcoder has written the JSON.
                    "metadata": {
                        "filter_metadata": {
                            LUA_FILTER: {"response_body": unwrap.field, "absent": unwrap.absent}
                        }
                    },
                }
            )
        for method in service.streaming_methods:
            routes.append(
                {
                    "name": service.method_path(method),
                    "match": {"path": service.method_path(method)},
                    "route": {
                        "cluster": service.cluster,
                        # The default 15 s would cut every stream that outlives it.
                        "timeout": _STREAMING_TIMEOUT,
                        "retry_policy": retry,
                    },
                }
            )
        routes.append(
            {
                "name": service.full_name,
                "match": {"prefix": service.path_prefix},
                "route": {
                    "cluster": service.cluster,
                    "timeout": unary_timeout,
                    "retry_policy": retry,
                },
            }
        )
    routes.append(
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
    return routes
