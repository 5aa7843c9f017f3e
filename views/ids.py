"""Every Slack identifier the bot uses (callback, block and action ids), in one place.

Block ids of input blocks are the form field names of `bot.forms`, so a domain validation error
keyed by field lands on the right block of the modal without a translation table.
"""

from __future__ import annotations

from enum import StrEnum

COMMAND = "/incident"


class Callback(StrEnum):
    DECLARE = "incident_declare"
    UPDATE = "incident_update"
    KEY_EVENTS = "incident_key_events"
    CLOSE = "incident_close"
    FOLLOWUP = "incident_followup"


class Shortcut(StrEnum):
    """Message shortcuts (callback ids, as `manifest.yml` declares them)."""

    SEND_TO_JIRA = "send_to_jira"
    ADD_TO_TIMELINE = "add_to_timeline"
    CREATE_FOLLOWUP = "create_followup"


class Reaction(StrEnum):
    """Emoji names the bot reads (a pin marks a timeline note) or puts (sent to Jira)."""

    PIN = "pushpin"
    SENT = "white_check_mark"


class Action(StrEnum):
    """Buttons (the announcement's, also used on reminders and the Home tab), and the input elements' id."""

    UPDATE = "incident_update_open"
    KEY_EVENTS = "incident_key_events_open"
    POSTMORTEM = "incident_postmortem_create"
    CLOSE = "incident_close_open"
    FOLLOWUP = "incident_followup_open"
    DECLARE = "incident_declare_open"
    SNOOZE_30_MIN = "reminder_snooze_30_min"
    SNOOZE_1_H = "reminder_snooze_1_h"
    SNOOZE_2_H = "reminder_snooze_2_h"
    INPUT = "value"


class Block(StrEnum):
    """Input blocks; names match the fields of `bot.forms` (key events use `<kind>_at` and `<kind>_note`)."""

    TITLE = "title"
    DESCRIPTION = "description"
    PRIORITY = "priority"
    ENVIRONMENTS = "environments"
    PLATFORM = "platform"
    IMPACT_CUSTOMERS = "impact_customers"
    IMPACT_SELLERS = "impact_sellers"
    IMPACT_BUSINESS = "impact_business"
    IMPACT_EMPLOYEES = "impact_employees"
    ZENDESK = "zendesk_ticket_id"
    SELLER_CONTRACT = "seller_contract_id"
    ZOHO_DESK = "zoho_desk_ticket_id"
    SELLER_FLAGS = "seller_flags"
    TEAM = "suggested_team_routing"
    CATEGORY = "category"
    STATUS = "status"
    COMMANDER = "commander_id"
    MESSAGE = "message"
    REASON = "reason"
    SUMMARY = "summary"
    ASSIGNEE = "assignee_id"
    DUE_DATE = "due_date"
    ANNOUNCEMENT_ACTIONS = "announcement_actions"
    REMINDER_ACTIONS = "reminder_actions"
    HOME_ACTIONS = "home_actions"


SELLER_FLAG_KEY_ACCOUNT = "is_key_account"
SELLER_FLAG_GOLDEN_LIST = "is_seller_in_golden_list"


def key_event_at(kind: str) -> str:
    """Block id of a key event's date-time picker (`detected_at`); the domain keys its errors so too."""
    return f"{kind}_at"


def key_event_note(kind: str) -> str:
    """Block id of a key event's note (`detected_note`)."""
    return f"{kind}_note"
