"""Scenario helpers on top of test/support/slixmpp_client.py, for test/interop/*.test.ts.

Scripts get one JSON object of arguments (host, port, tls_port, domain, prefix, ...) and do
their own checks with `check(...)`: a failed check raises, the script exits 1 and the test
prints the JSON event log. Every wait has a time-out.

    from interop import *

    async def main(a):
        alice = C(a, "alice", "desk")
        await alice.online(roster=True)
        r = await alice.iq("get", "<query xmlns='jabber:iq:roster'/>")
        check(r["type"] == "result", "roster get", r)
        await alice.offline()

    run(main)

Users are named a["prefix"] + name (so concurrent tests on one server do not share accounts),
with the password name + "pw". C records every incoming stanza; `expect(match)` returns the
next one `match` accepts, `expect_none(match)` proves none arrives for a while.
"""

import asyncio
import xml.etree.ElementTree as ET
from typing import Any, Callable, Dict, List, Optional

from slixmpp.exceptions import IqError, IqTimeout
from slixmpp_client import Client, ClientError, emit, run  # noqa: F401  (re-exported)

NS_CLIENT = "jabber:client"
NS_ROSTER = "jabber:iq:roster"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DELAY = "urn:xmpp:delay"
NS_CHATSTATES = "http://jabber.org/protocol/chatstates"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"

__all__ = [
    "C", "ClientError", "check", "emit", "run", "q", "error_condition", "roster_items", "is_roster_push",
    "presence_from", "message_from", "sleep", "NS_CLIENT", "NS_ROSTER", "NS_STANZAS", "NS_DELAY",
    "NS_CHATSTATES", "NS_DISCO_INFO", "ET",
]


class CheckFailed(AssertionError):
    pass


def check(cond: Any, what: str, detail: Any = None) -> None:
    """Fails the scenario with `what` (and the stanza or value in `detail`) unless cond."""
    if cond:
        emit("check", ok=True, what=what)
        return
    emit("check", ok=False, what=what, detail=str(detail) if detail is not None else None)
    raise CheckFailed(what + (f": {detail}" if detail is not None else ""))


def q(name: str, ns: str = NS_CLIENT) -> str:
    """Clark notation: q('body') == '{jabber:client}body'."""
    return "{%s}%s" % (ns, name)


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def error_condition(stanza: Any) -> Optional[str]:
    """The defined condition of a stanza error ('service-unavailable', ...), or None."""
    err = stanza.xml.find(q("error"))
    if err is None:
        return None
    for child in err:
        if child.tag.startswith("{%s}" % NS_STANZAS) and not child.tag.endswith("}text"):
            return child.tag.split("}", 1)[1]
    return None


def roster_items(stanza: Any) -> Dict[str, Dict[str, Any]]:
    """The <item/>s of a roster query in an IQ: {jid: {subscription, ask, name, groups}}."""
    query = stanza.xml.find(q("query", NS_ROSTER))
    out: Dict[str, Dict[str, Any]] = {}
    if query is None:
        return out
    for item in query.findall(q("item", NS_ROSTER)):
        out[item.get("jid")] = {
            "subscription": item.get("subscription", "none"),
            "ask": item.get("ask"),
            "approved": item.get("approved"),
            "name": item.get("name"),
            "groups": sorted((g.text or "") for g in item.findall(q("group", NS_ROSTER))),
        }
    return out


def roster_ver(stanza: Any) -> Optional[str]:
    query = stanza.xml.find(q("query", NS_ROSTER))
    return None if query is None else query.get("ver")


__all__.append("roster_ver")


def is_roster_push(jid: Optional[str] = None, **want: Any) -> Callable[[Any], bool]:
    """Matches a roster push (iq type=set) carrying an item for jid with the given fields."""

    def match(s: Any) -> bool:
        if s.xml.tag != q("iq") or s.xml.get("type") != "set":
            return False
        items = roster_items(s)
        if jid is None:
            return bool(items)
        item = items.get(jid)
        return item is not None and all(item.get(k) == v for k, v in want.items())

    return match


def presence_from(jid: str, ptype: Optional[str] = None, full: bool = False) -> Callable[[Any], bool]:
    """Matches a presence from jid (its bare JID unless full=True) of type ptype (None = available)."""

    def match(s: Any) -> bool:
        if s.xml.tag != q("presence"):
            return False
        frm = s.xml.get("from", "")
        if (frm if full else frm.split("/", 1)[0]) != jid:
            return False
        return s.xml.get("type") == ptype

    return match


def message_from(jid: str, body: Optional[str] = None) -> Callable[[Any], bool]:
    def match(s: Any) -> bool:
        if s.xml.tag != q("message"):
            return False
        if s.xml.get("from", "").split("/", 1)[0] != jid.split("/", 1)[0]:
            return False
        return body is None or s.xml.findtext(q("body")) == body

    return match


class C(Client):
    """A test user: prefix+name@domain[/resource], password name+'pw', recording every stanza.

    Presence subscription requests are left to the script (slixmpp's default would approve
    and subscribe back on its own)."""

    def __init__(self, a: Dict[str, Any], who: str, resource: Optional[str] = None, *, password: Optional[str] = None, **kw: Any) -> None:
        user = a.get("prefix", "") + who
        jid = f"{user}@{a['domain']}" + (f"/{resource}" if resource else "")
        port = kw.pop("port", a["tls_port"] if kw.get("tls") == "direct" else a["port"])
        label = kw.pop("name", who + (f"/{resource}" if resource else ""))
        super().__init__(jid, password if password is not None else who + "pw", a.get("host", "127.0.0.1"), port, name=label, **kw)
        self.roster.auto_authorize = None
        self.roster.auto_subscribe = False
        self.add_filter("in", self._record_stanza)

    def _record_stanza(self, stanza: Any) -> Any:
        self._record("stanza", stanza)
        return stanza

    @property
    def bare(self) -> str:
        return self.boundjid.bare

    @property
    def full(self) -> str:
        return str(self.boundjid)

    async def expect(self, match: Callable[[Any], bool], what: str, timeout: float = 5) -> Any:
        """The next incoming stanza that match accepts (one that came earlier counts)."""
        try:
            s = await self.wait_for("stanza", timeout=timeout, match=match)
        except ClientError:
            raise CheckFailed(f"{self.name}: no {what} within {timeout} s") from None
        emit("got", client=self.name, what=what, xml=str(s))
        return s

    async def expect_none(self, match: Callable[[Any], bool], what: str, within: float = 1.0) -> None:
        """Fails if a stanza match accepts arrives (or has arrived and is unread) within `within` s."""
        try:
            s = await self.wait_for("stanza", timeout=within, match=match)
        except ClientError:
            emit("check", ok=True, what=f"{self.name}: no {what}")
            return
        check(False, f"{self.name}: unexpected {what}", s)

    def drain(self) -> None:
        """Forgets the stanzas received so far and not yet matched."""
        self._queues.pop("stanza", None)

    async def iq(self, itype: str, payload: str, to: Optional[str] = None, timeout: float = 5) -> Any:
        """Sends <iq type=itype to=to>payload</iq> and returns the result or error stanza."""
        iq = self.Iq()
        iq["type"] = itype
        if to:
            iq["to"] = to
        iq.append(ET.fromstring(payload))
        try:
            return await iq.send(timeout=timeout)
        except IqError as e:
            return e.iq
        except IqTimeout:
            raise CheckFailed(f"{self.name}: no answer to iq {payload[:80]} within {timeout} s") from None

    def raw(self, data: str) -> None:
        """Writes bytes to the stream as they are."""
        self.send_raw(data)
