"""The one order in which rows are locked, and what happens to a transaction that loses a race.

Two transactions that lock the same rows in opposite orders can each wait for the other forever;
PostgreSQL then fails one of them with a deadlock (SQLSTATE 40P01) after `deadlock_timeout`.
People (the API) and the worker change the same posts at the same moments (an edit, a move, a
cancel, a retry or "publish now" while the worker publishes the post), so every transaction that
locks more than one of these rows takes them in this order, skipping the ones it does not need:

  1. the post (`posts`): the aggregate, whose status rolls up from its targets; holding it
     serialises every change to the post and its targets;
  2. the publish jobs of its targets (`procrastinate_jobs`), by id: before the targets, because
     the worker's drain locks an account's due jobs and then their targets in one statement
     (publishing/queries.py, TAKE_DUE), and an API request cancels or replaces a target's job;
  3. the post's targets (`social_posts`), several at once in one statement ordered by id
     (`ORDER BY id FOR UPDATE`);
  4. a target's social account (`social_accounts`).

So a transaction that starts from a target (a worker's job names its target, not the post) and
must also change the post locks the post first: read the target's post id without a lock, lock
the post, then the target, and re-check what it read. Likewise a job id read from a target before
the target was locked may have changed by the time it is: a job locked after its target is out of
order (rare: the queuer or a drain gave the target a job in between) and may lose a deadlock.

The billing owner's quota counters (its `users` or `organizations` row, `quotas/service.py`) are
taken by a posts request after its post and targets, before or after those targets' jobs: only the
worker locks those jobs too, and it never waits for an owner row. Statements that never wait
(`FOR UPDATE SKIP LOCKED`, `NOWAIT`) cannot close a cycle and may lock in any order.

Where some code does not follow the order yet, or where SERIALIZABLE work meets a concurrent
change, the database breaks the tie by failing one transaction (40P01, or 40001 for a
serialization failure). That is no outage and no fault of the request: its transaction was
rolled back whole, and running it again is correct. A request's transaction is run again by the
route that owns it (kit/routing.py, TransactionalRoute) when its unit of work declared itself
replayable (`allow_replay`); otherwise, and once the replays are used up, the answer is 409
`conflict_retry` (errors.py), never the 503 of a database that is down.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

# serialization_failure, deadlock_detected: the transaction was rolled back and may simply run
# again. Other class-40 states (40003 statement_completion_unknown, 40002 integrity constraint
# violation) are not safe or not useful to repeat.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})

_REPLAYABLE = "t21.replayable"


def lost_concurrency_race(exc: BaseException) -> bool:
    """True for a deadlock or serialization failure: raised by psycopg itself (plain-SQL paths),
    wrapped by SQLAlchemy (`.orig`), or raised from it by a library that wraps driver errors
    (Procrastinate's ConnectorException, `__cause__`)."""
    for _ in range(5):  # a wrapper of a wrapper at most; never loop on a cycle of causes
        if isinstance(exc, DBAPIError) and exc.orig is not None:
            exc = exc.orig
        if getattr(exc, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return True
        if exc.__cause__ is None:
            return False
        exc = exc.__cause__
    return False


def allow_replay(session: AsyncSession) -> None:
    """Declare that the unit of work on this session has no effect outside it (no call to a
    network or a provider, no email sent, no commit of its own before the end): if its
    transaction loses a deadlock or a serialization race, the owner of the transaction may roll
    it back and run the whole unit of work again."""
    session.info[_REPLAYABLE] = True


def replay_allowed(session: AsyncSession) -> bool:
    return bool(session.info.get(_REPLAYABLE))
