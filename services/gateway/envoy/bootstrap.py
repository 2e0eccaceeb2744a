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
from collections.abc import Sequence
from importlib import resources

from services.gateway.envoy.descriptor import EnvoyDescriptor, TranscodedService
from services.gateway.envoy.replies import access_log, local_reply_config
from services.gateway.envoy.routes import cors_policy, routes
from services.gateway.envoy.target import (
    BUFFER_FILTER,
    LUA_FILTER,
    Endpoint,
    HealthChecking,
    Node,
    Target,
    seconds,
    typed,
)

__all__ = ["Endpoint", "HealthChecking", "Target", "build"]


def _transcoder(descriptor: EnvoyDescriptor, target: Target) -> Node:
    source: Node = (
        {"proto_descriptor": target.descriptor_path}
        if target.descriptor_path is not None
        else {"proto_descriptor_bin": base64.b64encode(descriptor.data).decode("ascii")}
    )
    return {
        "name": "envoy.filters.http.grpc_json_transcoder",
        "typed_config": typed(
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
        ),
    }


def _health_filter(path: str, clusters: Sequence[str]) -> Node:
    # `/health` is 503 unless every cluster has a healthy host (the gateway's /health);
    # `/ready` is 503 only while Envoy drains (admin /healthcheck/fail), for kubelet.
    config = typed(
        "filters.http.health_check.v3.HealthCheck",
        pass_through_mode=False,
        headers=[{"name": ":path", "string_match": {"exact": path}}],
    )
    if clusters:
        config["cluster_min_healthy_percentages"] = {c: {"value": 1.0} for c in clusters}
    return {"name": "envoy.filters.http.health_check", "typed_config": config}


def _lua_filter() -> Node:
    code = resources.files(__package__).joinpath("response_body.lua").read_text("utf-8")
    return {
        "name": LUA_FILTER,
        "typed_config": typed(
            "filters.http.lua.v3.Lua", default_source_code={"inline_string": code}
        ),
    }


def _connection_manager(descriptor: EnvoyDescriptor, target: Target) -> Node:
    services = descriptor.services
    clusters = sorted({s.cluster for s in services})
    manager = typed(
        "filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix="rest",
        # AUTO: REST over HTTP/1.1 and native gRPC over h2c on the same port.
        codec_type="AUTO",
        use_remote_address=True,
        always_set_request_id_in_response=True,
        # Keep a client's X-Request-Id, as the gateway does, so a frontend can correlate.
        preserve_external_request_id=True,
        local_reply_config=local_reply_config(),
        route_config={
            "name": "todochat",
            "virtual_hosts": [
                {
                    "name": "todochat",
                    "domains": ["*"],
                    "routes": routes(services, target),
                    "typed_per_filter_config": {"envoy.filters.http.cors": cors_policy(target)},
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
                "typed_config": typed("filters.http.cors.v3.Cors"),
            },
            # REST bodies over the limit get 413 (the gateway's limit); the transcoder's
            # own max_request_body_size does not stop a body it can stream through.
            {
                "name": BUFFER_FILTER,
                "typed_config": typed(
                    "filters.http.buffer.v3.Buffer", max_request_bytes=target.max_request_bytes
                ),
            },
            # Before the transcoder, so its response side runs on the transcoded JSON.
            _lua_filter(),
            _transcoder(descriptor, target),
            {
                "name": "envoy.filters.http.router",
                "typed_config": typed("filters.http.router.v3.Router"),
            },
        ],
    )
    if target.access_log:
        manager["access_log"] = access_log()
    return manager


def _lb_endpoint(endpoint: Endpoint) -> Node:
    address = {"socket_address": {"address": endpoint.host, "port_value": endpoint.port}}
    return {"endpoint": {"address": address}}


def _cluster(name: str, services: Sequence[TranscodedService], target: Target) -> Node:
    endpoints = target.upstreams.get(name)
    if not endpoints:
        raise ValueError(f"no upstream address for cluster {name!r} (services: {services})")
    health = target.health
    return {
        "name": name,
        # STRICT_DNS on a headless Service: every pod is a host, balanced per request.
        "type": "STRICT_DNS",
        "dns_lookup_family": "V4_PREFERRED",
        "lb_policy": "ROUND_ROBIN",
        "connect_timeout": "2s",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": typed(
                "upstreams.http.v3.HttpProtocolOptions",
                explicit_http_config={"http2_protocol_options": {}},
            )
        },
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [_lb_endpoint(e) for e in endpoints]}],
        },
        "health_checks": [
            {
                "timeout": seconds(health.timeout_seconds),
                "interval": seconds(health.interval_seconds),
                # Without traffic Envoy would check only once a minute.
                "no_traffic_interval": seconds(health.interval_seconds),
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
        # An edge proxy without a connection limit can be exhausted by idle clients.
        "overload_manager": {
            "resource_monitors": [
                {
                    "name": "envoy.resource_monitors.global_downstream_max_connections",
                    "typed_config": typed(
                        "resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig",
                        max_active_downstream_connections=target.max_connections,
                    ),
                }
            ]
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
    }
