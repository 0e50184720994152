"""WS-Management on the wire for lwmi's end-to-end tests: the captured envelopes
(tests/fixtures/wsman-captures) and the edits the tests make to them, parsing responses and
faults, and the transports (HTTP over lwmid's Unix socket, Basic credentials, a tiny client to run
as another user or in another network namespace).

Python standard library only.
"""
import base64
import http.client
import os
import re
import socket
import uuid
import xml.etree.ElementTree as ET

from lwmi_e2e import SOURCE_DIR

PY = "/usr/bin/python3"  # runs CLIENT (Debian's Python, whatever runs the tests)

CAPTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "wsman-captures")  # NN-*, microsoft/NN-*

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wsen": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "wsmid": "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "wse": "http://schemas.xmlsoap.org/ws/2004/08/eventing",
}
WQL_DIALECT = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
WBEM_E_INVALID_QUERY = 2147749911  # 0x80041017

# Proxies in the environment must not capture requests to 127.0.0.1 (python3-winrm trusts env).
for _v in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_v, None)


# ---------------------------------------------------------------------------------------------
# Envelopes


def capture(name):
    """The text of a captured envelope: 'NN-…' (openwsman) or 'microsoft/NN-…'."""
    with open(os.path.join(CAPTURES, name), "rb") as f:
        return f.read().decode("utf-8")


def microsoft_captures():
    return sorted("microsoft/" + f for f in os.listdir(os.path.join(CAPTURES, "microsoft"))
                  if f.endswith(".xml"))


def fresh_id(xml):
    """A new wsa:MessageID (the captures all carry the one they were recorded with)."""
    return re.sub(r"uuid:[0-9A-Fa-f-]{36}", "uuid:" + str(uuid.uuid4()), xml, count=1) \
        if "MessageID" in xml else xml


def set_selector(xml, name, value):
    out, n = re.subn(r'(<wsman:Selector Name="%s">)[^<]*(</wsman:Selector>)' % name,
                     lambda m: m.group(1) + str(value) + m.group(2), xml)
    assert n == 1, "no selector %s in the envelope" % name
    return out


def set_filter(xml, wql):
    out, n = re.subn(r"(<wsman:Filter [^>]*>)[^<]*(</wsman:Filter>)",
                     lambda m: m.group(1) + xml_escape(wql) + m.group(2), xml)
    assert n == 1
    return out


def set_context(xml, context):
    out, n = re.subn(r"(<wsen:EnumerationContext>)[^<]*(</wsen:EnumerationContext>)",
                     lambda m: m.group(1) + context + m.group(2), xml)
    assert n == 1
    return out


def add_header(xml, header):
    assert "</s:Header>" in xml
    return xml.replace("</s:Header>", header + "</s:Header>", 1)


def enable_privilege(xml, value="SeDebugPrivilege"):
    return add_header(xml, '<wsman:OptionSet><wsman:Option Name="EnablePrivilege">%s'
                           '</wsman:Option></wsman:OptionSet>' % value)


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def terminate_envelope(pid, dmtf=False):
    xml = capture("13-invoke-terminate-dmtf-uri.xml" if dmtf else "06-invoke-terminate-wmi-uri.xml")
    return fresh_id(set_selector(xml, "Handle", pid))


def local(tag):
    return tag.rsplit("}", 1)[-1]


def parse_envelope(body):
    """Parses a response body; asserts it is a SOAP 1.2 Envelope with a Body."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    root = ET.fromstring(body)
    assert root.tag == "{%s}Envelope" % NS["s"], "not a SOAP envelope: %r" % body[:300]
    assert root.find("s:Body", NS) is not None, "no s:Body: %r" % body[:300]
    return root


def fault_of(root):
    """(subcode, reason, WSManFault Code or None) of a fault envelope, or None."""
    fault = root.find("s:Body/s:Fault", NS)
    if fault is None:
        return None
    sub = fault.find("s:Code/s:Subcode/s:Value", NS)
    code = fault.find("s:Code/s:Value", NS)
    reason = fault.find("s:Reason/s:Text", NS)
    wf = fault.find("s:Detail/f:WSManFault", NS)
    return {
        "code": (code.text or "").strip() if code is not None else "",
        "subcode": (sub.text or "").strip() if sub is not None else "",
        "reason": (reason.text or "") if reason is not None else "",
        "wbem": int(wf.get("Code")) if wf is not None and wf.get("Code") else None,
    }


def instances(root, path):
    """Items found at path under s:Body, as {localname: text} dicts (one per instance)."""
    out = []
    items = root.find(path, NS)
    if items is None:
        return out
    for item in items:
        # EnumerateObjectAndEPR wraps the object in wsman:Item with an EPR next to it.
        objs = [c for c in item if local(c.tag) != "EndpointReference"] \
            if local(item.tag) == "Item" else [item]
        for obj in objs:
            out.append({local(p.tag): (p.text or "") for p in obj})
    return out


def property_of(root, name):
    for el in root.find("s:Body", NS).iter():
        if local(el.tag) == name:
            return el.text
    return None


# ---------------------------------------------------------------------------------------------
# Transports


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


SOAP_TYPE = "application/soap+xml;charset=UTF-8"


def post(conn, body, headers=None):
    """POST /wsman; returns (status, {lower-case header: value}, body bytes)."""
    h = {"Content-Type": SOAP_TYPE}
    h.update(headers or {})
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        conn.request("POST", "/wsman", body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()}


# A tiny client run as another user or in another network namespace: POSTs stdin to argv[1]
# (unix:PATH or http://HOST:PORT) with optional Basic credentials argv[2]:argv[3] and prints the
# HTTP status on the first line, then the body.
CLIENT = r"""
import base64, http.client, socket, sys
target, body = sys.argv[1], sys.stdin.buffer.read()
h = {"Content-Type": "application/soap+xml;charset=UTF-8"}
if len(sys.argv) > 3 and sys.argv[2]:
    h["Authorization"] = "Basic " + base64.b64encode((sys.argv[2] + ":" + sys.argv[3]).encode()).decode()
for extra in sys.argv[4:]:
    k, _, v = extra.partition(":")
    h[k] = v
if target.startswith("unix:"):
    class C(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(30)
            self.sock.connect(target[5:])
    c = C("localhost", timeout=30)
else:
    hostport = target.split("//", 1)[1].split("/", 1)[0]
    c = http.client.HTTPConnection(hostport, timeout=30)
c.request("POST", "/wsman", body=body, headers=h)
r = c.getresponse()
sys.stdout.write(str(r.status) + "\n")
sys.stdout.write(r.read().decode("utf-8", "replace"))
"""


# ---------------------------------------------------------------------------------------------
# WS-Eventing (openwsman's captured Subscribe, Pull and Unsubscribe)

HEARTBEAT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Heartbeat"
WBEM_E_ACCESS_DENIED = 0x80041003
WBEM_E_QUOTA_VIOLATION = 0x8004106C
WBEM_E_QUEUE_OVERFLOW = 0x80041061
WBEM_E_TIMED_OUT = 0x80041069
WBEM_E_NOT_EVENT_CLASS = 0x80041059


def subscribe_envelope(wql, expires="PT600.000000S", heartbeat=None):
    xml = fresh_id(set_filter(capture("07-subscribe-pull.xml"), wql))
    xml = re.sub(r"<wse:Expires>[^<]*</wse:Expires>", "<wse:Expires>%s</wse:Expires>" % expires,
                 xml)
    if heartbeat is None:
        xml = re.sub(r"<wsman:Heartbeats>[^<]*</wsman:Heartbeats>", "", xml)
    else:
        xml = re.sub(r"(<wsman:Heartbeats>)[^<]*(</wsman:Heartbeats>)",
                     lambda m: m.group(1) + heartbeat + m.group(2), xml)
    return xml


def pull_envelope(context, timeout="PT10.000S", max_elements=20):
    xml = fresh_id(set_context(capture("08-pull-events.xml"), context))
    xml = add_header(xml, "<wsman:OperationTimeout>%s</wsman:OperationTimeout>" % timeout)
    return xml.replace("</wsen:Pull>",
                       "<wsen:MaxElements>%d</wsen:MaxElements></wsen:Pull>" % max_elements)


def unsubscribe_envelope(identifier):
    xml = fresh_id(capture("09-unsubscribe.xml"))
    out, n = re.subn(r"(<wse:Identifier>)[^<]*(</wse:Identifier>)",
                     lambda m: m.group(1) + identifier + m.group(2), xml)
    assert n == 1
    return out


def action_of(root):
    a = root.find("s:Header/wsa:Action", NS)
    return (a.text or "").strip() if a is not None else ""


def event_items(root):
    """The PullResponse's items as (class, {TargetInstance property: text or None})."""
    items = root.find("s:Body/wsen:PullResponse/wsen:Items", NS)
    out = []
    for ev in (items if items is not None else []):
        target = {}
        for prop in ev:
            if local(prop.tag) != "TargetInstance":
                continue
            for inst in prop:
                for p in inst:
                    nil = p.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
                    target[local(p.tag)] = None if nil else (p.text or "")
        out.append((local(ev.tag), target))
    return out

