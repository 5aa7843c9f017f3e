"""All configuration, read once from the environment (and an optional `.env`).

This is the only module that reads the environment: everything else receives a `Settings`.
A wrong value fails at start with a message naming the variable; tokens are `SecretStr` so they
never appear in a repr, a log line or an error.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.enums import Status

DEFAULT_POSTMORTEM_FIELDS: dict[str, str] = {
    "incident_summary": "customfield_12699",
    "timeline": "customfield_12700",
    "root_causes": "customfield_12701",
    "impact": "customfield_12702",
    "mitigation_actions": "customfield_12703",
    "incident_category": "customfield_12369",
}
POSTMORTEM_FIELD_NAMES = frozenset(DEFAULT_POSTMORTEM_FIELDS)

#: Slack → Jira: the Jira status each incident status is pushed to (the default Jira's workflow).
DEFAULT_STATUS_TO_JIRA: dict[str, str] = {
    "OPEN": "Incoming",
    "INVESTIGATING": "in progress",
    "MITIGATING": "in progress",
    "MITIGATED": "Reporter validation",
    "POST_MORTEM": "Reporter validation",
    "CLOSED": "Closed",
}
#: Jira → incident, in the workflow's order (the walk's order when the workflow cannot be read).
DEFAULT_STATUS_FROM_JIRA: dict[str, str] = {
    "Incoming": "OPEN",
    "Pending resolution": "OPEN",
    "in progress": "MITIGATING",
    "Reporter validation": "MITIGATED",
    "Closed": "CLOSED",
}
#: The fields whose sync direction is configurable, and the directions.
SYNCED_FIELDS = ("title", "description", "priority", "commander", "status", "comments")
DIRECTIONS = ("both", "to_jira", "from_jira", "off")
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")


class ConfigError(Exception):
    """A configuration problem, phrased for the person starting the bot."""


class Settings(BaseSettings):
    """The bot's whole configuration read from the environment (and `.env`), with the
    default Jira's field ids as defaults."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_announcements_channel: str | None = None

    jira_url: str | None = None
    jira_user: str | None = None
    jira_api_token: SecretStr | None = None
    jira_pat: SecretStr | None = None
    jira_password: SecretStr | None = None
    jira_bot_account_id: str | None = None
    jira_webhook_secret: SecretStr | None = None
    #: Server/Data Center bodies carry every comment of the issue: a long ticket's delivery is large
    webhook_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    jira_timeout_seconds: float = Field(default=10.0, gt=0)
    jira_credentials_check_seconds: float = Field(default=60.0, gt=0)
    jira_max_requests_per_second: float = Field(default=10.0, gt=0)

    enable_jira: bool = True
    enable_raid: bool = True

    raid_jira_project_key: str = "INC"
    raid_jira_incident_category_field: str | None = None
    raid_toolbox_url: str | None = None

    jira_postmortem_project_key: str = "PM"
    jira_postmortem_issue_type: str = "Post-mortem"
    jira_postmortem_fields: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_POSTMORTEM_FIELDS)
    )

    #: follow-ups: project (empty: the incident ticket's project) and issue type
    followup_jira_project_key: str | None = None
    followup_jira_issue_type: str = "Task"

    jira_field_priority: str = "customfield_11064"
    jira_priority_values: Annotated[dict[int, str], NoDecode] = Field(
        default_factory=lambda: {p: str(p) for p in range(1, 6)}
    )
    jira_status_to_jira: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_STATUS_TO_JIRA)
    )
    jira_status_from_jira: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_STATUS_FROM_JIRA)
    )
    jira_sync_fields: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: dict.fromkeys(SYNCED_FIELDS, "both")
    )
    jira_user_map: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    jira_field_environments: str = "customfield_11049"
    jira_field_platform: str = "customfield_10201"
    jira_field_business_impact: str = "customfield_10936"
    jira_field_zendesk_ticket: str = "customfield_10895"
    jira_field_seller_contract: str = "customfield_10908"
    jira_field_zoho_desk_ticket: str = "customfield_10896"
    jira_incident_issue_type: str = "Incident"

    database_url: str = "sqlite:///./data/incident-bot.sqlite"
    redis_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    reconcile_interval_seconds: int = Field(default=300, gt=0)

    worker_threads: int = Field(default=4, ge=1, le=64)
    job_max_attempts: int = Field(default=12, ge=1)
    job_lease_seconds: float = Field(default=12.0, gt=0)
    job_backoff_base_seconds: float = Field(default=1.0, gt=0)
    job_backoff_max_seconds: float = Field(default=300.0, gt=0)

    close_requires_postmortem_priorities: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [1, 2]
    )
    archive_channel_on_close: bool = True
    responders_group: Annotated[list[str], NoDecode] = Field(default_factory=list)
    responders_by_priority: Annotated[dict[int, list[str]], NoDecode] = Field(default_factory=dict)
    teams: Annotated[dict[str, str | None], NoDecode] = Field(
        default_factory=lambda: {"Payments": None, "Checkout": None, "Platform": None}
    )
    categories: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["Availability", "Performance", "Data", "Security", "Other"]
    )
    log_level: str = "INFO"

    #: priority → seconds without an incident update before its channel is reminded; a priority left
    #: out gets no update reminders
    reminder_update_seconds: Annotated[dict[int, float], NoDecode] = Field(
        default_factory=lambda: {1: 1800.0, 2: 3600.0, 3: 7200.0}
    )
    reminder_postmortem_seconds: float = Field(default=172800.0, gt=0)
    reminder_check_seconds: float = Field(default=60.0, gt=0)

    @field_validator("jira_postmortem_fields", mode="before")
    @classmethod
    def _postmortem_fields(cls, value: Any) -> Any:
        value = _json(value)
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object mapping post-mortem parts to Jira field ids")
        unknown = set(value) - POSTMORTEM_FIELD_NAMES
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}; allowed: {sorted(POSTMORTEM_FIELD_NAMES)}")
        return {**DEFAULT_POSTMORTEM_FIELDS, **value}

    @field_validator("jira_field_priority")
    @classmethod
    def _priority_field(cls, value: str) -> str:
        if value != "priority" and not re.fullmatch(r"customfield_[0-9]+", value):
            raise ValueError("must be a custom field id (customfield_NNNNN) or priority (Jira's own field)")
        return value

    @field_validator("jira_priority_values", mode="before")
    @classmethod
    def _priority_values(cls, value: Any) -> Any:
        value = _json_object(value, "mapping 1–5 to the priority field's option values or priority names")
        given = {str(key).strip().upper().removeprefix("P"): name for key, name in value.items()}
        wanted = [str(p) for p in range(1, 6)]
        if unknown := sorted(set(given) - set(wanted)):
            raise ValueError(f"unknown priorities {unknown}; the keys are 1 to 5")
        if missing := [p for p in wanted if p not in given]:
            raise ValueError(f"no value for priority {', '.join(missing)}: map each of 1 to 5")
        names = {p: _name(given[p], f"priority {p}") for p in wanted}
        if len({name.lower() for name in names.values()}) < len(names):
            raise ValueError("two priorities map to the same value; each of 1 to 5 needs its own")
        return {int(p): name for p, name in names.items()}

    @field_validator("jira_status_to_jira", mode="before")
    @classmethod
    def _status_to_jira(cls, value: Any) -> Any:
        value = _json_object(value, "mapping each incident status to a Jira status name")
        mapped = {_status(key): _name(name, f"incident status {key}") for key, name in value.items()}
        if missing := [s.value for s in Status if s.value not in mapped]:
            raise ValueError(f"no Jira status for {', '.join(missing)}: map every incident status")
        return mapped

    @field_validator("jira_status_from_jira", mode="before")
    @classmethod
    def _status_from_jira(cls, value: Any) -> Any:
        value = _json_object(value, "mapping Jira status names to incident statuses")
        mapped = {_name(name, "a Jira status"): _status(status) for name, status in value.items()}
        if len({name.lower() for name in mapped}) < len(mapped):
            raise ValueError("a Jira status is listed twice (names compare case-insensitively)")
        return mapped

    @field_validator("jira_sync_fields", mode="before")
    @classmethod
    def _sync_fields(cls, value: Any) -> Any:
        value = _json_object(value, "mapping synced fields to directions")
        if unknown := sorted(set(value) - set(SYNCED_FIELDS)):
            raise ValueError(f"unknown fields {unknown}; allowed: {', '.join(SYNCED_FIELDS)}")
        for name, direction in value.items():
            if direction not in DIRECTIONS:
                raise ValueError(f"{name}: {direction!r} is not one of {', '.join(DIRECTIONS)}")
        return {**dict.fromkeys(SYNCED_FIELDS, "both"), **value}

    @field_validator("jira_user_map", mode="before")
    @classmethod
    def _user_map(cls, value: Any) -> Any:
        value = _json_object(value, "mapping Jira accounts to Slack user ids")
        for account, slack_id in value.items():
            if not isinstance(slack_id, str) or not _SLACK_USER.fullmatch(slack_id):
                raise ValueError(f"{account}: {slack_id!r} is not a Slack user id (U… or W…)")
        return {_name(account, "a Jira account"): slack_id for account, slack_id in value.items()}

    @model_validator(mode="after")
    def _statuses_agree(self) -> Settings:
        """Each status the bot pushes must be one it understands coming back: the walk without the
        workflow API needs its place in JIRA_STATUS_FROM_JIRA's order, and the closed status must be
        the only pushed one that means CLOSED (the bot never walks through it to reach another)."""
        understood = {name.lower(): status for name, status in self.jira_status_from_jira.items()}
        for status, name in self.jira_status_to_jira.items():
            means = understood.get(name.lower())
            if means is None:
                raise ValueError(
                    f"JIRA_STATUS_FROM_JIRA: has no entry for {name!r}, the Jira status "
                    f"JIRA_STATUS_TO_JIRA gives {status}; add it (its place in the order is where the "
                    "bot's walk finds it)"
                )
            if (means == Status.CLOSED) != (status == Status.CLOSED):
                raise ValueError(
                    f"JIRA_STATUS_FROM_JIRA: maps {name!r} to {means}, but JIRA_STATUS_TO_JIRA pushes "
                    f"{status} to it; only the status CLOSED goes to may mean CLOSED"
                )
        return self

    @field_validator("close_requires_postmortem_priorities", mode="before")
    @classmethod
    def _priorities(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").split() if part]
        items = [int(str(item).upper().removeprefix("P")) for item in value]
        if any(not 1 <= item <= 5 for item in items):
            raise ValueError("priorities must be between 1 and 5")
        return items

    @field_validator("responders_group", "categories", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            parsed = _json(value) if value.strip().startswith("[") else value.split(",")
            return [str(item).strip() for item in parsed if str(item).strip()]
        return value

    @field_validator("responders_by_priority", "teams", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        value = _json(value)
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object")
        return value

    @field_validator("reminder_update_seconds", mode="before")
    @classmethod
    def _reminder_intervals(cls, value: Any) -> Any:
        value = _json(value)
        if not isinstance(value, dict):
            raise ValueError('must be a JSON object of priority → seconds, e.g. {"1": 1800, "2": 3600}')
        intervals = {}
        for key, seconds in value.items():
            digits = str(key).strip().upper().removeprefix("P")
            priority = int(digits) if digits.isdigit() else 0
            if not 1 <= priority <= 5:
                raise ValueError(f"{key!r} is not a priority between 1 and 5")
            if seconds is None:
                continue  # explicitly no reminders for this priority
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
                raise ValueError(f"the interval of P{priority} must be a number of seconds above 0")
            intervals[priority] = float(seconds)
        return intervals

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("jira_url")
    @classmethod
    def _jira_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return value.upper()

    @cached_property
    def jira_enabled(self) -> bool:
        """Jira sync runs only when both flags are on and a site is configured."""
        return self.enable_jira and self.enable_raid and bool(self.jira_url)

    def jira_projects(self) -> dict[str, str]:
        """Each Jira project the settings name, by the variable that names it."""
        projects = {
            "RAID_JIRA_PROJECT_KEY": self.raid_jira_project_key,
            "JIRA_POSTMORTEM_PROJECT_KEY": self.jira_postmortem_project_key,
        }
        projects.update({f"TEAMS[{team}]": key for team, key in self.teams.items() if key})
        if self.followup_jira_project_key:
            projects["FOLLOWUP_JIRA_PROJECT_KEY"] = self.followup_jira_project_key
        return projects

    def jira_incident_fields(self) -> dict[str, str]:
        """Each field the incident ticket is created with that the settings name, by its variable."""
        fields = {
            "JIRA_FIELD_PRIORITY": self.jira_field_priority,
            "JIRA_FIELD_ENVIRONMENTS": self.jira_field_environments,
            "JIRA_FIELD_PLATFORM": self.jira_field_platform,
            "JIRA_FIELD_BUSINESS_IMPACT": self.jira_field_business_impact,
            "JIRA_FIELD_ZENDESK_TICKET": self.jira_field_zendesk_ticket,
            "JIRA_FIELD_SELLER_CONTRACT": self.jira_field_seller_contract,
            "JIRA_FIELD_ZOHO_DESK_TICKET": self.jira_field_zoho_desk_ticket,
        }
        if self.raid_jira_incident_category_field:
            fields["RAID_JIRA_INCIDENT_CATEGORY_FIELD"] = self.raid_jira_incident_category_field
        return fields

    def jira_postmortem_field_ids(self) -> dict[str, str]:
        """Each field of the post-mortem issue, by the variable (and key) that names it."""
        return {f"JIRA_POSTMORTEM_FIELDS[{k}]": v for k, v in self.jira_postmortem_fields.items()}

    def missing_credentials(self) -> list[str]:
        """What `run` still needs, each with where to get it."""
        missing = []
        if self.slack_bot_token is None:
            missing.append("SLACK_BOT_TOKEN (xoxb-…): Slack app > OAuth & Permissions > Bot User OAuth Token")
        if self.slack_app_token is None:
            missing.append(
                "SLACK_APP_TOKEN (xapp-…): Slack app > Basic Information > App-Level Tokens "
                "(scope connections:write)"
            )
        if self.enable_jira and self.enable_raid:
            if not self.jira_url:
                missing.append(
                    "JIRA_URL: your Jira site, e.g. https://acme.atlassian.net (or ENABLE_JIRA=false)"
                )
            if not self.jira_pat and not (self.jira_user and (self.jira_api_token or self.jira_password)):
                missing.append(
                    "JIRA_USER and JIRA_API_TOKEN (Jira Cloud: id.atlassian.com > Security > API tokens) "
                    "or JIRA_PAT (Data Center personal access token) or JIRA_USER and JIRA_PASSWORD "
                    "(Data Center)"
                )
        return missing


def _json_object(value: Any, meaning: str) -> dict[Any, Any]:
    value = _json(value)
    if not isinstance(value, dict):
        raise ValueError(f"must be a JSON object {meaning}")
    return value


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: the name must be a non-empty string")
    return value.strip()


def _status(value: Any) -> str:
    """An incident status by value or label, in any case (`POST_MORTEM`, `Post-mortem`)."""
    text = str(value).strip().upper().replace("-", "_").replace(" ", "_")
    if text not in Status.__members__:
        raise ValueError(f"{value!r} is not an incident status; use one of {', '.join(Status)}")
    return text


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg})") from None
    return value


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning pydantic's errors into one message naming each bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            # A check across variables has no location; its message names the variables itself.
            lines.append(f"{str(error['loc'][0]).upper()}: {message}" if error["loc"] else message)
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
