"""Receiving the Chirp API's calling webhooks: typed events, verification, an aiohttp receiver.

The API signs nothing: a delivery is authenticated by the custom headers set on the
webhook (``X-Webhook-Secret`` in the docs), which it sends with every POST. `parse_event`
checks that header in constant time and decodes the body into a typed event;
`WebhookReceiver` does that inside an aiohttp.web app, answers at once and hands each
event, deduplicated by ``eventId``, to your callback.

Example:
    ```python
    from aiohttp import web
    from chirp_async.webhooks import CallCompleted, WebhookEvent, WebhookReceiver

    async def on_event(event: WebhookEvent) -> None:
        match event:
            case CallCompleted(data=data):
                print("call", data.call.id, "ended")

    app = web.Application()
    WebhookReceiver(on_event, secret="your-secret-key").attach(app, path="/webhooks/chirp")
    web.run_app(app)
    ```
"""

from ._dedupe import DedupeBackend as DedupeBackend
from ._dedupe import InMemoryDedupe as InMemoryDedupe
from ._errors import WebhookPayloadError as WebhookPayloadError
from ._errors import WebhookVerificationError as WebhookVerificationError
from ._events import CallAnswered as CallAnswered
from ._events import CallCompleted as CallCompleted
from ._events import CallEvent as CallEvent
from ._events import CallEventData as CallEventData
from ._events import CallFailed as CallFailed
from ._events import CallInitiated as CallInitiated
from ._events import CallRecordingCompleted as CallRecordingCompleted
from ._events import CallVoicemailReceived as CallVoicemailReceived
from ._events import EventType as EventType
from ._events import UnknownEvent as UnknownEvent
from ._events import WebhookApp as WebhookApp
from ._events import WebhookCall as WebhookCall
from ._events import WebhookEvent as WebhookEvent
from ._events import decode_event as decode_event
from ._parse import DEFAULT_MAX_BODY_BYTES as DEFAULT_MAX_BODY_BYTES
from ._parse import parse_event as parse_event
from ._receiver import ReceiverStats as ReceiverStats
from ._receiver import WebhookReceiver as WebhookReceiver
from ._verify import DEFAULT_HEADER_NAME as DEFAULT_HEADER_NAME
from ._verify import WebhookSecret as WebhookSecret
from ._verify import verify as verify

__all__ = [
    "DEFAULT_HEADER_NAME",
    "DEFAULT_MAX_BODY_BYTES",
    "CallAnswered",
    "CallCompleted",
    "CallEvent",
    "CallEventData",
    "CallFailed",
    "CallInitiated",
    "CallRecordingCompleted",
    "CallVoicemailReceived",
    "DedupeBackend",
    "EventType",
    "InMemoryDedupe",
    "ReceiverStats",
    "UnknownEvent",
    "WebhookApp",
    "WebhookCall",
    "WebhookEvent",
    "WebhookPayloadError",
    "WebhookReceiver",
    "WebhookSecret",
    "WebhookVerificationError",
    "decode_event",
    "parse_event",
    "verify",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__  # tracebacks and reprs show the public path
del _name, _obj
