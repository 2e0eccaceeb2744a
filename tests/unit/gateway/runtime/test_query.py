"""Query parsing into request messages: Go scalar rules, WKTs, fuzzing with hypothesis."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.gateway.runtime.errors import GatewayError
from services.gateway.runtime.fields import ConversionError, parse_duration
from services.gateway.runtime.query import parse_query_string, populate_query
from tests.gateway_protos.build import probe_modules


def parse(query: str, excluded: tuple[tuple[str, ...], ...] = ()) -> Any:
    pb, _, _ = probe_modules()
    message = pb.Probe()
    populate_query(message, parse_query_string(query), excluded)
    return message


@given(value=st.integers(-(2**31), 2**31 - 1))
def test_int32_round_trip(value: int) -> None:
    assert parse(f"i32={value}").i32 == value


@given(value=st.one_of(st.integers(max_value=-(2**31) - 1), st.integers(min_value=2**31)))
def test_int32_out_of_range(value: int) -> None:
    with pytest.raises(GatewayError, match="out of range for int32"):
        parse(f"i32={value}")


@given(value=st.integers(0, 2**64 - 1))
def test_uint64_round_trip(value: int) -> None:
    assert parse(f"u64={value}").u64 == value


@given(tags=st.lists(st.text(max_size=10), max_size=5), name=st.text(max_size=20))
def test_strings_and_repeats_round_trip(tags: list[str], name: str) -> None:
    query = urllib.parse.urlencode([("name", name), *(("tags", t) for t in tags)])
    message = parse(query)
    assert list(message.tags) == tags
    assert message.name == name


@settings(max_examples=300)
@given(query=st.text(max_size=60))
def test_arbitrary_queries_parse_or_fail_with_400(query: str) -> None:
    try:
        parse(query)
    except GatewayError as exc:
        code = exc.status.code
    else:
        code = 0
    assert code in (0, 3)


@given(seconds=st.integers(0, 10**6), nanos=st.integers(0, 999_999_999))
def test_go_durations(seconds: int, nanos: int) -> None:
    assert parse_duration(f"{seconds}s{nanos}ns") == (seconds, nanos)
    assert parse_duration(f"-{seconds}.{nanos:09d}s") == (-seconds, -nanos)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", (3600, 0)),
        ("1.5s", (1, 500_000_000)),
        ("300ms", (0, 300_000_000)),
        ("2h45m", (9900, 0)),
        ("1us", (0, 1000)),
        ("0", (0, 0)),
        (".5s", (0, 500_000_000)),
    ],
)
def test_duration_table(text: str, expected: tuple[int, int]) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "s", "1x", "1.s.", "--1s", "1h-2m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConversionError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("spelling", "value"),
    [(s, True) for s in ("1", "t", "T", "TRUE", "true", "True")]
    + [(s, False) for s in ("0", "f", "F", "FALSE", "false", "False")],
)
def test_go_bool_spellings(spelling: str, value: bool) -> None:
    message = parse(f"flag={spelling}&i32=1")
    assert message.flag is value


def test_excluded_paths_are_skipped_in_both_spellings() -> None:
    message = parse(
        "inner.id=q&json_named=a&customJson=b&i32=3", excluded=(("inner",), ("json_named",))
    )
    assert not message.HasField("inner")
    assert message.json_named == ""
    assert message.i32 == 3


def test_map_needs_one_value_per_key() -> None:
    with pytest.raises(GatewayError, match="more than one value provided for key 'a'"):
        parse("labels[a]=1&labels[a]=2")
