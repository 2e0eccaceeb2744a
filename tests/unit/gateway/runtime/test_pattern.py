"""Path matching: decoding rules, precedence, and fuzzing with hypothesis."""

from __future__ import annotations

import random
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from todochat.tasks.v1 import tasks_service_pb2

from services.gateway.plugins import httprule
from services.gateway.runtime.errors import GatewayError
from services.gateway.runtime.pattern import RequestPath, Router, match_template
from services.gateway.runtime.route import PathTemplate, PathVariable, Route

_segment_text = st.text(min_size=1, max_size=12)


def compiled(source: str) -> PathTemplate:
    """The runtime template the routes plugin would generate for `source`."""
    parsed = httprule.parse(source)
    return PathTemplate(
        source=source,
        segments=parsed.segments,
        verb=parsed.verb,
        variables=tuple(PathVariable(v.field_path, v.start, v.end) for v in parsed.variables),
    )


def route(source: str, method: str = "GET", name: str = "M") -> Route:
    return Route(
        service="s.S",
        method=name,
        http_method=method,
        template=compiled(source),
        request_type=tasks_service_pb2.GetTaskRequest,
        response_type=tasks_service_pb2.GetTaskResponse,
    )


def quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


@given(a=_segment_text, b=_segment_text)
def test_single_segment_variables_round_trip(a: str, b: str) -> None:
    template = compiled("/v1/{a}/x/{b}")
    bindings = match_template(template, RequestPath(f"/v1/{quote(a)}/x/{quote(b)}"))
    assert bindings == [(("a",), a), (("b",), b)]


@given(parts=st.lists(_segment_text, min_size=1, max_size=5))
def test_deep_variables_decode_all_but_slashes(parts: list[str]) -> None:
    template = compiled("/files/{path=**}")
    bindings = match_template(template, RequestPath("/files/" + "/".join(quote(p) for p in parts)))
    assert bindings == [(("path",), "/".join(p.replace("/", "%2F") for p in parts))]


@settings(max_examples=300)
@given(raw=st.text(alphabet=st.characters(codec="latin-1"), max_size=40))
def test_arbitrary_paths_match_or_fail_cleanly(raw: str) -> None:
    router = Router([route("/v1/{a}"), route("/v1/x/{b=**}:go"), route("/v1/lit")])
    try:
        path = RequestPath("/" + raw)
    except GatewayError as exc:
        code = exc.status.code
    else:
        code = 0
        match = router.find("GET", path)
        assert match is None or match.route.http_method == "GET"
    assert code in (0, 3)


@given(seed=st.integers(0, 10_000))
def test_literal_beats_variable_in_any_registration_order(seed: int) -> None:
    routes = [
        route("/v1/items/{id}", name="Var"),
        route("/v1/items/special", name="Lit"),
        route("/v1/{rest=**}", name="Deep"),
        route("/v1/items/{id}:run", name="Verb"),
    ]
    random.Random(seed).shuffle(routes)
    router = Router(routes)

    def winner(path: str) -> str | None:
        found = router.find("GET", RequestPath(path))
        return found.route.method if found else None

    assert winner("/v1/items/special") == "Lit"
    assert winner("/v1/items/other") == "Var"
    assert winner("/v1/items/other:run") == "Verb"
    assert winner("/v1/elsewhere/deep") == "Deep"


@pytest.mark.parametrize(
    ("source", "path", "expected"),
    [
        pytest.param("/v1/{name=shelves/*}", "/v1/shelves/s%2F1", "shelves/s%2F1", id="keeps-2F"),
        pytest.param("/v1/{name}", "/v1/a%2Fb", "a/b", id="single-decodes-2F"),
        pytest.param("/v1/{name}:go", "/v1/a:b:go", "a:b", id="verb-after-colons"),
        pytest.param("/v1/{name}", "/v1/", None, id="empty-segment-no-match"),
        pytest.param("/v1/{p=**}", "/v1", "", id="deep-matches-nothing"),
        pytest.param("/v1/%7Ex/{n}", "/v1/~x/1", "1", id="decoded-literal"),
    ],
)
def test_decoding_rules(source: str, path: str, expected: str | None) -> None:
    bindings = match_template(compiled(source), RequestPath(path))
    assert (bindings[0][1] if bindings else None) == expected


def test_malformed_escapes_are_400() -> None:
    with pytest.raises(GatewayError, match="malformed percent-encoding"):
        RequestPath("/v1/%G0")
    with pytest.raises(GatewayError, match="not valid UTF-8"):
        RequestPath("/v1/%FF")
