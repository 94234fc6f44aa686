"""Reading Parley's enterprise presence (urn:parley:presence:0, docs/presence.md) in slixmpp
scenario scripts: `view(stanza)` turns a <presence/> into a plain dict of what a watcher got,
so scripts can compare it with what the privacy matrix allows.

    from interop import *
    from presence_view import *

    p = await bob.expect(presence_from(alice.full, None, full=True), "alice's presence")
    v = view(p)
    check(v["availability"] == "7500" and v["meeting"]["subject"] == "Budget review", "workgroup view", v)
"""

import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Optional

from interop import check, q  # noqa: F401

NS_P = "urn:parley:presence:0"
NS_IDLE = "urn:xmpp:idle:1"
NS_CAL = "urn:parley:calendar:0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

__all__ = ["NS_P", "NS_IDLE", "NS_CAL", "XML_LANG", "view", "stamp", "pres_of", "parley_presence", "sync", "latest_view"]


def stamp(seconds_from_now: float = 0) -> str:
    """A XEP-0082 date-time, seconds from now (UTC, whole seconds)."""
    t = datetime.fromtimestamp(int(time.time() + seconds_from_now), tz=timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def view(s: Any) -> Dict[str, Any]:
    """Everything a <presence/> says: type, show, statuses (by language), idle since, priority,
    and the <state/> extension's attributes and children (absent keys = not sent)."""
    x = s.xml if hasattr(s, "xml") else s
    out: Dict[str, Any] = {"from": x.get("from"), "type": x.get("type"), "show": x.findtext(q("show"))}
    statuses = {}
    for e in x.findall(q("status")):
        statuses[e.get(XML_LANG) or ""] = e.text or ""
    out["status"] = statuses.get("")
    out["statuses"] = statuses
    idle = x.find("{%s}idle" % NS_IDLE)
    out["idle"] = idle.get("since") if idle is not None else None
    out["photo"] = x.findtext("{vcard-temp:x:update}x/{vcard-temp:x:update}photo")
    st = x.find("{%s}state" % NS_P)
    out["state"] = st is not None
    if st is None:
        return out
    for k, v in st.attrib.items():
        out[k] = v
    for name in ("note", "ooo", "location"):
        t = st.find("{%s}%s" % (NS_P, name))
        if t is not None:
            out[name] = t.text or ""
    customs = st.findall("{%s}custom" % NS_P)
    if customs:
        out["custom"] = customs[0].get("id")
        out["custom_labels"] = {c.get(XML_LANG): c.text for c in customs}
    m = st.find("{%s}meeting" % NS_P)
    if m is not None:
        out["meeting"] = {
            "start": m.get("start"),
            "end": m.get("end"),
            "subject": m.findtext("{%s}subject" % NS_P),
            "location": m.findtext("{%s}location" % NS_P),
        }
    return out


def pres_of(jid: str, full: bool = True, ptype: Any = "any") -> Callable[[Any], bool]:
    """Matches presence from jid (a full JID unless full=False); ptype None = available only."""

    def match(s: Any) -> bool:
        x = s.xml
        if x.tag != q("presence"):
            return False
        frm = x.get("from", "")
        if (frm if full else frm.split("/", 1)[0]) != jid:
            return False
        if x.get("type") in ("subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe", "error"):
            return False
        return ptype == "any" or x.get("type") == ptype

    return match


def parley_presence(set_attrs: Optional[Dict[str, str]] = None, note: Optional[str] = None, device: Optional[Dict[str, str]] = None,
                    location: Optional[str] = None, idle_since: Optional[str] = None, extra: str = "", lang: Optional[str] = None) -> str:
    """A Parley client's broadcast presence: <set/>, <device/>, XEP-0319 <idle/>."""
    parts = []
    if set_attrs is not None or note is not None:
        attrs = "".join(f" {k}='{v}'" for k, v in (set_attrs or {}).items())
        inner = f"<note>{note}</note>" if note is not None else ""
        parts.append(f"<set xmlns='{NS_P}'{attrs}>{inner}</set>")
    if device is not None or location is not None:
        attrs = "".join(f" {k}='{v}'" for k, v in (device or {}).items())
        inner = f"<location>{location}</location>" if location is not None else ""
        parts.append(f"<device xmlns='{NS_P}'{attrs}>{inner}</device>")
    if idle_since is not None:
        parts.append(f"<idle xmlns='{NS_IDLE}' since='{idle_since}'/>")
    la = f" xml:lang='{lang}'" if lang else ""
    return f"<presence{la}>{''.join(parts)}{extra}</presence>"


async def sync(*clients: Any) -> None:
    """Waits until each client's earlier stanzas were processed by the server (a ping round trip)."""
    for c in clients:
        r = await c.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=c.boundjid.domain)
        check(r["type"] == "result", f"{c.name}: ping", r)


async def latest_view(watcher: Any, owner_full: str, what: str, timeout: float = 5) -> Dict[str, Any]:
    """Probes the owner's bare JID and returns the view of the answer from owner_full."""
    watcher.drain()
    bare = owner_full.split("/", 1)[0]
    watcher.raw(f"<presence type='probe' to='{bare}'/>")
    s = await watcher.expect(pres_of(owner_full), what, timeout=timeout)
    return view(s)
