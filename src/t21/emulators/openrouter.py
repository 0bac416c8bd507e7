"""OpenRouter chat-completions emulator (any OpenAI-compatible base URL form works).

Routes: POST /chat/completions, /api/v1/chat/completions and /v1/chat/completions (so a base URL
of `http://host:port`, `http://host:port/api/v1` or `http://host:port/v1` all work), and
GET /models under the same prefixes.

Answers are deterministic functions of the request: a plausible post built from the brief (its
topic and keywords, hashtags derived from them) in the requested language (en, de, fr, es; other
languages get English phrasing), shaped for the platform. The prompt conventions it reads are
those `t21.ai.prompts` writes, one per line in the system prompt:

    Hard limit: <N> characters     the answer stays within N (X-weighted) characters...
    Language: <code>               ...in this language
    Platform: x|linkedin|instagram ...shaped for this network
    Hashtags: at most <N> | none
    Task: generate | rewrite       rewrite adapts the text in <post>...</post>

`n` (1..10) is supported: each choice is a distinct variant (a different hook and body).
Usage: prompt_tokens = words of input, completion_tokens = words of output, cost priced at
`store["pricing"]` (dollars per token, default gpt-4o-mini's).
`max_tokens` bounds each choice as OpenAI-compatible servers do: a choice that reaches it stops
there (here after max_tokens words, mid-sentence) with finish_reason "length", streamed or not,
and its usage counts what was written.

Scripting (besides base.py faults; a "status" fault with 400/401/402/403/408/429/502/503 and no
body gets OpenRouter's own error body for that status, 403 with `metadata.reasons`):

    "[emulator:overshoot]" in a message, or store["overshoot"] = True | <count>
        answer well past the hard limit, in whole sentences with hashtags at the end
    "[emulator:markdown]" in a message, or store["markdown"] = True | <count>
        answer with markdown (bold, bullets) as models tend to do on LinkedIn
    store["stream_error_after"] = k   a stream sends k content chunks, then an in-band error
                                      event with finish_reason "error" (HTTP stays 200)
    store["stream_drop_after"] = k    a stream sends k content chunks, then the connection drops
    store["delay_seconds"] = s        every answer waits s seconds (streams send keep-alive
                                      comments meanwhile)
    store["unavailable_models"] = [..] these models are down: the request falls back along
                                      `models`, or answers 503 when none is left
    store["api_key"] = "sk-or-.."     require this bearer key (default: accept any or none)

Control: POST /_emulator/openrouter/store merges a JSON object into `store`.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from t21.emulators.base import Emulator, Fault, install_emulator

PREFIXES = ("", "/api/v1", "/v1")
OVERSHOOT_MARKER = "[emulator:overshoot]"
MARKDOWN_MARKER = "[emulator:markdown]"
DEFAULT_PRICING = {"prompt": 0.15e-6, "completion": 0.6e-6}
MAX_N = 10
KEEPALIVE = b": OPENROUTER PROCESSING\n\n"

_ERROR_MESSAGES = {
    400: "Invalid request",
    401: "No auth credentials found",
    402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    403: "Your chosen model requires moderation and your input was flagged",
    404: "No endpoints found for this model",
    408: "Request timed out",
    429: "Rate limit exceeded: too many requests",
    500: "Internal Server Error",
    502: "Provider returned error",
    503: "No available model provider that meets your routing requirements",
}


def error_body(
    status: int, message: str | None = None, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": status, "message": message or _ERROR_MESSAGES.get(status, "Error")}
    if metadata:
        error["metadata"] = metadata
    return {"error": error}


def _rate_limit_headers(reset_in: float) -> dict[str, str]:
    # OpenRouter's reset is a Unix time in milliseconds.
    return {
        "X-RateLimit-Limit": "20",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int((time.time() + reset_in) * 1000)),
    }


def fault_response(fault: Fault, request: Request) -> Response:
    if fault.kind == "rate_limit":
        return JSONResponse(error_body(429), status_code=429, headers=_rate_limit_headers(fault.reset_in))
    if fault.kind in ("expired_token", "revoked_token"):
        return JSONResponse(error_body(401, "User not found."), status_code=401)
    status = fault.status
    if fault.body is not None:
        body = fault.body
    elif status == 403:
        body = error_body(
            403,
            metadata={
                "reasons": ["violence"],
                "flagged_input": "…",
                "provider_name": "OpenAI",
                "model_slug": "openai/gpt-4o-mini",
            },
        )
    elif status == 502:
        body = error_body(502, metadata={"provider_name": "Emulated", "raw": "upstream connection reset"})
    else:
        body = error_body(status)
    headers = _rate_limit_headers(fault.reset_in) if status == 429 else None
    return JSONResponse(body, status_code=status, headers=headers)


# --- reading the prompt -----------------------------------------------------------------------


@dataclass
class PromptSpec:
    task: str = "generate"
    platform: str | None = None
    language: str = "en"
    max_hashtags: int = 3
    hard_limit: int | None = None
    brand: str | None = None
    website: str | None = None
    material: str = ""
    overshoot: bool = False
    markdown: bool = False
    input_words: int = 0
    seed: int = 0
    existing_tags: list[str] = field(default_factory=list)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI "content parts"
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _line(pattern: str, text: str) -> str | None:
    match = re.search(rf"^\s*{pattern}\s*$", text, re.MULTILINE | re.IGNORECASE)
    return match.group(1) if match else None


def parse_spec(messages: list[dict[str, Any]]) -> PromptSpec:
    system = "\n".join(_text_of(m.get("content")) for m in messages if m.get("role") == "system")
    users = [_text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    everything = "\n".join(_text_of(m.get("content")) for m in messages)
    spec = PromptSpec()
    spec.input_words = len(everything.split())
    spec.seed = int.from_bytes(hashlib.sha256(everything.encode()).digest()[:4], "big")
    spec.task = (_line(r"Task:\s*(\w+)", system) or "generate").lower()
    spec.platform = (_line(r"Platform:\s*(\w+)", system) or "").lower() or None
    spec.language = (_line(r"Language:\s*([A-Za-z]{2,3})\b.*", system) or "en").lower()
    limit = _line(r"Hard limit:\s*([\d,]+)\s*characters?\.?", everything)
    spec.hard_limit = int(limit.replace(",", "")) if limit else None
    tags = _line(r"Hashtags:\s*(.+?)", system)
    if tags:
        number = re.search(r"\d+", tags)
        spec.max_hashtags = 0 if "none" in tags.lower() else int(number.group()) if number else 3
    brand = re.search(r"brand [“\"](.+?)[”\"]", system)
    spec.brand = brand.group(1) if brand else None
    website = _line(r"Website:\s*(\S+).*", system)
    spec.website = website
    user = users[-1] if users else everything
    fenced = re.search(r"<(brief|post)>\s*(.*?)\s*</\1>", user, re.DOTALL)
    material = fenced.group(2) if fenced else user
    spec.overshoot = OVERSHOOT_MARKER in everything
    spec.markdown = MARKDOWN_MARKER in everything
    material = material.replace(OVERSHOOT_MARKER, "").replace(MARKDOWN_MARKER, "")
    spec.material = re.sub(r"[ \t]+", " ", material).strip()
    spec.existing_tags = _HASHTAG_RE.findall(spec.material)
    return spec


# --- writing the post -------------------------------------------------------------------------

_PHRASES: dict[str, dict[str, list[str]]] = {
    "en": {
        "hooks": [
            "Big news from {brand}: {topic}!",
            "Here's something worth your time: {topic}.",
            "{Topic} — and we couldn't be more excited.",
            "Ever wondered what {topic} could mean for you?",
            "Say hello to {topic}.",
        ],
        "bodies": [
            "It's all about {k1} and {k2}, done the {brand} way.",
            "Think {k1}, {k2} and a good measure of {k3}.",
            "We built it around {k1}, because {k2} deserves better.",
        ],
        "extras": [
            "Every detail was chosen with you in mind.",
            "Made for people who care about {k1}.",
            "Good things take time, and this one was worth it.",
            "This is only the beginning.",
        ],
        "cta": [
            "Learn more at {website}.",
            "Tell us what you think in the comments!",
            "Save this for later.",
        ],
        "fill": ["quality", "community", "craft"],
        "us": ["our team"],
    },
    "de": {
        "hooks": [
            "Große Neuigkeiten von {brand}: {topic}!",
            "Das solltest du nicht verpassen: {topic}.",
            "{Topic} — und wir freuen uns riesig.",
            "Schon mal überlegt, was {topic} für dich bedeuten kann?",
            "Darf ich vorstellen: {topic}.",
        ],
        "bodies": [
            "Es dreht sich alles um {k1} und {k2}, ganz im Stil von {brand}.",
            "Denk an {k1}, {k2} und eine gute Portion {k3}.",
            "Wir haben es rund um {k1} gebaut, weil {k2} mehr verdient.",
        ],
        "extras": [
            "Jedes Detail wurde mit Blick auf dich ausgewählt.",
            "Gemacht für alle, denen {k1} wichtig ist.",
            "Gute Dinge brauchen Zeit, und das hier hat sich gelohnt.",
            "Das ist erst der Anfang.",
        ],
        "cta": [
            "Mehr auf {website}.",
            "Sag uns in den Kommentaren, was du denkst!",
            "Speicher dir das für später.",
        ],
        "fill": ["Qualität", "Gemeinschaft", "Handwerk"],
        "us": ["unser Team"],
    },
    "fr": {
        "hooks": [
            "Grande nouvelle chez {brand} : {topic} !",
            "Voici de quoi retenir votre attention : {topic}.",
            "{Topic} — et nous sommes ravis.",
            "Vous êtes-vous déjà demandé ce que {topic} pourrait changer pour vous ?",
            "Dites bonjour à {topic}.",
        ],
        "bodies": [
            "Tout tourne autour de {k1} et {k2}, à la manière de {brand}.",
            "Pensez {k1}, {k2} et une bonne dose de {k3}.",
            "Nous l'avons conçu autour de {k1}, parce que {k2} mérite mieux.",
        ],
        "extras": [
            "Chaque détail a été pensé pour vous.",
            "Fait pour celles et ceux qui tiennent à {k1}.",
            "Les bonnes choses prennent du temps, et celle-ci en valait la peine.",
            "Ce n'est que le début.",
        ],
        "cta": ["Plus d'infos sur {website}.", "Dites-nous ce que vous en pensez !", "Enregistrez ce post."],
        "fill": ["qualité", "communauté", "savoir-faire"],
        "us": ["notre équipe"],
    },
    "es": {
        "hooks": [
            "Grandes noticias de {brand}: ¡{topic}!",
            "Esto merece tu atención: {topic}.",
            "{Topic}, y no podríamos estar más emocionados.",
            "¿Alguna vez te preguntaste qué puede significar {topic} para ti?",
            "Te presentamos {topic}.",
        ],
        "bodies": [
            "Todo gira en torno a {k1} y {k2}, al estilo de {brand}.",
            "Piensa en {k1}, {k2} y una buena dosis de {k3}.",
            "Lo creamos alrededor de {k1}, porque {k2} merece algo mejor.",
        ],
        "extras": [
            "Cada detalle fue elegido pensando en ti.",
            "Hecho para quienes se preocupan por {k1}.",
            "Lo bueno lleva tiempo, y esto valió la pena.",
            "Esto es solo el comienzo.",
        ],
        "cta": [
            "Más información en {website}.",
            "¡Cuéntanos qué opinas en los comentarios!",
            "Guárdalo para después.",
        ],
        "fill": ["calidad", "comunidad", "oficio"],
        "us": ["nuestro equipo"],
    },
}

_STOPWORD_LINES = (
    "about after again also announce announcing because been before being between both could create",
    "does doing during each every from have having here into just know like make more most much need",
    "only other over post posts promote same should some such tell than that their them then there",
    "these they this those through under very want were what when where which while will with would",
    "write your yours aber auch dass eine einen einer haben heute mehr nach oder sich sind über",
    "unser unsere unseren wird wir mit für von dans avec pour nous vous votre notre sont cette être",
    "para como esta este nuestro nuestra sobre",
)
_STOPWORDS = frozenset(word for line in _STOPWORD_LINES for word in line.split())

_INSTRUCTION_PREFIX = re.compile(
    r"^(?:please\s+)?(?:(?:write|create|draft|make)\s+(?:a|an|the)?\s*(?:\w+\s+)?post\s+(?:about|on|for)\s+"
    r"|announce\s+|promote\s+|tell\s+(?:people|everyone|our\s+\w+)\s+(?:about|that)\s+|share\s+)",
    re.IGNORECASE,
)


_HASHTAG_RE = re.compile(r"(?<![\w&])#\w*[^\W\d_]\w*")


def keywords(text: str) -> list[str]:
    seen: set[str] = set()
    words: list[str] = []
    for raw in re.findall(r"[^\W\d_][\w'’-]*", text):
        word = raw.strip("'’-")
        key = word.casefold()
        if len(word) < 4 or key in _STOPWORDS or key in seen:
            continue
        seen.add(key)
        words.append(word)
    return words


def _topic(material: str) -> str:
    first = re.split(r"(?<=[.!?。！？])\s+|\n", material.strip(), maxsplit=1)[0]
    first = re.sub(r"\s+", " ", _HASHTAG_RE.sub("", first))
    first = _INSTRUCTION_PREFIX.sub("", first.strip()).strip().rstrip(".!?。！？:;,")
    if len(first) > 80:
        first = first[:80].rsplit(" ", 1)[0].rstrip(",;:")
    return first or "something new"


def _hashtag(word: str) -> str:
    parts = re.split(r"[-'’]", word)
    return "#" + "".join(p[:1].upper() + p[1:] for p in parts if p)


def weighted_length(text: str) -> int:
    """X's weighting (twitter-text v3) without the URL rule: a conservative stand-in for any limit."""
    total = 0
    for ch in text:
        cp = ord(ch)
        light = cp <= 4351 or 8192 <= cp <= 8205 or 8208 <= cp <= 8223 or 8242 <= cp <= 8247
        total += 1 if light else 2
    return total


def _cut_words(text: str, budget: int) -> str:
    out = ""
    for word in text.split(" "):
        candidate = f"{out} {word}" if out else word
        if weighted_length(candidate + "…") > budget:
            break
        out = candidate
    return (out.rstrip(",;:—-") + "…") if out else ""


class _Writer:
    def __init__(self, spec: PromptSpec, index: int) -> None:
        self.spec = spec
        self.index = index
        self.phrases = _PHRASES.get(spec.language, _PHRASES["en"])
        kws = keywords(spec.material)
        fill = self.phrases["fill"]
        rotation = index % max(1, len(kws))
        ordered = kws[rotation:] + kws[:rotation]
        self.k = [*ordered, *fill][:3]
        self.keywords = kws
        self.values = {
            "brand": spec.brand or self.phrases["us"][0],
            "topic": _topic(spec.material),
            "website": spec.website or "",
            "k1": self.k[0],
            "k2": self.k[1],
            "k3": self.k[2],
        }

    def pick(self, kind: str, offset: int = 0) -> str:
        options = self.phrases[kind]
        if kind == "cta" and not self.spec.website:
            options = options[1:]
        # Variants differ by hook first, then by body, so `n` choices are distinct.
        step = self.index if kind == "hooks" else self.index // len(self.phrases["hooks"]) + offset
        template = options[(self.spec.seed + step) % len(options)]
        topic = self.values["topic"]
        return template.format(Topic=topic[:1].upper() + topic[1:], **self.values)

    def hashtags(self) -> list[str]:
        limit = {"x": 2, "linkedin": 3, "instagram": 8}.get(self.spec.platform or "", 3)
        limit = min(limit, self.spec.max_hashtags)
        if limit <= 0:
            return []
        tags = list(dict.fromkeys(self.spec.existing_tags))
        for word in self.keywords:
            tag = _hashtag(word)
            if tag.casefold() not in {t.casefold() for t in tags} and len(tag) <= 25:
                tags.append(tag)
        return tags[:limit]

    def sentences(self) -> list[str]:
        if self.spec.task == "rewrite":
            plain = _HASHTAG_RE.sub("", self.spec.material)
            found = [s.strip() for s in re.split(r"(?<=[.!?。！？])\s+|\n+", plain) if s.strip()]
            if found:
                # Later variants open with a fresh hook built on the first sentence instead.
                return found if self.index == 0 else [self.pick("hooks"), *found[1:]]
        return [
            self.pick("hooks"),
            self.pick("bodies"),
            self.pick("extras"),
            self.pick("extras", offset=1),
            self.pick("cta"),
        ]

    def compose(self) -> str:
        spec = self.spec
        sentences = list(dict.fromkeys(self.sentences()))
        tags = self.hashtags()
        if spec.markdown:
            sentences = [f"**{sentences[0]}**", *(f"- {s}" for s in sentences[1:])]
        platform = spec.platform
        sep = "\n" if spec.markdown else {"linkedin": "\n\n", "instagram": "\n\n"}.get(platform or "", " ")
        if platform == "instagram" and not spec.markdown:
            sentences[0] = "✨ " + sentences[0]
        tag_sep = " " if platform in ("x", None) else "\n\n"
        tail = tag_sep + " ".join(tags) if tags else ""
        if spec.overshoot:
            return self._overshoot(sentences, sep, tail)
        limit = spec.hard_limit
        if limit is None:
            return sep.join(sentences) + tail
        body = sentences[0]
        if weighted_length(body + tail) > limit:
            tail = ""
        if weighted_length(body) > limit:
            return _cut_words(body, limit)
        for sentence in sentences[1:]:
            if weighted_length(body + sep + sentence + tail) <= limit:
                body = body + sep + sentence
        return body + tail

    def _overshoot(self, sentences: list[str], sep: str, tail: str) -> str:
        limit = self.spec.hard_limit or 280
        target = int(limit * 1.25) + 40
        pool = itertools.cycle([*sentences[1:], *self.phrases["extras"], *self.phrases["bodies"]])
        body = sentences[0]
        while weighted_length(body + tail) <= target:
            addition = next(pool).format(Topic=self.values["topic"], **self.values)
            body = body + sep + addition
        return body + tail


def write_post(spec: PromptSpec, index: int = 0) -> str:
    return _Writer(spec, index).compose()


# --- the app ----------------------------------------------------------------------------------


def _take_flag(store: dict[str, Any], key: str) -> bool:
    """A store flag is True (until cleared) or a count of requests it still applies to."""
    value = store.get(key)
    if value is True:
        return True
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        store[key] = value - 1
        return True
    return False


def _usage(spec: PromptSpec, contents: list[str], store: dict[str, Any]) -> dict[str, Any]:
    pricing = {**DEFAULT_PRICING, **(store.get("pricing") or {})}
    prompt = spec.input_words
    completion = sum(len(c.split()) for c in contents)
    cost = prompt * pricing["prompt"] + completion * pricing["completion"]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cost": round(cost, 10),
    }


CACHE_ENTRIES = 1024
_T = TypeVar("_T")


def _remember(cache: dict[Any, _T], key: Any, value: _T) -> _T:
    if len(cache) >= CACHE_ENTRIES:
        cache.clear()
    cache[key] = value
    return value


def _chunks(text: str) -> list[str]:
    tokens = re.findall(r"\s*\S+", text)
    return ["".join(tokens[i : i + 3]) for i in range(0, len(tokens), 3)]


def _sse(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


class _DropConnection(Exception):
    """Raised inside a streaming body: the server aborts the connection mid-response."""


def create_app() -> FastAPI:
    app = FastAPI(title="OpenRouter emulator", docs_url=None, redoc_url=None)
    emulator = Emulator(name="openrouter")
    install_emulator(app, emulator, fault_response=fault_response)
    counter = itertools.count(1)
    specs: dict[bytes, PromptSpec] = {}
    posts: dict[tuple[bytes, bool, bool], tuple[list[str], list[str]]] = {}

    async def chat_completions(request: Request) -> Response:
        store = emulator.store
        required_key = store.get("api_key")
        if required_key and request.headers.get("authorization") != f"Bearer {required_key}":
            return JSONResponse(error_body(401), status_code=401)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(error_body(400, "Request body is not valid JSON"), status_code=400)
        if not isinstance(body, dict):
            return JSONResponse(error_body(400, "Request body must be a JSON object"), status_code=400)
        messages = body.get("messages")
        model = body.get("model")
        fallbacks = body.get("models") or []
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            return JSONResponse(error_body(400, "messages must be a non-empty array"), status_code=400)
        if not (isinstance(model, str) and model) and not fallbacks:
            return JSONResponse(error_body(400, "model is required"), status_code=400)
        n = body.get("n", 1)
        if not isinstance(n, int) or not 1 <= n <= MAX_N:
            return JSONResponse(error_body(400, f"n must be an integer from 1 to {MAX_N}"), status_code=400)
        down = set(store.get("unavailable_models") or [])
        candidates = [m for m in [model, *fallbacks] if isinstance(m, str) and m]
        served = next((m for m in candidates if m not in down), None)
        if served is None:
            return JSONResponse(error_body(503), status_code=503)

        # Answers are functions of the request: the same body is read and written once.
        raw = await request.body()
        parsed = specs.get(raw)
        if parsed is None:
            parsed = _remember(specs, raw, parse_spec(messages))
        spec = replace(parsed)
        spec.overshoot = spec.overshoot or _take_flag(store, "overshoot")
        spec.markdown = spec.markdown or _take_flag(store, "markdown")
        max_tokens = body.get("max_tokens")
        key = (raw, spec.overshoot, spec.markdown)
        written = posts.get(key)
        if written is None:
            contents: list[str] = []
            finish: list[str] = []
            for index in range(n):
                text = write_post(spec, index)
                if isinstance(max_tokens, int) and max_tokens > 0 and len(text.split()) > max_tokens:
                    text = " ".join(text.split()[:max_tokens])
                    finish.append("length")
                else:
                    finish.append("stop")
                contents.append(text)
            written = _remember(posts, key, (contents, finish))
        contents, finish = list(written[0]), list(written[1])
        usage = _usage(spec, contents, store)
        ident = f"gen-{next(counter)}-{spec.seed:08x}"
        created = int(time.time())
        delay = float(store.get("delay_seconds") or 0)

        if body.get("stream"):
            return StreamingResponse(
                _stream(ident, created, served, contents, finish, usage, delay, dict(store)),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        if delay:
            await asyncio.sleep(delay)
        return JSONResponse(
            {
                "id": ident,
                "provider": "Emulator",
                "model": served,
                "object": "chat.completion",
                "created": created,
                "choices": [
                    {
                        "index": i,
                        "logprobs": None,
                        "finish_reason": finish[i],
                        "native_finish_reason": finish[i],
                        "message": {"role": "assistant", "content": text, "refusal": None},
                    }
                    for i, text in enumerate(contents)
                ],
                "usage": usage,
            }
        )

    async def _stream(
        ident: str,
        created: int,
        model: str,
        contents: list[str],
        finish: list[str],
        usage: dict[str, Any],
        delay: float,
        flags: dict[str, Any],
    ) -> AsyncIterator[bytes]:
        def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
            base = {
                "id": ident,
                "provider": "Emulator",
                "model": model,
                "object": "chat.completion.chunk",
                "created": created,
                "choices": choices,
            }
            return {**base, **extra}

        # OpenRouter sends these while the model is queued or thinking; clients must skip them.
        yield KEEPALIVE
        remaining = delay
        while remaining > 0:
            step = min(remaining, 0.2)
            await asyncio.sleep(step)
            remaining -= step
            yield KEEPALIVE
        yield KEEPALIVE
        error_after = flags.get("stream_error_after")
        drop_after = flags.get("stream_drop_after")
        sent = 0
        for index, text in enumerate(contents):
            yield _sse(
                chunk(
                    [{"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
                )
            )
            for piece in _chunks(text):
                if isinstance(drop_after, int) and sent >= drop_after:
                    raise _DropConnection("emulated connection drop")
                if isinstance(error_after, int) and sent >= error_after:
                    yield _sse(
                        chunk(
                            [{"index": index, "delta": {"content": ""}, "finish_reason": "error"}],
                            error={"code": "server_error", "message": "Provider disconnected unexpectedly"},
                        )
                    )
                    return
                yield _sse(chunk([{"index": index, "delta": {"content": piece}, "finish_reason": None}]))
                sent += 1
            yield _sse(chunk([{"index": index, "delta": {}, "finish_reason": finish[index]}]))
        yield _sse(chunk([], usage=usage))
        yield b"data: [DONE]\n\n"

    async def list_models() -> dict[str, Any]:
        pricing = {**DEFAULT_PRICING, **(emulator.store.get("pricing") or {})}
        names = emulator.store.get("models") or ["openai/gpt-4o-mini", "anthropic/claude-3.5-haiku"]
        return {
            "data": [
                {
                    "id": name,
                    "name": name,
                    "context_length": 128000,
                    "pricing": {"prompt": str(pricing["prompt"]), "completion": str(pricing["completion"])},
                }
                for name in names
            ]
        }

    for prefix in PREFIXES:
        app.add_api_route(f"{prefix}/chat/completions", chat_completions, methods=["POST"])
        app.add_api_route(f"{prefix}/models", list_models, methods=["GET"])

    @app.post("/_emulator/openrouter/store", include_in_schema=False)
    async def _set_store(values: dict[str, Any]) -> dict[str, Any]:
        with emulator.lock:
            emulator.store.update(values)
            return {"ok": True, "store": dict(emulator.store)}

    return app
