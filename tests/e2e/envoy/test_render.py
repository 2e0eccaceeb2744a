"""The Envoy config renderer: what it derives from a descriptor set, what it writes, and
that Envoy itself (`--mode validate`) accepts every rendered config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from services.gateway.envoy import (
    DESCRIPTOR,
    K8S_DESCRIPTOR_PATH,
    REPO_ROOT,
    descriptor,
    render_kubernetes,
    render_local,
    yamltext,
)
from tests.envoy_harness import envoy_binary
from tests.gateway_protos.build import request_for_text

_PROTO = """
syntax = "proto3";
package t.shop.v1alpha1;
import "google/api/annotations.proto";
import "google/api/httpbody.proto";
message Item { string id = 1; }
message Req { string id = 1; }
message Page { repeated Item items = 1; Item first = 2; google.api.HttpBody raw = 3; }
service ShopService {
  rpc List(Req) returns (Page) { option (google.api.http) = {get: "/items" response_body: "items"}; }
  rpc First(Req) returns (Page) { option (google.api.http) = {get: "/first" response_body: "first"}; }
  rpc Raw(Req) returns (Page) { option (google.api.http) = {get: "/raw" response_body: "raw"}; }
  rpc Watch(Req) returns (stream Item) { option (google.api.http) = {post: "/watch" body: "*"}; }
  rpc Unbound(Req) returns (Item);
  %s
}
service NotExposed { rpc Ping(Req) returns (Item); }
"""
_DISAGREE = """rpc Both(Req) returns (Page) { option (google.api.http) = {
    get: "/both" response_body: "items" additional_bindings {get: "/both2"}}; }"""
_STREAMED = """rpc Pages(Req) returns (stream Page) { option (google.api.http) = {
    get: "/pages" response_body: "items"}; }"""


def _files(tmp_path: Path, extra: str = "") -> list[descriptor_pb2.FileDescriptorProto]:
    return list(request_for_text(tmp_path, _PROTO % extra).proto_file)


def _rendered(text: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def _manager(document: dict[str, Any]) -> dict[str, Any]:
    listener = document["static_resources"]["listeners"][0]
    manager: dict[str, Any] = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return manager


@pytest.mark.parametrize(
    ("package", "cluster"),
    [
        pytest.param("todochat.tasks.v1", "tasks", id="versioned"),
        pytest.param("t.shop.v1alpha1", "shop", id="alpha-version"),
        pytest.param("billing", "billing", id="unversioned"),
    ],
)
def test_cluster_is_named_after_the_package(package: str, cluster: str) -> None:
    assert descriptor.cluster_for_package(package) == cluster


def test_services_routes_and_unwraps_come_from_the_descriptor(tmp_path: Path) -> None:
    [shop] = descriptor.transcoded_services(_files(tmp_path))

    assert shop.full_name == "t.shop.v1alpha1.ShopService", "NotExposed has no HttpRule"
    assert shop.cluster == "shop"
    assert shop.streaming_methods == ("Watch",)
    assert [(u.method, u.field, u.absent) for u in shop.unwraps] == [
        ("List", "items", "[]"),
        ("First", "first", "null"),
    ], "HttpBody's response_body is Envoy's own; no unwrap"


@pytest.mark.parametrize(
    ("rpc", "method", "reason"),
    [
        pytest.param(_DISAGREE, "Both", "bindings disagree", id="bindings-disagree"),
        pytest.param(_STREAMED, "Pages", "response_body on a stream", id="stream"),
    ],
)
def test_strict_rendering_refuses_what_envoy_cannot_answer(
    tmp_path: Path, rpc: str, method: str, reason: str
) -> None:
    files = _files(tmp_path, rpc)

    with pytest.raises(ValueError, match=rf"ShopService\.{method}: {reason}"):
        descriptor.transcoded_services(files)
    [lenient] = descriptor.transcoded_services(files, strict=False)
    assert method not in [u.method for u in lenient.unwraps]


def test_envoy_copy_drops_response_body_but_keeps_httpbody(tmp_path: Path) -> None:
    source = descriptor_pb2.FileDescriptorSet(file=_files(tmp_path))

    copy = descriptor_pb2.FileDescriptorSet.FromString(
        descriptor.for_envoy(source.SerializeToString()).data
    )

    [shop_file] = [f for f in copy.file if f.package == "t.shop.v1alpha1"]
    rules = {
        m.name: m.options.Extensions[annotations_pb2.http].response_body
        for m in shop_file.service[0].method
        if m.options.HasExtension(annotations_pb2.http)
    }
    assert rules == {"List": "", "First": "", "Raw": "raw", "Watch": ""}
    assert not any(f.HasField("source_code_info") for f in copy.file)


def test_our_descriptor_set_renders_strictly() -> None:
    services = descriptor.for_envoy(DESCRIPTOR.read_bytes()).services

    assert {(s.full_name, s.cluster) for s in services} == {
        ("todochat.chat.v1.ChatService", "chat"),
        ("todochat.tasks.v1.TaskService", "tasks"),
    }


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(
            {"@type": "type.googleapis.com/x", "a": {"b": [1, "2", True, None]}}, id="nest"
        ),
        pytest.param(
            {"s": ["yes", "off", "null", "0s", "1.5", "-x", "a: b", "#c", ""]}, id="quote"
        ),
        pytest.param(
            {"code": "line one\n\n  indented\nlast\n", "n": "no newline\nend"}, id="block"
        ),
        pytest.param({"empty": {}, "none": [], "list": [{"k": []}, [1, 2]]}, id="empties"),
    ],
)
def test_yaml_reads_back_as_written(value: dict[str, Any]) -> None:
    assert yaml.safe_load(yamltext.dump(value, header="a\nheader")) == value


def test_local_config_has_the_agreed_shape() -> None:
    document = _rendered(render_local(50052, 50051, 8081, 9901))
    manager = _manager(document)

    names = [f["name"].rsplit(".", 1)[-1] for f in manager["http_filters"]]
    assert names.index("cors") < names.index("grpc_json_transcoder") < names.index("router")
    transcoder = manager["http_filters"][names.index("grpc_json_transcoder")]["typed_config"]
    assert transcoder["services"] == [
        "todochat.chat.v1.ChatService",
        "todochat.tasks.v1.TaskService",
    ]
    assert (
        transcoder["print_options"].items()
        >= {
            "preserve_proto_field_names": True,
            "always_print_primitive_fields": True,
            "stream_newline_delimited": True,
        }.items()
    )
    assert transcoder["convert_grpc_status"] is True
    assert transcoder["match_incoming_request_route"] is False
    assert transcoder["request_validation_options"]["reject_unknown_method"] is True

    routes = {r["name"]: r for r in manager["route_config"]["virtual_hosts"][0]["routes"]}
    stream = routes["/todochat.chat.v1.ChatService/StreamChat"]
    assert stream["match"] == {"path": "/todochat.chat.v1.ChatService/StreamChat"}
    assert (stream["route"]["cluster"], stream["route"]["timeout"]) == ("chat", "0s")
    assert routes["todochat.tasks.v1.TaskService"]["route"]["cluster"] == "tasks"
    assert routes["todochat.tasks.v1.TaskService"]["route"]["timeout"] == "60s"
    unwrap = routes["/todochat.tasks.v1.TaskService/ListTasks"]["metadata"]["filter_metadata"]
    assert unwrap == {"envoy.filters.http.lua": {"response_body": "tasks", "absent": "[]"}}

    clusters = {c["name"]: c for c in document["static_resources"]["clusters"]}
    assert set(clusters) == {"chat", "tasks"}
    tasks = clusters["tasks"]
    assert tasks["type"] == "STRICT_DNS"
    assert "http2_protocol_options" not in tasks, "the deprecated cluster field"
    options = tasks["typed_extension_protocol_options"]
    [protocol] = options.values()
    assert protocol["explicit_http_config"] == {"http2_protocol_options": {}}
    [check] = tasks["health_checks"]
    assert check["grpc_health_check"] == {"service_name": "todochat.tasks.v1.TaskService"}


def test_local_config_balances_over_every_replica_port() -> None:
    document = _rendered(render_local((50052, 50062), 50051, 8081, 9901))

    addresses = {
        c["name"]: [
            e["endpoint"]["address"]["socket_address"]
            for group in c["load_assignment"]["endpoints"]
            for e in group["lb_endpoints"]
        ]
        for c in document["static_resources"]["clusters"]
    }
    assert addresses == {
        "chat": [{"address": "127.0.0.1", "port_value": 50051}],
        "tasks": [
            {"address": "127.0.0.1", "port_value": 50052},
            {"address": "127.0.0.1", "port_value": 50062},
        ],
    }


def test_kubernetes_config_uses_service_names_and_the_configmap_path() -> None:
    document = _rendered(render_kubernetes())

    manager = _manager(document)
    names = [f["name"] for f in manager["http_filters"]]
    transcoder = manager["http_filters"][names.index("envoy.filters.http.grpc_json_transcoder")]
    assert transcoder["typed_config"]["proto_descriptor"] == K8S_DESCRIPTOR_PATH
    endpoints = {
        c["name"]: c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"][
            "socket_address"
        ]
        for c in document["static_resources"]["clusters"]
    }
    assert endpoints == {
        "chat": {"address": "chat", "port_value": 50051},
        "tasks": {"address": "tasks", "port_value": 50052},
    }


def test_committed_kubernetes_files_are_fresh() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.gateway.envoy", "kubernetes", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("which", ["local", "kubernetes"])
def test_envoy_validates_the_rendered_config(which: str, tmp_path: Path) -> None:
    if which == "local":
        text = render_local(50052, 50051, 8081, 9901)
    else:
        committed = REPO_ROOT / "deploy" / "envoy" / "todochat.binpb"
        text = render_kubernetes().replace(K8S_DESCRIPTOR_PATH, str(committed))
    config = tmp_path / "envoy.yaml"
    config.write_text(text, encoding="utf-8")

    result = subprocess.run(
        [envoy_binary(), "--mode", "validate", "--disable-hot-restart", "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "OK" in result.stdout + result.stderr
