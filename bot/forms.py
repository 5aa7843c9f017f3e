"""Typed inputs of the domain's use cases, validated with errors keyed by field.

Listeners build these from modal state; the field names are the keys of `InvalidInput.errors`, which
the listeners map back onto the modal's blocks. Rules that depend on configuration (teams,
categories) take it as arguments so the forms stay plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.enums import ClosureReason, Environment, ImpactLevel, ImpactType, KeyEventKind, Platform, Status
from bot.errors import InvalidInput

TITLE_MIN, TITLE_MAX = 10, 128
DESCRIPTION_MAX = 3000
TICKET_ID_MAX = 64
SUMMARY_MIN, SUMMARY_MAX = 5, 255


@dataclass
class DeclareForm:
    title: str
    priority: int
    description: str = ""
    environments: list[str] = field(default_factory=lambda: [Environment.PRD.value])
    platform: str = Platform.ALL.value
    impacts: dict[str, str] = field(default_factory=dict)
    zendesk_ticket_id: str | None = None
    seller_contract_id: str | None = None
    zoho_desk_ticket_id: str | None = None
    is_key_account: bool = False
    is_seller_in_golden_list: bool = False
    suggested_team_routing: str | None = None
    category: str | None = None
    commander_id: str | None = None

    def validate(self, *, teams: list[str], categories: list[str]) -> None:
        """Raise InvalidInput with every problem at once, so the modal shows them all."""
        errors: dict[str, str] = {}
        _title(self.title, errors)
        if len(self.description or "") > DESCRIPTION_MAX:
            errors["description"] = f"Keep the description under {DESCRIPTION_MAX} characters."
        if self.priority not in range(1, 6):
            errors["priority"] = "Choose a priority from P1 to P5."
        if not self.environments:
            errors["environments"] = "Choose at least one environment."
        elif bad := [e for e in self.environments if e not in set(Environment)]:
            errors["environments"] = f"Unknown environment(s): {', '.join(bad)}."
        if self.platform not in set(Platform):
            errors["platform"] = f"Unknown platform {self.platform}."
        for kind, level in self.impacts.items():
            if kind not in set(ImpactType) or level not in set(ImpactLevel):
                errors[f"impact_{str(kind).lower()}"] = f"Unknown impact {kind}: {level}."
        self._impact_details(errors)
        if self.priority >= 4:
            if not self.suggested_team_routing:
                errors["suggested_team_routing"] = "P4–P5 incidents need a suggested team."
            elif self.suggested_team_routing not in teams:
                errors["suggested_team_routing"] = f"Unknown team; choose one of: {', '.join(teams)}."
        if self.category and self.category not in categories:
            errors["category"] = f"Unknown category; choose one of: {', '.join(categories)}."
        if errors:
            raise InvalidInput(errors)

    def _impact_details(self, errors: dict[str, str]) -> None:
        seller_impact = bool(self.impacts.get(ImpactType.SELLERS.value))
        customer_impact = bool(self.impacts.get(ImpactType.CUSTOMERS.value))
        if self.zendesk_ticket_id and not customer_impact:
            errors["zendesk_ticket_id"] = "A Zendesk ticket goes with a Customers impact: choose one."
        for name, value in (
            ("seller_contract_id", self.seller_contract_id),
            ("zoho_desk_ticket_id", self.zoho_desk_ticket_id),
        ):
            if value and not seller_impact:
                errors[name] = "Seller details go with a Sellers impact: choose one."
        if (self.is_key_account or self.is_seller_in_golden_list) and not seller_impact:
            errors["seller_flags"] = "Seller flags go with a Sellers impact: choose one."
        for name in ("zendesk_ticket_id", "seller_contract_id", "zoho_desk_ticket_id"):
            value = getattr(self, name)
            if value and (len(value) > TICKET_ID_MAX or not value.isprintable()):
                errors[name] = f"Use at most {TICKET_ID_MAX} printable characters."


@dataclass
class UpdateForm:
    """The values the update modal submitted; only those that differ from the incident count."""

    status: str | None = None
    priority: int | None = None
    title: str | None = None
    description: str | None = None
    commander_id: str | None = None
    message: str | None = None

    def validate(self) -> None:
        errors: dict[str, str] = {}
        if self.title is not None:
            _title(self.title, errors)
        if self.status is not None and self.status not in set(Status):
            errors["status"] = "Unknown status."
        if self.priority is not None and self.priority not in range(1, 6):
            errors["priority"] = "Choose a priority from P1 to P5."
        if self.description is not None and len(self.description) > DESCRIPTION_MAX:
            errors["description"] = f"Keep the description under {DESCRIPTION_MAX} characters."
        if errors:
            raise InvalidInput(errors)

    def values(self) -> dict[str, object]:
        """The incident fields this form sets (message excluded)."""
        names = ("status", "priority", "title", "description", "commander_id")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


@dataclass
class KeyEventInput:
    at: datetime | None
    message: str | None = None


@dataclass
class CloseForm:
    reason: str
    message: str | None = None

    def validate(self) -> None:
        if self.reason not in set(ClosureReason):
            raise InvalidInput({"reason": "Choose a closure reason."})


@dataclass
class FollowUpForm:
    summary: str
    description: str = ""
    assignee_id: str | None = None
    due_date: date | None = None

    def validate(self) -> None:
        length = len((self.summary or "").strip())
        if not SUMMARY_MIN <= length <= SUMMARY_MAX:
            raise InvalidInput(
                {"summary": f"The summary needs {SUMMARY_MIN} to {SUMMARY_MAX} characters (it has {length})."}
            )
        if len(self.description or "") > DESCRIPTION_MAX:
            raise InvalidInput(
                {"description": f"The description is limited to {DESCRIPTION_MAX} characters."}
            )


def validate_key_events(events: dict[str, KeyEventInput]) -> None:
    errors = {}
    for kind, event in events.items():
        if kind not in set(KeyEventKind):
            errors[kind] = "Unknown key event."
        elif event.message and event.at is None:
            errors[f"{kind}_at"] = "Give the time this note belongs to."
    if errors:
        raise InvalidInput(errors)


def _title(title: str, errors: dict[str, str]) -> None:
    length = len((title or "").strip())
    if not TITLE_MIN <= length <= TITLE_MAX:
        errors["title"] = f"The title needs {TITLE_MIN} to {TITLE_MAX} characters (it has {length})."
