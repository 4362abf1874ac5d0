"""One wrapper for every live listing: any failure while listing is a `ListingError`.

An unknown state is never read as empty (rule 9): whatever a listing raises from the
`ProviderError` family becomes a `ListingError`, chained, keeping the status and request id;
a provider may reword the detail (`explain`: a 404 on a prompt means the prompt is gone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from reconciler.errors import ListingError, ProviderError


@contextmanager
def listing_errors(
    *,
    vendor: str,
    operation: str | None = None,
    explain: Callable[[ProviderError], str] | None = None,
) -> Iterator[None]:
    """Re-raise any ProviderError (not already a ListingError) as a ListingError.

    `operation` names the listing (default: the failed call's own operation); `explain`
    returns the detail to show instead of the vendor's words.
    """
    try:
        yield
    except ListingError:
        raise
    except ProviderError as error:
        raise ListingError(
            explain(error) if explain is not None else error.detail,
            vendor=vendor,
            operation=operation or error.operation,
            status=error.status,
            request_id=error.request_id,
        ) from error
