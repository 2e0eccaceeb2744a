"""Compiles the gateway's test protos: to a CodeGeneratorRequest, or to importable modules.

The runtime modules are produced by protoc with our real routes plugin (through
scripts/protoc-gen-todochat-routes), so the tests exercise the plugin as protoc runs it.
"""

from __future__ import annotations

import functools
import importlib
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import google.api
from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
GOOGLEAPIS = Path(google.api.__path__[0]).parent.parent
WKT = Path(protoc.__file__).parent / "_proto"


class ProtocError(RuntimeError):
    pass


def _protoc(include: Path, args: list[str]) -> None:
    argv = ["protoc", f"-I{include}", f"-I{GOOGLEAPIS}", f"-I{WKT}", *args]
    if protoc.main(argv) != 0:
        raise ProtocError(f"protoc failed: {' '.join(args)}")


def request_for(
    include: Path, files: list[str], parameter: str = ""
) -> plugin_pb2.CodeGeneratorRequest:
    """The CodeGeneratorRequest protoc would send a plugin for `files`."""
    with tempfile.TemporaryDirectory() as out:
        descriptor_set = Path(out) / "set.pb"
        _protoc(
            include,
            [
                "--include_imports",
                "--include_source_info",
                f"--descriptor_set_out={descriptor_set}",
                *files,
            ],
        )
        fds = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    request = plugin_pb2.CodeGeneratorRequest(parameter=parameter)
    request.file_to_generate.extend(files)
    request.proto_file.extend(fds.file)
    return request


def request_for_text(
    tmp: Path, proto_text: str, parameter: str = ""
) -> plugin_pb2.CodeGeneratorRequest:
    """Writes one proto file (package `t`) and returns its CodeGeneratorRequest."""
    (tmp / "t").mkdir(exist_ok=True)
    (tmp / "t" / "t.proto").write_text(proto_text, encoding="utf-8")
    return request_for(tmp, ["t/t.proto"], parameter)


@functools.cache
def probe_modules() -> tuple[ModuleType, ModuleType, ModuleType]:
    """(probe_pb2, probe_pb2_grpc, probe_routes) for gwtest/v1/probe.proto, compiled once."""
    out = Path(tempfile.mkdtemp(prefix="gwtest-"))
    plugin = ROOT / "scripts" / "protoc-gen-todochat-routes"
    _protoc(
        HERE,
        [
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            f"--plugin=protoc-gen-todochat-routes={plugin}",
            f"--todochat-routes_out={out}",
            "gwtest/v1/probe.proto",
        ],
    )
    sys.path.insert(0, str(out))
    return (
        importlib.import_module("gwtest.v1.probe_pb2"),
        importlib.import_module("gwtest.v1.probe_pb2_grpc"),
        importlib.import_module("gwtest.v1.probe_routes"),
    )
