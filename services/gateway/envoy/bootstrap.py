"""The Envoy bootstrap, built from the transcoded services and one deployment target.

This is the single template: `render_local` and `render_kubernetes` (in `__init__`)
only choose a `Target`. Choices that make Envoy answer like our gateway, and why:

- `match_incoming_request_route: false`: routes match the gRPC path *after*
  transcoding (`/todochat.tasks.v1.TaskService/...`), so both services can share
  `/api/{user_id}/...` without a hand-written REST route table.
- One catch-all route sees the REST path first: the cors filter needs a route to find
  its policy (preflights match no HttpRule, envoy#6608), and anything the transcoder
  lets through untranscoded ends there as a 404 instead of reaching a gRPC upstream.
- `ignore_unknown_query_parameters`: grpc-gateway ignores unknown query parameters,
  and browsers' frontends add cache busters (`_=…`) and tracking parameters; rejecting
  them (`reject_unknown_query_parameters`) would break calls that work via the gateway.
- `query_param_unescape_plus`: grpc-gateway parses queries with Go's url.ParseQuery,
  where `+` is a space.
- `local_reply_config`: Envoy's own replies (unknown path, bad JSON, body too large)
  get a `google.rpc.Status` JSON body as the gateway's do.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from services.gateway.envoy.descriptor import EnvoyDescriptor, TranscodedService

Node = dict[str, Any]

_T = "type.googleapis.com/envoy.extensions."
_LUA = "envoy.filters.http.lua"
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
# Local replies (sent by Envoy itself, never by a service) -> the google.rpc code the
# gateway would put in its Status body for the same HTTP status.
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


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


@dataclass(frozen=True)
class HealthChecking:
    interval_seconds: float
    timeout_seconds: float
    unhealthy_threshold: int
    healthy_threshold: int


@dataclass(frozen=True)
class Target:
    """Everything that differs between a laptop or test run and a cluster."""

    listen: Endpoint
    admin: Endpoint
    # Where Envoy reads the descriptor set (a ConfigMap mount); None puts it inline.
    descriptor_path: str | None
    # Cluster name (from the package, see descriptor.py) -> where its pods answer.
    upstreams: Mapping[str, Endpoint]
    cors_origins: tuple[str, ...]
    health: HealthChecking
    dns_refresh_seconds: float = 5.0
    unary_timeout_seconds: float = 60.0
    max_request_bytes: int = 1024 * 1024
    access_log: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _typed(kind: str, **fields: Any) -> Node:
    return {"@type": _T + kind, **fields}


def _transcoder(descriptor: EnvoyDescriptor, target: Target) -> Node:
    source: Node = (
        {"proto_descriptor": target.descriptor_path}
        if target.descriptor_path is not None
        else {"proto_descriptor_bin": base64.b64encode(descriptor.data).decode("ascii")}
    )
    return {
        "name": "envoy.filters.http.grpc_json_transcoder",
        "typed_config": _typed(
            "filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
            **source,
            services=[s.full_name for s in descriptor.services],
            print_options={
                "add_whitespace": False,
                "always_print_primitive_fields": True,
                "always_print_enums_as_ints": False,
                "preserve_proto_field_names": True,
                "stream_newline_delimited": True,
            },
            match_incoming_request_route=False,
            ignore_unknown_query_parameters=True,
            query_param_unescape_plus=True,
            convert_grpc_status=True,
            request_validation_options={
                "reject_unknown_method": True,
                "reject_unknown_query_parameters": False,
            },
            max_request_body_size=target.max_request_bytes,
        ),
    }


def _health_filter(path: str, clusters: Sequence[str]) -> Node:
    # `/health` is 503 unless every cluster has a healthy host (the gateway's /health);
    # `/ready` is 503 only while Envoy drains (admin /healthcheck/fail), for kubelet.
    config = _typed(
        "filters.http.health_check.v3.HealthCheck",
        pass_through_mode=False,
        headers=[{"name": ":path", "string_match": {"exact": path}}],
    )
    if clusters:
        config["cluster_min_healthy_percentages"] = {c: {"value": 1.0} for c in clusters}
    return {"name": "envoy.filters.http.health_check", "typed_config": config}


def _cors_policy(target: Target) -> Node:
    return _typed(
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


def _routes(services: Sequence[TranscodedService], target: Target) -> list[Node]:
    routes: list[Node] = []
    unary_timeout = _seconds(target.unary_timeout_seconds)
    retry = {
        # Only failures where the request never reached a service: always safe to retry.
        "retry_on": "connect-failure,refused-stream,reset-before-request",
        "num_retries": 2,
        "retry_host_predicate": [
            {
                "name": "envoy.retry_host_predicates.previous_hosts",
                "typed_config": _typed("retry.host.previous_hosts.v3.PreviousHostsPredicate"),
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
                            _LUA: {"response_body": unwrap.field, "absent": unwrap.absent}
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


def _local_reply_config() -> Node:
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


def _access_log() -> list[Node]:
    # No Authorization, no bodies: tokens and messages stay out of logs.
    fields = {
        "time": "%START_TIME%",
        "method": "%REQ(:METHOD)%",
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
            "typed_config": _typed(
                "access_loggers.stream.v3.StdoutAccessLog",
                log_format={"json_format": fields},
            ),
        }
    ]


def _lua_filter() -> Node:
    code = resources.files(__package__).joinpath("response_body.lua").read_text("utf-8")
    return {
        "name": _LUA,
        "typed_config": _typed(
            "filters.http.lua.v3.Lua", default_source_code={"inline_string": code}
        ),
    }


def _connection_manager(descriptor: EnvoyDescriptor, target: Target) -> Node:
    services = descriptor.services
    clusters = sorted({s.cluster for s in services})
    manager = _typed(
        "filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix="rest",
        # AUTO: REST over HTTP/1.1 and native gRPC over h2c on the same port.
        codec_type="AUTO",
        use_remote_address=True,
        always_set_request_id_in_response=True,
        local_reply_config=_local_reply_config(),
        route_config={
            "name": "todochat",
            "virtual_hosts": [
                {
                    "name": "todochat",
                    "domains": ["*"],
                    "routes": _routes(services, target),
                    "typed_per_filter_config": {"envoy.filters.http.cors": _cors_policy(target)},
                    # grpc-gateway's spelling of the page-token metadata, which the frontend reads.
                    "response_headers_to_add": [
                        {
                            "header": {"key": "vary", "value": "Origin"},
                            "append_action": "APPEND_IF_EXISTS_OR_ADD",
                        },
                        {
                            "header": {
                                "key": "grpc-metadata-next-page-token",
                                "value": "%RESP(next-page-token)%",
                            },
                            "keep_empty_value": False,
                        },
                    ],
                }
            ],
        },
        http_filters=[
            _health_filter("/health", clusters),
            _health_filter("/ready", []),
            # Before the transcoder: a preflight OPTIONS matches no HttpRule (envoy#6608).
            {
                "name": "envoy.filters.http.cors",
                "typed_config": _typed("filters.http.cors.v3.Cors"),
            },
            # Before the transcoder, so its response side runs on the transcoded JSON.
            _lua_filter(),
            _transcoder(descriptor, target),
            {
                "name": "envoy.filters.http.router",
                "typed_config": _typed("filters.http.router.v3.Router"),
            },
        ],
    )
    if target.access_log:
        manager["access_log"] = _access_log()
    return manager


def _cluster(name: str, services: Sequence[TranscodedService], target: Target) -> Node:
    endpoint = target.upstreams.get(name)
    if endpoint is None:
        raise ValueError(f"no upstream address for cluster {name!r} (services: {services})")
    health = target.health
    return {
        "name": name,
        # STRICT_DNS on a headless Service: every pod is a host, balanced per request.
        "type": "STRICT_DNS",
        "dns_lookup_family": "V4_PREFERRED",
        "dns_refresh_rate": _seconds(target.dns_refresh_seconds),
        "lb_policy": "ROUND_ROBIN",
        "connect_timeout": "2s",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": _typed(
                "upstreams.http.v3.HttpProtocolOptions",
                explicit_http_config={"http2_protocol_options": {}},
            )
        },
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {
                                    "socket_address": {
                                        "address": endpoint.host,
                                        "port_value": endpoint.port,
                                    }
                                }
                            }
                        }
                    ]
                }
            ],
        },
        "health_checks": [
            {
                "timeout": _seconds(health.timeout_seconds),
                "interval": _seconds(health.interval_seconds),
                # Without traffic Envoy would check only once a minute.
                "no_traffic_interval": _seconds(health.interval_seconds),
                "unhealthy_threshold": health.unhealthy_threshold,
                "healthy_threshold": health.healthy_threshold,
                "grpc_health_check": {"service_name": s.full_name},
            }
            for s in services
        ],
    }


def build(descriptor: EnvoyDescriptor, target: Target) -> Node:
    """The bootstrap document (a plain dict, written as YAML by yamltext.dump)."""
    by_cluster: dict[str, list[TranscodedService]] = {}
    for service in descriptor.services:
        by_cluster.setdefault(service.cluster, []).append(service)
    return {
        "admin": {
            "address": {
                "socket_address": {"address": target.admin.host, "port_value": target.admin.port}
            }
        },
        "static_resources": {
            "listeners": [
                {
                    "name": "rest",
                    "address": {
                        "socket_address": {
                            "address": target.listen.host,
                            "port_value": target.listen.port,
                        }
                    },
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": _connection_manager(descriptor, target),
                                }
                            ]
                        }
                    ],
                }
            ],
            "clusters": [
                _cluster(name, members, target) for name, members in sorted(by_cluster.items())
            ],
        },
        **target.extra,
    }
