"""Client construction: key, base URL, options, headers and their validation."""

from __future__ import annotations

import math
from typing import Any

import pytest

from chirp_async import (
    AsyncChirp,
    ChirpError,
    ConfigurationError,
    InsecureBaseURLError,
    RetryPolicy,
    Timeout,
)
from chirp_async.defaults import BASE_URL as DEFAULT_BASE_URL

LIVE_KEY = "sk_live_app_" + "L" * 27
ADMIN_KEY = "sk_admin_" + "ADMINSECRET" + "x7" * 10


# --- API key -------------------------------------------------------------------------------


def test_key_from_argument_is_used(api_key: str) -> None:
    client = AsyncChirp(api_key)
    assert client._config.api_key.reveal() == api_key


def test_key_from_keyword_argument_is_used(api_key: str) -> None:
    client = AsyncChirp(api_key=api_key)
    assert client._config.api_key.reveal() == api_key


def test_key_from_environment_is_used(monkeypatch: pytest.MonkeyPatch, api_key: str) -> None:
    monkeypatch.setenv("CHIRP_API_KEY", api_key)
    client = AsyncChirp()
    assert client._config.api_key.reveal() == api_key


def test_key_argument_wins_over_environment(monkeypatch: pytest.MonkeyPatch, api_key: str) -> None:
    monkeypatch.setenv("CHIRP_API_KEY", LIVE_KEY)
    client = AsyncChirp(api_key)
    assert client._config.api_key.reveal() == api_key


def test_missing_key_raises_chirp_error_naming_env_var() -> None:
    with pytest.raises(ChirpError) as info:
        AsyncChirp()
    assert type(info.value) is ConfigurationError
    assert "CHIRP_API_KEY" in str(info.value)
    assert "api_key=" in str(info.value)


def test_empty_env_key_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIRP_API_KEY", "")
    with pytest.raises(ChirpError, match="CHIRP_API_KEY"):
        AsyncChirp()


def test_admin_key_argument_is_rejected_without_echoing_it() -> None:
    with pytest.raises(ChirpError) as info:
        AsyncChirp(ADMIN_KEY)
    message = str(info.value)
    assert type(info.value) is ConfigurationError
    assert "admin key" in message
    assert "sk_live_app_" in message
    assert "sk_test_app_" in message
    assert ADMIN_KEY not in message
    assert "ADMINSECRET" not in message
    assert ADMIN_KEY not in repr(info.value)


def test_admin_key_from_environment_is_rejected_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHIRP_API_KEY", ADMIN_KEY)
    with pytest.raises(ChirpError) as info:
        AsyncChirp()
    assert "CHIRP_API_KEY" in str(info.value)
    assert "admin key" in str(info.value)
    assert "ADMINSECRET" not in str(info.value)


@pytest.mark.parametrize(
    "bad_key",
    [
        "sk_test_app_UNITSECRET abc",
        "sk_test_app_UNITSECRETabc\n",
        "\tsk_test_app_UNITSECRETabc",
        "sk_test_app_UNITSECRET\r\nX-Injected: 1",
        "sk_test_app_UNITSECRET\x00abc",
        "sk_test_app_UNITSECRETÄbc",
        "sk_test_app_UNITSECRET\u00a0abc",
    ],
)
def test_key_with_whitespace_or_control_chars_is_rejected_without_echoing_it(
    bad_key: str,
) -> None:
    with pytest.raises(ConfigurationError, match=r"^api_key contains whitespace") as info:
        AsyncChirp(bad_key)
    assert "UNITSECRET" not in str(info.value)
    assert "UNITSECRET" not in repr(info.value)


def test_env_key_with_trailing_newline_is_rejected_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHIRP_API_KEY", "sk_test_app_UNITSECRETabc\n")
    with pytest.raises(
        ConfigurationError, match=r"^the CHIRP_API_KEY environment variable contains"
    ) as info:
        AsyncChirp()
    assert "UNITSECRET" not in str(info.value)


def test_empty_key_argument_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match=r"^api_key is empty: set it to an app key"):
        AsyncChirp("")


@pytest.mark.parametrize("bad_key", [123, b"sk_test_app_abc", ["sk_test_app_abc"]])
def test_non_str_key_raises_type_error(bad_key: object) -> None:
    with pytest.raises(TypeError, match=r"^api_key must be a str, got "):
        AsyncChirp(bad_key)  # type: ignore[arg-type]


# --- base URL ------------------------------------------------------------------------------


def test_default_base_url(api_key: str) -> None:
    assert AsyncChirp(api_key).base_url == "https://api.buildwithchirp.com"
    assert DEFAULT_BASE_URL == "https://api.buildwithchirp.com"


def test_base_url_from_environment(monkeypatch: pytest.MonkeyPatch, api_key: str) -> None:
    monkeypatch.setenv("CHIRP_BASE_URL", "https://eu.example.com")
    assert AsyncChirp(api_key).base_url == "https://eu.example.com"


def test_base_url_argument_wins_over_environment(
    monkeypatch: pytest.MonkeyPatch, api_key: str
) -> None:
    monkeypatch.setenv("CHIRP_BASE_URL", "https://eu.example.com")
    assert AsyncChirp(api_key, base_url="https://us.example.com").base_url == (
        "https://us.example.com"
    )


def test_invalid_base_url_from_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, api_key: str
) -> None:
    monkeypatch.setenv("CHIRP_BASE_URL", "ftp://files.example.com")
    with pytest.raises(
        ConfigurationError, match=r"^the CHIRP_BASE_URL environment variable must be"
    ):
        AsyncChirp(api_key)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://api.example.com/", "https://api.example.com"),
        ("https://api.example.com/prefix/", "https://api.example.com/prefix"),
        ("https://api.example.com/prefix", "https://api.example.com/prefix"),
        ("https://api.example.com:8443/", "https://api.example.com:8443"),
    ],
)
def test_base_url_trailing_slash_is_stripped(api_key: str, given: str, expected: str) -> None:
    assert AsyncChirp(api_key, base_url=given).base_url == expected


@pytest.mark.parametrize(
    ("base_url", "pattern"),
    [
        ("ftp://x", r"^base_url must be an absolute http\(s\) URL .*got 'ftp://x'$"),
        ("https://", r"^base_url must be an absolute http\(s\) URL .*got 'https://'$"),
        ("https:///v1", r"^base_url must be an absolute http\(s\) URL"),
        (
            "api.example.com",
            r"^base_url has no scheme: 'api.example.com'; write the URL in full, "
            r"e.g. 'https://api.example.com'$",
        ),
        ("//api.example.com", r"^base_url has no scheme: .*'https://api.example.com'$"),
        ("127.0.0.1:1", r"^base_url has no scheme: .*e.g. 'http://127.0.0.1:1'$"),
        ("https://api.buildwithchirp.com/v1", r"^base_url ends in '/v1': drop the '/v1'"),
        ("https://api.buildwithchirp.com/v1/", r"^base_url ends in '/v1': drop the '/v1'"),
        ("https://api.example.com/?region=eu", r"^base_url must not carry .*a query"),
        ("https://api.example.com/#top", r"^base_url must not carry .*a fragment"),
        ("https://user:pw@api.example.com", r"^base_url must not carry credentials"),
        ("http://api.example.com", r"^base_url 'http://api.example.com' is plain http"),
    ],
)
def test_malformed_base_url_raises_value_error_naming_it(
    api_key: str, base_url: str, pattern: str
) -> None:
    with pytest.raises(ConfigurationError, match=pattern):
        AsyncChirp(api_key, base_url=base_url)


def test_plain_http_rejection_explains_allow_insecure_http(api_key: str) -> None:
    with pytest.raises(ConfigurationError, match="allow_insecure_http=True"):
        AsyncChirp(api_key, base_url="http://chirp.internal")


def test_plain_http_to_remote_host_allowed_with_opt_in(api_key: str) -> None:
    client = AsyncChirp(api_key, base_url="http://chirp.internal/", allow_insecure_http=True)
    assert client.base_url == "http://chirp.internal"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://127.0.0.1", "http://127.0.0.1"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_plain_http_to_loopback_is_allowed(api_key: str, base_url: str, expected: str) -> None:
    assert AsyncChirp(api_key, base_url=base_url).base_url == expected


def test_non_str_base_url_raises_type_error(api_key: str) -> None:
    with pytest.raises(TypeError, match=r"^base_url must be a str, got int$"):
        AsyncChirp(api_key, base_url=443)  # type: ignore[arg-type]


# --- numeric options and types -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc_type", "pattern"),
    [
        ({"timeout": -1}, ConfigurationError, r"^timeout must be a positive, finite number"),
        ({"timeout": 0}, ConfigurationError, r"^timeout must be a positive, finite number"),
        ({"timeout": math.nan}, ConfigurationError, r"^timeout must be a positive, finite number"),
        ({"timeout": math.inf}, ConfigurationError, r"^timeout must be a positive, finite number"),
        ({"timeout": "5"}, TypeError, r"^timeout must be a number of seconds or None, got '5'$"),
        ({"timeout": True}, TypeError, r"^timeout must be a number of seconds or None"),
        ({"max_retries": -1}, ConfigurationError, r"^max_retries must be >= 0, got -1$"),
        ({"max_retries": 1.5}, TypeError, r"^max_retries must be an int, got 1.5$"),
        ({"max_retries": "2"}, TypeError, r"^max_retries must be an int"),
        ({"max_retries": True}, TypeError, r"^max_retries must be an int"),
        ({"max_connections": 0}, ConfigurationError, r"^max_connections must be >= 1, got 0$"),
        ({"max_connections": -5}, ConfigurationError, r"^max_connections must be >= 1"),
        ({"max_connections": 10.0}, TypeError, r"^max_connections must be an int"),
        ({"max_connections": True}, TypeError, r"^max_connections must be an int"),
        ({"trust_env": "yes"}, TypeError, r"^trust_env must be a bool"),
        ({"retry_policy": {"initial_delay": 1}}, TypeError, r"^retry_policy must be a RetryPolicy"),
        ({"session": object()}, TypeError, r"^session must be an aiohttp.ClientSession"),
        ({"session": "session"}, TypeError, r"^session must be an aiohttp.ClientSession"),
    ],
)
def test_invalid_option_raises_error_naming_the_argument(
    api_key: str, kwargs: dict[str, Any], exc_type: type[Exception], pattern: str
) -> None:
    with pytest.raises(exc_type, match=pattern) as info:
        AsyncChirp(api_key, **kwargs)
    assert type(info.value) is exc_type


def test_defaults(api_key: str) -> None:
    client = AsyncChirp(api_key)
    assert client.timeout == Timeout(total=30.0, connect=None)
    assert client.max_retries == 2
    assert client._config.max_connections == 100
    assert client._config.trust_env is False
    assert client._config.retry_policy == RetryPolicy()
    assert dict(client._config.default_headers) == {}


def test_number_timeout_becomes_total_limit(api_key: str) -> None:
    client = AsyncChirp(api_key, timeout=5)
    assert client.timeout == Timeout(total=5.0, connect=None)
    assert type(client.timeout.total) is float


def test_none_timeout_disables_the_limit(api_key: str) -> None:
    assert AsyncChirp(api_key, timeout=None).timeout == Timeout(total=None, connect=None)


def test_timeout_object_is_kept(api_key: str) -> None:
    limits = Timeout(10.0, connect=2.0)
    assert AsyncChirp(api_key, timeout=limits).timeout is limits


def test_max_retries_zero_is_allowed(api_key: str) -> None:
    assert AsyncChirp(api_key, max_retries=0).max_retries == 0


# --- Timeout -------------------------------------------------------------------------------


def test_timeout_defaults() -> None:
    assert Timeout() == Timeout(total=30.0, connect=None)
    assert repr(Timeout(10.0, connect=2.0)) == "Timeout(total=10.0, connect=2.0)"


@pytest.mark.parametrize(
    ("kwargs", "exc_type", "pattern"),
    [
        ({"total": "5"}, TypeError, r"^Timeout.total must be a number of seconds or None"),
        ({"total": True}, TypeError, r"^Timeout.total must be a number of seconds or None"),
        ({"total": 0}, ConfigurationError, r"^Timeout.total must be a positive, finite number"),
        ({"total": -1.0}, ConfigurationError, r"^Timeout.total must be a positive, finite number"),
        (
            {"total": math.inf},
            ConfigurationError,
            r"^Timeout.total must be a positive, finite number",
        ),
        ({"connect": [1]}, TypeError, r"^Timeout.connect must be a number of seconds or None"),
        (
            {"connect": 0.0},
            ConfigurationError,
            r"^Timeout.connect must be a positive, finite number",
        ),
        ({"connect": math.nan}, ConfigurationError, r"^Timeout.connect must be a positive, finite"),
    ],
)
def test_timeout_validates_its_fields(
    kwargs: dict[str, Any], exc_type: type[Exception], pattern: str
) -> None:
    with pytest.raises(exc_type, match=pattern):
        Timeout(**kwargs)


def test_timeout_is_frozen() -> None:
    limits = Timeout()
    with pytest.raises(AttributeError):
        limits.total = 1.0  # type: ignore[misc]


# --- default headers -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Authorization", "authorization", "AUTHORIZATION"])
def test_default_headers_may_not_set_authorization(api_key: str, name: str) -> None:
    with pytest.raises(
        ConfigurationError, match=r"^default_headers may not set .*pass the key as api_key"
    ):
        AsyncChirp(api_key, default_headers={name: "Bearer other"})


@pytest.mark.parametrize("name", ["Host", "Content-Length"])
def test_default_headers_may_not_set_transport_headers(api_key: str, name: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"^default_headers may not set '{name}'"):
        AsyncChirp(api_key, default_headers={name: "1"})


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Trace": "a\r\nX-Injected: 1"},
        {"X-Trace": "a\nb"},
        {"X-Trace": "a\rb"},
        {"X-Trace": "a\x00b"},
        {"X-Trace\r\nX-Injected": "1"},
        {" ": "1"},
        {"": "1"},
    ],
)
def test_default_headers_with_cr_lf_or_empty_name_are_rejected(
    api_key: str, headers: dict[str, str]
) -> None:
    with pytest.raises(
        ConfigurationError, match=r"^default_headers entry .* is not a valid header$"
    ):
        AsyncChirp(api_key, default_headers=headers)


@pytest.mark.parametrize("headers", [{"X-Count": 1}, {1: "x"}, {"X-Raw": b"x"}])
def test_default_headers_must_map_str_to_str(api_key: str, headers: dict[Any, Any]) -> None:
    with pytest.raises(TypeError, match=r"^default_headers must map str to str"):
        AsyncChirp(api_key, default_headers=headers)


def test_default_headers_must_be_a_mapping(api_key: str) -> None:
    with pytest.raises(TypeError, match=r"^default_headers must be a mapping"):
        AsyncChirp(api_key, default_headers=[("X-A", "1")])  # type: ignore[arg-type]


def test_default_headers_are_copied(api_key: str) -> None:
    headers = {"X-Team": "voice"}
    client = AsyncChirp(api_key, default_headers=headers)
    headers["X-Team"] = "changed"
    assert dict(client._config.default_headers) == {"X-Team": "voice"}


# --- with_options --------------------------------------------------------------------------


def test_with_options_returns_client_with_new_options_sharing_the_pool(api_key: str) -> None:
    client = AsyncChirp(api_key, default_headers={"X-Team": "voice"})
    clone = client.with_options(timeout=120.0, max_retries=5)
    assert clone is not client
    assert isinstance(clone, AsyncChirp)
    assert clone._shared.pool is client._shared.pool
    assert clone.timeout == Timeout(total=120.0, connect=None)
    assert clone.max_retries == 5
    assert clone._transport.config.max_retries == 5
    assert clone._transport.config.timeout == Timeout(total=120.0, connect=None)
    # One configuration object; the shared state (pool, limiter, budget, counters) is one.
    assert clone.config == client.config.with_call_options(
        timeout=120.0, max_retries=5, changed=frozenset({"timeout", "max_retries"})
    )
    assert clone._shared is client._shared
    assert clone.base_url == client.base_url
    assert clone._config.api_key == client._config.api_key
    assert dict(clone._config.default_headers) == {"X-Team": "voice"}
    # The original is unchanged.
    assert client.timeout == Timeout(total=30.0, connect=None)
    assert client.max_retries == 2
    assert client._transport.config.max_retries == 2


def test_with_options_without_arguments_keeps_options(api_key: str) -> None:
    client = AsyncChirp(api_key, timeout=7, max_retries=4)
    clone = client.with_options()
    assert clone.timeout == Timeout(total=7.0)
    assert clone.max_retries == 4
    assert clone._shared.pool is client._shared.pool


def test_with_options_timeout_none_disables_the_limit(api_key: str) -> None:
    clone = AsyncChirp(api_key).with_options(timeout=None)
    assert clone.timeout == Timeout(total=None, connect=None)


def test_with_options_accepts_a_timeout_object(api_key: str) -> None:
    limits = Timeout(3.0, connect=1.0)
    assert AsyncChirp(api_key).with_options(timeout=limits).timeout is limits


@pytest.mark.parametrize(
    ("kwargs", "exc_type", "pattern"),
    [
        ({"timeout": -1}, ConfigurationError, r"^timeout must be a positive"),
        ({"timeout": "5"}, TypeError, r"^timeout must be a number of seconds or None"),
        ({"max_retries": -1}, ConfigurationError, r"^max_retries must be >= 0"),
        ({"max_retries": 1.5}, TypeError, r"^max_retries must be an int"),
    ],
)
def test_with_options_validates_like_the_constructor(
    api_key: str, kwargs: dict[str, Any], exc_type: type[Exception], pattern: str
) -> None:
    client = AsyncChirp(api_key)
    with pytest.raises(exc_type, match=pattern):
        client.with_options(**kwargs)
    assert client.timeout == Timeout(total=30.0)
    assert client.max_retries == 2


@pytest.mark.parametrize(
    ("key", "where", "pattern"),
    [
        ("Bearer sk_test_app_abc", "argument", r"^api_key starts with 'Bearer ': drop it"),
        ("bearer sk_test_app_abc", "argument", r"^api_key starts with 'Bearer '"),
        (
            "Bearer sk_test_app_abc",
            "environment",
            r"^the CHIRP_API_KEY environment variable starts with 'Bearer ': drop it",
        ),
        ("", "argument", r"^api_key is empty"),
        ("sk_test_app_abc\n", "environment", r"^the CHIRP_API_KEY environment variable contains"),
    ],
)
def test_every_bad_key_is_a_configuration_error_naming_its_source(
    monkeypatch: pytest.MonkeyPatch, key: str, where: str, pattern: str
) -> None:
    if where == "environment":
        monkeypatch.setenv("CHIRP_API_KEY", key)
    with pytest.raises(ConfigurationError, match=pattern) as info:
        AsyncChirp(key if where == "argument" else None)
    assert isinstance(info.value, ValueError)  # code that caught ValueError still does
    assert "sk_test_app_abc" not in str(info.value)


def test_a_base_url_from_the_environment_is_named_as_such(
    monkeypatch: pytest.MonkeyPatch, api_key: str
) -> None:
    monkeypatch.setenv("CHIRP_BASE_URL", "127.0.0.1:8080")
    with pytest.raises(ConfigurationError, match=r"^the CHIRP_BASE_URL environment variable has"):
        AsyncChirp(api_key)


def test_plain_http_to_another_host_is_an_insecure_base_url_error(api_key: str) -> None:
    with pytest.raises(InsecureBaseURLError) as info:
        AsyncChirp(api_key, base_url="http://chirp.internal")
    assert isinstance(info.value, ConfigurationError)
    assert isinstance(info.value, ValueError)


def test_base_url_with_space_in_host_is_rejected(api_key: str) -> None:
    with pytest.raises(ValueError, match="invalid host name"):
        AsyncChirp(api_key, base_url="https:// bad host")
