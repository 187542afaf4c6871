"""Backup and restore of the whole database, on both stores.

* SQLite: the online backup API (``sqlite3.Connection.backup``) reads one consistent snapshot through
  SQLite itself, WAL included, while the server keeps writing; copying the file alone loses every
  committed event still in ``-wal``. The backup is one self-contained file (rollback journal, no
  ``-wal``). A restore copies it back through the same API into the live file, so connections the
  servers hold see the restored content instead of a file swapped under them.
* PostgreSQL: ``pg_dump --format=custom``, and ``pg_restore --clean`` piped into ``psql
  --single-transaction`` (tables the backup does not know dropped first), of the same major version as
  the server (:func:`pg_tool` finds them; ``make pg-client`` installs Debian's).

A restore then brings the schema up to this code's migrations, ends every login session the backup
holds (an admin may have ended some of them after the backup was taken; none may come back to life), and
records itself in the audit chain. Backup files hold password hashes and evidence: created mode 600, and
written under a temporary name first so a failed backup never leaves a half file under the given name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text, update
from sqlmodel import Session

from db.models import UserSession, utcnow
from services.actor import Actor, require_role
from services.audit import Recorder
from services.errors import ValidationFailed

_record_database = Recorder("database")

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
STORE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# Tables every backup of this system holds; a file without them is somebody else's database.
REQUIRED_TABLES = ("alembic_version", "auditevent", "auditchainhead", "usersession", "user")
RESTORE_REASON = "restore"
PG_TOOL_TIMEOUT = 6 * 3600  # seconds; a province's database dumps in minutes, never hours


class BackupError(ValidationFailed):
    """A backup or restore that could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    store: str
    bytes: int
    sha256: str
    seconds: float


@dataclass(frozen=True)
class RestoreResult:
    store: str
    sha256: str
    sessions_revoked: int
    seconds: float


def store_of(engine: Engine) -> str:
    return "sqlite" if engine.dialect.name == "sqlite" else "postgresql"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _private_temp(out: Path) -> Path:
    """An empty mode-600 file beside ``out`` to write the backup into before it takes ``out``'s name."""
    if not out.parent.is_dir():
        raise BackupError(f"备份目录不存在：{out.parent}")
    if out.is_dir():
        raise BackupError(f"备份文件名指向一个目录：{out}")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return tmp


def _finish(tmp: Path, out: Path) -> None:
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, out)


def kind_of_file(path: Path) -> str:
    """'sqlite' or 'postgresql' from the file's first bytes; BackupError for anything else."""
    if not path.is_file():
        raise BackupError(f"找不到备份文件：{path}")
    with path.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"“{path.name}”不是本系统的数据库备份（既不是 SQLite 备份，也不是 pg_dump 自定义格式）")


# ------------------------------------------------------------------ SQLite
def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("内存数据库没有可备份的文件")
    return Path(database)


def _sqlite_backup(engine: Engine, tmp: Path) -> None:
    source = sqlite3.connect(_sqlite_path(engine), timeout=30)
    target = sqlite3.connect(tmp)
    try:
        source.execute("PRAGMA busy_timeout=30000")
        source.backup(target)  # one step: a consistent snapshot, WAL included; writers are not blocked
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        check = target.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"备份文件自检未通过：{check}")
    finally:
        target.close()
        source.close()


def _check_sqlite_file(path: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            check = connection.execute("PRAGMA quick_check").fetchone()[0]
            tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"备份文件“{path.name}”已损坏，无法读取：{exc}") from None
    if check != "ok":
        raise BackupError(f"备份文件“{path.name}”已损坏（完整性检查：{check}），未做任何恢复")
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise BackupError(
            f"“{path.name}”不是本系统的数据库备份（缺少数据表：{'、'.join(missing)}），未做任何恢复"
        )


def _sqlite_restore(engine: Engine, source_path: Path) -> None:
    live = _sqlite_path(engine)
    if live.exists() and source_path.resolve() == live.resolve():
        raise BackupError("备份文件就是当前数据库文件本身，无需恢复")
    engine.dispose()
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    target = sqlite3.connect(live, timeout=30)
    try:
        target.execute("PRAGMA busy_timeout=30000")
        # Into the live file through SQLite: connections of running servers see the restored pages (a WAL
        # database stays in WAL mode), nothing is swapped under them.
        source.backup(target)
        target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        target.close()
        source.close()


# ------------------------------------------------------------------ PostgreSQL
def _version(output: str) -> int | None:
    """The major version ``pg_dump --version`` prints: "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"."""
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", output)
    return int(match.group(1)) if match else None


def pg_tool(name: str, server_major: int) -> str:
    """The path of ``pg_dump``/``pg_restore`` of the server's major version: Debian's versioned
    directory first, then PATH. BackupError naming the package to install when there is none."""
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")]
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if not candidate.is_file():
            continue
        try:
            out = subprocess.run(
                [str(candidate), "--version"], capture_output=True, text=True, timeout=30
            ).stdout
        except OSError:
            continue
        if _version(out) == server_major:
            return str(candidate)
    raise BackupError(
        f"找不到与数据库服务器同版本（{server_major}）的 {name}：请以 root 运行 make pg-client PG_MAJOR={server_major}"
        f"（安装 Debian 的 postgresql-client-{server_major}），或把它加入 PATH"
    )


def _server_major(engine: Engine) -> int:
    with engine.connect() as connection:
        return (
            int(connection.execute(text("SELECT current_setting('server_version_num')")).scalar_one())
            // 10000
        )


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password (it goes in PGPASSWORD, not on a command line others can read)."""
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run_pg(args: list[str], env: dict[str, str], what: str) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=PG_TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what}超时（{PG_TOOL_TIMEOUT // 3600} 小时）") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what}失败：{detail[-1] if detail else f'退出码 {done.returncode}'}")
    return done.stdout


def _pg_backup(engine: Engine, tmp: Path) -> None:
    tool = pg_tool("pg_dump", _server_major(engine))
    uri, env = _libpq(engine)
    _run_pg(
        [tool, "--format=custom", "--no-password", f"--file={tmp}", f"--dbname={uri}"], env, "pg_dump 备份"
    )


def _pg_restore(engine: Engine, source_path: Path) -> None:
    major = _server_major(engine)
    tool, psql = pg_tool("pg_restore", major), pg_tool("psql", major)
    uri, env = _libpq(engine)
    listing = _run_pg([tool, "--list", str(source_path)], env, "读取备份目录")
    tables = set(re.findall(r"TABLE DATA \S+ (\S+) ", listing))
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise BackupError(
            f"“{source_path.name}”不是本系统的数据库备份（缺少数据表：{'、'.join(missing)}），未做任何恢复"
        )
    dumped = set(re.findall(r"\d+; \d+ \d+ TABLE \S+ (\S+) ", listing))
    with engine.connect() as connection:
        present = set(
            connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
        )
    engine.dispose()
    # Tables the backup does not know (a later migration's) go too, or the schema upgrade after the
    # restore would find them in its way. pg_restore's script and those drops run through psql in one
    # transaction: a restore that fails part-way leaves the database as it was.
    prelude = "".join(f'DROP TABLE IF EXISTS public."{t}" CASCADE;\n' for t in sorted(present - dumped))
    script = subprocess.Popen(
        [tool, "--clean", "--if-exists", "--no-owner", "--file=-", str(source_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    runner = subprocess.Popen(
        [
            psql,
            "--no-psqlrc",
            "--quiet",
            "--no-password",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            f"--dbname={uri}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert runner.stdin is not None and script.stdout is not None
        runner.stdin.write(prelude.encode())
        shutil.copyfileobj(script.stdout, runner.stdin, 1 << 20)
        runner.stdin.close()
        script_err = script.stderr.read().decode(errors="replace") if script.stderr else ""
        script.wait(timeout=PG_TOOL_TIMEOUT)
        runner_err = runner.stderr.read().decode(errors="replace") if runner.stderr else ""
        runner.wait(timeout=PG_TOOL_TIMEOUT)
    except (BrokenPipeError, subprocess.TimeoutExpired):  # psql stopped at an error (or time ran out)
        script.kill()
        script.wait()
        with contextlib.suppress(subprocess.TimeoutExpired):
            runner.wait(timeout=30)
        if runner.returncode is None:
            runner.kill()
            runner.wait()
        script_err = ""
        runner_err = runner.stderr.read().decode(errors="replace") if runner.stderr else ""
    if script.returncode != 0 or runner.returncode != 0:
        detail = (runner_err or script_err).strip().splitlines()
        raise BackupError(f"pg_restore 恢复失败，数据库未改动：{detail[-1] if detail else '进程异常退出'}")


# ------------------------------------------------------------------ use cases
def backup_database(engine: Engine, *, actor: Actor, out: Path) -> BackupResult:
    """Write a consistent backup of the database at ``engine`` to ``out`` (replaced if it exists) and
    record it in the audit trail (after the backup: the backup holds everything before it)."""
    require_role(actor, "admin")
    started = time.perf_counter()
    out = Path(out)
    store = store_of(engine)
    tmp = _private_temp(out)
    try:
        if store == "sqlite":
            _sqlite_backup(engine, tmp)
        else:
            _pg_backup(engine, tmp)
        _finish(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    size, digest = out.stat().st_size, _sha256(out)
    with Session(engine) as session:
        _record_database(
            session,
            actor,
            "database.backup",
            after={"file": out.name, "bytes": size, "sha256": digest, "store": STORE_NAMES[store]},
        )
        session.commit()
    return BackupResult(
        path=out, store=store, bytes=size, sha256=digest, seconds=time.perf_counter() - started
    )


def restore_database(engine: Engine, *, actor: Actor, source: Path) -> RestoreResult:
    """Replace the database at ``engine`` with the backup ``source`` (a file :func:`backup_database` wrote
    for the same kind of store), upgrade its schema to this code's, end every session it holds and record
    the restore. Nothing changes when the file is not a sound backup of this system."""
    from db.schema import init_db

    require_role(actor, "admin")
    started = time.perf_counter()
    source = Path(source)
    store = store_of(engine)
    kind = kind_of_file(source)
    if kind != store:
        raise BackupError(
            f"备份文件是 {STORE_NAMES[kind]} 备份，当前数据库是 {STORE_NAMES[store]}："
            "只能恢复到同一种数据库（跨库迁移请另行导出导入）"
        )
    digest = _sha256(source)
    if store == "sqlite":
        _check_sqlite_file(source)
        _sqlite_restore(engine, source)
    else:
        _pg_restore(engine, source)
    engine.dispose()
    init_db(engine)  # a backup taken by an older version comes up to this code's schema
    now = utcnow()
    with Session(engine) as session:
        revoked = session.execute(
            update(UserSession)
            .where(UserSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=RESTORE_REASON)
        ).rowcount
        _record_database(
            session,
            actor,
            "database.restore",
            after={
                "file": source.name,
                "sha256": digest,
                "store": STORE_NAMES[store],
                "sessions_revoked": int(revoked or 0),
            },
        )
        session.commit()
    return RestoreResult(
        store=store, sha256=digest, sessions_revoked=int(revoked or 0), seconds=time.perf_counter() - started
    )
