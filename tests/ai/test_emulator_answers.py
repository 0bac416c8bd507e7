"""The OpenRouter emulator reads and writes each distinct request once; scripted flags still
apply request by request."""

from __future__ import annotations

import httpx

from t21.emulators.base import Emulator, RunningServer
from t21.platforms.text import x_weighted_length

BODY = {
    "model": "openai/gpt-4o-mini",
    "messages": [
        {
            "role": "system",
            "content": "Task: generate\nPlatform: x\nLanguage: en\nHard limit: 280 characters",
        },
        {"role": "user", "content": "<brief>Announce our autumn espresso</brief>"},
    ],
}


async def test_identical_requests_get_identical_answers_and_flags_still_count(
    openrouter_server: RunningServer, emulator: Emulator
) -> None:
    url = f"{openrouter_server.url}/api/v1/chat/completions"
    async with httpx.AsyncClient() as http:
        first = (await http.post(url, json=BODY)).json()
        emulator.store["overshoot"] = 1
        long = (await http.post(url, json=BODY)).json()
        again = (await http.post(url, json=BODY)).json()
        two = (await http.post(url, json={**BODY, "n": 2})).json()

    def text(answer: dict, index: int = 0) -> str:
        return str(answer["choices"][index]["message"]["content"])

    assert x_weighted_length(text(first)) <= 280
    assert x_weighted_length(text(long)) > 280  # the one overshooting answer asked for
    assert text(again) == text(first)
    assert first["usage"] == again["usage"]
    assert first["id"] != again["id"]
    assert text(two, 0) == text(first)
    assert text(two, 1) != text(first)
