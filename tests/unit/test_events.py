"""Which deliveries become grading jobs: decisions over the real payload shapes."""

from __future__ import annotations

import pytest

from ghapp.core import events
from tests.payloads import payload


def test_push_to_a_branch_grades_the_pushed_head():
    data = payload("push/with-new-branch.payload.json")
    [decision] = events.decide("push", data)
    assert isinstance(decision, events.GradeRequest)
    assert decision.head_sha == data["after"]
    assert decision.ref == "refs/heads/master"
    assert decision.installation_id == data["installation"]["id"]
    assert (decision.owner, decision.repo) == (
        data["repository"]["owner"]["login"],
        data["repository"]["name"],
    )
    assert decision.trigger == "push"


def test_tag_deletion_is_not_graded():
    [decision] = events.decide("push", payload("push/with-installation.payload.json"))
    assert isinstance(decision, events.Ignore) and "deleted" in decision.reason


def test_branch_deletion_is_not_graded():
    data = payload("push/with-new-branch.payload.json")
    data.update(deleted=True, after="0" * 40)
    [decision] = events.decide("push", data)
    assert isinstance(decision, events.Ignore)


def test_tag_push_is_not_graded():
    data = payload("push/with-new-branch.payload.json")
    data["ref"] = "refs/tags/v1"
    [decision] = events.decide("push", data)
    assert isinstance(decision, events.Ignore) and "not a branch" in decision.reason


def test_push_without_installation_is_ignored():
    data = payload("push/with-new-branch.payload.json")
    del data["installation"]
    assert isinstance(events.decide("push", data)[0], events.Ignore)


def test_rerun_requests_grade_the_check_runs_commit():
    data = payload("check_run/rerequested.payload.json")
    [decision] = events.decide("check_run", data)
    assert isinstance(decision, events.GradeRequest)
    assert decision.head_sha == data["check_run"]["head_sha"]
    assert decision.trigger == "rerequested"


def test_rerun_of_another_apps_check_run_is_ignored():
    data = payload("check_run/rerequested.payload.json")
    assert isinstance(events.decide("check_run", data, app_id=-1)[0], events.Ignore)
    mine = data["check_run"]["app"]["id"]
    assert isinstance(events.decide("check_run", data, app_id=mine)[0], events.GradeRequest)


def test_rerun_button_grades_again_and_other_buttons_do_not():
    data = payload("check_run/requested_action.payload.json")
    data["requested_action"] = {"identifier": events.RERUN_ACTION}
    assert isinstance(events.decide("check_run", data)[0], events.GradeRequest)
    data["requested_action"] = {"identifier": "something-else"}
    assert isinstance(events.decide("check_run", data)[0], events.Ignore)


def test_check_suite_rerequest_grades_its_head():
    data = payload("check_suite/rerequested.payload.json")
    [decision] = events.decide("check_suite", data)
    assert isinstance(decision, events.GradeRequest)
    assert decision.head_sha == data["check_suite"]["head_sha"]


def test_installation_created_remembers_its_repositories():
    data = payload("installation/created.payload.json")
    [decision] = events.decide("installation", data)
    assert isinstance(decision, events.InstallationSeen)
    assert decision.installation_id == data["installation"]["id"]
    assert len(decision.repositories) == len(data["repositories"])


def test_installation_deleted_and_repositories_removed_forget():
    assert isinstance(
        events.decide("installation", payload("installation/deleted.payload.json"))[0],
        events.InstallationGone,
    )
    [removed] = events.decide(
        "installation_repositories", payload("installation_repositories/removed.payload.json")
    )
    assert isinstance(removed, events.RepositoriesRemoved) and removed.repository_ids


def test_suspension_is_recorded():
    [decision] = events.decide("installation", payload("installation/suspend.payload.json"))
    assert decision == events.InstallationSuspended(decision.installation_id, True)


def test_events_we_do_not_act_on_are_ignored():
    assert isinstance(events.decide("ping", payload("ping/payload.json"))[0], events.Ignore)
    assert isinstance(
        events.decide("check_run", payload("check_run/created.payload.json"))[0], events.Ignore
    )


@pytest.mark.parametrize("body", [[], "push", 3, None])
def test_a_payload_that_is_not_an_object_is_a_bad_payload(body):
    with pytest.raises(events.BadPayload):
        events.decide("push", body)


def test_a_push_missing_its_fields_is_a_bad_payload():
    data = payload("push/with-new-branch.payload.json")
    del data["repository"]
    with pytest.raises(events.BadPayload, match="push payload"):
        events.decide("push", data)
    data = payload("push/with-new-branch.payload.json")
    data["after"] = 42
    with pytest.raises(events.BadPayload):
        events.decide("push", data)
