"""chirp_async: the asyncio-native Python SDK for the Chirp communications API.

Example:
    ```python
    from chirp_async import AsyncChirp

    async with AsyncChirp() as client:  # key from CHIRP_API_KEY
        call = await client.calls.get("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI")
        print(call.status, call.duration, call.started_at)
    ```
"""

from . import defaults as defaults
from ._cache import CacheBackend as CacheBackend
from ._cache import CallCache as CallCache
from ._client import AsyncChirp as AsyncChirp
from ._clock import Clock as Clock
from ._clock import SystemClock as SystemClock
from ._config import ClientConfig as ClientConfig
from ._config import Timeout as Timeout
from ._errors import APIConnectionError as APIConnectionError
from ._errors import APIError as APIError
from ._errors import APIResponseValidationError as APIResponseValidationError
from ._errors import APIStatusError as APIStatusError
from ._errors import APITimeoutError as APITimeoutError
from ._errors import AuthenticationError as AuthenticationError
from ._errors import BadRequestError as BadRequestError
from ._errors import BatchAbortedError as BatchAbortedError
from ._errors import BatchError as BatchError
from ._errors import CallIdTypeError as CallIdTypeError
from ._errors import ChirpError as ChirpError
from ._errors import ClientStateError as ClientStateError
from ._errors import ConfigurationError as ConfigurationError
from ._errors import ConflictError as ConflictError
from ._errors import InsecureBaseURLError as InsecureBaseURLError
from ._errors import InternalServerError as InternalServerError
from ._errors import InvalidCallIdError as InvalidCallIdError
from ._errors import InvalidParameterError as InvalidParameterError
from ._errors import NotFoundError as NotFoundError
from ._errors import PermissionDeniedError as PermissionDeniedError
from ._errors import RateLimitError as RateLimitError
from ._errors import RecordingDownloadError as RecordingDownloadError
from ._errors import UnprocessableEntityError as UnprocessableEntityError
from ._limiter import LimiterState as LimiterState
from ._limiter import RateLimiter as RateLimiter
from ._models import Call as Call
from ._models import CallChannel as CallChannel
from ._models import CallDirection as CallDirection
from ._models import CallStatus as CallStatus
from ._models_calling import CallCommand as CallCommand
from ._models_calling import CommandResult as CommandResult
from ._models_calling import CommandStatus as CommandStatus
from ._models_calling import DeleteResult as DeleteResult
from ._models_calling import Recording as Recording
from ._models_calling import RecordingFormat as RecordingFormat
from ._models_calling import RecordingList as RecordingList
from ._models_calling import RecordingStatus as RecordingStatus
from ._models_calling import Voicemail as Voicemail
from ._models_calling import VoicemailPage as VoicemailPage
from ._models_calling import Webhook as Webhook
from ._models_calling import WebhookList as WebhookList
from ._pacing import LocalRateLimiter as LocalRateLimiter
from ._response import APIResponse as APIResponse
from ._response import RateLimitInfo as RateLimitInfo
from ._retry import RetryPolicy as RetryPolicy
from ._stats import ClientStats as ClientStats
from ._status_errors import rejects_key as rejects_key
from ._version import __version__ as __version__

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncChirp",
    "AuthenticationError",
    "BadRequestError",
    "BatchAbortedError",
    "BatchError",
    "CacheBackend",
    "Call",
    "CallCache",
    "CallChannel",
    "CallCommand",
    "CallDirection",
    "CallIdTypeError",
    "CallStatus",
    "ChirpError",
    "ClientConfig",
    "ClientStateError",
    "ClientStats",
    "Clock",
    "CommandResult",
    "CommandStatus",
    "ConfigurationError",
    "ConflictError",
    "DeleteResult",
    "InsecureBaseURLError",
    "InternalServerError",
    "InvalidCallIdError",
    "InvalidParameterError",
    "LimiterState",
    "LocalRateLimiter",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimitInfo",
    "RateLimiter",
    "Recording",
    "RecordingDownloadError",
    "RecordingFormat",
    "RecordingList",
    "RecordingStatus",
    "RetryPolicy",
    "SystemClock",
    "Timeout",
    "UnprocessableEntityError",
    "Voicemail",
    "VoicemailPage",
    "Webhook",
    "WebhookList",
    "__version__",
    "rejects_key",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__  # tracebacks and reprs show the public path
del _name, _obj
