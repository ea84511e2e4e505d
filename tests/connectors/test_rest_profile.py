"""REST profiles: bundled ones load, every mistake is one ConfigError naming file and key."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from leadbridge.connectors.rest import (
    PAGINATORS,
    available_profiles,
    from_settings,
    load_profile,
    parse_profile,
    parse_settings,
)
from leadbridge.connectors.rest.paging import pager_for
from leadbridge.connectors.rest.profile import (
    CursorPaging,
    NextLinkPaging,
    OffsetPaging,
    PagePaging,
)
from leadbridge.core.errors import ConfigError


def _boma_text() -> str:
    return resources.files("leadbridge.mappings").joinpath("boma.toml").read_text()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "crm.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> ConfigError:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert info.value.file == str(path)
    assert "\n" not in str(info.value)
    return info.value


def test_bundled_profiles_load() -> None:
    assert {"boma", "rest_example_pagenum"} <= set(available_profiles())
    boma = load_profile("boma")
    assert boma.crm.name == "boma"
    assert list(boma.streams) == ["leads", "activities", "messages", "deleted"]
    assert boma.auth.type == "oauth_client_credentials"
    assert boma.write is not None
    assert boma.write.path == "/leads/{lead_id}"
    example = load_profile("rest_example_pagenum")
    styles = {name: s.pagination.style for name, s in example.streams.items()}
    assert styles == {"contacts": "page", "events": "offset", "removed": "next_link"}
    assert example.auth.type == "api_key"


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    text = _boma_text().replace('cursor_field = "updated_at"', 'cursor_feild = "updated_at"', 1)
    error = _error(tmp_path, text)
    assert error.key == "streams.leads.cursor_feild"
    assert "unknown key" in error.reason
    assert str(tmp_path / "crm.toml") in str(error)


def test_bad_pagination_style_lists_the_known_ones(tmp_path: Path) -> None:
    text = _boma_text().replace('style = "cursor"', 'style = "pages"', 1)
    error = _error(tmp_path, text)
    assert error.key == "streams.leads.pagination.style"
    assert "'pages'" in error.reason
    for style in ("cursor", "page", "offset", "next_link"):
        assert style in error.reason


def test_unknown_key_inside_a_pagination_style(tmp_path: Path) -> None:
    text = _boma_text().replace('token_path = "meta.next_cursor"', 'token = "x"', 1)
    error = _error(tmp_path, text)
    assert error.key in ("streams.leads.pagination.token", "streams.leads.pagination.token_path")


def test_missing_base_url(tmp_path: Path) -> None:
    text = _boma_text().replace('base_url = "https://api.boma.example/v1"\n', "", 1)
    error = _error(tmp_path, text)
    assert error.key == "crm.base_url"
    assert "missing" in error.reason


def test_relative_base_url_is_refused(tmp_path: Path) -> None:
    text = _boma_text().replace("https://api.boma.example/v1", "api.boma.example", 1)
    assert _error(tmp_path, text).key == "crm.base_url"


def test_non_canonical_activity_kind(tmp_path: Path) -> None:
    text = _boma_text().replace('kind = "content_download"', 'kind = "pdf_download"', 1)
    error = _error(tmp_path, text)
    assert error.key == "streams.activities.activity.types.document_download.kind"
    assert "canonical" in error.reason


def test_unknown_key_in_a_field_rule(tmp_path: Path) -> None:
    text = _boma_text().replace(
        'job_status = { path = "job_status", type = "string" }',
        'job_status = { path = "job_status", kind = "string" }',
        1,
    )
    error = _error(tmp_path, text)
    assert error.key == "streams.leads.lead.custom.job_status.kind"


def test_write_field_must_be_canonical(tmp_path: Path) -> None:
    text = _boma_text().replace("[write.fields.leadbridge_tier]", "[write.fields.lb_tier]", 1)
    error = _error(tmp_path, text)
    assert error.key == "write"
    assert "lb_tier" in error.reason


def test_write_path_needs_one_placeholder(tmp_path: Path) -> None:
    text = _boma_text().replace('path = "/leads/{lead_id}"', 'path = "/leads"', 1)
    assert _error(tmp_path, text).key == "write.path"


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    error = _error(tmp_path, "[crm\nname = 1")
    assert "invalid TOML" in error.reason
    with pytest.raises(ConfigError) as info:
        load_profile(tmp_path / "absent.toml")
    assert info.value.key == "profile"


def test_unknown_bundled_profile_lists_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        load_profile("salesforce_rest")
    assert info.value.key == "profile"
    assert "boma" in info.value.reason


def test_messages_stream_must_exist() -> None:
    data = tomllib.loads(_boma_text())
    data["messages"]["stream"] = "inbox"
    with pytest.raises(ConfigError) as info:
        parse_profile(data, file="x.toml")
    assert info.value.key == "messages.stream"


def test_settings_errors_name_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"profile": "boma", "clientid": "x"}, file="conn.toml")
    assert info.value.key == "clientid"
    assert info.value.file == "conn.toml"
    monkeypatch.delenv("LEADBRIDGE_BOMA_CLIENT_SECRET", raising=False)
    with pytest.raises(ConfigError) as missing:
        from_settings({"profile": "boma", "client_id": "abc"}, file="conn.toml")
    assert missing.value.key == "client_secret"
    assert missing.value.file == "conn.toml"


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADBRIDGE_BOMA_CLIENT_SECRET", "from-env-secret")
    settings = parse_settings({"profile": "boma", "client_id": "abc"})
    assert settings.credentials("boma").client_secret == "from-env-secret"
    connector = from_settings({"profile": "boma", "client_id": "abc"})
    assert connector.name == "boma"
    connector.close()


def test_profile_path_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "mine.toml").write_text(
        resources.files("leadbridge.mappings").joinpath("rest_example_pagenum.toml").read_text()
    )
    connector = from_settings(
        {"profile": "profiles/mine.toml", "api_key": "k-123456"},
        file=str(tmp_path / "leadbridge.toml"),
    )
    assert connector.name == "rest_example"
    assert connector.streams() == ("contacts", "events", "removed")
    connector.close()


def test_paginator_registry_covers_every_style() -> None:
    assert set(PAGINATORS) == {"none", "cursor", "page", "offset", "next_link"}
    cursor = pager_for(CursorPaging(style="cursor", token_path="meta.next"), "data")
    assert cursor.first().params == {"limit": 100}
    assert cursor.request("abc").params == {"cursor": "abc", "limit": 100}
    assert cursor.paginator.advance({"data": [1], "meta": {"next": "abc"}}) == "abc"
    page = pager_for(PagePaging(style="page", size=2, total_pages_path="p.total"), "items")
    assert page.first().params == {"page": 1, "per_page": 2}
    assert page.paginator.advance({"items": [1, 2], "p": {"total": 3}}) == 2
    assert page.paginator.advance({"items": [3, 4], "p": {"total": 2}}) is None
    offset = pager_for(OffsetPaging(style="offset", limit=2, total_path="total"), "rows")
    assert offset.paginator.advance({"rows": [1, 2], "total": 5}) == 2
    assert offset.request(2).params == {"offset": 2, "limit": 2}
    link = pager_for(
        NextLinkPaging(style="next_link", path="links.next", limit_param="limit", limit=5), "r"
    )
    assert link.first().params == {"limit": 5}
    assert link.request("https://x/y?after=1").url == "https://x/y?after=1"
