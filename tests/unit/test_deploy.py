"""deploy/: the image, the compose file and the Kubernetes manifests, checked against the
Kubernetes API schemas and against what the app really reads (ghapp/settings.py, parsed here, so
that a setting renamed or added there shows up as a failure here, not in an operator's logs)."""

from __future__ import annotations

import ast
import copy
import fnmatch
import json
import re
import shlex
import sqlite3
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from ghapp.settings import SettingsError, from_env

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yml"
# The schemas kubernetes-validate ships (offline); 1.33 is the oldest minor still supported
# upstream when this was written, and the manifests need 1.29+ (native sidecars).
K8S_VERSION = "1.33.0"

# What an operator fills in before the first start (deploy/example.env, settings.yaml).
OPERATOR_FILLS = {"PUSHGRADE_APP_ID": "12345", "DOCKER_GID": "999"}
# What the operator puts in the secret files (deploy/README.md).
SECRET_FILE_CONTENTS = {
    "PUSHGRADE_DATABASE_URL": "postgresql+asyncpg://pushgrade:pw@postgres:5432/pushgrade",
    "PUSHGRADE_WEBHOOK_SECRET": "webhook-secret",
}
# Names of variables whose value is a secret: never a literal in deploy/, never baked in.
SECRETISH = re.compile(r"SECRET|PASSWORD|TOKEN|PRIVATE_KEY|DATABASE_URL")
# A URL with a password in it (scheme://user:password@host).
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@", re.IGNORECASE)
PLACEHOLDER = "CHANGE-ME"
FAKE_PEM = (
    "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8=\n-----END PRIVATE KEY-----\n"
)


# -- what the app reads ----------------------------------------------------------------------------


def settings_names() -> set[str]:
    """Every PUSHGRADE_* variable ghapp/settings.py reads: its string literals that are exactly a
    variable name (messages that merely mention one are longer)."""
    tree = ast.parse((ROOT / "ghapp" / "settings.py").read_text())
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"PUSHGRADE_[A-Z0-9_]+", node.value)
    }


def deploy_files() -> list[Path]:
    files = [p for p in sorted(DEPLOY.rglob("*")) if p.is_file()]
    return [*files, ROOT / ".dockerignore"]


def test_the_settings_names_are_read_from_the_source():
    names = settings_names()
    # A floor, so that a parser broken by a refactor cannot make the test below pass vacuously.
    assert len(names) >= 8, names
    assert {"PUSHGRADE_APP_ID", "PUSHGRADE_DATABASE_URL"} <= names


def test_every_pushgrade_variable_named_in_deploy_is_one_the_app_reads():
    known = settings_names()
    unknown = []
    for path in deploy_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for name in re.findall(r"\bPUSHGRADE_[A-Z0-9_]*[A-Z0-9]\b", line):
                if name not in known:
                    unknown.append(f"{path.relative_to(ROOT)}:{number}: {name}")
    assert unknown == [], "not read by ghapp/settings.py:\n" + "\n".join(unknown)


def test_the_operators_guide_documents_every_setting():
    guide = (DEPLOY / "README.md").read_text()
    missing = sorted(n for n in settings_names() if n not in guide)
    assert missing == [], f"add {missing} to the settings table in deploy/README.md"


def test_no_private_key_or_password_is_written_anywhere_in_deploy():
    for path in deploy_files():
        text = path.read_text()
        assert "PRIVATE KEY-----" not in text, path
        for url in URL_WITH_PASSWORD.findall(text):
            # Only placeholders: :CHANGE-ME@, :PASSWORD@, or a printf slot (:%s@).
            assert re.search(r":([A-Z][A-Z-]*|%s)@$", url), f"{path}: {url}"


# -- the Dockerfile --------------------------------------------------------------------------------


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    result, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        result.append((keyword.upper(), args.strip()))
        pending = ""
    return result


def image_env(steps: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in steps:
        if keyword == "ENV":
            env.update(word.split("=", 1) for word in shlex.split(args))
    return env


def healthcheck_command(steps: list[tuple[str, str]]) -> str | None:
    for keyword, args in steps:
        if keyword == "HEALTHCHECK":
            return args.split(" CMD ", 1)[1].strip() if " CMD " in f" {args}" else None
    return None


def dockerfile_problems(text: str) -> list[str]:
    steps = instructions(text)
    keywords = [keyword for keyword, _ in steps]
    problems = []
    if not steps or steps[0] != ("FROM", "python:3.11-slim"):
        problems.append("the image must start FROM python:3.11-slim")
    users = [(i, args) for i, (keyword, args) in enumerate(steps) if keyword == "USER"]
    if not users:
        problems.append("no USER: the image would run as root")
    else:
        index, user = users[-1]
        if user.split(":")[0] in ("root", "0"):
            problems.append(f"the last USER is root ({user})")
        if not user.split(":")[0].isdigit():
            problems.append("USER must be numeric, so Kubernetes can check runAsNonRoot")
        if any(keyword == "RUN" for keyword in keywords[index:]):
            problems.append("a RUN after the last USER")
    command = healthcheck_command(steps)
    if command is None or "/healthz" not in command:
        problems.append("no HEALTHCHECK on /healthz")
    if ("ENTRYPOINT", '["pushgrade"]') not in steps:
        problems.append('the ENTRYPOINT must be ["pushgrade"]')
    if ("CMD", '["serve"]') not in steps:
        problems.append('the default CMD must be ["serve"]')
    for keyword, args in steps:
        if keyword in ("ENV", "ARG"):
            names = [word.split("=", 1)[0] for word in shlex.split(args)]
            problems += [f"{keyword} {n} bakes a secret in" for n in names if SECRETISH.search(n)]
        if keyword in ("COPY", "ADD") and re.search(r"\.pem\b|secret|\.env\b", args):
            problems.append(f"{keyword} {args} copies a secret in")
    env = image_env(steps)
    if env.get("PUSHGRADE_HOST") != "0.0.0.0":
        problems.append("PUSHGRADE_HOST must be 0.0.0.0: pushgrade listens on 127.0.0.1 by default")
    exposed = {args.split("/")[0] for keyword, args in steps if keyword == "EXPOSE"}
    if env.get("PUSHGRADE_PORT", "8080") not in exposed:
        problems.append("EXPOSE does not match PUSHGRADE_PORT")
    return problems


def test_the_dockerfile_has_a_non_root_user_a_healthcheck_and_no_secret():
    assert dockerfile_problems(DOCKERFILE.read_text()) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: re.sub(r"(?m)^USER .*$", "", t), "no USER"),
        (lambda t: re.sub(r"(?m)^USER .*$", "USER root", t), "root"),
        (lambda t: t.replace("HEALTHCHECK", "# HEALTHCHECK"), "HEALTHCHECK"),
        (lambda t: t + "\nENV PUSHGRADE_WEBHOOK_SECRET=hunter2\n", "secret"),
        (lambda t: t + "\nCOPY deploy/secrets/private-key.pem /key.pem\n", "secret"),
        (lambda t: t + "\nRUN true\n", "RUN after"),
        (lambda t: t.replace("PUSHGRADE_HOST=0.0.0.0", "PUSHGRADE_HOST=127.0.0.1"), "0.0.0.0"),
        (lambda t: t.replace('CMD ["serve"]', 'CMD ["web"]'), "CMD"),
    ],
)
def test_the_dockerfile_check_catches_a_broken_dockerfile(change, problem):
    problems = dockerfile_problems(change(DOCKERFILE.read_text()))
    assert any(problem in p for p in problems), problems


def test_the_image_copies_every_package_pyproject_builds_and_dockerignore_keeps_them():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {
        p.name
        for p in ROOT.iterdir()
        if (p / "__init__.py").is_file() and any(fnmatch.fnmatch(p.name, pat) for pat in patterns)
    }
    sources = set()
    for keyword, args in instructions(DOCKERFILE.read_text()):
        if keyword == "COPY" and not args.startswith("--from"):
            sources.update(shlex.split(args)[:-1])
    needed = packages | {"pyproject.toml", pyproject["project"]["readme"]}
    assert needed <= sources, f"not copied into the image: {sorted(needed - sources)}"
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for source in sorted(sources):
        hits = [pattern for pattern in ignored if fnmatch.fnmatch(source, pattern)]
        assert hits == [], f".dockerignore drops {source}, which the Dockerfile copies"
    for private in (".venv", ".git", "deploy/secrets", "deploy/.env", "*.pem"):
        assert private in ignored, f".dockerignore should keep {private} out of the build"


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_the_healthcheck_command_passes_on_200_and_fails_on_503(status, healthy):
    command = healthcheck_command(instructions(DOCKERFILE.read_text()))
    handler = type("Handler", (_Health,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "PUSHGRADE_PORT": str(server.server_address[1]),
        }
        done = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    assert (done.returncode == 0) is healthy, done.stderr.decode()


# -- the compose file ------------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: object, dotenv: dict[str, str]) -> str:
    """Compose's variable substitution: $$, ${X}, ${X:-default}, ${X:?error}."""

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, word = match.groups()
        value = dotenv.get(name)
        if operator and operator.endswith("-"):
            return value if value else word
        if operator and operator.endswith("?") and not value:
            raise KeyError(f"${{{name}}} is required: {word}")
        return value or ""

    return _INTERPOLATION.sub(one, str(value))


def example_env() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "example.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def dotenv() -> dict[str, str]:
    """deploy/.env as an operator fills it in from example.env."""
    values = example_env()
    values.update({k: v for k, v in OPERATOR_FILLS.items() if not values.get(k)})
    return values


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def secret_targets(service: dict) -> dict[str, str]:
    targets = {}
    for secret in service.get("secrets", []):
        source = secret if isinstance(secret, str) else secret["source"]
        target = source if isinstance(secret, str) else secret.get("target", source)
        targets[target] = source
    return targets


def service_env(service: dict, pem_file: Path) -> dict[str, str]:
    """The environment pushgrade sees in a compose service: the image's ENV, the service's
    environment, and what the secrets entrypoint loads from /run/secrets/PUSHGRADE_*."""
    env = image_env(instructions(DOCKERFILE.read_text()))
    env.update({k: interpolate(v, dotenv()) for k, v in (service.get("environment") or {}).items()})
    targets = secret_targets(service)
    for target in targets:
        if target.startswith("PUSHGRADE_"):
            env[target] = SECRET_FILE_CONTENTS.get(target, "from-a-file")
    key_file = env.get("PUSHGRADE_PRIVATE_KEY_FILE", "")
    if key_file.startswith("/run/secrets/") and key_file.rsplit("/", 1)[1] in targets:
        env["PUSHGRADE_PRIVATE_KEY_FILE"] = str(pem_file)
    return env


def compose_problems(compose: dict) -> list[str]:
    services = compose.get("services", {})
    problems = [f"no {name} service" for name in ("postgres", "migrate", "web", "worker")]
    problems = [p for p in problems if p.split()[1] not in services]
    if problems:
        return problems
    if not str(services["postgres"].get("image", "")).startswith("postgres:15"):
        problems.append("postgres must be PostgreSQL 15")
    if "healthcheck" not in services["postgres"]:
        problems.append("postgres has no healthcheck for migrate to wait on")
    if (services["worker"].get("deploy") or {}).get("replicas") != 2:
        problems.append("the worker must run two replicas")
    if (services["web"].get("deploy") or {}).get("replicas", 1) != 1:
        problems.append("one web process")
    for name in ("web", "worker"):
        after = (services[name].get("depends_on") or {}).get("migrate") or {}
        if after.get("condition") != "service_completed_successfully":
            problems.append(f"{name} does not wait for migrate to complete")
    if services["migrate"].get("restart", "no") != "no":
        problems.append("migrate is one-shot: restart must be 'no'")
    after = (services["migrate"].get("depends_on") or {}).get("postgres") or {}
    if after.get("condition") != "service_healthy":
        problems.append("migrate does not wait for a healthy postgres")
    worker = services["worker"]
    socket = any(
        str(v).split(":")[0] == "/var/run/docker.sock" for v in worker.get("volumes") or []
    )
    if not socket and "DOCKER_HOST" not in (worker.get("environment") or {}):
        problems.append("the worker has no Docker engine: no socket mounted and no DOCKER_HOST")
    if socket and not worker.get("group_add") and worker.get("user") not in ("root", "0"):
        problems.append("the worker's non-root user cannot open the Docker socket: no group_add")
    check = (worker.get("healthcheck") or {}).get("test")
    if check is not None and "/healthz" not in " ".join(map(str, check)):
        problems.append("the worker's healthcheck does not ask its /healthz")
    defined = compose.get("secrets") or {}
    for name, service in services.items():
        for key in service.get("environment") or {}:
            if SECRETISH.search(key) and not key.endswith("_FILE"):
                problems.append(f"{name}: {key} is set in the environment, not from a file")
        for source in secret_targets(service).values():
            if source not in defined:
                problems.append(f"{name}: secret {source} is not defined")
    for source, spec in defined.items():
        if not str(spec.get("file", "")).startswith("./secrets/"):
            problems.append(f"secret {source} is not a file under deploy/secrets/")
    return problems


def test_the_compose_file_is_complete():
    assert compose_problems(load_compose()) == []


def _drop(path: list[str]):
    def change(compose):
        node = compose
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return change


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (_drop(["services", "migrate"]), "no migrate"),
        (_drop(["services", "worker", "volumes"]), "no Docker engine"),
        (_drop(["services", "worker", "group_add"]), "group_add"),
        (_drop(["services", "web", "depends_on"]), "web does not wait"),
        (
            lambda c: c["services"]["web"]["environment"].update(PUSHGRADE_WEBHOOK_SECRET="x"),
            "not from a file",
        ),
        (lambda c: c["services"]["worker"]["deploy"].update(replicas=1), "two replicas"),
        (
            lambda c: c["services"]["worker"].update(healthcheck={"test": ["CMD", "true"]}),
            "does not ask its /healthz",
        ),
        (lambda c: c["services"]["postgres"].update(image="postgres:13"), "PostgreSQL 15"),
    ],
)
def test_the_compose_check_catches_a_broken_file(change, problem):
    compose = copy.deepcopy(load_compose())
    change(compose)
    problems = compose_problems(compose)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(("name", "web", "worker"), [("web", True, False), ("worker", False, True)])
def test_each_compose_service_has_every_setting_its_process_needs(tmp_path, name, web, worker):
    pem = tmp_path / "key.pem"
    pem.write_text(FAKE_PEM)
    service = load_compose()["services"][name]
    settings = from_env(service_env(service, pem), web=web, worker=worker)
    assert settings.app_id == int(OPERATOR_FILLS["PUSHGRADE_APP_ID"])
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.public_url.startswith("https://")
    if web:
        assert settings.host == "0.0.0.0"
        published = [str(p).rsplit(":", 1)[-1] for p in service.get("ports", [])]
        assert str(settings.port) in published
    if worker:
        assert settings.private_key == FAKE_PEM.encode()
        assert settings.workers == int(dotenv()["WORKER_SLOTS"])
        # The image's check asks PUSHGRADE_PORT: a worker alone answers there too.
        assert settings.worker_port == int(service_env(service, pem)["PUSHGRADE_PORT"])


def test_every_variable_compose_requires_is_in_example_env():
    required = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?", COMPOSE.read_text())
    assert required, "compose.yml requires no variable: the check below would be vacuous"
    assert sorted(set(required) - set(example_env())) == []


def test_the_secrets_entrypoint_loads_pushgrade_files_into_the_environment(tmp_path):
    services = load_compose()["services"]
    entrypoint = services["web"]["entrypoint"]
    for name in ("migrate", "web", "worker"):
        assert services[name]["entrypoint"] == entrypoint, f"{name} skips the secrets loader"
    shell, flag, script, *rest = (interpolate(part, {}) for part in entrypoint)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "PUSHGRADE_WEBHOOK_SECRET").write_text("s3cret with spaces\n")
    (secrets / "private_key").write_text(FAKE_PEM)  # read by pushgrade itself, not loaded
    show = "import json, os; print(json.dumps(dict(os.environ)))"
    done = subprocess.run(
        [shell, flag, script.replace("/run/secrets", str(secrets)), *rest, sys.executable,
         "-c", show],
        capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    env = json.loads(done.stdout)
    assert env["PUSHGRADE_WEBHOOK_SECRET"] == "s3cret with spaces"
    assert "private_key" not in env and "PUSHGRADE_PRIVATE_KEY" not in env


def migration_command(command: list[str]) -> list[str]:
    """The migrate service's command, run with this checkout's `pushgrade`."""
    assert command == ["pushgrade", "migrate"], command
    return [str(Path(sys.executable).with_name("pushgrade")), "migrate"]


def test_the_migration_command_brings_an_empty_database_to_the_newest_schema(tmp_path):
    command = migration_command(load_compose()["services"]["migrate"]["command"])
    database = tmp_path / "fresh.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    for _ in range(2):  # the second run finds the schema there already
        done = subprocess.run(
            command,
            env={"PUSHGRADE_DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        head = db.execute("SELECT version_num FROM alembic_version").fetchall()
    assert {"jobs", "alembic_version"} <= tables and len(head) == 1


# -- the Kubernetes manifests ----------------------------------------------------------------------


def manifests() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        found += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def by_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == kind}


@pytest.mark.parametrize(
    "doc",
    [doc for _, doc in manifests()],
    ids=[f"{name}:{doc['kind']}/{doc['metadata']['name']}" for name, doc in manifests()],
)
def test_each_manifest_is_valid_against_the_kubernetes_schema(doc):
    # strict: a field the API does not know (a typo) fails too, instead of being dropped.
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_schema_check_rejects_an_unknown_field():
    worker = copy.deepcopy(by_kind("Deployment")["pushgrade-worker"])
    container = worker["spec"]["template"]["spec"]["containers"][0]
    container["resourcez"] = container.pop("resources")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(worker, K8S_VERSION, strict=True)


def test_there_is_a_web_deployment_service_ingress_worker_migration_job_and_secret():
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _, doc in manifests()}
    assert {
        ("Deployment", "pushgrade-web"),
        ("Deployment", "pushgrade-worker"),
        ("Service", "pushgrade-web"),
        ("Ingress", "pushgrade-web"),
        ("Job", "pushgrade-migrate"),
        ("Secret", "pushgrade"),
        ("ConfigMap", "pushgrade-settings"),
    } <= kinds


def test_kustomization_applies_everything_but_the_placeholder_secret():
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    files = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files - {"secret.yaml"}
    namespaced = [doc for _, doc in manifests() if doc["kind"] != "Namespace"]
    assert {doc["metadata"]["namespace"] for doc in namespaced} == {kustomization["namespace"]}
    images = {c["image"].split(":")[0] for c in all_containers()}
    assert {image["name"] for image in kustomization["images"]} <= images


def test_the_secret_holds_placeholders_only():
    secret = by_kind("Secret")["pushgrade"]
    assert "data" not in secret  # base64 would hide what is in it
    for key, value in secret["stringData"].items():
        assert PLACEHOLDER in value, f"{key} looks like a real value"


def pod_specs() -> dict[str, dict]:
    specs = {name: d["spec"]["template"]["spec"] for name, d in by_kind("Deployment").items()}
    specs.update({name: d["spec"]["template"]["spec"] for name, d in by_kind("Job").items()})
    return specs


def all_containers() -> list[dict]:
    return [
        c
        for spec in pod_specs().values()
        for c in spec.get("initContainers", []) + spec["containers"]
    ]


def pushgrade_container(pod: str) -> dict:
    return pod_specs()[pod]["containers"][0]


def kubernetes_env(pod: str, *, filled: bool, pem_file: Path) -> dict[str, str]:
    """The environment pushgrade sees in a pod: the image's ENV, envFrom, env (values and
    references into the ConfigMap and the Secret), and the private key file's volume."""
    spec, container = pod_specs()[pod], pushgrade_container(pod)
    configmaps = {name: doc["data"] for name, doc in by_kind("ConfigMap").items()}
    secrets = {name: dict(doc["stringData"]) for name, doc in by_kind("Secret").items()}
    if filled:
        for data in configmaps.values():
            data.update({k: v for k, v in OPERATOR_FILLS.items() if k in data})
    env = image_env(instructions(DOCKERFILE.read_text()))
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        ref = item["valueFrom"]
        if "secretKeyRef" in ref:
            env[item["name"]] = secrets[ref["secretKeyRef"]["name"]][ref["secretKeyRef"]["key"]]
        else:
            env[item["name"]] = configmaps[ref["configMapKeyRef"]["name"]][
                ref["configMapKeyRef"]["key"]
            ]
    key_file = env.get("PUSHGRADE_PRIVATE_KEY_FILE")
    if key_file:
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = [m for m in container["volumeMounts"] if key_file.startswith(m["mountPath"] + "/")]
        assert len(mounts) == 1, f"{key_file} is on no mounted volume"
        source = volumes[mounts[0]["name"]]["secret"]
        item = {i["path"]: i["key"] for i in source["items"]}[key_file.rsplit("/", 1)[1]]
        content = secrets[source["secretName"]][item]
        pem_file.write_text(FAKE_PEM if filled else content)
        env["PUSHGRADE_PRIVATE_KEY_FILE"] = str(pem_file)
    return env


def test_the_web_pod_has_every_setting_and_probes_healthz_on_its_port(tmp_path):
    env = kubernetes_env("pushgrade-web", filled=True, pem_file=tmp_path / "key.pem")
    settings = from_env(env, web=True, worker=False)
    assert settings.host == "0.0.0.0" and settings.database_url.startswith("postgresql+asyncpg")
    container = pushgrade_container("pushgrade-web")
    assert container["args"] == ["web"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        http = container[probe]["httpGet"]
        assert http["path"] == "/healthz"
        assert ports[http["port"]] == settings.port
    service = by_kind("Service")["pushgrade-web"]
    labels = by_kind("Deployment")["pushgrade-web"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)
    paths = {
        p["path"]: p["backend"]["service"]["name"]
        for rule in by_kind("Ingress")["pushgrade-web"]["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert paths["/webhooks/github"] == "pushgrade-web"
    assert "/metrics" not in paths


def test_the_worker_pod_has_every_setting_its_own_docker_engine_and_probes_healthz(tmp_path):
    env = kubernetes_env("pushgrade-worker", filled=True, pem_file=tmp_path / "key.pem")
    settings = from_env(env, web=False, worker=True)
    assert settings.private_key == FAKE_PEM.encode()
    assert settings.database_url.startswith("postgresql+asyncpg")
    container = pushgrade_container("pushgrade-worker")
    assert container["args"] == ["worker"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        http = container[probe]["httpGet"]
        assert http["path"] == "/healthz"
        assert ports[http["port"]] == settings.worker_port
    spec = pod_specs()["pushgrade-worker"]
    (dind,) = spec["initContainers"]
    assert dind["restartPolicy"] == "Always" and dind["securityContext"]["privileged"] is True
    listens = [a.split("=", 1)[1] for a in dind["args"] if a.startswith("--host=tcp://")]
    assert listens == [env["DOCKER_HOST"]]
    assert env["DOCKER_HOST"].startswith("tcp://127.0.0.1:"), "the engine must stay on loopback"


def test_placeholders_left_in_stop_the_worker_with_a_clear_message(tmp_path):
    env = kubernetes_env("pushgrade-worker", filled=False, pem_file=tmp_path / "key.pem")
    with pytest.raises(SettingsError, match="not a PEM private key"):
        from_env(env, web=False, worker=True)
    (tmp_path / "key.pem").write_text(FAKE_PEM)
    with pytest.raises(SettingsError, match="PUSHGRADE_APP_ID"):
        from_env(env, web=False, worker=True)


def test_only_the_docker_engine_is_privileged_and_pushgrade_never_runs_as_root():
    for pod, spec in pod_specs().items():
        pod_context = spec.get("securityContext", {})
        for container in spec.get("initContainers", []) + spec["containers"]:
            context = {**pod_context, **container.get("securityContext", {})}
            if container["name"] == "dind":
                continue
            where = f"{pod}/{container['name']}"
            assert context.get("runAsNonRoot") is True, where
            assert context.get("allowPrivilegeEscalation") is False, where
            assert not context.get("privileged"), where
            assert context.get("capabilities", {}).get("drop") == ["ALL"], where


def test_every_container_has_resource_requests_and_a_memory_limit():
    for container in all_containers():
        resources = container.get("resources", {})
        assert {"cpu", "memory"} <= set(resources.get("requests", {})), container["name"]
        assert "memory" in resources.get("limits", {}), container["name"]


def test_the_migration_job_runs_the_same_migration_as_compose():
    job = by_kind("Job")["pushgrade-migrate"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    compose = load_compose()["services"]["migrate"]["command"]
    assert container["command"] == compose == ["pushgrade", "migrate"]
    names = {item["name"] for item in container["env"]}
    assert "PUSHGRADE_DATABASE_URL" in names
