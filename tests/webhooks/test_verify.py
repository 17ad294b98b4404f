"""Verifying the secret header: missing, wrong, right; the secret and the value never show."""

from __future__ import annotations

import logging
import pickle
import traceback
from collections.abc import Callable

import pytest
from multidict import CIMultiDict

from chirp_async import ChirpError
from chirp_async.webhooks import (
    DEFAULT_HEADER_NAME,
    WebhookSecret,
    WebhookVerificationError,
    parse_event,
    verify,
)

from .payloads import EXAMPLE_BODY, SECRET

WRONG = "whsec-" + "ALMOSTRIGHT" + "k3y9Xq2Lm7Vb"


def rendered(exc: BaseException) -> str:
    """What a traceback reporter could show of the SDK's frames: message, repr, locals.

    The test's own frame (first in the traceback) holds the values on purpose: skip it.
    """
    assert exc.__traceback__ is not None
    frames = exc.__traceback__.tb_next
    assert frames is not None
    stack = traceback.TracebackException(type(exc), exc, frames, capture_locals=True)
    text = "".join(stack.format())
    assert "chirp_async/webhooks/" in text
    return text + repr(exc) + str(exc)


def assert_hidden(text: str) -> None:
    for fragment in (SECRET, "WEBHOOKSECRET", WRONG, "ALMOSTRIGHT"):
        assert fragment not in text, f"{fragment!r} leaked into: {text[:3000]}"


def test_the_right_secret_passes_whatever_the_header_case() -> None:
    verify({"X-Webhook-Secret": SECRET}, secret=SECRET)
    verify({"x-webhook-secret": SECRET}, secret=SECRET)
    verify(CIMultiDict({"X-WEBHOOK-SECRET": SECRET}), secret=SECRET)
    verify({"Authorization-Token": SECRET}, secret=SECRET.encode(), name="authorization-token")
    assert DEFAULT_HEADER_NAME == "X-Webhook-Secret"


@pytest.mark.parametrize(
    ("headers", "reason", "problem"),
    [
        ({}, "missing", "is missing"),
        ({"X-Other": SECRET}, "missing", "is missing"),
        ({"X-Webhook-Secret": WRONG}, "mismatch", "does not match"),
        ({"X-Webhook-Secret": ""}, "mismatch", "does not match"),
        ({"X-Webhook-Secret": SECRET + " "}, "mismatch", "does not match"),
        ({"X-Webhook-Secret": SECRET[:-1]}, "mismatch", "does not match"),
    ],
)
def test_a_missing_or_wrong_header_raises_without_showing_either_value(
    headers: dict[str, str], reason: str, problem: str
) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(headers, secret=SECRET)

    error = caught.value
    assert (error.reason, error.header_name) == (reason, "X-Webhook-Secret")
    assert f"header 'X-Webhook-Secret' {problem}" in str(error)
    assert isinstance(error, ChirpError)
    assert_hidden(rendered(error))


def test_parse_event_verifies_before_looking_at_the_body_and_hides_values() -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        parse_event(b"not json", {"X-Webhook-Secret": WRONG}, secret=SECRET)

    assert caught.value.reason == "mismatch"
    assert_hidden(rendered(caught.value))


@pytest.mark.parametrize(
    "call",
    [
        lambda: verify({"X-Webhook-Secret": WRONG}, secret=WebhookSecret(SECRET)),
        lambda: parse_event(EXAMPLE_BODY, {}, secret=WebhookSecret(SECRET)),
    ],
)
def test_a_webhook_secret_object_hides_itself_in_tracebacks_too(call: Callable[[], object]) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        call()

    assert_hidden(rendered(caught.value))


def test_webhook_secret_is_masked_and_cannot_be_pickled() -> None:
    secret = WebhookSecret(SECRET, "previous-secret")

    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}"):
        assert text == "WebhookSecret('***', '***')"
    assert not any(SECRET.encode() in value for value in secret._digests)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)


def test_previous_secrets_are_accepted_while_rotating() -> None:
    secret = WebhookSecret("new-secret", "old-secret")

    verify({"X-Webhook-Secret": "old-secret"}, secret=secret)
    verify({"X-Webhook-Secret": "new-secret"}, secret=secret)
    assert secret.matches(b"new-secret")
    with pytest.raises(WebhookVerificationError):
        verify({"X-Webhook-Secret": "older-secret"}, secret=secret)


@pytest.mark.parametrize(
    ("values", "error"),
    [(("",), ValueError), ((b"",), ValueError), (("ok", ""), ValueError), ((7,), TypeError)],
)
def test_empty_or_non_string_secrets_are_refused(
    values: tuple[object, ...], error: type[Exception]
) -> None:
    with pytest.raises(error, match="webhook secret"):
        WebhookSecret(*values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("secret", "error"), [("", ValueError), (None, TypeError)])
def test_verify_refuses_an_empty_or_missing_secret(secret: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="webhook secret"):
        verify({"X-Webhook-Secret": ""}, secret=secret)  # type: ignore[arg-type]


def test_header_values_that_are_not_utf8_compare_as_bytes() -> None:
    raw = b"caf\xe9-secret"
    received = raw.decode("utf-8", "surrogateescape")

    verify({"X-Webhook-Secret": received}, secret=raw)
    assert not WebhookSecret(raw).matches("café-secret")


def test_logging_an_error_shows_neither_value(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.webhooks")
    with caplog.at_level(logging.DEBUG, logger="tests.webhooks"):
        try:
            verify({"X-Webhook-Secret": WRONG}, secret=SECRET)
        except WebhookVerificationError:
            logger.exception("rejected")

    assert len(caplog.records) == 1
    assert_hidden(caplog.text)
