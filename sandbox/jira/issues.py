"""Issue changes (create, edit, transition, assign, comment, links), each as Jira records it.

REST routes and `JiraUser` both come through here, so a change made "by a person in Jira" leaves the
same changelog history (one item per field whose value really changed) and the same webhook as a
change made over REST.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .errors import JiraEmulatorError, not_found_issue
from .fields import FieldError, apply_ops, change_item, coerce, text_of
from .render import jira_time, link_ref, project_ref
from .state import Change, JiraState

_NOT_SETTABLE = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
_DONE = {"self": "", "id": "10000", "description": "Work has been completed on this issue.", "name": "Done"}


def _issue(state: JiraState, key: str) -> dict[str, Any]:
    record = state.get_issue(key)
    if record is None:
        raise not_found_issue()
    return record


def _object(body: Any, name: str) -> dict[str, Any]:
    value = body.get(name) if isinstance(body, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise JiraEmulatorError(400, [f"'{name}' must be an object"])
    return value


def _new_values(
    state: JiraState, record_fields: dict[str, Any], fields_in: dict[str, Any], update_in: dict[str, Any]
) -> tuple[dict[str, Any], list[Any]]:
    """Validated new values for `fields`/`update` input, plus comment bodies to add; 400 on any error."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    comments: list[Any] = []
    for fid, raw in fields_in.items():
        field = state.fields.get(fid)
        if field is None or field.kind == "readonly":
            errors[fid] = _NOT_SETTABLE.format(fid)
            continue
        if fid in update_in:
            errors[fid] = f"Field '{fid}' cannot appear in both 'fields' and 'update'"
            continue
        try:
            values[fid] = coerce(field, raw, state)
        except FieldError as exc:
            errors[fid] = str(exc)
    for fid, ops in update_in.items():
        if fid == "comment":
            comments.extend(op["add"].get("body") for op in ops if isinstance(op, dict) and "add" in op)
            continue
        field = state.fields.get(fid)
        if field is None or field.kind == "readonly":
            errors[fid] = _NOT_SETTABLE.format(fid)
            continue
        try:
            values[fid] = apply_ops(field, record_fields.get(fid), ops, state)
        except FieldError as exc:
            errors[fid] = str(exc)
    if "summary" in values and not values["summary"]:
        errors["summary"] = "You must specify a summary of the issue."
    elif "summary" in values and len(values["summary"]) > 255:
        errors["summary"] = "Summary must be less than 255 characters."
    if errors:
        raise JiraEmulatorError(400, [], errors)
    return values, comments


_CLOUD_ONLY_ITEM_KEYS = ("fieldId", "tmpFromAccountId", "tmpToAccountId")


def _apply(state: JiraState, record: dict[str, Any], values: dict[str, Any]) -> list[dict[str, Any]]:
    """Store new values; one changelog item per field whose value really changed."""
    items = []
    for fid, new in values.items():
        old = record["fields"].get(fid)
        if old != new:
            items.append(change_item(state.fields[fid], old, new))
            record["fields"][fid] = new
    return items


def _record_history(
    state: JiraState, record: dict[str, Any], author: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    now = state.clock()
    if state.datacenter:  # Server changelogs: no fieldId (a custom field is named by its display name)
        items = [{k: v for k, v in i.items() if k not in _CLOUD_ONLY_ITEM_KEYS} for i in items]
    history = {
        "id": state.next_history_id(),
        "author": state.user_ref(author),
        "created": jira_time(now),
        "items": items,
    }
    record["changelog"].append(history)
    record["updated"] = now
    return history


def create_issue(state: JiraState, author: str, body: Any) -> dict[str, Any]:
    """POST /issue: validate project, type and summary, then store the issue in its initial status."""
    with state.lock:
        fields_in = dict(_object(body, "fields"))
        update_in = _object(body, "update")
        errors: dict[str, str] = {}
        project_in = fields_in.pop("project", None)
        ref = project_in.get("key") or project_in.get("id") if isinstance(project_in, dict) else project_in
        project = state.find_project(str(ref)) if ref else None
        if project is None:
            errors["project"] = "Specify a valid project ID or key"
        type_in = fields_in.pop("issuetype", None)
        issuetype = state.issuetype_ref(type_in) if isinstance(type_in, dict) else None
        if issuetype is None:
            errors["issuetype"] = "Specify a valid issue type" if type_in else "Specify an issue type"
        if not fields_in.get("summary") and "summary" not in update_in:
            errors["summary"] = "You must specify a summary of the issue."
        if "reporter" in fields_in and not state.reporter_settable:
            errors["reporter"] = _NOT_SETTABLE.format("reporter")
        for fid in fields_in.keys() & state.off_create_screen:
            errors[fid] = _NOT_SETTABLE.format(fid)
        try:
            values, comments = _new_values(state, {}, fields_in, update_in)
        except JiraEmulatorError as exc:
            errors = exc.errors | errors
        if errors or project is None or issuetype is None:
            raise JiraEmulatorError(400, [], errors)
        issue_id, key = state.next_issue_id_and_key(project["key"])
        now = state.clock()
        record: dict[str, Any] = {
            "id": issue_id,
            "key": key,
            "project": dict(project),
            "fields": {"issuetype": issuetype, "project": project_ref(state, project), "labels": []},
            "changelog": [],
            "comments": [],
            "links": [],
            "remote_links": [],
            "created": now,
            "updated": now,
            "resolutiondate": None,
        }
        record["fields"] |= {
            "priority": state.default_priority(),
            "reporter": state.user_ref(author),
            "creator": state.user_ref(author),
            "assignee": None,
            "resolution": None,
        }
        record["fields"] |= values
        status = state.workflow_for(record).initial
        record["status"] = status
        record["fields"]["status"] = state.statuses.rest(status, state.base_url)
        state.issues[key] = record
        state.issues_by_id[issue_id] = record
        for text in comments:
            add_comment(state, author, key, text, notify=False)
        state.emit(Change("jira:issue_created", "issue_created", record, author, None))
        return record


def edit_issue(state: JiraState, author: str, key: str, body: Any) -> dict[str, Any] | None:
    """PUT /issue/{key}: apply `fields` and `update`; one history for the fields that really changed."""
    with state.lock:
        record = _issue(state, key)
        values, comments = _new_values(
            state, record["fields"], _object(body, "fields"), _object(body, "update")
        )
        items = _apply(state, record, values)
        history = _record_history(state, record, author, items) if items else None
        for text in comments:
            add_comment(state, author, key, text)
        if history is not None:
            only_assignee = all(item["field"] == "assignee" for item in items)
            event = "issue_assigned" if only_assignee else "issue_updated"
            state.emit(Change("jira:issue_updated", event, record, author, history))
        return history


def transition_issue(
    state: JiraState, author: str, key: str, transition_id: Any, body: Any = None
) -> dict[str, Any]:
    """POST /issue/{key}/transitions: move along an available transition (400 if not available)."""
    with state.lock:
        record = _issue(state, key)
        available = state.workflow_for(record).available(record["status"])
        transition = next((t for t in available if t.id == str(transition_id)), None)
        if transition is None:
            raise JiraEmulatorError(400, [f"Transition id '{transition_id}' is not valid for this issue."])
        values, comments = _new_values(
            state, record["fields"], _object(body, "fields"), _object(body, "update")
        )
        items = _apply(state, record, values)
        old_status = record["fields"]["status"]
        new_status = state.statuses.rest(transition.to, state.base_url)
        was_done = old_status["statusCategory"]["key"] == "done"
        is_done = new_status["statusCategory"]["key"] == "done"
        if was_done != is_done:
            resolution = (
                {**_DONE, "self": f"{state.base_url}/rest/api/2/resolution/10000"} if is_done else None
            )
            items.append(change_item(state.fields["resolution"], record["fields"]["resolution"], resolution))
            record["fields"]["resolution"] = resolution
            record["resolutiondate"] = state.clock() if is_done else None
        items.append(change_item(state.fields["status"], old_status, new_status))
        record["status"] = transition.to
        record["fields"]["status"] = new_status
        history = _record_history(state, record, author, items)
        for text in comments:
            add_comment(state, author, key, text)
        state.emit(Change("jira:issue_updated", "issue_generic", record, author, history))
        return history


def assign_issue(state: JiraState, author: str, key: str, account_id: str | None) -> dict[str, Any] | None:
    """PUT /issue/{key}/assignee: set or clear the assignee (no history when it does not change)."""
    with state.lock:
        record = _issue(state, key)
        field = state.fields["assignee"]
        try:
            new = coerce(field, None if account_id is None else {"accountId": account_id}, state)
        except FieldError as exc:
            raise JiraEmulatorError(400, [], {"assignee": str(exc)}) from exc
        old = record["fields"].get("assignee")
        if old == new:
            return None
        record["fields"]["assignee"] = new
        history = _record_history(state, record, author, [change_item(field, old, new)])
        state.emit(Change("jira:issue_updated", "issue_assigned", record, author, history))
        return history


def move_issue(state: JiraState, author: str, key: str, project_key: str) -> dict[str, Any]:
    """Move an issue to another project, as Jira's Move does: it keeps its id, gets the next key in the
    new project (the old key still finds it), and one history records the `project` and `Key` items."""
    with state.lock:
        record = _issue(state, key)
        project = state.find_project(project_key)
        if project is None:
            raise JiraEmulatorError(400, [f"No project could be found with key '{project_key}'."])
        old_key, old_project = record["key"], record["project"]
        if project["key"] == old_project["key"]:
            raise JiraEmulatorError(400, [f"{old_key} is already in project {project['key']}."])
        new_key = state.next_key(project["key"])
        items = [
            {
                **_jira_item("project", "project"),
                "from": old_project["id"],
                "fromString": old_project["name"],
                "to": project["id"],
                "toString": project["name"],
            },
            {**_jira_item("Key", "issuekey"), "fromString": old_key, "toString": new_key},
        ]
        record["key"], record["project"] = new_key, dict(project)
        record["fields"]["project"] = project_ref(state, project)
        del state.issues[old_key]
        state.issues[new_key] = record
        state.moved_keys[old_key] = new_key
        history = _record_history(state, record, author, items)
        state.emit(Change("jira:issue_updated", "issue_moved", record, author, history))
        return history


def _jira_item(name: str, field_id: str) -> dict[str, Any]:
    """A changelog item of a system field that has no field definition here (`project`, `Key`)."""
    return {
        "field": name,
        "fieldtype": "jira",
        "fieldId": field_id,
        "from": None,
        "fromString": None,
        "to": None,
        "toString": None,
    }


def add_comment(
    state: JiraState,
    author: str,
    key: str,
    body: Any,
    *,
    notify: bool = True,
    properties: Any = None,
) -> dict[str, Any]:
    """POST /issue/{key}/comment: store a comment (v2 wiki text or v3 ADF) with its entity properties,
    touch `updated`, and send `comment_created` with its `jira:issue_updated` twin (`issue_commented`)."""
    with state.lock:
        record = _issue(state, key)
        if not text_of(body):
            raise JiraEmulatorError(400, [], {"comment": "Comment body can not be empty!"})
        stored_properties = _comment_properties(properties)
        now = state.clock()
        comment_id = state.next_id()
        user = state.user_ref(author)
        internal = any(
            p["key"] == "sd.public.comment" and (p.get("value") or {}).get("internal") is True
            for p in stored_properties
        )
        comment = {
            "self": f"{state.base_url}/rest/api/2/issue/{record['id']}/comment/{comment_id}",
            "id": comment_id,
            "author": user,
            "body": body,
            "updateAuthor": user,
            "created": jira_time(now),
            "updated": jira_time(now),
            "jsdPublic": not internal,
            "properties": stored_properties,
        }
        record["comments"].append(comment)
        if notify:
            record["updated"] = now
            _comment_event(state, record, author, comment, "comment_created", "issue_commented")
        return comment


def _comment_properties(properties: Any) -> list[dict[str, Any]]:
    """`properties: [{"key": …, "value": …}]` of a new comment (400 when malformed, as Jira answers)."""
    if properties is None:
        return []
    if not isinstance(properties, list) or not all(
        isinstance(p, dict) and isinstance(p.get("key"), str) and p["key"] and "value" in p
        for p in properties
    ):
        raise JiraEmulatorError(
            400, [], {"properties": "Each property needs a non-empty 'key' and a 'value'."}
        )
    return [{"key": p["key"], "value": p["value"]} for p in properties]


def _comment_event(
    state: JiraState, record: dict[str, Any], author: str, comment: dict[str, Any], event: str, twin: str
) -> None:
    """Jira sends a comment event and, for the same comment, a `jira:issue_updated` carrying it."""
    state.emit(Change(event, "", record, author, None, comment=comment))
    state.emit(Change("jira:issue_updated", twin, record, author, None, comment=comment))


def find_comment(state: JiraState, key: str, comment_id: str) -> dict[str, Any]:
    record = _issue(state, key)
    for comment in record["comments"]:
        if comment["id"] == str(comment_id):
            return comment
    raise JiraEmulatorError(404, ["Can not find a comment for the id: " + str(comment_id) + "."])


def edit_comment(state: JiraState, author: str, key: str, comment_id: str, body: Any) -> dict[str, Any]:
    """PUT /issue/{key}/comment/{id}: new body, `updateAuthor` and `updated`, then `comment_updated`
    and its twin (`issue_comment_edited`). Saving the same text still counts as an edit, as in Jira."""
    with state.lock:
        record = _issue(state, key)
        comment = find_comment(state, key, comment_id)
        if not text_of(body):
            raise JiraEmulatorError(400, [], {"comment": "Comment body can not be empty!"})
        now = state.clock()
        if jira_time(now) <= comment["updated"]:  # an edit is always later than the version it replaces
            now = datetime.strptime(comment["updated"], "%Y-%m-%dT%H:%M:%S.%f%z") + timedelta(milliseconds=1)
        comment.update(body=body, updateAuthor=state.user_ref(author), updated=jira_time(now))
        record["updated"] = now
        _comment_event(state, record, author, comment, "comment_updated", "issue_comment_edited")
        return comment


def delete_comment(state: JiraState, author: str, key: str, comment_id: str) -> None:
    """DELETE /issue/{key}/comment/{id}: `comment_deleted` and its twin (`issue_comment_deleted`)."""
    with state.lock:
        record = _issue(state, key)
        comment = find_comment(state, key, comment_id)
        record["comments"].remove(comment)
        record["updated"] = state.clock()
        _comment_event(state, record, author, comment, "comment_deleted", "issue_comment_deleted")


def add_remote_link(state: JiraState, key: str, body: Any) -> tuple[int, dict[str, Any]]:
    """POST /issue/{key}/remotelink: add, or update the link with the same `globalId` (200)."""
    with state.lock:
        record = _issue(state, key)
        obj = _object(body, "object")
        errors = {name: f"'{name}' is required." for name in ("url", "title") if not obj.get(name)}
        if errors:
            raise JiraEmulatorError(400, [], errors)
        global_id = body.get("globalId")
        existing = next(
            (link for link in record["remote_links"] if global_id and link.get("globalId") == global_id), None
        )
        link_id = int(existing["id"]) if existing else int(state.next_id())
        link = {
            "id": link_id,
            "self": f"{state.base_url}/rest/api/2/issue/{record['key']}/remotelink/{link_id}",
            **{k: body[k] for k in ("globalId", "application", "relationship") if k in body},
            "object": obj,
        }
        if existing:
            existing.clear()
            existing.update(link)
            return 200, {"id": link_id, "self": link["self"]}
        record["remote_links"].append(link)
        return 201, {"id": link_id, "self": link["self"]}


def add_issue_link(state: JiraState, body: Any) -> None:
    """POST /issueLink: link `inwardIssue` to `outwardIssue` with a configured type (by name)."""
    with state.lock:
        type_name = _object(body, "type").get("name")
        link_type = next((t for t in state.link_types if str(type_name).lower() == t["name"].lower()), None)
        if link_type is None:
            raise JiraEmulatorError(404, [f"No issue link type with name '{type_name}' found."])
        inward = _issue(state, str(_object(body, "inwardIssue").get("key", "")))
        outward = _issue(state, str(_object(body, "outwardIssue").get("key", "")))
        link_id = state.next_id()
        shared = {
            "id": link_id,
            "self": f"{state.base_url}/rest/api/2/issueLink/{link_id}",
            "type": {**link_type, "self": f"{state.base_url}/rest/api/2/issueLinkType/{link_type['id']}"},
        }
        inward["links"].append({**shared, "outwardIssue": link_ref(state, outward)})
        outward["links"].append({**shared, "inwardIssue": link_ref(state, inward)})
