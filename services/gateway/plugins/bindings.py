"""HttpRule bindings of the services in a CodeGeneratorRequest, checked like grpc-gateway.

Both plugins read the same bindings from here, so the route table and the OpenAPI
document can never disagree about a path, a body or a rejected rule. The error texts
follow grpc-gateway's `internal/descriptor/services.go` where it has one.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool
from google.protobuf.compiler import plugin_pb2

from services.gateway.plugins import httprule
from services.gateway.runtime.wellknown import JSON_SCALARS

# Messages that travel as one JSON value, so they may be path or query parameters.
WELL_KNOWN_SCALARS = JSON_SCALARS


class RuleError(ValueError):
    """An HttpRule grpc-gateway would refuse; the message names the method."""


@dataclass(frozen=True)
class Options:
    """Plugin parameters (`--NAME_opt=allow_delete_body=true`)."""

    allow_delete_body: bool = False

    @classmethod
    def parse(cls, parameter: str) -> Options:
        allow_delete_body = False
        for item in filter(None, (p.strip() for p in parameter.split(","))):
            key, _, value = item.partition("=")
            if key == "allow_delete_body":
                allow_delete_body = value.lower() in {"", "true", "1"}
            else:
                raise RuleError(f"unknown plugin option {key!r}")
        return cls(allow_delete_body=allow_delete_body)


@dataclass(frozen=True)
class Binding:
    """One HTTP route of one RPC: the primary rule is index 0, additional bindings follow."""

    method: descriptor.MethodDescriptor
    index: int
    http_method: str
    template: httprule.Template
    body: str
    response_body: str

    @property
    def service(self) -> descriptor.ServiceDescriptor:
        return self.method.containing_service

    @property
    def path_fields(self) -> tuple[tuple[str, ...], ...]:
        return tuple(v.field_path for v in self.template.variables)


def build_pool(request: plugin_pb2.CodeGeneratorRequest) -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    for proto in request.proto_file:
        pool.Add(proto)
    return pool


def resolve_field_path(
    message: descriptor.Descriptor, path: tuple[str, ...], what: str
) -> list[descriptor.FieldDescriptor]:
    """The fields along `path`; every step but the last must be a singular message."""
    fields: list[descriptor.FieldDescriptor] = []
    current: descriptor.Descriptor | None = message
    for index, name in enumerate(path):
        if current is None:
            raise RuleError(f"not an aggregate type: {path[index - 1]} in {'.'.join(path)}")
        field = current.fields_by_name.get(name)
        if field is None:
            raise RuleError(f"no field {'.'.join(path)!r} found in {message.name} ({what})")
        if index < len(path) - 1 and _is_repeated(field):
            raise RuleError(f"{what} {'.'.join(path)!r} steps through repeated field {name!r}")
        fields.append(field)
        current = field.message_type
    return fields


def _is_repeated(field: descriptor.FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _method_of(rule: http_pb2.HttpRule) -> tuple[str, str]:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        return "", ""
    if kind == "custom":
        return rule.custom.kind, rule.custom.path
    return kind.upper(), str(getattr(rule, kind))


def _check_path_variable(method: descriptor.MethodDescriptor, var: httprule.Variable) -> None:
    fields = resolve_field_path(method.input_type, var.field_path, "path parameter")
    target = fields[-1]
    name = f"{method.containing_service.name}.{method.name}"
    if _is_repeated(target):
        raise RuleError(
            f"{name}: {var.dotted} is a repeated field; path parameters must be singular"
        )
    if target.message_type is not None and target.message_type.full_name not in (
        WELL_KNOWN_SCALARS
    ):
        raise RuleError(
            f"{name}: {var.dotted} is a protobuf message type. Protobuf message types cannot "
            "be used as path parameters, use a scalar value type (such as string) instead"
        )
    if any(f.containing_oneof is not None and f.has_presence and _synthetic(f) for f in fields):
        raise RuleError(f"optional field not allowed in field path: {target.name} in {var.dotted}")


def _synthetic(field: descriptor.FieldDescriptor) -> bool:
    oneof = field.containing_oneof
    return oneof is not None and len(oneof.fields) == 1 and oneof.name == "_" + field.name


def _binding(
    method: descriptor.MethodDescriptor, rule: http_pb2.HttpRule, index: int, options: Options
) -> Binding | None:
    http_method, path = _method_of(rule)
    if not http_method:
        return None
    name = f"{method.containing_service.name}.{method.name}"
    if http_method == "GET" and rule.body:
        raise RuleError(f"must not set request body when http method is GET: {method.name}")
    if http_method == "DELETE" and rule.body and not options.allow_delete_body:
        raise RuleError(
            "must not set request body when http method is DELETE except allow_delete_body "
            f"option is true: {method.name}"
        )
    try:
        template = httprule.parse(path)
    except httprule.TemplateError as exc:
        raise RuleError(f"{name}: {exc}") from exc
    if method.client_streaming and template.variables:
        raise RuleError(f"{name}: cannot use path parameter in client streaming")
    for var in template.variables:
        _check_path_variable(method, var)
    if rule.body not in ("", "*"):
        resolve_field_path(method.input_type, tuple(rule.body.split(".")), "body")
    if rule.response_body not in ("", "*"):
        resolve_field_path(
            method.output_type, tuple(rule.response_body.split(".")), "response_body"
        )
    return Binding(method, index, http_method, template, rule.body, rule.response_body)


def method_bindings(method: descriptor.MethodDescriptor, options: Options) -> list[Binding]:
    """Every binding of `method` in declaration order (none when it has no rule)."""
    method_options = method.GetOptions()
    if not method_options.HasExtension(annotations_pb2.http):
        return []
    rule: http_pb2.HttpRule = method_options.Extensions[annotations_pb2.http]
    result: list[Binding] = []
    primary = _binding(method, rule, 0, options)
    if primary is not None:
        result.append(primary)
    for extra in rule.additional_bindings:
        if extra.additional_bindings:
            raise RuleError(
                "additional_binding in additional_binding not allowed: "
                f"{method.containing_service.name}.{method.name}"
            )
        binding = _binding(method, extra, len(result), options)
        if binding is not None:
            result.append(binding)
    return result


def file_bindings(
    pool: descriptor_pool.DescriptorPool, file_name: str, options: Options
) -> list[Binding]:
    """All bindings of all services of one file, in declaration order."""
    file = pool.FindFileByName(file_name)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    result: list[Binding] = []
    for service_proto in proto.service:
        for method in file.services_by_name[service_proto.name].methods:
            result.extend(method_bindings(method, options))
    return result
