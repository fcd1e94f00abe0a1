"""``litkg mcp`` end to end: the official MCP SDK's client spawns the server on the small
built graph (stdio), lists its tools and calls each one; and the streamable HTTP
transport answers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from kg.core.settings import Settings
from kg.store.readinglists import ReadingLists
from tests.app.conftest import HOSTILE_TITLE

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from app.cli import main; main()"]
TOOLS = {"search", "paper", "recommend", "reading_path", "sparql", "list_add", "list_export"}


def _env(data: Path) -> dict[str, str]:
    return {
        "LITKG_DATA_DIR": str(data),
        "LITKG_EMBED_BACKEND": "fake",
        "PYTHONPATH": str(REPO),
        "S2_API_URL": "http://127.0.0.1:9",  # never the network
    }


async def _call(session: ClientSession, tool: str, /, **arguments: Any) -> dict[str, Any]:
    """A tool's answer (its JSON); fails the test on a tool error."""
    result = await session.call_tool(tool, arguments)
    text = "".join(c.text for c in result.content if c.type == "text")
    assert not result.is_error, f"{tool} failed: {text}"
    return json.loads(text)


async def _error(session: ClientSession, tool: str, /, **arguments: Any) -> str:
    """A tool error's message; fails the test when the call succeeds."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error, f"{tool} did not fail"
    return "".join(c.text for c in result.content if c.type == "text")


def test_stdio_server_answers_every_tool(data_dir: Path) -> None:
    params = StdioServerParameters(command=CLI[0], args=[*CLI[1:], "mcp"], env=_env(data_dir))
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        with anyio.fail_after(120):
            async with stdio_client(params) as (rx, tx), ClientSession(rx, tx) as s:
                await s.initialize()
                tools = await s.list_tools()
                seen["tools"] = {t.name for t in tools.tools}

                found = await _call(s, "search", query="attention", limit=5)
                seen["search"] = found
                hits = await _call(s, "search", query="BERT", field="title", limit=1)
                read = [found["results"][0]["paper_id"], hits["results"][0]["paper_id"]]
                seen["read"] = read

                seen["recommend"] = await _call(s, "recommend", read=read, k=3)
                order = [r["paper_id"] for r in seen["recommend"]["recommendations"]]
                seen["path"] = await _call(s, "reading_path", paper_ids=order)
                seen["paper"] = await _call(s, "paper", paper_id=read[0])
                seen["unknown"] = await _error(s, "paper", paper_id="no such paper at all")
                seen["hostile"] = await _call(s, "search", query="Probing", limit=1)

                seen["sparql"] = await _call(
                    s,
                    "sparql",
                    query="SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                )
                seen["update"] = await _error(
                    s, "sparql", query="INSERT DATA { <urn:a> <urn:b> <urn:c> }"
                )

                seen["add"] = await _call(s, "list_add", name="To read", paper_ids=read[:1])
                again = await _call(s, "list_add", name="To read", paper_ids=read)
                seen["add_again"] = again
                resource = await s.read_resource("litkg://lists/To%20read")
                seen["list"] = json.loads(resource.contents[0].text)  # type: ignore[union-attr]
                every = await s.read_resource("litkg://lists")
                seen["lists"] = json.loads(every.contents[0].text)  # type: ignore[union-attr]
                seen["bibtex"] = await _call(s, "list_export", name="To read", format="bibtex")
                seen["no_list"] = await _error(s, "list_export", name="Nope")

    anyio.run(scenario)

    assert seen["tools"] == TOOLS
    assert seen["search"]["total"] >= 1
    assert "attention" in seen["search"]["results"][0]["title"].lower()
    assert len(set(seen["read"])) == 2

    recs = seen["recommend"]["recommendations"]
    assert len(recs) == 3
    assert [r["rank"] for r in recs] == [1, 2, 3]
    for rec in recs:
        assert rec["paper_id"] not in seen["read"]
        assert rec["title"] and rec["reasons"], rec
        assert all(isinstance(r, str) and r for r in rec["reasons"])
        # a score per signal, the signals the fusion weights name
        assert rec["signals"], rec
        assert set(rec["signals"]) <= set(seen["recommend"]["weights"])
        assert all(isinstance(v, float) for v in rec["signals"].values())
    assert [r["score"] for r in recs] == sorted((r["score"] for r in recs), reverse=True)

    steps = seen["path"]["steps"]
    assert sorted(s["paper_id"] for s in steps) == sorted(r["paper_id"] for r in recs)
    assert [s["position"] for s in steps] == [1, 2, 3]
    assert all(s["reason"] for s in steps)

    paper = seen["paper"]
    assert paper["paper_id"] == seen["read"][0]
    assert "attention" in paper["title"].lower()
    assert paper["references"]["total"] + paper["citations"]["total"] > 0
    # litkg's message, which names the fix; no traceback
    assert "Traceback" not in seen["unknown"]
    assert "no such paper at all" in seen["unknown"]

    # third-party text stays text: the title comes back as it is, not rendered or cleaned
    assert seen["hostile"]["results"][0]["title"] == HOSTILE_TITLE

    assert seen["sparql"]["columns"] == ["n"]
    assert seen["sparql"]["rows"][0]["n"] > 100
    assert "read-only" in seen["update"]
    assert "Traceback" not in seen["update"]

    assert seen["add"] == {
        "list": "To read",
        "created": True,
        "added": seen["read"][:1],
        "already_listed": [],
        "papers": 1,
    }
    assert seen["add_again"]["added"] == seen["read"][1:]
    assert seen["add_again"]["already_listed"] == seen["read"][:1]
    assert seen["list"]["name"] == "To read"
    assert [i["paper_id"] for i in seen["list"]["items"]] == seen["read"]
    assert seen["lists"] == [
        {"name": "To read", "papers": 2, "updated_at": seen["lists"][0]["updated_at"]}
    ]
    bib = seen["bibtex"]
    assert bib["file_name"] == "To-read.bib"
    assert bib["text"].count("@") == 2
    assert "Attention" in bib["text"]
    assert "Nope" in seen["no_list"]
    assert "Traceback" not in seen["no_list"]
    # the list is on disk, where `litkg list` and the app read it
    saved = ReadingLists.open(Settings(data_dir=data_dir)).get("To read")
    assert list(saved.paper_ids) == seen["read"]


def test_unbuilt_graph_is_a_tool_error_naming_the_fix(tmp_path: Path) -> None:
    params = StdioServerParameters(command=CLI[0], args=[*CLI[1:], "mcp"], env=_env(tmp_path))
    seen: dict[str, str] = {}

    async def scenario() -> None:
        with anyio.fail_after(60):
            async with stdio_client(params) as (rx, tx), ClientSession(rx, tx) as s:
                await s.initialize()
                seen["search"] = await _error(s, "search", query="attention")
                seen["recommend"] = await _error(s, "recommend", read=["ARXIV:1706.03762"], k=3)

    anyio.run(scenario)
    for message in seen.values():
        assert "run `litkg build`" in message
        assert "Traceback" not in message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_http_server_on_loopback_lists_the_tools(data_dir: Path) -> None:
    port = _free_port()
    env = {**os.environ, **_env(data_dir)}
    proc = subprocess.Popen(
        [*CLI, "mcp", "--http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    names: set[str] = set()

    async def scenario() -> None:
        with anyio.fail_after(60):
            url = f"http://127.0.0.1:{port}/mcp"
            while True:  # until the server listens
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                    await anyio.sleep(0.1)
            async with (
                streamable_http_client(url) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                names.update(t.name for t in (await session.list_tools()).tools)

    try:
        anyio.run(scenario)
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert names == TOOLS
    assert f"http://127.0.0.1:{port}/mcp" in err
    assert "warning" not in err


def test_http_server_on_another_address_warns(data_dir: Path) -> None:
    """An explicit --host other than loopback is served, with a warning."""
    port = _free_port()
    proc = subprocess.Popen(
        [*CLI, "mcp", "--http", "--host", "0.0.0.0", "--port", str(port)],
        env={**os.environ, **_env(data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert proc.poll() is None
                time.sleep(0.1)
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert "warning: listening on 0.0.0.0" in err


@pytest.mark.parametrize("port", ["0", "70000"])
def test_http_port_out_of_range_is_refused(port: str, data_dir: Path) -> None:
    done = subprocess.run(
        [*CLI, "mcp", "--http", "--port", port],
        env={**os.environ, **_env(data_dir)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--port must be between 1 and 65535" in done.stderr
