"""A small slixmpp wrapper for Parley's interop tests (Debian's python3-slixmpp, 1.8.x).

Scripts run by test/support/slixmpp.ts (runSlixmpp) import it; the helper puts this folder on
PYTHONPATH and passes the script's arguments as one JSON object in argv[1]. Scripts talk back
by printing JSON lines on stdout (emit); the TypeScript side parses them. Example:

    from slixmpp_client import Client, emit, run

    async def main(a):
        alice = Client(a["jid"], a["password"], a["host"], int(a["port"]), mechanism="SCRAM-SHA-1")
        await alice.online()                      # raises ClientError unless a session started
        alice.send_message(mto=a["to"], mbody="hi", mtype="chat")
        msg = await alice.wait_for("message", timeout=5)
        emit("result", body=msg["body"])
        await alice.offline()

    run(main)

What the wrapper settles, from reading slixmpp 1.8.3's source:
- Certificates: XMLStream builds ssl_context = create_default_context() with check_hostname and
  CERT_REQUIRED, and get_ssl_context() leaves verify_mode alone when ca_certs is None. So
  verify=False sets check_hostname=False then verify_mode=CERT_NONE on that context (loopback
  tests against a self-signed certificate); ca_file=PATH instead trusts that PEM and checks the
  name (the certificate must name the JID's domain: SNI/hostname is the JID domain).
- Mechanism: ClientXMPP(sasl_mech=...) sets feature_mechanisms.use_mech, which *limits* SASL to
  that one mechanism (sasl.choose(limit=...)); a failure then ends in failed_all_auth, with no
  fallback. Without a forced mechanism, -PLUS variants are excluded: slixmpp would pick
  SCRAM-*-PLUS when offered, yet it has no channel binding data over asyncio transports.
- PLAIN: the mechanism requires security "encrypted", which slixmpp only sees after STARTTLS
  ('starttls' in features), not on direct TLS (XEP-0368) nor on plaintext streams. Forcing
  PLAIN therefore sets feature_mechanisms.unencrypted_plain = True. SCRAM already has
  unencrypted_scram = True by default.
- Address: with host/port given, slixmpp still asks DNS for the JID's domain first (aiodns is
  installed on Debian); get_dns_records is overridden to return the given address only, so no
  DNS query ever leaves the machine and nothing waits on a resolver time-out.
- Connection failures make slixmpp retry forever with back-off (reschedule_connection_attempt);
  connect_and_wait() cancels the attempt after the first failure.
"""

import asyncio
import hashlib
import json
import logging
import ssl
import sys
import time
import traceback
from collections import deque
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout  # noqa: F401  (re-exported for scripts)

__all__ = ["Client", "ClientError", "emit", "load_args", "run", "IqError", "IqTimeout"]


def emit(event: str, **fields: Any) -> None:
    """Prints one JSON line {"event": event, "t": unix time, **fields} on stdout and flushes."""
    record = {"event": event, "t": round(time.time(), 3)}
    record.update(fields)
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()


def load_args() -> Dict[str, Any]:
    """The JSON object the TypeScript helper passes as argv[1] ({} when absent)."""
    if len(sys.argv) > 1 and sys.argv[1]:
        value = json.loads(sys.argv[1])
        if not isinstance(value, dict):
            raise ValueError("argv[1] must be a JSON object")
        return value
    return {}


class ClientError(Exception):
    """A client could not get online, or an awaited event did not come."""


# Events the wrapper records (queued for wait_for, and printed when echo is on).
OUTCOMES = ("session_start", "auth_failed", "connection_failed", "disconnected", "stream_error", "timeout")


class Client(slixmpp.ClientXMPP):
    """slixmpp.ClientXMPP bound to an explicit address, for loopback tests.

    tls: "starttls" (default; the connection fails if the server offers no STARTTLS),
         "direct" (TLS from the first byte, XEP-0368), or "none" (plaintext, for servers
         configured not to require TLS).
    mechanism: force one SASL mechanism ("PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", ...).
    name: label added to every emitted event as "client" (defaults to the JID's localpart).
    echo: print message/presence/outcome events as JSON lines.
    """

    def __init__(
        self,
        jid: str,
        password: str,
        host: str = "127.0.0.1",
        port: int = 5222,
        *,
        tls: str = "starttls",
        verify: bool = False,
        ca_file: Optional[str] = None,
        mechanism: Optional[str] = None,
        name: Optional[str] = None,
        echo: bool = True,
        plugins: Tuple[str, ...] = (),
    ) -> None:
        super().__init__(jid, password, sasl_mech=mechanism)
        if tls not in ("starttls", "direct", "none"):
            raise ValueError(f"tls must be starttls, direct or none, not {tls!r}")
        self.target: Tuple[str, int] = (host, int(port))
        self.tls_mode = tls
        self.name = name or self.boundjid.user or self.boundjid.bare
        self.echo = echo
        self._queues: Dict[str, deque] = {}
        self._waiters: List[Tuple[str, Optional[Callable[[Any], bool]], asyncio.Future]] = []

        # Certificates (see the module docstring).
        if ca_file:
            self.ca_certs = ca_file
        elif not verify:
            self.ssl_context.check_hostname = False
            self.ssl_context.verify_mode = ssl.CERT_NONE

        mechs = self["feature_mechanisms"]
        if mechanism:
            if mechanism.upper() == "PLAIN":
                mechs.unencrypted_plain = True
        else:
            mechs.use_mechs = [m for m in ("SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN")]
            mechs.unencrypted_plain = tls != "starttls"

        for p in plugins:
            self.register_plugin(p)

        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("failed_all_auth", self._on_failed_all_auth)
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("connection_failed", self._on_connection_failed)
        self.add_event_handler("disconnected", self._on_disconnected)
        self.add_event_handler("stream_error", self._on_stream_error)
        self.add_event_handler("message", self._on_message)
        self.add_event_handler("presence", self._on_presence)
        self._last_sasl_failure: Dict[str, Any] = {}

    # -- connection -------------------------------------------------------------------------

    async def get_dns_records(self, domain: str, port: Optional[int] = None) -> List[Tuple[str, str, int]]:
        host, p = self.target
        return [(host, host, p)]

    def start(self) -> None:
        """Starts connecting to the configured address (returns at once)."""
        self.connect(
            self.target,
            use_ssl=self.tls_mode == "direct",
            force_starttls=self.tls_mode == "starttls",
            disable_starttls=self.tls_mode != "starttls",
        )

    async def connect_and_wait(self, timeout: float = 10) -> Dict[str, Any]:
        """Connects and waits for the first outcome; returns it as a dict with "event" one of
        session_start, auth_failed, connection_failed, disconnected, stream_error, timeout."""
        self.start()
        try:
            outcome = await self.wait_for_any(
                ("session_start", "auth_failed", "connection_failed", "disconnected", "stream_error"), timeout
            )
        except ClientError:
            outcome = {"event": "timeout", "timeout": timeout}
            self._emit("timeout", timeout=timeout)
        if outcome["event"] != "session_start":
            self.cancel_connection_attempt()
            if outcome["event"] != "disconnected":
                try:
                    self.abort()
                except AttributeError:
                    # After a SASL failure slixmpp closes the stream itself; when the server's
                    # </stream:stream> and the TCP close arrive before this coroutine resumes,
                    # abort() on the dead TLS transport raises inside asyncio's sslproto
                    # ('NoneType' object has no attribute '_abort'). The connection is gone.
                    pass
        return outcome

    async def online(self, timeout: float = 10, presence: bool = True, roster: bool = False) -> Dict[str, Any]:
        """Connects, authenticates and binds; raises ClientError otherwise. Sends initial
        presence unless presence=False, and fetches the roster first when roster=True."""
        outcome = await self.connect_and_wait(timeout)
        if outcome["event"] != "session_start":
            raise ClientError(f"{self.name}: not online: {json.dumps(outcome, default=str)}")
        if roster:
            await self.get_roster(timeout=timeout)
        if presence:
            self.send_presence()
        return outcome

    async def offline(self, timeout: float = 5) -> None:
        """Closes the stream and waits until the connection is gone."""
        if self.transport is None:
            return
        self.disconnect(wait=timeout)
        try:
            await self.wait_for("disconnected", timeout=timeout + 1)
        except ClientError:
            self.abort()

    # -- waiting for events -----------------------------------------------------------------

    async def wait_for(self, event: str, timeout: float = 5, match: Optional[Callable[[Any], bool]] = None) -> Any:
        """Returns the next recorded `event` (optionally the next that `match` accepts),
        including one that arrived before the call. Raises ClientError on time-out."""
        q = self._queues.get(event)
        if q:
            for item in list(q):
                if match is None or match(item):
                    q.remove(item)
                    return item
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        waiter = (event, match, fut)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise ClientError(f"{self.name}: no {event} within {timeout} s") from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def wait_for_any(self, events: Tuple[str, ...], timeout: float = 5) -> Dict[str, Any]:
        """The first of several outcome events; returns its dict."""
        tasks = [asyncio.ensure_future(self.wait_for(e, timeout)) for e in events]
        try:
            done, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                if t in done and t.exception() is None:
                    return t.result()
            raise ClientError(f"{self.name}: none of {', '.join(events)} within {timeout} s")
        finally:
            for t in tasks:
                if not t.done():
                    t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _record(self, event: str, item: Any) -> None:
        for waiter in list(self._waiters):
            name, match, fut = waiter
            if name == event and not fut.done() and (match is None or match(item)):
                fut.set_result(item)
                self._waiters.remove(waiter)
                return
        self._queues.setdefault(event, deque()).append(item)

    def _emit(self, event: str, **fields: Any) -> Dict[str, Any]:
        record = {"event": event, "client": self.name}
        record.update(fields)
        if self.echo:
            emit(event, client=self.name, **fields)
        return record

    # -- handlers -----------------------------------------------------------------------------

    def tls_info(self) -> Dict[str, Any]:
        """TLS version, cipher and the server certificate's SHA-256 fingerprint
        ("AB:CD:...", as node:crypto prints it), or {} on a plaintext stream."""
        obj = self.transport.get_extra_info("ssl_object") if self.transport else None
        if obj is None:
            return {}
        der = obj.getpeercert(True)
        fp = hashlib.sha256(der).hexdigest().upper() if der else ""
        return {
            "version": obj.version(),
            "cipher": (obj.cipher() or [None])[0],
            "fingerprint": ":".join(fp[i : i + 2] for i in range(0, len(fp), 2)),
        }

    def _on_session_start(self, _event: Any) -> None:
        self._record("session_start", self._emit("session_start", jid=str(self.boundjid), tls=self.tls_info()))

    def _on_failed_auth(self, failure: Any) -> None:
        try:
            self._last_sasl_failure = {"condition": failure["condition"], "text": failure["text"]}
        except Exception:  # pragma: no cover - malformed failure
            self._last_sasl_failure = {}

    def _on_failed_all_auth(self, _event: Any) -> None:
        mech = self["feature_mechanisms"].mech
        self._record(
            "auth_failed",
            self._emit(
                "auth_failed",
                mechanism=getattr(mech, "name", None),
                offered=sorted(self["feature_mechanisms"].mech_list),
                **self._last_sasl_failure,
            ),
        )

    def _on_connection_failed(self, error: Any) -> None:
        self._record("connection_failed", self._emit("connection_failed", error=str(error)))

    def _on_disconnected(self, reason: Any) -> None:
        self._record("disconnected", self._emit("disconnected", reason=str(reason) if reason else ""))

    def _on_stream_error(self, err: Any) -> None:
        self._record("stream_error", self._emit("stream_error", condition=err["condition"], text=err["text"]))

    def _on_message(self, msg: Any) -> None:
        self._record(
            "message",
            self._emit(
                "message",
                **{"from": str(msg["from"]), "to": str(msg["to"]), "type": msg["type"], "id": msg["id"], "body": msg["body"]},
            ),
        )

    def _on_presence(self, pres: Any) -> None:
        self._record(
            "presence",
            self._emit(
                "presence",
                **{
                    "from": str(pres["from"]),
                    "to": str(pres["to"]),
                    "type": pres["type"],
                    "show": pres["show"],
                    "status": pres["status"],
                    "priority": pres["priority"],
                },
            ),
        )


def run(main: Callable[[Dict[str, Any]], Awaitable[Any]], timeout: Optional[float] = None) -> None:
    """Runs `main(args)` under asyncio, then exits: 0 after {"event":"done"} (with main's
    return value as "result" when not None), 1 after {"event":"error", ...}.
    args["log"] ("DEBUG", "INFO", ...) sets slixmpp's logging on stderr (DEBUG shows the XML)."""
    args = load_args()
    logging.basicConfig(
        level=str(args.get("log", "WARNING")).upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    limit = timeout if timeout is not None else (float(args["timeout"]) if "timeout" in args else None)

    async def guarded() -> Any:
        if limit is None:
            return await main(args)
        return await asyncio.wait_for(main(args), limit)

    try:
        result = asyncio.run(guarded())
    except BaseException as e:  # noqa: BLE001 - report everything, including timeouts
        if isinstance(e, SystemExit):
            raise
        emit("error", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
        sys.exit(1)
    if result is None:
        emit("done")
    else:
        emit("done", result=result)
    sys.exit(0)
