"""API resources: one module per resource, each a thin layer over the transport."""

from .calls import Calls, CallsWithRawResponse
from .recordings import Recordings
from .voicemails import Voicemails
from .webhooks import Webhooks

__all__ = ["Calls", "CallsWithRawResponse", "Recordings", "Voicemails", "Webhooks"]
