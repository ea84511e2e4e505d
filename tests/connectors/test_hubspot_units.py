"""Narrow unit tests: search windowing order-independence, URL kinds, the SDK adapter."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from leadbridge.connectors.hubspot.activity import page_kind
from leadbridge.connectors.hubspot.client import search_bucket
from leadbridge.connectors.hubspot.search import IncrementalSearch
from leadbridge.connectors.sdk_transport import OpenApiRestAdapter, map_exceptions
from leadbridge.core.errors import MalformedResponse, NotFound
from leadbridge.core.http import HttpClient

BUY = ("/buy", "/checkout", "/acheter")


class FakeSearch:
    """A vendor search that, like HubSpot, does not order records sharing a timestamp."""

    def __init__(self, stamps: dict[str, int], cap: int, seed: int) -> None:
        self.stamps = stamps
        self.cap = cap
        self.seed = seed
        self.queries: list[tuple[tuple[tuple[str, str, str], ...], str]] = []

    def __call__(self, filters: Any, sort: str, after: str | None) -> Any:
        key = (tuple((f["propertyName"], f["operator"], f["value"]) for f in filters), sort)
        if after is None:
            self.queries.append(key)
        rows = [
            (i, ts) for i, ts in self.stamps.items() if all(self._ok(i, ts, f) for f in filters)
        ]
        if sort == "hs_object_id":
            rows.sort(key=lambda r: int(r[0]))
        else:
            # Ties come back in an arbitrary order that differs between queries (but is
            # stable while paging one query, as offset paging requires).
            random.Random(f"{self.seed}:{key}").shuffle(rows)
            rows.sort(key=lambda r: r[1])
        offset = int(after or 0)
        assert offset + 10 <= self.cap, "paged past the cap"
        page = rows[offset : offset + 10]
        results = [
            SimpleNamespace(id=i, properties={"lastmodifieddate": str(ts)}) for i, ts in page
        ]
        more = offset + 10 < len(rows)
        paging = SimpleNamespace(next=SimpleNamespace(after=str(offset + 10))) if more else None
        return SimpleNamespace(results=results, paging=paging)

    @staticmethod
    def _ok(record_id: str, ts: int, flt: dict[str, str]) -> bool:
        value = ts if flt["propertyName"] != "hs_object_id" else int(record_id)
        target = int(flt["value"])
        return {"GTE": value >= target, "GT": value > target, "EQ": value == target}[
            flt["operator"]
        ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_windows_return_each_record_once_whatever_the_tie_order(seed):
    rng = random.Random(seed)
    stamps = {str(100 + n): rng.choice([1000, 1000, 1000, 2000, 3000, 3000]) for n in range(175)}
    fake = FakeSearch(stamps, cap=40, seed=seed)
    search = IncrementalSearch(fetch=fake, cursor="lastmodifieddate", page_size=10, max_results=40)
    seen = [hit.id for page in search.pages(None) for hit in page]
    assert sorted(seen) == sorted(stamps)
    assert len(seen) == len(set(seen))
    assert any(op == "EQ" for filters, _ in fake.queries for _, op, _ in filters)  # pinned
    assert search.queries == len(fake.queries)


def test_windows_respect_since_and_keep_order():
    stamps = {str(100 + n): 1000 + n // 3 for n in range(90)}
    fake = FakeSearch(stamps, cap=30, seed=0)
    search = IncrementalSearch(fetch=fake, cursor="lastmodifieddate", page_size=10, max_results=30)
    hits = [hit for page in search.pages(1010) for hit in page]
    assert {h.id for h in hits} == {i for i, ts in stamps.items() if ts >= 1010}
    assert [h.at_ms for h in hits] == sorted(h.at_ms for h in hits)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://www.alpenlead.ch/", "page_view:home"),
        ("https://www.alpenlead.ch/fr/", "page_view:home"),
        ("https://www.alpenlead.ch/de/preise", "page_view:pricing"),
        ("https://www.alpenlead.ch/fr/tarifs", "page_view:pricing"),
        ("https://www.alpenlead.ch/blog/crm-scoring-basics", "page_view:blog"),
        ("https://www.alpenlead.ch/case-studies/banque-cantonale", "page_view:case_study"),
        ("https://www.alpenlead.ch/fr/demo", "page_view:demo"),
        ("https://www.alpenlead.ch/fr/acheter", "cta_click:buy"),
        ("https://www.alpenlead.ch/checkout?plan=pro", "cta_click:buy"),
        ("https://www.alpenlead.ch/about-us", "page_view:other"),
        (None, "page_view:home"),
    ],
)
def test_page_kinds(url, kind):
    assert page_kind(url, BUY) == kind


def test_search_requests_use_the_search_bucket():
    assert (
        search_bucket("POST", "https://api.hubapi.com/crm/v3/objects/contacts/search") == "search"
    )
    assert search_bucket("POST", "https://api.hubapi.com/crm/v3/objects/contacts/batch/update") == (
        "default"
    )
    assert search_bucket("GET", "https://api.hubapi.com/events/v3/events?x=/search") == "default"


def test_adapter_sends_through_http_client_without_sdk_auth():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/missing":
            return httpx.Response(404, json={"message": "gone", "category": "OBJECT_NOT_FOUND"})
        return httpx.Response(200, json={"ok": True}, headers={"X-Request-Id": "r-1"})

    http = HttpClient("hubspot", base_url="http://crm.test", transport=httpx.MockTransport(handler))
    adapter = OpenApiRestAdapter(http, category="write", bucket_for=lambda m, u: "default")
    response = adapter.POST(
        "http://crm.test/things",
        headers={"Authorization": "Bearer sdk-token", "Content-Type": "application/json"},
        query_params=[("archived", True), ("properties", "a"), ("properties", "b")],
        body={"inputs": [1]},
    )
    assert response.status == 200
    assert response.getheader("x-request-id") == "r-1"
    assert b'"ok"' in response.data
    sent = seen[-1]
    assert "sdk-token" not in str(sent.headers)
    assert sent.url.params.get_list("properties") == ["a", "b"]
    assert sent.url.params["archived"] == "true"
    assert sent.content == b'{"inputs":[1]}'
    assert http.counter.snapshot() == {"write": 1}
    with pytest.raises(NotFound):
        adapter.GET("http://crm.test/missing")
    http.close()


def test_map_exceptions_translates_vendor_errors_only():
    with pytest.raises(MalformedResponse) as info, map_exceptions("hubspot", "contacts search"):
        raise TypeError("Parser must be a string or character stream, not list")
    assert str(info.value).startswith("hubspot: contacts search: the response does not match")
    assert "\n" not in str(info.value)
    with pytest.raises(NotFound), map_exceptions("hubspot", "x"):
        raise NotFound("nope", connector="hubspot", status=404)
