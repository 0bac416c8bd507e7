"""With T21_DATABASE_REPLICA_URL set, read-only list endpoints read from the replica."""

from __future__ import annotations

from t21.db.database import Database, migrate
from t21.db.scratch import scratch_database
from tests.conftest import client_for, make_settings


async def test_lists_read_from_the_replica(database_url, session_tmp) -> None:
    # A stand-in "replica" that has the schema but not the primary's rows: whatever a list
    # returns shows which database answered it.
    with scratch_database(database_url, "t21_replica") as replica_url:
        migrate(replica_url)
        settings = make_settings(database_url, session_tmp, database_replica_url=replica_url)
        db = Database.connect(settings, database_url)
        from t21.main import create_app

        app = create_app(settings, database=db)
        async with client_for(app) as http:
            registered = await http.post(
                "/api/v1/auth/register",
                json={"email": "replica@example.com", "password": "correct horse battery", "name": "R"},
            )
            headers = {"Authorization": f"Bearer {registered.json()['tokens']['accessToken']}"}
            created = await http.post("/api/v1/brands", json={"name": "On primary"}, headers=headers)
            assert created.status_code == 201
            # The write went to the primary; the list reads the (empty) replica.
            assert (await http.get("/api/v1/brands", headers=headers)).json()["data"] == []
            assert (
                await http.get(f"/api/v1/brands/{created.json()['id']}", headers=headers)
            ).status_code == 200
        await db.dispose()
