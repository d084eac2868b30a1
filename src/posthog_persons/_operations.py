"""What the facade uses from the generated package, pinned (contract C2).

`FACADE_OPERATIONS` maps each upstream operation id (a module of
`posthog_persons_api.api.persons`) to the module functions the facade calls. The regeneration
pipeline reads this literal with `ast.literal_eval` (it never imports this module) and refuses
a regeneration whose fresh package lacks any of them, so an upstream rename fails
`scripts/regenerate.py` with a list instead of breaking an import here. Keep it a plain
literal, and keep it in step with what the facade really calls.
"""

from __future__ import annotations

FACADE_OPERATIONS: dict[str, tuple[str, ...]] = {
    "persons_list": ("build_request",),
    "persons_retrieve": ("sync_detailed", "asyncio_detailed"),
    "persons_partial_update": ("sync_detailed", "asyncio_detailed", "body_from_dict"),
    "persons_delete_property_create": ("sync_detailed", "asyncio_detailed", "body_from_dict"),
    "persons_batch_by_distinct_ids_create": (
        "sync_detailed",
        "asyncio_detailed",
        "body_from_dict",
    ),
    "persons_batch_by_uuids_create": ("sync_detailed", "asyncio_detailed", "body_from_dict"),
    "persons_bulk_delete_create": ("sync_detailed", "asyncio_detailed", "body_from_dict"),
    "persons_deletion_status_list": ("build_request",),
}
