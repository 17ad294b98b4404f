"""API resources: one module per resource, each a thin layer over the transport."""

from .calls import Calls, CallsWithRawResponse

__all__ = ["Calls", "CallsWithRawResponse"]
