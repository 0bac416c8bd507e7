"""Prometheus metrics at /metrics.

HTTP latency is measured per process. Everything about the job system (jobs by state, queue
depth, publish lag, worker heartbeat, AI tokens) is read from PostgreSQL at scrape time, so any
API instance reports the same cluster-wide figures and a dead worker process cannot take its
numbers with it."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from t21.kit.clock import utcnow
from t21.publishing.overdue import oldest_overdue_age

API_PREFIX = "/api/v1"

SCRAPE_SQL = {
    "jobs": "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2",
    "due": "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' "
    "AND (scheduled_at IS NULL OR scheduled_at <= now())",
    "lag": "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY lag), max(lag), count(*)"
    " FROM (SELECT EXTRACT(EPOCH FROM a.started_at - s.scheduled_for) AS lag FROM publish_attempts a"
    " JOIN social_posts s ON s.id = a.social_post_id"
    " WHERE a.attempt_number = 1 AND a.started_at > now() - interval '15 minutes'"
    " AND s.scheduled_for IS NOT NULL) recent",
    "heartbeat": "SELECT count(*), EXTRACT(EPOCH FROM now() - max(last_heartbeat))"
    " FROM procrastinate_workers",
    "ai": "SELECT coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0) FROM ai_generations",
    "targets": "SELECT status, count(*) FROM social_posts GROUP BY 1",
}


class DatabaseCollector:
    """Custom collector: queried on each scrape (prometheus_client calls collect() synchronously,
    so the values are fetched just before generate_latest and handed over)."""

    def __init__(self) -> None:
        self.snapshot: dict[str, list[tuple[Any, ...]]] = {}
        self.oldest_overdue: float = 0.0

    async def refresh(self, request: Request) -> None:
        snapshot: dict[str, list[tuple[Any, ...]]] = {}
        async with request.app.state.db.engine.connect() as conn:
            for name, sql in SCRAPE_SQL.items():
                try:
                    snapshot[name] = [tuple(row) for row in (await conn.execute(text(sql))).all()]
                except Exception:
                    await conn.rollback()
                    snapshot[name] = []
            try:
                raw = await conn.get_raw_connection()
                self.oldest_overdue = await oldest_overdue_age(raw.driver_connection, utcnow())
            except Exception:
                await conn.rollback()
                self.oldest_overdue = float("nan")
        self.snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        s = self.snapshot
        jobs = GaugeMetricFamily("t21_jobs", "Jobs by queue and state", labels=["queue", "state"])
        for queue, state, count in s.get("jobs", []):
            jobs.add_metric([str(queue), str(state)], float(count))
        yield jobs
        due = s.get("due") or [(0,)]
        yield GaugeMetricFamily("t21_queue_depth", "Jobs due now and not yet started", value=float(due[0][0]))
        lag = GaugeMetricFamily(
            "t21_publish_lag_seconds", "Scheduled time to publish start, last 15 min", labels=["quantile"]
        )
        if s.get("lag") and s["lag"][0][0] is not None:
            quantiles, worst, _ = s["lag"][0]
            for q, value in zip(("0.5", "0.99"), quantiles, strict=True):
                lag.add_metric([q], float(value))
            lag.add_metric(["1"], float(worst))
        yield lag
        yield GaugeMetricFamily(
            "t21_publish_oldest_overdue_seconds",
            "Seconds since the time of the oldest overdue post (due, unsent 60 s after); 0 when none",
            value=self.oldest_overdue,
        )
        workers, age = (s.get("heartbeat") or [(0, None)])[0]
        yield GaugeMetricFamily("t21_workers", "Workers with a heartbeat row", value=float(workers))
        yield GaugeMetricFamily(
            "t21_worker_heartbeat_age_seconds",
            "Seconds since the newest worker heartbeat",
            value=float(age) if age is not None else float("inf"),
        )
        prompt, completion = (s.get("ai") or [(0, 0)])[0]
        tokens = GaugeMetricFamily("t21_ai_tokens", "AI tokens used (all time)", labels=["kind"])
        tokens.add_metric(["prompt"], float(prompt))
        tokens.add_metric(["completion"], float(completion))
        yield tokens
        targets = GaugeMetricFamily("t21_social_posts", "Social posts by status", labels=["status"])
        for status, count in s.get("targets", []):
            targets.add_metric([str(status)], float(count))
        yield targets


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            # The route template, never the raw path: ids would explode the label set.
            template = getattr(route, "path", None) or ("unmatched" if status == 404 else "other")
            # Routes of nested routers carry their own prefix only; put the API prefix back.
            if (
                scope["path"].startswith(API_PREFIX)
                and template.startswith("/")
                and not template.startswith(API_PREFIX)
            ):
                template = API_PREFIX + template
            self.histogram.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started
            )


def install(app: FastAPI) -> None:
    registry = CollectorRegistry()
    histogram = Histogram(
        "t21_http_request_duration_seconds",
        "HTTP request latency by route",
        ["method", "route", "status"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10),
    )
    collector = DatabaseCollector()
    registry.register(collector)
    app.add_middleware(MetricsMiddleware, histogram=histogram)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        await collector.refresh(request)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
