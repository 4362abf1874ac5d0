"""What a replace shows: the spec fields that changed, each by name, secrets masked. Pure."""

from __future__ import annotations

from reconciler.model import (
    LABEL_FIELDS,
    SENSITIVE_VALUE,
    DiffKind,
    FieldDiff,
    LiveRun,
    Resource,
    canonical_json,
    decode_field_hashes,
)

MAX_SHOWN_VALUE = 120


def field_diffs(run: LiveRun, resource: Resource) -> tuple[FieldDiff, ...]:
    """List the spec fields a replace changes, from the run's `reconciler.fields` label.

    The label holds one hash per top-level field (and trigger), so the diff is made key by
    key: however many fields changed, each is listed by its own name, never as one change
    of the whole spec. Values that came from `${ENV}` are masked here, at the source.
    """
    old = decode_field_hashes(run.label(LABEL_FIELDS))
    if old is None:
        return ()
    before, after = dict(old), dict(resource.field_hashes)
    found: list[FieldDiff] = []
    for name in sorted(before.keys() | after.keys()):
        if name not in after:
            found.append(FieldDiff(path=name, change=DiffKind.REMOVED))
        elif name not in before or before[name] != after[name]:
            kind = DiffKind.ADDED if name not in before else DiffKind.CHANGED
            found.append(FieldDiff(path=name, change=kind, new=shown_value(name, resource)))
    return tuple(sorted(found))


def shown_value(name: str, resource: Resource) -> str | None:
    """Return the new value of field `name` as shown in a diff: masked when it is a secret."""
    if any(  # a value from ${ENV} anywhere inside the field hides all of it
        p == name or p.startswith((name + ".", name + "[")) or name.startswith(p + ".")
        for p in resource.sensitive_paths
    ):
        return SENSITIVE_VALUE
    if name.startswith("lifecycle.triggers."):
        new = dict(resource.lifecycle.triggers).get(name[len("lifecycle.triggers.") :])
    else:
        new = canonical_json(resource.spec.get(name))
    if new is not None and len(new) > MAX_SHOWN_VALUE:
        new = new[: MAX_SHOWN_VALUE - 1] + "…"
    return new
