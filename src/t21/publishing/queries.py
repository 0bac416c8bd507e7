"""Every raw SQL statement of publishing, named; the rows they return are read by name
(psycopg's dict_row / class_row into the row types below).

Plain SQL is kept only where the benchmark showed it pays (bench/RESULTS.md: the one-statement
claim, the drain's take-over, the success in one transaction or one statement); everything else
goes through the ORM. Only CTE and placeholder names are ever formatted into a statement; every
value is a parameter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CLAIM = """
WITH lp AS (
    -- The post before its target: the lock order of db/locking.py (the API locks them so too).
    SELECT p.id
      FROM posts p
     WHERE p.id = (SELECT post_id FROM social_posts WHERE id = %(target)s)
       FOR UPDATE OF p
),
t AS (
    SELECT sp.id, sp.post_id, sp.social_account_id, sp.platform, sp.status, sp.job_id,
           sp.scheduled_for, sp.attempts
      FROM social_posts sp JOIN lp ON lp.id = sp.post_id
     WHERE sp.id = %(target)s
       FOR UPDATE OF sp
),
ok AS (
    SELECT t.id, t.post_id
      FROM t JOIN social_accounts a ON a.id = t.social_account_id
     WHERE t.status = 'SCHEDULED'
       AND (t.scheduled_for IS NULL OR t.scheduled_for <= %(due)s)
       AND (%(job)s::bigint IS NULL OR t.job_id IS NULL OR t.job_id = %(job)s::bigint)
       AND a.status = 'CONNECTED' AND a.access_token_encrypted IS NOT NULL
),
upd AS (
    UPDATE social_posts sp
       SET status = 'PUBLISHING', attempts = sp.attempts + 1, updated_at = now()
      FROM ok
     WHERE sp.id = ok.id
 RETURNING sp.id, sp.attempts, sp.platform_post_id, sp.thread_post_ids, sp.platform_container_id,
           sp.platform_post_url
),
att AS (
    INSERT INTO publish_attempts (id, social_post_id, attempt_number, started_at, worker)
    SELECT %(attempt)s, upd.id, upd.attempts, %(now)s, %(worker)s FROM upd
 RETURNING id, attempt_number
),
moved AS (
    UPDATE posts p SET status = 'PUBLISHING', updated_at = now()
      FROM ok WHERE p.id = ok.post_id AND p.status IN ('SCHEDULED', 'DRAFT')
)
SELECT t.id AS target_id, t.status AS target_status, t.job_id AS current_job,
       att.id AS attempt_id, att.attempt_number,
       upd.platform_post_id, upd.thread_post_ids, upd.platform_container_id AS container_id,
       upd.platform_post_url, t.post_id, p.brand_id, t.social_account_id AS account_id, t.platform,
       t.scheduled_for, a.platform_user_id, a.is_sandbox AS sandbox, a.access_token_encrypted,
       a.token_expires_at, p.content, p.overrides, p.thread, p.media_ids,
       (SELECT pa.started_at FROM publish_attempts pa WHERE pa.social_post_id = t.id
         ORDER BY pa.attempt_number LIMIT 1) AS first_attempt_at,
       -- For the one-statement success of a post with no other live target (succeed_alone).
       NOT EXISTS (SELECT 1 FROM social_posts o
                    WHERE o.post_id = t.post_id AND o.id <> t.id AND o.status <> 'CANCELLED') AS alone,
       b.name AS brand_name,
       CASE WHEN b.user_id IS NOT NULL THEN ARRAY[b.user_id]
            ELSE ARRAY(SELECT m.user_id FROM team_members m WHERE m.organization_id = b.organization_id)
       END AS audience,
       p.user_id AS author_id, au.email AS author_email
  FROM t
  LEFT JOIN upd ON upd.id = t.id
  LEFT JOIN att ON true
  JOIN posts p ON p.id = t.post_id
  JOIN social_accounts a ON a.id = t.social_account_id
  JOIN brands b ON b.id = p.brand_id
  LEFT JOIN users au ON au.id = p.user_id
"""


def claim_params(job_id: int | None, now: datetime, worker: str, target_id: uuid.UUID) -> dict[str, Any]:
    return {
        "target": target_id,
        "job": job_id,
        "due": now,
        "now": now,
        "attempt": uuid.uuid4(),
        "worker": worker,
    }


TAKE_DUE = """
WITH q AS (
    SELECT j.id, j.task_name, j.scheduled_at, j.args, j.priority
      FROM procrastinate_jobs j
     WHERE j.lock = %(lock)s AND j.status = 'todo'
     ORDER BY j.priority DESC, j.id
     LIMIT %(limit)s
       FOR UPDATE
),
r AS (SELECT q.*, row_number() OVER (ORDER BY q.priority DESC, q.id) AS rn FROM q),
c AS (
    SELECT r.id AS job, r.rn, s.id AS sp_id,
           COALESCE(r.task_name = 't21.publish_social_post'
                    AND (r.scheduled_at IS NULL OR r.scheduled_at <= now())
                    AND s.status = 'SCHEDULED', false) AS ok
      FROM r
      LEFT JOIN social_posts s
        ON r.task_name = 't21.publish_social_post'
       AND s.id = (r.args->>'social_post_id')::uuid AND s.job_id = r.id
),
stop AS (SELECT COALESCE(min(c.rn), 9223372036854775807) AS rn FROM c WHERE NOT c.ok),
sp AS (
    SELECT s.id, c.job, c.rn
      FROM c JOIN stop ON c.rn < stop.rn
      -- Re-checked on the row as locked (a request may have moved or cancelled it meanwhile).
      JOIN social_posts s ON s.id = c.sp_id AND s.status = 'SCHEDULED' AND s.job_id = c.job
       FOR UPDATE OF s
),
gone AS (DELETE FROM procrastinate_jobs j USING sp WHERE j.id = sp.job AND j.status = 'todo'),
mark AS (UPDATE social_posts s SET job_id = %(job)s, updated_at = now() FROM sp WHERE s.id = sp.id)
SELECT sp.id FROM sp ORDER BY sp.rn
"""


STORE_PART_FIRST = "UPDATE social_posts SET platform_post_id = %s, updated_at = now() WHERE id = %s"


STORE_PART_LATER = (
    "UPDATE social_posts SET thread_post_ids = array_append(thread_post_ids, %s), updated_at = now() "
    "WHERE id = %s AND NOT (%s = ANY(thread_post_ids))"
)


STORE_CONTAINER = "UPDATE social_posts SET platform_container_id = %s, updated_at = now() WHERE id = %s"


LOCK_POST = """
SELECT p.status AS old_status, p.published_at IS NOT NULL AS had_published_at, p.user_id AS author_id,
       p.content, b.id AS brand_id, b.name AS brand_name,
       CASE WHEN b.user_id IS NOT NULL THEN ARRAY[b.user_id]
            ELSE ARRAY(SELECT m.user_id FROM team_members m WHERE m.organization_id = b.organization_id)
       END AS audience,
       u.email AS author_email
  FROM posts p
  JOIN brands b ON b.id = p.brand_id
  LEFT JOIN users u ON u.id = p.user_id
 WHERE p.id = %(post)s
   FOR UPDATE OF p
"""


@dataclass
class LockedPost:
    """LOCK_POST's row: the post as it was before this outcome, and whom to tell."""

    old_status: str
    had_published_at: bool
    author_id: uuid.UUID | None
    content: str
    brand_id: uuid.UUID
    brand_name: str
    audience: list[uuid.UUID] | None
    author_email: str | None


# What a target that the network accepted looks like (both success statements write it).
PUBLISHED_TARGET = """status = 'PUBLISHED', platform_post_id = %(ppid)s,
           platform_post_url = COALESCE(%(url)s, platform_post_url),
           thread_post_ids = CASE WHEN %(has_thread)s THEN %(thread)s ELSE thread_post_ids END,
           published_at = %(now)s, next_metrics_at = %(metrics_at)s,
           error = NULL, error_code = NULL, job_id = NULL, updated_at = now()"""


# TargetRow's fields, in order.
TARGET_COLUMNS = (
    "id, status, attempts, platform, platform_post_id, platform_post_url, error, "
    "scheduled_for, notified_status, notified_at"
)


WRITE_TARGET = """
WITH u AS (
    UPDATE social_posts
       SET {PUBLISHED_TARGET}
     WHERE id = %(target)s
 RETURNING {TARGET_COLUMNS}
),
a AS (
    UPDATE publish_attempts SET finished_at = %(now)s, outcome = %(outcome)s, platform_post_id = %(ppid)s
     WHERE id = %(attempt)s
)
SELECT {TARGET_COLUMNS} FROM u
UNION ALL
SELECT {TARGET_COLUMNS}
  FROM social_posts WHERE post_id = %(post)s AND id <> %(target)s
""".replace("{PUBLISHED_TARGET}", PUBLISHED_TARGET).replace("{TARGET_COLUMNS}", TARGET_COLUMNS)


@dataclass
class TargetRow:
    id: uuid.UUID
    status: str
    attempts: int
    platform: str
    platform_post_id: str | None
    platform_post_url: str | None
    error: str | None
    scheduled_for: datetime | None
    notified_status: str | None
    notified_at: datetime | None


MARK_NOTIFIED = """
, notified AS (
    UPDATE social_posts s SET notified_status = v.status, notified_at = %(now)s
      FROM unnest(%(notified_ids)s::uuid[], %(notified_statuses)s::text[]) AS v(id, status)
     WHERE s.id = v.id)
"""


NOTICE_CTES = """
, n{i} AS (
    INSERT INTO notifications (id, user_id, kind, title, body, data)
    VALUES (%(n{i}_id)s, %(author)s, %(n{i}_kind)s, %(n{i}_title)s, %(n{i}_body)s, %(n{i}_data)s))
, e{i} AS (
    INSERT INTO email_messages (id, to_address, subject, template, html, text_body)
    VALUES (%(e{i}_id)s, %(to)s, %(e{i}_subject)s, %(e{i}_template)s, %(e{i}_html)s, %(e{i}_text)s))
"""


SUCCEED_ALONE = """
WITH chk AS (
    SELECT p.id, p.status AS old_status,
           -- notices.unannounced, for this target's outcome (PUBLISHED)
           (SELECT t.notified_at IS NULL OR t.notified_status IS DISTINCT FROM 'PUBLISHED'
                   OR COALESCE(t.scheduled_for > t.notified_at, false)
              FROM social_posts t WHERE t.id = %(target)s) AS announce
      FROM posts p
     WHERE p.id = %(post)s
       AND NOT EXISTS (SELECT 1 FROM social_posts o
                        WHERE o.post_id = p.id AND o.id <> %(target)s AND o.status <> 'CANCELLED')
       FOR UPDATE OF p
),
u AS (
    UPDATE social_posts
       SET {PUBLISHED_TARGET}, notified_status = 'PUBLISHED', notified_at = %(now)s
     WHERE id = %(target)s AND EXISTS (SELECT 1 FROM chk)
),
a AS (
    UPDATE publish_attempts SET finished_at = %(now)s, outcome = %(outcome)s, platform_post_id = %(ppid)s
     WHERE id = %(attempt)s AND EXISTS (SELECT 1 FROM chk)
),
p AS (
    UPDATE posts SET status = 'PUBLISHED', published_at = COALESCE(published_at, %(now)s), updated_at = now()
      FROM chk WHERE posts.id = chk.id
){notices}
SELECT chk.old_status, chk.announce FROM chk
""".replace("{PUBLISHED_TARGET}", PUBLISHED_TARGET)


NOTICE_ALONE = """,
n AS (
    INSERT INTO notifications (id, user_id, kind, title, body, data)
    SELECT %(n_id)s, %(author)s, 'post.published', %(n_title)s, %(n_body)s, %(n_data)s
      FROM chk WHERE chk.announce
),
e AS (
    INSERT INTO email_messages (id, to_address, subject, template, html, text_body)
    SELECT %(e_id)s, %(to)s, %(e_subject)s, 'post_published', %(e_html)s, %(e_text)s
      FROM chk WHERE chk.announce
),
sendjob AS (
    INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)
    SELECT 'email', %(sj_task)s, 0, %(sj_lock)s, %(sj_lock)s, %(sj_args)s, %(sj_at)s
      FROM chk WHERE chk.announce
    ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING
)"""
