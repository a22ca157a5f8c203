"""Reading the recorded fixtures: tests/fixtures/<dialect>/requests/*.json and results/<scenario>/."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import msgspec

from shared.canonical.chat import ChatRequest, Message, Text
from shared.canonical.events import StreamEvent
from shared.canonical.result import ChatResult
from shared.formats.base import Dialect, RequestContext
from shared.formats.framing import FrameReader
from shared.formats.registry import DIALECT_NAMES, get_dialect

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
_STREAM_REQUEST = ChatRequest(model="m", messages=(Message("user", (Text("x"),)),), stream=True)
_RESULT = msgspec.json.Decoder(ChatResult)


@dataclass(frozen=True)
class ResultFixture:
    dialect: str
    scenario: str
    folder: Path

    @property
    def response(self) -> bytes:
        return (self.folder / "response.json").read_bytes()

    @property
    def stream(self) -> bytes:
        for name in ("stream.sse", "stream.ndjson"):
            if (self.folder / name).exists():
                return (self.folder / name).read_bytes()
        raise FileNotFoundError(f"no stream fixture in {self.folder}")

    @property
    def expected(self) -> ChatResult:
        return _RESULT.decode((self.folder / "result.json").read_bytes())

    def __str__(self) -> str:
        return f"{self.dialect}/{self.scenario}"


@dataclass(frozen=True)
class RequestFixture:
    dialect: str
    scenario: str
    path: Path

    @property
    def body(self) -> bytes:
        return self.path.read_bytes()

    def __str__(self) -> str:
        return f"{self.dialect}/{self.scenario}"


def result_fixtures(dialect: str) -> list[ResultFixture]:
    folder = ROOT / dialect / "results"
    if not folder.exists():
        return []
    return [ResultFixture(dialect, sub.name, sub) for sub in sorted(folder.iterdir()) if sub.is_dir()]


def request_fixtures(dialect: str) -> list[RequestFixture]:
    folder = ROOT / dialect / "requests"
    if not folder.exists():
        return []
    return [RequestFixture(dialect, path.stem, path) for path in sorted(folder.glob("*.json"))]


def request_context(dialect: str, scenario: str) -> RequestContext:
    """What the route would know from the URL (Gemini puts the model there)."""
    if dialect == "gemini":
        return RequestContext(path_model="gemini-2.5-flash", path_stream=False)
    return RequestContext()


def parse_stream(dialect: Dialect, raw: bytes, chunk_sizes: random.Random | None = None) -> list[StreamEvent]:
    """Feed `raw` through the dialect's framing and stream parser, optionally in random chunks."""
    reader = FrameReader(dialect.framing)
    parser = dialect.stream_parser(_STREAM_REQUEST)
    events: list[StreamEvent] = []
    position = 0
    while position < len(raw):
        size = chunk_sizes.randint(1, 64) if chunk_sizes else len(raw)
        for frame in reader.feed(raw[position : position + size]):
            events.extend(parser.parse(frame))
        position += size
    for frame in reader.close():
        events.extend(parser.parse(frame))
    events.extend(parser.end())
    return events


def available_dialects() -> list[str]:
    """Dialects whose package exists (all five once the translation hub is complete)."""
    found = []
    for name in DIALECT_NAMES:
        try:
            get_dialect(name)
        except ModuleNotFoundError:
            continue
        found.append(name)
    return found
