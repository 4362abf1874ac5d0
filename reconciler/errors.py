"""The exception tree: every failure reconciler expects and can explain.

```
ReconcilerError                 cli.py prints one line and exits 1
├── ManifestError               one or more problems in the user's files (all of them, sorted)
├── ConfigError                 reconciler.yaml or the command line asks for something impossible
├── ProviderError               a vendor call failed (vendor, operation, status, request id)
│   ├── TransientProviderError  429, 5xx, timeout, dropped connection: may succeed later
│   │   └── OutOfTimeError      the vendor asked for a wait longer than the time left
│   ├── ConflictError           the vendor refused for the object's state (a cancel of a finished
│   │                           run, a name already taken): chosen where the answer is checked
│   ├── NotFoundError           the object (run, prompt, task) or the API itself is not there
│   └── ListingError            a live listing failed or ended early: the plan is aborted (rule 9)
└── StalePlanError              a saved plan no longer matches the live state or the manifests
```

Code below cli.py only raises; cli.py holds the single handler.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.secret import scrub


class ReconcilerError(Exception):
    """A failure we expect and can explain; cli.py turns it into one line and exit 1."""

    def lines(self) -> list[str]:
        """Return the lines to print on stderr, one problem per line."""
        return [str(self)]


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class Problem:
    """One problem in a user's file: `path:line: field: message. fix`."""

    path: str
    line: int
    column: int = 0
    field: str = ""
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        text = (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )
        text = text.rstrip(".")
        return f"{text}. {self.fix}" if self.fix else f"{text}."


class ManifestError(ReconcilerError):
    """The manifests or reconciler.yaml have problems; every one of them is listed."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class ConfigError(ReconcilerError):
    """The configuration or command line asks for something reconciler cannot do."""


class ProviderError(ReconcilerError):
    """A call to a vendor failed; the message names the vendor, operation and status.

    The message and request id come from the vendor's answer, so they are scrubbed here, once,
    of every secret the process knows: a vendor that echoes the auth header shows `***`.
    """

    def __init__(
        self,
        message: str,
        *,
        vendor: str,
        operation: str,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        message = scrub(message)
        request_id = scrub(request_id) if request_id is not None else None
        self.detail = message  # the vendor's words, without the vendor/operation prefix
        self.vendor = vendor
        self.operation = operation
        self.status = status
        self.request_id = request_id
        parts = [f"{vendor}: {operation} failed"]
        if status is not None:
            parts.append(f"(HTTP {status})")
        text = " ".join(parts) + f": {message}"
        if request_id:
            text += f" [request id {request_id}]"
        super().__init__(text)


class TransientProviderError(ProviderError):
    """A vendor call failed in a way that may succeed later (429, 5xx, timeout)."""

    def __init__(
        self,
        message: str,
        *,
        vendor: str,
        operation: str,
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            message, vendor=vendor, operation=operation, status=status, request_id=request_id
        )


class OutOfTimeError(TransientProviderError):
    """The vendor asked to retry later than the retry budget or `status --timeout` allows."""


class ConflictError(ProviderError):
    """The vendor refused because of the object's state (HTTP 409, or what a vendor means so)."""


class NotFoundError(ProviderError):
    """The vendor has no such object, or no such API at this base URL (HTTP 404)."""


class ListingError(ProviderError):
    """A live listing failed or ended early; an unknown state is never read as empty."""


class StalePlanError(ReconcilerError):
    """A saved plan was made from a live state or manifests that have since changed."""

    def __init__(self, changes: Sequence[str]) -> None:
        self.changes = tuple(changes)
        super().__init__(
            "the saved plan is stale: "
            + "; ".join(self.changes)
            + ". Run `reconciler plan -out FILE` again and apply the new plan"
        )

    def lines(self) -> list[str]:
        head = "the saved plan is stale; what changed since it was made:"
        tail = "run `reconciler plan -out FILE` again and apply the new plan."
        return [head, *(f"  {c}" for c in self.changes), tail]
