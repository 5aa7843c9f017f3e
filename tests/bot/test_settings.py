"""Settings: the documented defaults, and each invalid value named in the error, secrets never shown."""

from __future__ import annotations

import pytest

from bot.settings import ConfigError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in list(__import__("os").environ):
        if name.startswith(
            ("SLACK_", "JIRA_", "RAID_", "ENABLE_", "HTTP_", "REDIS_", "DATABASE_", "RECONCILE_", "REMINDER_")
        ):
            monkeypatch.delenv(name)


def test_defaults_follow_the_spec() -> None:
    settings = load_settings()
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.http_host == "127.0.0.1" and settings.http_port == 8080
    assert settings.reconcile_interval_seconds == 300
    assert settings.enable_jira and settings.enable_raid
    assert settings.redis_url is None
    assert settings.database_url.startswith("sqlite:///") and "/data/" in settings.database_url
    assert settings.jira_postmortem_fields["timeline"] == "customfield_12700"
    assert settings.jira_field_priority == "customfield_11064"


def test_dotenv_is_read(tmp_path) -> None:
    (tmp_path / ".env").write_text("HTTP_PORT=9191\nSLACK_ANNOUNCEMENTS_CHANNEL=C0ANN\n")
    settings = load_settings()
    assert settings.http_port == 9191
    assert settings.slack_announcements_channel == "C0ANN"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HTTP_PORT", "eighty"),
        ("HTTP_PORT", "70000"),
        ("RECONCILE_INTERVAL_SECONDS", "0"),
        ("ENABLE_JIRA", "perhaps"),
        ("SLACK_API_URL", "slack.com/api"),
        ("JIRA_URL", "acme.atlassian.net"),
        ("JIRA_POSTMORTEM_FIELDS", "{not json"),
        ("JIRA_POSTMORTEM_FIELDS", '{"timeline": "customfield_1", "bogus": "customfield_2"}'),
        ("SLACK_BOT_TOKEN", "xapp-wrong-kind"),
        ("SLACK_APP_TOKEN", "xoxb-wrong-kind"),
        ("CLOSE_REQUIRES_POSTMORTEM_PRIORITIES", "P9"),
        ("LOG_LEVEL", "LOUD"),
        ("REMINDER_UPDATE_SECONDS", "{1: 1800"),
        ("REMINDER_UPDATE_SECONDS", "[1800, 3600]"),
        ("REMINDER_UPDATE_SECONDS", '{"9": 600}'),
        ("REMINDER_UPDATE_SECONDS", '{"1": 0}'),
        ("REMINDER_UPDATE_SECONDS", '{"1": "soon"}'),
        ("REMINDER_POSTMORTEM_SECONDS", "-1"),
        ("REMINDER_CHECK_SECONDS", "0"),
    ],
)
def test_invalid_value_names_its_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as excinfo:
        load_settings()
    assert variable in str(excinfo.value)


def test_secrets_never_appear_in_errors_or_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-supersecret-value")
    with pytest.raises(ConfigError) as excinfo:
        load_settings()
    assert "supersecret" not in str(excinfo.value)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-supersecret-value")
    monkeypatch.setenv("JIRA_API_TOKEN", "jira-supersecret")
    settings = load_settings()
    assert "supersecret" not in repr(settings) and "supersecret" not in str(settings.model_dump())


def test_postmortem_fields_merge_over_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_POSTMORTEM_FIELDS", '{"timeline": "customfield_99"}')
    fields = load_settings().jira_postmortem_fields
    assert fields["timeline"] == "customfield_99"
    assert fields["impact"] == "customfield_12702"


def test_missing_credentials_say_what_and_where() -> None:
    missing = "\n".join(load_settings().missing_credentials())
    for needed in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "JIRA_URL", "JIRA_API_TOKEN"):
        assert needed in missing


def test_jira_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENABLE_JIRA", "false")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    settings = load_settings()
    assert settings.missing_credentials() == []
    assert not settings.jira_enabled


SIMPLE_TO_JIRA = (
    '{"OPEN": "To Do", "Investigating": "In Progress", "mitigating": "In Progress", '
    '"MITIGATED": "In Review", "Post-mortem": "In Review", "CLOSED": "Done"}'
)
SIMPLE_FROM_JIRA = (
    '{"To Do": "OPEN", "In Progress": "INVESTIGATING", "In Review": "MITIGATED", "Done": "CLOSED"}'
)


def test_jira_mappings_default_to_the_seed_s_jira() -> None:
    settings = load_settings()
    assert settings.jira_status_to_jira["OPEN"] == "Incoming"
    assert settings.jira_status_to_jira["POST_MORTEM"] == "Reporter validation"
    assert list(settings.jira_status_from_jira) == [
        "Incoming",
        "Pending resolution",
        "in progress",
        "Reporter validation",
        "Closed",
    ], "the walk's order"
    assert settings.jira_priority_values == {1: "1", 2: "2", 3: "3", 4: "4", 5: "5"}
    assert set(settings.jira_sync_fields.values()) == {"both"}
    assert set(settings.jira_sync_fields) == {
        "title",
        "description",
        "priority",
        "commander",
        "status",
        "comments",
    }
    assert settings.jira_user_map == {}


def test_a_team_s_jira_is_read_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_STATUS_TO_JIRA", SIMPLE_TO_JIRA)
    monkeypatch.setenv("JIRA_STATUS_FROM_JIRA", SIMPLE_FROM_JIRA)
    monkeypatch.setenv("JIRA_FIELD_PRIORITY", "priority")
    monkeypatch.setenv(
        "JIRA_PRIORITY_VALUES", '{"P1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}'
    )
    monkeypatch.setenv("JIRA_SYNC_FIELDS", '{"title": "to_jira", "description": "off"}')
    monkeypatch.setenv("JIRA_USER_MAP", '{"5b10ac8d82e05b22cc7d4ef5": "U0ZED"}')
    settings = load_settings()
    assert settings.jira_status_to_jira == {
        "OPEN": "To Do",
        "INVESTIGATING": "In Progress",
        "MITIGATING": "In Progress",
        "MITIGATED": "In Review",
        "POST_MORTEM": "In Review",
        "CLOSED": "Done",
    }, "statuses by value or label, in any case"
    assert list(settings.jira_status_from_jira) == ["To Do", "In Progress", "In Review", "Done"]
    assert settings.jira_priority_values[1] == "Highest"
    assert settings.jira_sync_fields["title"] == "to_jira" and settings.jira_sync_fields["priority"] == "both"
    assert settings.jira_user_map == {"5b10ac8d82e05b22cc7d4ef5": "U0ZED"}


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("JIRA_STATUS_TO_JIRA", '{"OPEN": "To Do"}', "no Jira status for INVESTIGATING"),
        (
            "JIRA_STATUS_TO_JIRA",
            '{"OPEN": "To Do", "REOPENED": "To Do"}',
            "'REOPENED' is not an incident status",
        ),
        ("JIRA_STATUS_TO_JIRA", '["To Do"]', "must be a JSON object"),
        ("JIRA_STATUS_FROM_JIRA", '{"Done": "FINISHED"}', "'FINISHED' is not an incident status"),
        ("JIRA_STATUS_FROM_JIRA", '{"Done": "CLOSED", "done": "CLOSED"}', "listed twice"),
        ("JIRA_FIELD_PRIORITY", "Priority (incident)", "custom field id"),
        ("JIRA_PRIORITY_VALUES", '{"1": "Highest", "2": "High"}', "no value for priority 3, 4, 5"),
        ("JIRA_PRIORITY_VALUES", '{"0": "a", "1": "b", "2": "c", "3": "d", "4": "e", "5": "f"}', "unknown"),
        ("JIRA_PRIORITY_VALUES", '{"1": "High", "2": "high", "3": "c", "4": "d", "5": "e"}', "same value"),
        ("JIRA_PRIORITY_VALUES", '{"1": "", "2": "b", "3": "c", "4": "d", "5": "e"}', "non-empty"),
        (
            "JIRA_SYNC_FIELDS",
            '{"title": "sideways"}',
            "'sideways' is not one of both, to_jira, from_jira, off",
        ),
        ("JIRA_SYNC_FIELDS", '{"labels": "both"}', "unknown fields ['labels']"),
        ("JIRA_USER_MAP", '{"acc-zed": "zed@example.com"}', "not a Slack user id"),
        ("JIRA_USER_MAP", "{not json", "is not valid JSON"),
    ],
)
def test_a_wrong_mapping_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, said: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as excinfo:
        load_settings()
    assert f"{variable}: " in str(excinfo.value) and said in str(excinfo.value)


def test_the_status_maps_must_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_STATUS_TO_JIRA", SIMPLE_TO_JIRA)
    with pytest.raises(ConfigError) as excinfo:
        load_settings()  # JIRA_STATUS_FROM_JIRA is still the seed's
    assert "JIRA_STATUS_FROM_JIRA: has no entry for 'To Do'" in str(excinfo.value)
    monkeypatch.setenv(
        "JIRA_STATUS_FROM_JIRA", SIMPLE_FROM_JIRA.replace('"In Review": "MITIGATED"', '"In Review": "CLOSED"')
    )
    with pytest.raises(ConfigError) as excinfo:
        load_settings()
    assert "maps 'In Review' to CLOSED, but JIRA_STATUS_TO_JIRA pushes MITIGATED to it" in str(excinfo.value)


def test_reminder_defaults_and_a_configured_interval_per_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.reminder_update_seconds == {1: 1800, 2: 3600, 3: 7200}
    assert (settings.reminder_postmortem_seconds, settings.reminder_check_seconds) == (172800, 60)
    monkeypatch.setenv("REMINDER_UPDATE_SECONDS", '{"P1": 600, "4": 86400, "2": null}')
    assert load_settings().reminder_update_seconds == {1: 600, 4: 86400}, "null: none for that priority"
