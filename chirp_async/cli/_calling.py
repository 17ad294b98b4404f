"""``chirp-async calls create`` and ``chirp-async calls hangup``."""

from typing import Annotated

import msgspec
import typer

from chirp_async import AsyncChirp, Call, CommandResult

from ._api_run import exit_on_error, run_with_client, write_json_line
from ._runtime import EXIT_USAGE, report_error, state_of

__all__ = ["CallIdArgument", "create_call", "hangup_call"]

CallIdArgument = Annotated[
    str,
    typer.Argument(
        metavar="CALL_ID",
        help="The call ID, e.g. call_2DbBs7GWhGvVNJGrDXr5RG0mBWI.",
        show_default=False,
    ),
]
"""The ``CALL_ID`` argument of the commands that take one call."""


def _metadata(text: str | None) -> dict[str, object] | None:
    if text is None:
        return None
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        report_error(ValueError(f"--metadata is not JSON: {exc}"))
        raise typer.Exit(EXIT_USAGE) from None
    if not isinstance(value, dict):
        report_error(ValueError(f"--metadata must be a JSON object, got {type(value).__name__}"))
        raise typer.Exit(EXIT_USAGE)
    return value


def create_call(
    ctx: typer.Context,
    from_: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="ADDRESS",
            show_default=False,
            help="The caller: a number of the app's (E.164 for pstn, e.g. +15551234567).",
        ),
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to", metavar="ADDRESS", show_default=False, help="The callee (E.164 for pstn)."
        ),
    ],
    from_channel: Annotated[
        str, typer.Option(metavar="CHANNEL", help="pstn, whatsapp or webrtc.")
    ] = "pstn",
    to_channel: Annotated[
        str, typer.Option(metavar="CHANNEL", help="pstn, whatsapp or webrtc.")
    ] = "pstn",
    metadata: Annotated[
        str | None,
        typer.Option(
            metavar="JSON",
            show_default=False,
            help='A JSON object attached to the call, e.g. \'{"order": "A-1"}\'.',
        ),
    ] = None,
) -> None:
    """Place a call and print it as one JSON line (the API's camelCase).

    The request is sent at most once in effect: it is not retried after a timeout, a
    connection lost after sending, or a 5xx, and such a failure says the outcome is
    unknown. Put a token of yours in --metadata to recognise the call in its webhooks.

    Exit status: 0 on success; 1 when the API call failed (the error on stderr, one line,
    plus a note when the outcome is unknown); 2 for usage errors (nothing sent); 3 when
    the API rejected the key; 130 on Ctrl-C.
    """
    state = state_of(ctx)
    attached = _metadata(metadata)

    async def work(client: AsyncChirp) -> Call:
        return await client.calls.create(
            from_=from_,
            to=to,
            from_channel=from_channel,
            to_channel=to_channel,
            metadata=attached,
        )

    outcome = run_with_client(state, work)
    exit_on_error(outcome)
    write_json_line(outcome)


def hangup_call(
    ctx: typer.Context,
    call_id: CallIdArgument,
) -> None:
    """End a call and print the API's answer as one JSON line.

    The line is {"callId": ..., "command": "hangup", "status": "accepted" or "queued"}.

    Exit status: 0 on success; 1 when the API call failed (e.g. the call has already
    ended: 409); 2 for a malformed call ID (nothing sent); 3 when the API rejected the
    key; 130 on Ctrl-C.
    """
    state = state_of(ctx)

    async def work(client: AsyncChirp) -> CommandResult:
        return await client.calls.hangup(call_id)

    outcome = run_with_client(state, work)
    exit_on_error(outcome)
    write_json_line(outcome)
