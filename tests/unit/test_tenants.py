"""The operator's policy file: who is served, with which images, logins and ceilings."""

from __future__ import annotations

import pytest

from ghapp.core.config import ConfigError, load_config
from ghapp.core.image_rule import ANY, canonical
from ghapp.core.tenants import (
    Ceilings,
    PolicyError,
    Tenancy,
    TenantRules,
    load_policy,
    single_teacher,
    tenant_problems,
)
from runner.spec import MiB

GiB = 1024 * MiB

POLICY = """\
defaults:
  images: [docker.io/library/]
  ceilings: {{memory: 2g, cpus: 2, pids: 1024, timeout: 600, network: false, running: 4}}
tenants:
  Uni-A-CS101:
    images: [registry.example/uni-a/grader]
    ceilings: {{memory: 4g, running: 8}}
  uni-b-prog1: {{}}
  uni-c:
registries:
  - registry: registry.example
    namespaces: [uni-a/]
    tenants: [uni-a-cs101]
    username: pushgrade
    password_file: {secret}
  - registry: registry.example
    namespaces: [uni-a/special/]
    tenants: [Uni-A-CS101]
    credential_helper: pass
  - registry: registry.example
    namespaces: [uni-b/, uni-a/special/deeper/]
    tenants: [uni-b-prog1]
    username: robot
    password_env: UNI_B_PASSWORD
  - registry: https://Index.Docker.IO/
    namespaces: [uni-b/]
    tenants: [uni-b-prog1]
    docker_config: true
"""


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "registry-uni-a"
    path.write_text("hunter2\n")
    return path


@pytest.fixture
def tenancy(secret) -> Tenancy:
    return load_policy(POLICY.format(secret=secret), file="policy.yml")


# --- a valid policy -----------------------------------------------------------------------------


def test_the_accounts_under_tenants_are_served_and_no_other(tenancy):
    assert tenancy.accounts == {"uni-a-cs101", "uni-b-prog1", "uni-c"}
    assert tenancy.serves("uni-a-cs101") is True
    assert tenancy.serves("UNI-A-cs101") is True
    assert tenancy.serves("uni-c") is True
    assert tenancy.serves("stranger") is False
    assert tenancy.source == "policy.yml"


@pytest.mark.parametrize(
    ("account", "prefixes"),
    [
        (
            "uni-a-cs101",
            ("docker.io/library/", "registry.example/uni-a/grader", "registry.example/uni-a/",
             "registry.example/uni-a/special/"),
        ),
        (
            "uni-b-prog1",
            ("docker.io/library/", "registry.example/uni-b/",
             "registry.example/uni-a/special/deeper/", "docker.io/uni-b/"),
        ),
        ("uni-c", ("docker.io/library/",)),
    ],
)  # fmt: skip
def test_a_tenants_images_are_the_defaults_its_own_and_its_registries_namespaces(
    tenancy, account, prefixes
):
    assert tenancy.rules_for(account).prefixes == prefixes


def test_rules_are_found_whatever_the_case_of_the_login(tenancy):
    rules = tenancy.rules_for("UNI-A-cs101")
    assert rules.account == "Uni-A-CS101"
    assert rules is tenancy.rules_for("uni-a-cs101")


def test_a_tenants_own_ceiling_replaces_only_the_fields_it_sets(tenancy):
    defaults = tenancy.default.ceilings
    own = tenancy.rules_for("uni-a-cs101").ceilings
    assert (own.memory, own.running) == (4 * GiB, 8)
    assert own.model_dump(exclude={"memory", "running"}) == defaults.model_dump(
        exclude={"memory", "running"}
    )
    assert tenancy.rules_for("uni-b-prog1").ceilings == defaults
    assert (defaults.memory, defaults.cpus, defaults.pids, defaults.timeout) == (
        2 * GiB,
        2.0,
        1024,
        600.0,
    )
    # What the defaults leave out keeps the built-in default.
    assert defaults.build_memory == Ceilings().build_memory


def test_an_account_not_listed_gets_the_defaults_and_no_login(tenancy):
    rules = tenancy.rules_for("stranger")
    assert rules.account == "stranger"
    assert rules.prefixes == ("docker.io/library/",)
    assert rules.ceilings == tenancy.default.ceilings
    assert rules.logins == ()
    assert rules.docker_config_everywhere is False


def test_running_caps_are_the_default_and_each_accounts_own(tenancy):
    assert tenancy.running_caps() == (4, {"uni-a-cs101": 8, "uni-b-prog1": 4, "uni-c": 4})


def test_a_registry_is_spelled_as_references_spell_it(tenancy):
    hub = tenancy.rules_for("uni-b-prog1").logins[-1]
    assert hub.registry == "docker.io"
    assert hub.kind == "docker_config"


@pytest.mark.parametrize(
    ("account", "reference", "login"),
    [
        ("uni-a-cs101", "registry.example/uni-a/grader:1", ("password", "pushgrade")),
        ("uni-a-cs101", "registry.example/uni-a/special/x:1", ("credential_helper", None)),
        # uni-b's entry is closer, but it is not tied to uni-a.
        ("uni-a-cs101", "registry.example/uni-a/special/deeper/x", ("credential_helper", None)),
        ("uni-a-cs101", "registry.example/uni-b/x:1", None),
        ("uni-a-cs101", "uni-b/x:1", None),
        ("uni-a-cs101", "python:3.11", None),
        ("uni-b-prog1", "registry.example/uni-b/x:1", ("password", "robot")),
        ("uni-b-prog1", "registry.example/uni-a/special/deeper/x", ("password", "robot")),
        ("uni-b-prog1", "index.docker.io/uni-b/x", ("docker_config", None)),
        ("uni-b-prog1", "registry.example/uni-a/grader:1", None),
        ("uni-b-prog1", "registry.example/uni-a/special/x", None),
        ("uni-c", "registry.example/uni-a/grader:1", None),
        ("stranger", "registry.example/uni-a/grader:1", None),
    ],
)
def test_a_pull_uses_the_closest_login_tied_to_that_tenant_and_never_anothers(
    tenancy, account, reference, login
):
    rules = tenancy.rules_for(account)
    found = rules.login_for(canonical(reference))
    assert (None if found is None else (found.kind, found.username)) == login
    assert found is None or account.lower() in {t.lower() for t in found.tenants}


# --- policy errors ------------------------------------------------------------------------------


def _problems(text: str) -> list:
    with pytest.raises(PolicyError) as caught:
        load_policy(text, file="policy.yml")
    return caught.value.problems


REGISTRY = "tenants:\n  a: {}\nregistries:\n  - registry: registry.example\n    tenants: [a]\n"


@pytest.mark.parametrize(
    ("text", "where", "field", "message"),
    [
        (
            "tenants:\n  a: {}\ndefualts: {}\n",
            "line 3, column 1",
            "defualts",
            "unknown setting 'defualts'; did you mean 'defaults'?",
        ),
        (
            "tenants:\n  a:\n    imagse: [registry.example/a/]\n",
            "line 3, column 5",
            "tenants.a.imagse",
            "unknown setting 'imagse'; did you mean 'images'?",
        ),
        (
            "tenants:\n  a:\n    ceilings: {memroy: 1g}\n",
            "line 3, column 16",
            "tenants.a.ceilings.memroy",
            "did you mean 'memory'?",
        ),
        pytest.param(
            REGISTRY + "    usernmae: u\n",
            "line 6, column 5",
            "registries.0.usernmae",
            "did you mean 'username'?",
        ),
        (
            "tenants:\n  -bad-: {}\n",
            "line 1, column 1",
            "tenants",
            "'-bad-' is not a GitHub account login",
        ),
        (
            "tenants:\n  a: {}\nregistries:\n  - registry: r.example\n    tenants: [not_a_login]\n",
            "line 5, column 5",
            "registries.0.tenants",
            "'not_a_login' is not a GitHub account login",
        ),
        (
            "tenants:\n  a:\n    images: [registry.example/Uni-A/]\n",
            "line 3, column 5",
            "tenants.a.images",
            "'Uni-A' is not a repository name (lower case)",
        ),
        (
            "tenants:\n  a:\n    images: [docker.io/]\n",
            "line 3, column 5",
            "tenants.a.images",
            "all of Docker Hub is not a namespace",
        ),
        (
            "defaults:\n  images: [index.docker.io/]\ntenants:\n  a: {}\n",
            "line 2, column 3",
            "defaults.images",
            "all of Docker Hub is not a namespace",
        ),
        (
            "tenants:\n  a:\n    ceilings: {cpus: 0}\n",
            "line 3, column 16",
            "tenants.a.ceilings.cpus",
            "greater than 0",
        ),
        (
            "tenants:\n  a: {}\nregistries:\n  - registry: Bad_Host!\n    tenants: [a]\n",
            "line 4, column 5",
            "registries.0.registry",
            "is not a registry host",
        ),
        ("tenants: {}\n", "line 1, column 1", "tenants", "list the accounts served"),
        ("tenants:\n", "line 1, column 1", "tenants", "list the accounts served"),
        ("defaults: {}\n", "line 1, column 1", "tenants", "this setting is required"),
        ("tenants: [a, b]\n", "line 1, column 1", "tenants", "list the accounts served"),
        ("tenants: {a: {}\n", "line 2, column 1", "", "not valid YAML"),
    ],
)
def test_a_policy_error_is_located_by_line_and_field(text, where, field, message):
    problems = _problems(text)
    assert [(p.where, p.field) for p in problems] == [(where, field)]
    assert message in problems[0].message


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ("    username: u\n", "registries.0", "a username needs its password"),
        (
            "    username: u\n    password_env: P\n    password_file: /etc/hostname\n",
            "registries.0",
            "a username needs its password from password_file or password_env (one)",
        ),
        ("    password_env: P\n", "registries.0", "a password needs its username"),
        (
            "    username: u\n    password_env: P\n    credential_helper: pass\n",
            "registries.0",
            "one login per entry: username or credential_helper, not both",
        ),
        (
            "    credential_helper: pass\n    docker_config: true\n",
            "registries.0",
            "one login per entry: credential_helper or docker_config, not both",
        ),
        (
            "    username: u\n    password_file: /nonexistent/registry-password\n",
            "registries.0.password_file",
            "no readable file at /nonexistent/registry-password",
        ),
        ("    namespaces: [Uni-A/]\n", "registries.0.namespaces", "lower case"),
    ],
)
def test_a_registry_login_must_say_one_way_to_log_in_completely(extra, field, message):
    problems = _problems(REGISTRY + extra)
    assert [p.field for p in problems] == [field]
    assert message in problems[0].message


def test_a_registry_entry_may_only_name_tenants_listed_under_tenants():
    text = REGISTRY.replace("tenants: [a]", "tenants: [a, uni-b]")
    problems = _problems(text)
    assert [p.field for p in problems] == ["registries.0.tenants"]
    assert problems[0].message == "'uni-b' is not one of the tenants: list it under tenants: first"


def test_every_problem_is_reported_at_once_and_the_message_names_the_file():
    text = (
        "tenants:\n  a: {}\nregistries:\n"
        "  - registry: r.example\n    tenants: [b]\n"
        "  - registry: r.example\n    tenants: [a]\n    username: u\n"
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(text, file="policy.yml")
    assert isinstance(caught.value, ConfigError)
    assert [p.field for p in caught.value.problems] == ["registries.0.tenants", "registries.1"]
    assert str(caught.value).startswith("policy.yml: ")


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ("    username: u\n", "line 4,"),
        ("    username: u\n    password_file: /nonexistent/registry-password\n", "line 7,"),
    ],
)
def test_a_registry_login_problem_is_located_at_its_line_too(extra, where):
    problems = _problems(REGISTRY + extra)
    assert problems[0].where.startswith(where)


# --- the single-teacher default -----------------------------------------------------------------


def test_without_a_policy_the_served_account_depends_on_the_first_installation():
    tenancy = single_teacher()
    assert tenancy.accounts is None
    assert tenancy.serves("anyone") is None
    rules = tenancy.rules_for("Teacher")
    assert rules.account == "Teacher"
    assert rules.prefixes == (ANY,)
    assert rules.docker_config_everywhere is True
    assert rules.logins == ()
    assert rules.login_for(canonical("registry.example/uni-a/x")) is None
    # One account served has no other to starve: no cap on its running jobs by default.
    assert rules.ceilings == Ceilings(running=None)


def test_without_a_policy_the_accounts_listed_are_served_whatever_their_case():
    tenancy = single_teacher(("a", "B"))
    assert tenancy.accounts == {"a", "b"}
    assert (tenancy.serves("A"), tenancy.serves("b"), tenancy.serves("c")) == (True, True, False)
    assert tenancy.rules_for("b").prefixes == (ANY,)


@pytest.mark.parametrize("running", [None, 1, 4])
def test_without_a_policy_the_running_cap_is_the_one_given(running):
    assert single_teacher(running=running).running_caps() == (running, {})


# --- what a config may ask for ------------------------------------------------------------------

RULES = TenantRules(
    "uni-a",
    ("registry.example/uni-a/",),
    Ceilings.model_validate({"memory": "1g", "cpus": 2, "pids": 256, "timeout": 300}),
)
IMAGE = "image: registry.example/uni-a/grader:1\n"
ABOVE = "is above this deployment's ceiling of"


@pytest.mark.parametrize(
    ("config", "problems"),
    [
        (IMAGE, []),
        (IMAGE + "timeout: 300\nlimits: {memory: 1g, cpus: 2, pids: 256}\n", []),
        ("grader: grader-hw1\n", []),
        ("grader: uni-a/grader-hw1\n", []),
        ("grader: UNI-A/grader-hw1\n", []),
        (
            "image: registry.example/uni-b/grader:1\n",
            [("image", "'registry.example/uni-b/grader:1' is not one this deployment lets uni-a")],
        ),
        ("image: python:3.11\n", [("image", "'python:3.11' is not one")]),
        ("image: pushgrade-grader/uni-a-hw1:1\n", [("image", "pushgrade's own")]),
        (
            "grader: other-org/grader-x\n",
            [("grader", "other-org/grader-x belongs to another account")],
        ),
        (IMAGE + "timeout: 301\n", [("timeout", f"301 s {ABOVE} 300 s")]),
        (IMAGE + "limits: {memory: 2g}\n", [("limits.memory", f"2 GiB {ABOVE} 1 GiB")]),
        (IMAGE + "limits: {cpus: 2.5}\n", [("limits.cpus", f"2.5 {ABOVE} 2")]),
        (IMAGE + "limits: {pids: 257}\n", [("limits.pids", f"257 {ABOVE} 256")]),
        (IMAGE + "network: true\n", [("network", "network: false")]),
        (
            "image: registry.example/uni-b/grader:1\ntimeout: 3600\nnetwork: true\n",
            [("image", "uni-b"), ("timeout", f"3600 s {ABOVE} 300 s"), ("network", "false")],
        ),
    ],
)  # fmt: skip
def test_a_config_asking_for_more_than_its_tenant_may_have_is_refused_field_by_field(
    config, problems
):
    found = tenant_problems(load_config(config), RULES, owner="uni-a")
    assert [field for field, _ in found] == [field for field, _ in problems]
    for (_, message), (_, fragment) in zip(found, problems, strict=True):
        assert fragment in message


def test_a_ceiling_that_allows_the_network_lets_a_config_turn_it_on():
    rules = TenantRules(RULES.account, RULES.prefixes, RULES.ceilings.over({"network": True}))
    assert tenant_problems(load_config(IMAGE + "network: true\n"), rules, owner="uni-a") == []


def test_the_single_teacher_default_lets_any_image_but_pushgrades_own():
    rules = single_teacher().rules_for("teacher")
    anything = load_config("image: anything.example/at/all:1\n")
    assert tenant_problems(anything, rules, owner="teacher") == []
    own = load_config("image: pushgrade/volume-template:1\n")
    assert [field for field, _ in tenant_problems(own, rules, owner="teacher")] == ["image"]


def test_an_account_listed_twice_in_another_case_is_refused():
    with pytest.raises(PolicyError) as caught:
        load_policy("tenants:\n  uni-a: {}\n  UNI-A: {ceilings: {memory: 64g}}\n", file="p.yml")
    assert "'UNI-A' is listed twice" in str(caught.value)
