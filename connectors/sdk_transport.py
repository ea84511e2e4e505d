"""Route an OpenAPI-Generator SDK (hubspot-api-client) through leadbridge's HTTP layer.

Generated SDKs build requests, serialise models and deserialise answers well, but their
transport (urllib3, with its own retries and auth headers) would bypass everything
`core.http.HttpClient` owns: pacing, retries with jitter, classification, counting,
redaction and JSON validation. `OpenApiRestAdapter` replaces the generated
``api_client.rest_client`` so the SDK keeps its models while every byte goes through
our client; `openapi_api_factory` plugs it into hubspot-api-client's ``api_factory`` hook
(hubspot/discovery/discovery_base.py).

Our errors raised inside the adapter pass through the SDK untouched; whatever vendor
exception still escapes (a deserialiser's ``TypeError``, an ``ApiValueError``) becomes a
one-line `MalformedResponse` in `map_exceptions`.

    >>> factory = openapi_api_factory(http, category="read")  # doctest: +SKIP
    >>> hubspot.Client(api_factory=factory).crm.contacts.search_api  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import httpx

from leadbridge.core.errors import LeadbridgeError, MalformedResponse, NetworkError
from leadbridge.core.http import Category, HttpClient
from leadbridge.core.redaction import redact

__all__ = [
    "BucketChooser",
    "OpenApiRestAdapter",
    "SdkResponse",
    "map_exceptions",
    "openapi_api_factory",
]

BucketChooser = Callable[[str, str], str]
"""(method, url) -> rate-limit bucket name."""

_DROPPED_HEADERS = frozenset({"authorization", "cookie", "content-length", "host"})


def _default_bucket(method: str, url: str) -> str:
    return "default"


class SdkResponse:
    """What the generated ``ApiClient`` reads from a response (``RESTResponse``'s shape)."""

    def __init__(self, status: int, reason: str, data: bytes, headers: Mapping[str, str]) -> None:
        self.status = status
        self.reason = reason
        self.data: bytes | str = data
        self._headers = dict(headers)

    def getheaders(self) -> dict[str, str]:
        """All response headers (lower-cased names)."""
        return dict(self._headers)

    def getheader(self, name: str, default: str | None = None) -> str | None:
        """One header, case-insensitively."""
        return self._headers.get(name.lower(), default)


class OpenApiRestAdapter:
    """A drop-in ``rest_client`` for OpenAPI-Generator SDKs that sends via `HttpClient`.

    `category` tags every call for the call counter; `bucket_for` picks the rate-limit
    bucket from method and URL. The SDK's own ``Authorization`` header is dropped: auth
    is the `httpx.Auth` installed on the `HttpClient`.
    """

    def __init__(
        self,
        http: HttpClient,
        *,
        category: Category,
        bucket_for: BucketChooser = _default_bucket,
    ) -> None:
        self.http = http
        self.category: Category = category
        self.bucket_for = bucket_for

    def request(
        self,
        method: str,
        url: str,
        query_params: Sequence[tuple[str, Any]] | Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        post_params: Sequence[tuple[str, Any]] | None = None,
        _preload_content: bool = True,
        _request_timeout: float | tuple[float, float] | None = None,
    ) -> SdkResponse:
        """Send one SDK request through the HTTP layer (timeouts are the layer's)."""
        method = method.upper()
        sent_headers = {
            k: v for k, v in (headers or {}).items() if k.lower() not in _DROPPED_HEADERS
        }
        content_type = sent_headers.get("Content-Type", "application/json")
        params = _query(query_params)
        json_body: Any = None
        data: dict[str, Any] | None = None
        content: bytes | None = None
        if method not in ("GET", "HEAD"):
            if post_params:
                data = _form(post_params)
                sent_headers.pop("Content-Type", None)
            elif isinstance(body, bytes | str):
                content = body.encode() if isinstance(body, str) else body
            elif body is not None and "json" in content_type.lower():
                json_body = body
        response = self.http.send(
            method,
            url,
            params=params,
            json=json_body,
            data=data,
            content=content,
            headers=sent_headers,
            bucket=self.bucket_for(method, url),
            category=self.category,
            parse=True,
        )
        return SdkResponse(
            response.status, _reason(response.status), response.body, response.headers
        )

    def GET(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        query_params: Any = None,
        _preload_content: bool = True,
        _request_timeout: Any = None,
    ) -> SdkResponse:
        return self.request("GET", url, query_params, headers)

    def HEAD(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        query_params: Any = None,
        _preload_content: bool = True,
        _request_timeout: Any = None,
    ) -> SdkResponse:
        return self.request("HEAD", url, query_params, headers)

    def OPTIONS(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        query_params: Any = None,
        post_params: Any = None,
        body: Any = None,
        _preload_content: bool = True,
        _request_timeout: Any = None,
    ) -> SdkResponse:
        return self.request("OPTIONS", url, query_params, headers, body, post_params)

    def DELETE(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        query_params: Any = None,
        body: Any = None,
        _preload_content: bool = True,
        _request_timeout: Any = None,
    ) -> SdkResponse:
        return self.request("DELETE", url, query_params, headers, body)

    def POST(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        query_params: Any = None,
        post_params: Any = None,
        body: Any = None,
        _preload_content: bool = True,
        _request_timeout: Any = None,
    ) -> SdkResponse:
        return self.request("POST", url, query_params, headers, body, post_params)

    def PUT(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        query_params: Any = None,
        post_params: Any = None,
        body: Any = None,
        _preload_content: bool = True,
        _request_timeout: Any = None,
    ) -> SdkResponse:
        return self.request("PUT", url, query_params, headers, body, post_params)

    def PATCH(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        query_params: Any = None,
        post_params: Any = None,
        body: Any = None,
        _preload_content: bool = True,
        _request_timeout: Any = None,
    ) -> SdkResponse:
        return self.request("PATCH", url, query_params, headers, body, post_params)


def openapi_api_factory(
    http: HttpClient,
    *,
    category: Category,
    bucket_for: BucketChooser = _default_bucket,
    sdk_distribution: str = "hubspot-api-client",
) -> Callable[[ModuleType, str, Mapping[str, Any]], Any]:
    """An ``api_factory`` for hubspot-api-client's discovery that uses our transport.

    The SDK's configuration keys (``access_token``, ``retry``...) are ignored on purpose:
    auth and retries belong to the `HttpClient`.
    """
    host = str(http.base_url).rstrip("/")
    agent = _sdk_user_agent(sdk_distribution)

    def factory(package: ModuleType, api_name: str, config: Mapping[str, Any]) -> Any:
        configuration = package.Configuration()
        configuration.host = host
        api_client = package.ApiClient(configuration=configuration)
        api_client.rest_client = OpenApiRestAdapter(http, category=category, bucket_for=bucket_for)
        api_client.user_agent = agent
        return getattr(package, api_name)(api_client=api_client)

    return factory


@contextmanager
def map_exceptions(connector: str, what: str) -> Iterator[None]:
    """Translate whatever a vendor SDK lets escape into our tree, once, at the boundary.

    Our own errors pass through unchanged. Deserialisation failures (the body was valid
    JSON but not the promised shape) become `MalformedResponse` with a one-line reason.
    """
    try:
        yield
    except LeadbridgeError:
        raise
    except httpx.HTTPError as exc:
        raise NetworkError(
            f"{what}: network failure ({type(exc).__name__})", connector=connector
        ) from exc
    except Exception as exc:
        raise MalformedResponse(
            f"{what}: the response does not match the API's schema "
            f"({type(exc).__name__}: {_one_line(exc)})",
            connector=connector,
        ) from exc


def _one_line(exc: BaseException, limit: int = 160) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason) if isinstance(reason, str) and reason else str(exc)
    text = " ".join(redact(text).split())
    return text[:limit] + ("…" if len(text) > limit else "")


def _query(params: Sequence[tuple[str, Any]] | Mapping[str, Any] | None) -> httpx.QueryParams:
    items = params.items() if isinstance(params, Mapping) else (params or [])
    out: list[tuple[str, Any]] = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        out.append((key, value))
    return httpx.QueryParams(out)


def _form(params: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    form: dict[str, Any] = {}
    for key, value in params:
        if key in form:
            prior = form[key]
            form[key] = [*prior, value] if isinstance(prior, list) else [prior, value]
        else:
            form[key] = value
    return form


def _reason(status: int) -> str:
    try:
        return str(httpx.codes(status).name).replace("_", " ").title()
    except ValueError:
        return ""


def _sdk_user_agent(distribution: str) -> str:
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return f"leadbridge ({distribution}; {version})"
