"""Who may approve a draft (rules.yaml `approvals:`), the user-group cache, and working hours."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

log = logging.getLogger(__name__)

USER_ID = r"^[UW][A-Z0-9]{2,}$"
USERGROUP_ID = r"^S[A-Z0-9]{2,}$"
CHANNEL_ID = r"^[CG][A-Z0-9]{2,}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class ApprovalPolicy(_Strict):
    """The `approvals:` section of rules.yaml: who approves, how many, where and how long."""

    approvers: list[Annotated[str, Field(pattern=USER_ID)]] = Field(
        default_factory=list,
        description="Slack user ids (U…) who may approve; also the fallback when the "
        "user-group lookup fails.",
    )
    usergroup: Annotated[str, Field(pattern=USERGROUP_ID)] | None = Field(
        default=None, description="A Slack user group id (S…) whose members may approve."
    )
    required: int = Field(
        default=1, ge=1, le=20, description="How many different approvers must approve."
    )
    post_to: Literal["thread", "channel", "both"] = Field(
        default="thread",
        description="Where the request goes: the draft's thread (mentioning the approvers), "
        "a managers' channel, or both.",
    )
    channel: Annotated[str, Field(pattern=CHANNEL_ID)] | None = Field(
        default=None, description="The managers' channel id (C…), for post_to channel or both."
    )
    remind_after_working_hours: float = Field(
        default=4, gt=0, le=1000, description="Re-announce a pending request after this long."
    )
    expire_after_hours: float = Field(
        default=72, gt=0, le=24 * 90, description="Expire a pending request after this long."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ApprovalPolicy:
        if not self.approvers and self.usergroup is None:
            raise ValueError("needs `approvers` (user ids) or `usergroup` (a user group id)")
        if self.post_to in ("channel", "both") and self.channel is None:
            raise ValueError(f"post_to: {self.post_to} needs `channel` (the managers' channel id)")
        return self


# -- who may approve ----------------------------------------------------------------------------


class GroupLookupError(Exception):
    """The user-group lookup failed (rate limit, free workspace, missing scope)."""


@dataclass(frozen=True, slots=True)
class Approvers:
    """The people who may approve right now, and whether the group lookup had to fall back."""

    users: frozenset[str]
    fell_back: bool = False

    def __contains__(self, user_id: object) -> bool:
        return user_id in self.users


class ApproverDirectory:
    """Resolve the policy to user ids, caching user-group members until they change."""

    def __init__(
        self,
        policy: ApprovalPolicy | None,
        fetch_group: Callable[[str], Iterable[str]],
        clock: Callable[[], datetime],
        ttl: timedelta = timedelta(minutes=15),
        retry_after_failure: timedelta = timedelta(minutes=1),
        bot_user_ids: frozenset[str] = frozenset(),
    ) -> None:
        self.policy = policy
        self._fetch = fetch_group
        self._clock = clock
        self._ttl = ttl
        self._retry_after_failure = retry_after_failure
        self._bots = bot_user_ids
        self._lock = threading.Lock()
        self._members: frozenset[str] | None = None
        self._fetched_at: datetime | None = None
        self._failed_at: datetime | None = None

    def invalidate(self, usergroup: str | None = None) -> None:
        """Forget cached members (subteam_members_changed), so the next check looks them up."""
        if self.policy is None or (usergroup is not None and usergroup != self.policy.usergroup):
            return
        with self._lock:
            self._fetched_at = None
            self._failed_at = None

    def current(self) -> Approvers:
        """Return who may approve now: the listed users plus the user group's members."""
        if self.policy is None:
            return Approvers(frozenset())
        listed = frozenset(self.policy.approvers)
        group = self.policy.usergroup
        if group is None:
            return Approvers(listed - self._bots)
        members = self._group_members(group)
        if members is None:
            return Approvers(listed - self._bots, fell_back=True)
        return Approvers((listed | members) - self._bots)

    def _group_members(self, group: str) -> frozenset[str] | None:
        now = self._clock()
        with self._lock:
            if self._fetched_at is not None and now - self._fetched_at < self._ttl:
                return self._members
            if self._failed_at is not None and now - self._failed_at < self._retry_after_failure:
                return None
            try:
                members = frozenset(self._fetch(group))
            except GroupLookupError as err:
                # Fall back to the listed users only: a stale member list could let someone
                # who left the group approve.
                log.warning(
                    "user group %s lookup failed (%s); using the listed approvers", group, err
                )
                self._failed_at = now
                self._members = None
                return None
            self._members = members
            self._fetched_at = now
            self._failed_at = None
            return members
