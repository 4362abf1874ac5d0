"""A tiny GitHub REST client: create or update the one pull-request comment of a workspace.

The comment is found by the hidden marker `<!-- reconciler:<workspace> -->` on its first line
(reconciler.render.markdown.marker), so a later plan replaces it instead of adding another.
Three endpoints, no more: list an issue's comments (every page, through `Link: rel="next"`),
create one, update one. The token travels as a Secret through SecretHeaderAuth, so it is in
no header dict, repr, log line or error message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from reconciler.errors import ReconcilerError
from reconciler.providers.http import SecretHeaderAuth
from reconciler.secret import Secret

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
PAGE_SIZE = 100
MAX_PAGES = 200  # 20,000 comments: a guard against a Link loop, never reached in practice
MAX_ERROR_TEXT = 200
MARKER_RE = re.compile(r"^<!-- reconciler:(\S+) -->$")
REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class GitHubError(ReconcilerError):
    """A GitHub API call failed; the message says what to change, never shows the token."""


@dataclass(frozen=True, slots=True)
class PullRequest:
    """Where the comment goes: `owner/repo` and the pull request's (issue's) number."""

    repo: str
    number: int

    def __str__(self) -> str:
        return f"{self.repo}#{self.number}"


@dataclass(frozen=True, slots=True)
class Comment:
    """One issue comment, as much of it as we use."""

    id: int
    body: str
    html_url: str


def first_line_marker(body: str) -> str | None:
    """Return the body's reconciler marker if its first line is one, else None."""
    first = body.split("\n", 1)[0].strip()
    return first if MARKER_RE.match(first) else None


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
        text = str(data.get("message", "")) if isinstance(data, dict) else ""
    except ValueError:
        text = ""
    text = (text or response.text or response.reason_phrase).strip().replace("\n", " ")
    return text[:MAX_ERROR_TEXT]


class GitHub:
    """One httpx.Client against the GitHub REST API (or GITHUB_API_URL: Enterprise, tests)."""

    def __init__(
        self,
        token: Secret,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._base = api_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self._base,
            auth=SecretHeaderAuth("Authorization", token, prefix="Bearer "),
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "reconciler-comment",
            },
            timeout=timeout_s,
            transport=transport,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> GitHub:
        """Build a client from GITHUB_TOKEN and GITHUB_API_URL."""
        token = environ.get("GITHUB_TOKEN", "")
        if not token:
            raise GitHubError(
                "GITHUB_TOKEN is not set: pass the job's token, "
                "e.g. `env: GITHUB_TOKEN: ${{ github.token }}`"
            )
        return cls(Secret(token), api_url=environ.get("GITHUB_API_URL") or DEFAULT_API_URL)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(
        self, method: str, url: str, pr: PullRequest, *, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        try:
            response = self._client.request(method, url, json=body)
        except httpx.HTTPError as exc:
            raise GitHubError(
                f"cannot reach the GitHub API at {self._base} ({type(exc).__name__})"
            ) from None
        if response.is_success:
            return response
        status = response.status_code
        if status in (403, 404):
            raise GitHubError(
                f"the token cannot write comments on {pr} (HTTP {status}): give the job "
                "`pull-requests: write` (or `issues: write`)"
            )
        if status == 401:
            raise GitHubError(f"GitHub refused the token (HTTP 401) for {pr}: check GITHUB_TOKEN")
        raise GitHubError(
            f"GitHub {method} {urlsplit(str(response.request.url)).path} failed for {pr} "
            f"(HTTP {status}): {_error_text(response)}"
        )

    def _same_origin(self, url: str) -> bool:
        """Follow a `next` link only to the API we were given: the token goes nowhere else."""
        a, b = urlsplit(url), urlsplit(self._base)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def list_comments(self, pr: PullRequest) -> list[Comment]:
        """Return every comment on the pull request, oldest first, across all pages."""
        url: str | None = f"/repos/{pr.repo}/issues/{pr.number}/comments?per_page={PAGE_SIZE}"
        comments: list[Comment] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return comments
            response = self._send("GET", url, pr)
            comments.extend(_comment(item) for item in _json_list(response, pr))
            url = response.links.get("next", {}).get("url")
            if url is not None and not self._same_origin(url):
                raise GitHubError(f"GitHub's next-page link for {pr} leaves {self._base}")
        raise GitHubError(f"more than {MAX_PAGES} pages of comments on {pr}")

    def find_comment(self, pr: PullRequest, marker: str) -> Comment | None:
        """Return the first comment whose first line is exactly `marker`, or None."""
        for comment in self.list_comments(pr):
            if first_line_marker(comment.body) == marker:
                return comment
        return None

    def create_comment(self, pr: PullRequest, body: str) -> Comment:
        """Add a comment to the pull request."""
        url = f"/repos/{pr.repo}/issues/{pr.number}/comments"
        return _comment(_json_dict(self._send("POST", url, pr, body={"body": body}), pr))

    def update_comment(self, pr: PullRequest, comment_id: int, body: str) -> Comment:
        """Replace the body of one comment."""
        url = f"/repos/{pr.repo}/issues/comments/{comment_id}"
        return _comment(_json_dict(self._send("PATCH", url, pr, body={"body": body}), pr))

    def upsert_comment(
        self, pr: PullRequest, body: str
    ) -> tuple[Comment, Literal["created", "updated"]]:
        """Update the comment carrying the body's marker in place, or create it."""
        marker = first_line_marker(body)
        if marker is None:
            raise GitHubError(
                "the comment's first line is not a reconciler marker: "
                "pass the output of `reconciler plan --format markdown`"
            )
        existing = self.find_comment(pr, marker)
        if existing is None:
            return self.create_comment(pr, body), "created"
        return self.update_comment(pr, existing.id, body), "updated"


def _json_list(response: httpx.Response, pr: PullRequest) -> list[dict[str, Any]]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, list):
        raise GitHubError(f"GitHub answered the comment listing of {pr} with no JSON list")
    return [item for item in data if isinstance(item, dict)]


def _json_dict(response: httpx.Response, pr: PullRequest) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise GitHubError(f"GitHub answered a comment write on {pr} with no JSON object")
    return data


def _comment(item: dict[str, Any]) -> Comment:
    return Comment(
        id=int(item.get("id", 0)),
        body=str(item.get("body") or ""),
        html_url=str(item.get("html_url") or ""),
    )
