"""Persistence: installations, repositories, webhook deliveries, jobs and graded submissions.

The job row is the unit of durable work. Its `state` moves
received → queued → running → done, or ends early as skipped (no config: not graded, nothing on
GitHub), failed (gave up after retries) or cancelled. A worker holds a job under a lease
(`lease_owner`, `lease_expires_at`) that it renews; a lapsed lease returns the job to the queue.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


NOTE_CHARS = 2000  # of a note or an error kept for the teacher: the dashboard shows it whole


def clipped(text: str) -> str:
    """A note or an error as it is stored: its first `NOTE_CHARS` characters."""
    return text[:NOTE_CHARS]


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class JobState(StrEnum):
    RECEIVED = "received"  # stored from a webhook; config not read yet
    QUEUED = "queued"  # config read, check run shows "queued"; waiting for a grading slot
    RUNNING = "running"
    DONE = "done"
    SKIPPED = "skipped"  # not graded, by design (no config file, nothing matches)
    FAILED = "failed"  # could not be graded after every attempt
    CANCELLED = "cancelled"


class Installation(Base):
    __tablename__ = "installations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_login: Mapped[str] = mapped_column(String(255))
    account_type: Mapped[str] = mapped_column(String(32), default="Organization")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Repository(Base):
    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    installation_id: Mapped[int] = mapped_column(
        ForeignKey("installations.id", ondelete="CASCADE"), index=True
    )
    owner: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    default_branch: Mapped[str] = mapped_column(String(255), default="main")
    private: Mapped[bool] = mapped_column(default=True)


class Delivery(Base):
    """One webhook delivery, unique on GitHub's delivery GUID: a redelivery finds it here."""

    __tablename__ = "deliveries"

    guid: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64), nullable=True)
    installation_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What we made of it: "job 12", "ignored: tag push", ...
    result: Mapped[str] = mapped_column(String(255), default="")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state_id", "state", "id"),
        Index("ix_jobs_repo_sha", "owner", "repo", "head_sha"),
        Index("ix_jobs_repo_received", "owner", "repo", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(16), default=JobState.RECEIVED)
    trigger: Mapped[str] = mapped_column(String(32))  # push, rerequested, requested_action, ...
    delivery_guid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    installation_id: Mapped[int] = mapped_column(BigInteger)
    repository_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    owner: Mapped[str] = mapped_column(String(255))
    repo: Mapped[str] = mapped_column(String(255))
    head_sha: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    default_branch: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sender: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The server's receive time of the push: deadlines are judged by it, never by commit dates.
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    config: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # The assignment that applies (its name in the config file), once intake has read it.
    assignment: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # A teacher asked to stop it: the worker holding it (or the next to claim it) ends it
    # with a `cancelled` check run.
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    # Set at intake: on_time, late or closed (after the deadline and not graded), by the policy.
    timing: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Counts against the repo's max_graded_per_day (a student's push or re-run, not a teacher's).
    counted: Mapped[bool] = mapped_column(default=False)
    # One of a bulk regrade: claimed after every other job, results sent at the lowest priority,
    # no "queued" or "in progress" on the way (the student's commit keeps its last result).
    background: Mapped[bool] = mapped_column(default=False)
    check_run_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # For the teacher: why it was skipped or failed.
    note: Mapped[str] = mapped_column(Text, default="")
    # A graded job's timeline: Unix times by phase (ghapp.core.phases), for its page and metrics.
    phases: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class Submission(Base):
    """A graded run of one commit: the full Outcome, whatever the student was shown."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    owner: Mapped[str] = mapped_column(String(255))
    repo: Mapped[str] = mapped_column(String(255), index=True)
    head_sha: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    conclusion: Mapped[str] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(nullable=True)  # after any late penalty
    max_score: Mapped[float | None] = mapped_column(nullable=True)
    outcome: Mapped[dict] = mapped_column(JSON)
    graded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    late: Mapped[bool] = mapped_column(default=False)
    penalty: Mapped[float] = mapped_column(default=0.0)  # the fraction of the score taken off
    # The visibility level the check run was rendered at, and when it is to be re-rendered at
    # the assignment's `after_due` level (None: never). The reveal is claimed under a lease and
    # done once (`revealed_at`).
    level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reveal_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    reveal_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The exact image the run used (its id, sha256:…): a regrade records its own.
    image_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # The reference graded with (a registry name, or the tag built from a grader commit) and
    # its registry digest (registry/name@sha256:…) when it came from a registry.
    image: Mapped[str | None] = mapped_column(String(512), nullable=True)
    image_digest: Mapped[str | None] = mapped_column(String(600), nullable=True)
    # The results.json leaderboard ([{name, value, order}]), None when the grader wrote none.
    leaderboard: Mapped[list | None] = mapped_column(JSON, nullable=True)


class OutboxWrite(Base):
    """A check-run write waiting for GitHub: sent in order per job, by priority across jobs,
    as the installation's write budget allows. A newer write for a job replaces the unsent
    ones before it (a result makes a waiting "in progress" pointless), so intermediate states
    nobody would see are never sent. A row is deleted once GitHub has accepted it."""

    __tablename__ = "outbox"
    # AUTOINCREMENT: SQLite would otherwise give a replaced write's id to its replacement, and a
    # lease taken on the old id would send the new row's place with the old row's body.
    __table_args__ = (
        Index("ix_outbox_pending", "sent", "not_before"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    installation_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # queued, in_progress, final, reveal, ...
    priority: Mapped[int] = mapped_column(Integer)  # higher first
    # The check run's fields for a create or an update; further annotation batches follow.
    body: Mapped[dict] = mapped_column(JSON)
    more_outputs: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str] = mapped_column(Text, default="")


class GitHubWrite(Base):
    """One content-generating request sent to GitHub, kept an hour: the write budget counts
    these per installation over the last minute and the last hour, across every process."""

    __tablename__ = "github_writes"
    __table_args__ = (Index("ix_github_writes_installation_at", "installation_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    installation_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkerBeat(Base):
    """A live worker process: its heartbeat, renewed every few seconds. The orphan sweep spares
    the containers of workers whose heartbeat is fresh, on every host sharing an engine."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    slots: Mapped[int] = mapped_column(Integer, default=0)


class GitHubBlock(Base):
    """GitHub said "wait" (403/429 with retry-after): the installation sends nothing until."""

    __tablename__ = "github_blocks"

    installation_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A dashboard sign-in. The browser holds only a signed cookie naming it; the GitHub user
    token stays here (encrypted), with the CSRF token of the session's forms."""

    __tablename__ = "web_sessions"

    # sha256 of the session id in the cookie: a copy of this table signs nobody in.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[str] = mapped_column(Text)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class GraderBuild(Base):
    """The image built from one commit of a grader repository on one Docker engine. The row is
    the claim: whoever inserts it (or takes over a lapsed or long-failed one) builds, every other
    job needing that grader waits for `state` to leave "building". Reused until the grader repo
    moves to another commit."""

    __tablename__ = "grader_builds"
    __table_args__ = (
        UniqueConstraint("grader", "commit_sha", "engine", name="uq_grader_builds_commit_engine"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # i<installation>:owner/name of the grader repository (a tenant's builds are its own)
    grader: Mapped[str] = mapped_column(String(255))
    commit_sha: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(128))  # the Docker engine's ID: images are local
    state: Mapped[str] = mapped_column(String(16))  # building, built, failed
    tag: Mapped[str] = mapped_column(String(255))
    image_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    builder: Mapped[str] = mapped_column(String(128))  # the worker holding the claim
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    # For the teacher: the step that failed, what the engine said, the end of the build's log.
    failed_step: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    log_tail: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WarmRequest(Base):
    """An assignment whose image changed (its grader repo or the org file was pushed): every
    worker makes it ready on its own Docker engine, so a deployment whose workers each have an
    engine of their own (a Docker-in-Docker sidecar each) is warm everywhere, not only where
    the push was handled. Kept a day."""

    __tablename__ = "warm_requests"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids only grow: workers follow them

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    installation_id: Mapped[int] = mapped_column(BigInteger)
    owner: Mapped[str] = mapped_column(String(255))
    assignment: Mapped[str] = mapped_column(String(100))
    config: Mapped[dict] = mapped_column(JSON)  # the assignment's settings, as a job keeps them
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class RosterStudent(Base):
    """A student on an org's roster. Personal data: shown only to that org's teachers, never
    written to a repository or a log. `org` is the account's login, lower-case; `login` the
    student's GitHub login, lower-case, once linked (by the teacher's import, or by the student
    choosing their identifier on their first accept)."""

    __tablename__ = "roster"
    __table_args__ = (
        UniqueConstraint("org", "identifier_key", name="uq_roster_identifier"),
        UniqueConstraint("org", "login", name="uq_roster_login"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org: Mapped[str] = mapped_column(String(255), index=True)
    identifier: Mapped[str] = mapped_column(String(200))
    identifier_key: Mapped[str] = mapped_column(String(200))  # casefolded: s1001 is S1001
    name: Mapped[str] = mapped_column(String(200), default="")
    section: Mapped[str] = mapped_column(String(200), default="")
    login: Mapped[str | None] = mapped_column(String(39), nullable=True)
    github_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    linked_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HandOut(Base):
    """One student's (or team's) repository of one assignment: made once from the template,
    whatever double clicks, web processes and retries ask. `holder` is the student's login,
    lower-case (a team's: `team:` and its slug); a repository name belongs to one holder only.
    While a process makes it the row is `making` under a lease; then `ready`, or `failed` with
    the problem (the next accept tries again)."""

    __tablename__ = "handouts"
    __table_args__ = (
        UniqueConstraint("org", "assignment", "holder", name="uq_handouts_holder"),
        UniqueConstraint("org", "repo", name="uq_handouts_repo"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org: Mapped[str] = mapped_column(String(255))
    assignment: Mapped[str] = mapped_column(String(100))
    holder: Mapped[str] = mapped_column(String(255))
    login: Mapped[str] = mapped_column(String(39))  # who accepted first
    repo: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default="making")
    maker: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    repo_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    invitation_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    adopted: Mapped[bool] = mapped_column(default=False)  # the repository existed already
    problem: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # lock_at_cutoff: when its students' access dropped to read; `unlocked` once a teacher gave
    # it back (it is not locked again). Archived at the end of term by a teacher.
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unlocked: Mapped[bool] = mapped_column(default=False)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class HandOutAction(Base):
    """What was done to an assignment's repositories at once, and by whom: locked at the
    cutoff (by pushgrade), unlocked, archived, unarchived (by a teacher)."""

    __tablename__ = "handout_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org: Mapped[str] = mapped_column(String(255))
    assignment: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(255))
    repos: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Extension(Base):
    """A student's (or team's) own due date and cutoff for one assignment, keyed by their
    repository: every deadline decision on its pushes uses them. Who granted it and when are
    kept; a new grant replaces the last."""

    __tablename__ = "extensions"
    __table_args__ = (UniqueConstraint("org", "assignment", "repo", name="uq_extensions_repo"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org: Mapped[str] = mapped_column(String(255))  # lower-case
    assignment: Mapped[str] = mapped_column(String(100))
    repo: Mapped[str] = mapped_column(String(100))  # lower-case
    due: Mapped[datetime] = mapped_column(UTCDateTime)
    cutoff: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The due date's UTC offset, in minutes, as the teacher gave it (stored moments are UTC).
    offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    granted_by: Mapped[str] = mapped_column(String(255))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Team(Base):
    """A team of one team assignment (`max_team_size`): named by its first member; `slug` names
    its repository. Students of other teams never see its members."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("org", "assignment", "slug", name="uq_teams_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org: Mapped[str] = mapped_column(String(255))  # lower-case
    assignment: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(60))
    created_by: Mapped[str] = mapped_column(String(39))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TeamMember(Base):
    """A student in a team: one team per student and assignment."""

    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("org", "assignment", "login", name="uq_team_members_login"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    org: Mapped[str] = mapped_column(String(255))
    assignment: Mapped[str] = mapped_column(String(100))
    login: Mapped[str] = mapped_column(String(39))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- similarity (ghapp.work.similarity) --------------------------------------------------------


class SimilaritySource(Base):
    """The code of one commit, as similarity reports compare it: its source files' text
    (ghapp.core.similarity's caps), compressed; or, when none could be taken, why (the archive
    was refused, too large). A commit's content never changes: it is downloaded once, and
    dropped once no report compares it any more. Students' code: shown to their org's teachers
    only, never logged."""

    __tablename__ = "similarity_sources"
    __table_args__ = (
        UniqueConstraint("owner", "repo", "commit_sha", name="uq_similarity_sources_commit"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(255))
    repo: Mapped[str] = mapped_column(String(255))
    commit_sha: Mapped[str] = mapped_column(String(64))
    files: Mapped[bytes] = mapped_column()  # LargeBinary, by its annotation
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    problem: Mapped[str] = mapped_column(Text, default="")
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SimilarityReport(Base):
    """One assignment's similarity report: when it was computed, from which commits (each
    repo's latest graded one, and the template's), and whether it is out of date. `stale_since`
    is set when the latest commits are seen to differ from the report's (`changed_at`: the last
    time they were), `requested_at` when a teacher asks; a worker refreshes it under a lease.
    Its pairs are `similarity_pairs`."""

    __tablename__ = "similarity_reports"
    __table_args__ = (
        UniqueConstraint("org", "assignment", name="uq_similarity_reports_assignment"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org: Mapped[str] = mapped_column(String(255))  # as the jobs name their owner
    assignment: Mapped[str] = mapped_column(String(100))
    stale_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    requested_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    commits: Mapped[dict] = mapped_column(JSON, default=dict)  # repo → the sha compared
    template: Mapped[str | None] = mapped_column(String(255), nullable=True)
    template_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    submissions: Mapped[int] = mapped_column(Integer, default=0)  # repos with a graded commit
    compared: Mapped[int] = mapped_column(Integer, default=0)  # of them, with code of their own
    below: Mapped[float] = mapped_column(default=0.0)  # the highest score not reported
    skipped: Mapped[list] = mapped_column(JSON, default=list)  # [[repo, why]]
    problem: Mapped[str] = mapped_column(Text, default="")  # for the teacher


class SimilarityPair(Base):
    """Two submissions of a report found alike: the share of each one's own code found in the
    other, and the matching fragments ([{path_a, first_a, last_a, text_a, …_b, tokens}])."""

    __tablename__ = "similarity_pairs"
    # AUTOINCREMENT: a refreshed report's pairs never take the ids (the links) of the last's.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("similarity_reports.id", ondelete="CASCADE"), index=True
    )
    rank: Mapped[int] = mapped_column(Integer)
    repo_a: Mapped[str] = mapped_column(String(255))
    sha_a: Mapped[str] = mapped_column(String(64))
    repo_b: Mapped[str] = mapped_column(String(255))
    sha_b: Mapped[str] = mapped_column(String(64))
    similarity_a: Mapped[float] = mapped_column()
    similarity_b: Mapped[float] = mapped_column()
    tokens: Mapped[int] = mapped_column(Integer)
    fragments: Mapped[list] = mapped_column(JSON, default=list)
