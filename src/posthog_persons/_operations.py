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
    # The facade builds every request with build_request (and its JSON body with
    # body_from_dict), sends it through its own paced httpx client and reads the answer
    # itself (`_calls`, `_convert`): no generated model class is ever named.
    "persons_list": ("build_request",),
    "persons_retrieve": ("build_request",),
    "persons_partial_update": ("build_request", "body_from_dict"),
    "persons_delete_property_create": ("build_request", "body_from_dict"),
    "persons_batch_by_distinct_ids_create": ("build_request", "body_from_dict"),
    "persons_batch_by_uuids_create": ("build_request", "body_from_dict"),
    "persons_bulk_delete_create": ("build_request", "body_from_dict"),
    "persons_deletion_status_list": ("build_request",),
}
