// Operations over the live /proc: decoded requests in, responses out (no network).
#include "wsman/operations.h"

#include "service/testing/fake_served_class.h"
#include "wsman/envelope.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace lwmi::wsman {

class Ops : public ::testing::Test {
 protected:
  service::CimService svc_{config::Config{}, os::ProcFs("/proc"), os::SystemInfo::live()};
  Operations ops_{svc_};
  security::Caller me_ = security::Caller::current_process();
  std::string self_ = std::to_string(::getpid());
  const std::string kUri = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process";

  Request req(Operation op) {
    Request r;
    r.operation = op;
    r.resource_uri = kUri;
    r.message_id = "uuid:test";
    return r;
  }
};

TEST_F(Ops, GetBySelector) {
  Request r = req(Operation::kGet);
  r.selectors = {{"Handle", self_}};
  Response out = ops_.handle(r, me_);
  ASSERT_FALSE(out.fault) << out.fault->reason;
  ASSERT_TRUE(out.instance);
  EXPECT_EQ(out.instance->get("ProcessId")->as_u64(), static_cast<uint64_t>(::getpid()));
  EXPECT_EQ(out.relates_to, "uuid:test");
}

TEST_F(Ops, GetFaults) {
  Request bogus = req(Operation::kGet);
  bogus.selectors = {{"Bogus", "1"}};
  Response out = ops_.handle(bogus, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "w:InvalidSelectors");
  Request missing = req(Operation::kGet);
  missing.selectors = {{"Handle", "999999999"}};
  out = ops_.handle(missing, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "w:DestinationUnreachable");
  EXPECT_EQ(out.fault->wbem, WbemStatus::kNotFound);
  Request cls = req(Operation::kGet);
  cls.resource_uri = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Nothing";
  cls.selectors = {{"Handle", "1"}};
  out = ops_.handle(cls, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->wbem, WbemStatus::kInvalidClass);
  Request dmtf = req(Operation::kGet);
  dmtf.resource_uri = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Win32_Process";
  dmtf.selectors = {{"__cimnamespace", "root/default"}, {"Handle", self_}};
  out = ops_.handle(dmtf, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->wbem, WbemStatus::kInvalidNamespace);
  dmtf.selectors[0].value = "root/cimv2";
  out = ops_.handle(dmtf, me_);
  EXPECT_FALSE(out.fault);
}

TEST_F(Ops, OptimizedEnumerationWithWqlEndsWithoutContext) {
  Request r = req(Operation::kEnumerate);
  r.resource_uri = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*";
  r.filter = "SELECT Name FROM Win32_Process WHERE ProcessId = " + self_;
  r.filter_dialect = ns::kWqlDialect;
  r.optimize = true;
  r.max_elements = 50;
  r.object_and_epr = true;
  Response out = ops_.handle(r, me_);
  ASSERT_FALSE(out.fault) << out.fault->reason;
  ASSERT_EQ(out.items.size(), 1u);
  EXPECT_TRUE(out.items[0].with_epr);
  EXPECT_TRUE(out.end_of_sequence);
  EXPECT_TRUE(out.context.empty()) << "no context at the end of a sequence";
  EXPECT_EQ(ops_.open_enumerations(), 0u);
}

TEST_F(Ops, EnumeratePullRelease) {
  Request r = req(Operation::kEnumerate);
  Response first = ops_.handle(r, me_);
  ASSERT_FALSE(first.fault);
  ASSERT_FALSE(first.context.empty());
  EXPECT_TRUE(first.items.empty()) << "not optimized: items come with Pull";
  Request p = req(Operation::kPull);
  p.context = first.context;
  p.max_elements = 2;
  Response pulled = ops_.handle(p, me_);
  ASSERT_FALSE(pulled.fault);
  EXPECT_EQ(pulled.items.size(), 2u);
  EXPECT_EQ(pulled.context, first.context);
  // Another user cannot use this context.
  security::Caller other = me_;
  other.uid = me_.uid + 12345;
  Response stolen = ops_.handle(p, other);
  ASSERT_TRUE(stolen.fault);
  EXPECT_EQ(stolen.fault->subcode, "n:InvalidEnumerationContext");
  Request rel = req(Operation::kRelease);
  rel.context = first.context;
  EXPECT_FALSE(ops_.handle(rel, me_).fault);
  Response gone = ops_.handle(p, me_);
  ASSERT_TRUE(gone.fault);
  EXPECT_EQ(gone.fault->subcode, "n:InvalidEnumerationContext");
}

// An enumeration context is its opener's as a subscription is (Caller::Owner): the same uid in a
// child pid namespace, or on a connection whose process is gone, cannot pull or release it.
TEST_F(Ops, AContextPassedIntoAChildPidNamespaceOrNowhereIsInvalid) {
  Request r = req(Operation::kEnumerate);
  Response first = ops_.handle(r, me_);
  ASSERT_FALSE(first.fault);
  security::Caller contained = me_;
  contained.held = {};
  contained.pid_ns = os::PidNamespaceId{4026532000u, 1};
  security::Caller orphan = contained;
  orphan.pid_ns = security::Caller::kNowhere;
  Request p = req(Operation::kPull);
  p.context = first.context;
  p.max_elements = 5;
  Request rel = req(Operation::kRelease);
  rel.context = first.context;
  for (const security::Caller* c : {&contained, &orphan}) {
    Response stolen = ops_.handle(p, *c);
    ASSERT_TRUE(stolen.fault);
    EXPECT_EQ(stolen.fault->subcode, "n:InvalidEnumerationContext");
    EXPECT_TRUE(stolen.items.empty()) << "no host process";
    Response released = ops_.handle(rel, *c);
    ASSERT_TRUE(released.fault);
    EXPECT_EQ(released.fault->subcode, "n:InvalidEnumerationContext");
  }
  Response mine = ops_.handle(p, me_);
  ASSERT_FALSE(mine.fault) << mine.fault->reason;
  EXPECT_EQ(mine.items.size(), 5u) << "the opener's context is untouched";
}

// Rights are those of each request: a caller who no longer holds a privilege enabled at
// Enumerate (an admin since removed from admin_group) gets no more of what it read, and the
// context is ended.
TEST_F(Ops, APrivilegeLostSinceEnumerateEndsTheContext) {
  security::Caller admin = me_;
  admin.held.add(security::Privilege::kDebug);
  ASSERT_TRUE(admin.enable(security::Privilege::kDebug));
  security::Caller demoted = me_;
  demoted.held = {};
  demoted.enabled = {};
  Request r = req(Operation::kEnumerate);
  Response first = ops_.handle(r, admin);
  ASSERT_FALSE(first.fault);
  Request p = req(Operation::kPull);
  p.context = first.context;
  p.max_elements = 2;
  security::Caller admin_not_enabling = admin;
  admin_not_enabling.enabled = {};
  Response held = ops_.handle(p, admin_not_enabling);
  ASSERT_FALSE(held.fault) << "still held: enabling is per request";
  EXPECT_EQ(held.items.size(), 2u);
  Response refused = ops_.handle(p, demoted);
  ASSERT_TRUE(refused.fault);
  EXPECT_EQ(refused.fault->wbem, WbemStatus::kAccessDenied);
  EXPECT_NE(refused.fault->reason.find("SeDebugPrivilege"), std::string::npos);
  EXPECT_TRUE(refused.items.empty());
  Response ended = ops_.handle(p, admin);
  ASSERT_TRUE(ended.fault);
  EXPECT_EQ(ended.fault->subcode, "n:InvalidEnumerationContext") << "ended, not kept";
  EXPECT_EQ(ops_.open_enumerations(), 0u);
  // Opened without the privilege: losing it changes nothing.
  Response plain = ops_.handle(r, demoted);
  ASSERT_FALSE(plain.fault);
  p.context = plain.context;
  Response again = ops_.handle(p, demoted);
  EXPECT_FALSE(again.fault);
}

TEST_F(Ops, EnumerationQuotaPerUser) {
  Operations small(svc_, OperationLimits{2, std::chrono::seconds(600), 100});
  Request r = req(Operation::kEnumerate);
  EXPECT_FALSE(small.handle(r, me_).fault);
  EXPECT_FALSE(small.handle(r, me_).fault);
  Response third = small.handle(r, me_);
  ASSERT_TRUE(third.fault);
  EXPECT_EQ(third.fault->subcode, "w:QuotaLimit");
}

TEST_F(Ops, ExpiredContextIsInvalid) {
  Operations quick(svc_, OperationLimits{8, std::chrono::seconds(0), 100});
  Request r = req(Operation::kEnumerate);
  Response first = quick.handle(r, me_);
  ASSERT_FALSE(first.fault);
  Request p = req(Operation::kPull);
  p.context = first.context;
  Response out = quick.handle(p, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "n:InvalidEnumerationContext");
}

TEST_F(Ops, InvokeAndFaults) {
  Request r = req(Operation::kInvoke);
  r.method = "GetOwner";
  r.selectors = {{"Handle", self_}};
  Response out = ops_.handle(r, me_);
  ASSERT_FALSE(out.fault) << out.fault->reason;
  EXPECT_EQ(out.output_element, "GetOwner_OUTPUT");
  EXPECT_EQ(out.instance->get("ReturnValue")->as_u64(), 0u);
  EXPECT_TRUE(out.instance->get("User").has_value());
  r.method = "Frobnicate";
  out = ops_.handle(r, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "a:ActionNotSupported");
  Request bad_wql = req(Operation::kEnumerate);
  bad_wql.filter = "SELECT * FORM Win32_Process";
  out = ops_.handle(bad_wql, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "w:CannotProcessFilter");
  EXPECT_EQ(out.fault->wbem, WbemStatus::kInvalidQuery);
}

TEST_F(Ops, UnknownActionsAndMustUnderstand) {
  Request sub = req(Operation::kSubscribe);
  Response out = ops_.handle(sub, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "a:ActionNotSupported");
  Request mu = req(Operation::kGet);
  mu.not_understood = {"{urn:x}Thing"};
  out = ops_.handle(mu, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->code, "s:MustUnderstand");
  Request id = req(Operation::kIdentify);
  out = ops_.handle(id, me_);
  EXPECT_TRUE(out.is_identify);
}

}  // namespace lwmi::wsman

namespace lwmi::wsman {

TEST_F(Ops, MaxEnvelopeSizeSplitsABatchAcrossPulls) {
  Request r = req(Operation::kEnumerate);
  Response first = ops_.handle(r, me_);
  ASSERT_FALSE(first.fault);
  Request p = req(Operation::kPull);
  p.context = first.context;
  p.max_elements = 50;
  p.max_envelope_size = 12000;  // a full Win32_Process instance is a few KB
  Response small = ops_.handle(p, me_);
  ASSERT_FALSE(small.fault) << small.fault->reason;
  ASSERT_GE(small.items.size(), 1u);
  EXPECT_LT(small.items.size(), 50u);
  EXPECT_LE(encode(small).size(), 12000u);
  p.max_envelope_size = 100;  // not even one instance fits
  Response none = ops_.handle(p, me_);
  ASSERT_TRUE(none.fault);
  EXPECT_EQ(none.fault->subcode, "w:EncodingLimit");
  p.max_envelope_size.reset();  // the context survived the fault
  Response more = ops_.handle(p, me_);
  EXPECT_FALSE(more.fault);
  EXPECT_GE(more.items.size(), 1u);
}

}  // namespace lwmi::wsman

namespace lwmi::wsman {

// GetClass: a Get on the cim-xml resource URI with __cimnamespace and ClassName selectors.
TEST_F(Ops, GetClassAnswersTheClassDefinition) {
  Request r = req(Operation::kGet);
  r.resource_uri = std::string(ns::kCimXmlPrefix) + "*";
  r.selectors = {{"__cimnamespace", "root/cimv2"}, {"ClassName", "Win32_Process"}};
  Response out = ops_.handle(r, me_);
  ASSERT_FALSE(out.fault) << out.fault->reason;
  ASSERT_TRUE(out.class_decl);
  EXPECT_FALSE(out.instance);
  EXPECT_EQ(out.class_decl->name, "Win32_Process");
  EXPECT_EQ(out.class_decl->properties.size(), 45u);
  EXPECT_EQ(out.action, "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse");
  EXPECT_EQ(out.relates_to, "uuid:test");

  // The backslash spelling of the namespace, a case-insensitive class name, and the URI the
  // MI client and OMI send (no "wscim/1").
  r.resource_uri = "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*";
  r.selectors = {{"__cimnamespace", "root\\cimv2"}, {"ClassName", "win32_processstartup"}};
  out = ops_.handle(r, me_);
  ASSERT_FALSE(out.fault) << out.fault->reason;
  ASSERT_TRUE(out.class_decl);
  EXPECT_EQ(out.class_decl->name, "Win32_ProcessStartup");

  Request unknown = r;
  unknown.selectors = {{"__cimnamespace", "root/cimv2"}, {"ClassName", "Win32_Nothing"}};
  out = ops_.handle(unknown, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "w:DestinationUnreachable");
  EXPECT_EQ(out.fault->wbem, WbemStatus::kInvalidClass);
  EXPECT_FALSE(out.class_decl);

  Request missing = r;
  missing.selectors = {{"__cimnamespace", "root/cimv2"}};
  out = ops_.handle(missing, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "w:InvalidSelectors");

  Request other_ns = r;
  other_ns.selectors = {{"__cimnamespace", "root/test"}, {"ClassName", "Win32_Process"}};
  out = ops_.handle(other_ns, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->wbem, WbemStatus::kInvalidNamespace);

  // Enumerate and Invoke on the cim-xml URI stay unsupported, with a clear fault.
  Request en = req(Operation::kEnumerate);
  en.resource_uri = std::string(ns::kCimXmlPrefix) + "*";
  out = ops_.handle(en, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->wbem, WbemStatus::kNotSupported);
  EXPECT_EQ(out.fault->subcode, "w:UnsupportedFeature");
  Request inv = req(Operation::kInvoke);
  inv.resource_uri = "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/Win32_Process";
  inv.method = "Create";
  out = ops_.handle(inv, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->wbem, WbemStatus::kNotSupported);
}

// The MI client's GetClass capture (it names an OMI class; lwmi's is asked for instead):
// decode -> handle -> encode gives a well-formed envelope carrying the class.
TEST_F(Ops, Microsoft07GetClassCaptureRoundTrip) {
  const std::filesystem::path file =
      std::string(LWMI_SOURCE_DIR) + "/tests/fixtures/wsman-captures/microsoft/07-get-class.xml";
  ASSERT_TRUE(std::filesystem::exists(file)) << file << " is missing";
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  auto decoded = decode(ss.str());
  ASSERT_TRUE(std::holds_alternative<Request>(decoded));
  Request r = std::get<Request>(decoded);
  for (auto& s : r.selectors) {
    if (s.name == "ClassName") s.value = "Win32_Process";
    if (s.name == "__cimnamespace") s.value = "root/cimv2";
  }
  Response out = ops_.handle(r, me_);
  ASSERT_FALSE(out.fault) << out.fault->reason;
  ASSERT_TRUE(out.class_decl);
  std::string xml = encode(out);
  EXPECT_NE(xml.find("<CLASS NAME=\"Win32_Process\" SUPERCLASS=\"CIM_Process\">"),
            std::string::npos);
  EXPECT_NE(xml.find("<a:RelatesTo>uuid:DFCFFC30-89CA-4C3F-8E8C-4DA843C58615</a:RelatesTo>"),
            std::string::npos);
  // Well-formed: the codec's own parser reads it back (a malformed one is refused as such).
  auto back = decode(xml);
  if (auto* f = std::get_if<Fault>(&back)) {
    EXPECT_EQ(f->reason.find("not well-formed"), std::string::npos) << f->reason;
  }
}

}  // namespace lwmi::wsman

namespace lwmi::wsman {

// Selectors are checked against the keys the schema declares for the class in the resource URI:
// LWMI_EventSource is keyed by Source, Win32_Process by Handle (CreationDate beside it).
class Selectors : public Ops {
 protected:
  const std::string kSourceUri =
      "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/LWMI_EventSource";
  const std::string kDetail = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/";

  Request on_source(Operation op, std::vector<Selector> selectors) {
    Request r = req(op);
    r.resource_uri = kSourceUri;
    r.selectors = std::move(selectors);
    return r;
  }
  // The fault, checked to be InvalidSelectors with this detail; its reason is returned.
  std::string invalid_selectors(const Request& r, const std::string& detail) {
    Response out = ops_.handle(r, me_);
    EXPECT_TRUE(out.fault);
    if (!out.fault) return "";
    EXPECT_EQ(out.fault->subcode, "w:InvalidSelectors") << out.fault->reason;
    EXPECT_EQ(out.fault->wbem, WbemStatus::kInvalidObjectPath);
    EXPECT_EQ(out.fault->detail, kDetail + detail);
    EXPECT_FALSE(out.instance);
    return out.fault->reason;
  }
};

TEST_F(Selectors, GetEventSourceBySource) {
  for (std::string source : {"netlink", "proc-poll"}) {
    Response out = ops_.handle(on_source(Operation::kGet, {{"Source", source}}), me_);
    ASSERT_FALSE(out.fault) << out.fault->reason;
    ASSERT_TRUE(out.instance);
    EXPECT_EQ(out.instance->class_name(), "LWMI_EventSource");
    EXPECT_EQ(out.instance->get("Source")->as_string(), source);
    EXPECT_EQ(out.action, "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse");
  }
  // Selector names are case-insensitive; the DMTF family names the namespace in a selector.
  Request dmtf =
      on_source(Operation::kGet, {{"__cimnamespace", "root/cimv2"}, {"source", "netlink"}});
  dmtf.resource_uri = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/LWMI_EventSource";
  Response out = ops_.handle(dmtf, me_);
  ASSERT_FALSE(out.fault) << out.fault->reason;
  EXPECT_EQ(out.instance->get("Source")->as_string(), "netlink");
  // A source lwmi does not have: not found, not a selector error.
  out = ops_.handle(on_source(Operation::kGet, {{"Source", "fanotify"}}), me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "w:DestinationUnreachable");
  EXPECT_EQ(out.fault->wbem, WbemStatus::kNotFound);
  EXPECT_NE(out.fault->reason.find("'fanotify'"), std::string::npos) << out.fault->reason;
}

TEST_F(Selectors, EventSourceSelectorFaults) {
  // Another class's key.
  EXPECT_EQ(invalid_selectors(on_source(Operation::kGet, {{"Handle", "1"}}), "UnexpectedSelectors"),
            "selector 'Handle' is not a key of LWMI_EventSource (its key is Source)");
  // The key beside an unknown selector (CreationDate is an identity of processes only).
  EXPECT_EQ(
      invalid_selectors(on_source(Operation::kGet, {{"Source", "netlink"}, {"CreationDate", "x"}}),
                        "UnexpectedSelectors"),
      "selector 'CreationDate' is not a key of LWMI_EventSource (its key is Source)");
  // No key at all, or only the namespace.
  EXPECT_EQ(invalid_selectors(on_source(Operation::kGet, {}), "InsufficientSelectors"),
            "selector Source is required: LWMI_EventSource is keyed by Source");
  EXPECT_EQ(invalid_selectors(on_source(Operation::kGet, {{"__cimnamespace", "root/cimv2"}}),
                              "InsufficientSelectors"),
            "selector Source is required: LWMI_EventSource is keyed by Source");
  // The key twice.
  EXPECT_EQ(invalid_selectors(
                on_source(Operation::kGet, {{"Source", "netlink"}, {"SOURCE", "proc-poll"}}),
                "DuplicateSelector"),
            "selector 'Source' is given twice");
  // Delete and Invoke take the same path.
  EXPECT_EQ(
      invalid_selectors(on_source(Operation::kDelete, {{"Handle", "1"}}), "UnexpectedSelectors"),
      "selector 'Handle' is not a key of LWMI_EventSource (its key is Source)");
  Request inv = on_source(Operation::kInvoke, {{"Bogus", "1"}});
  inv.method = "Terminate";
  EXPECT_EQ(invalid_selectors(inv, "UnexpectedSelectors"),
            "selector 'Bogus' is not a key of LWMI_EventSource (its key is Source)");
}

TEST_F(Selectors, EventSourceIsReadOnly) {
  Response out = ops_.handle(on_source(Operation::kDelete, {{"Source", "netlink"}}), me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "a:ActionNotSupported");
  EXPECT_EQ(out.fault->code, "s:Sender");
  EXPECT_EQ(out.fault->wbem, WbemStatus::kProviderNotCapable);
  EXPECT_EQ(out.fault->reason, "LWMI_EventSource is read-only: its instances cannot be deleted");
  Request inv = on_source(Operation::kInvoke, {{"Source", "netlink"}});
  inv.method = "Terminate";
  out = ops_.handle(inv, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "a:ActionNotSupported");
  EXPECT_EQ(out.fault->wbem, WbemStatus::kInvalidMethod);
  EXPECT_EQ(out.fault->reason, "LWMI_EventSource has no method 'Terminate'");
  // The instance is still there.
  out = ops_.handle(on_source(Operation::kGet, {{"Source", "netlink"}}), me_);
  EXPECT_FALSE(out.fault);
}

TEST_F(Selectors, ProcessKeepsHandleAndCreationDate) {
  Request r = req(Operation::kGet);
  r.selectors = {{"handle", self_}};
  Response out = ops_.handle(r, me_);
  ASSERT_FALSE(out.fault) << out.fault->reason;
  std::string cd = out.instance->get("CreationDate")->as_string();
  r.selectors = {{"Handle", self_}, {"CreationDate", cd}};
  out = ops_.handle(r, me_);
  ASSERT_FALSE(out.fault) << out.fault->reason;
  EXPECT_EQ(out.instance->get("ProcessId")->as_u64(), static_cast<uint64_t>(::getpid()));
  // A stale CreationDate: not found (the pid was reused, or the reference is old).
  r.selectors = {{"Handle", self_}, {"CreationDate", "20000101000000.000000+000"}};
  out = ops_.handle(r, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->wbem, WbemStatus::kNotFound);

  Request no_handle = req(Operation::kGet);
  no_handle.selectors = {{"CreationDate", cd}};
  EXPECT_EQ(invalid_selectors(no_handle, "InsufficientSelectors"),
            "selector Handle is required: Win32_Process is keyed by Handle");
  Request other = req(Operation::kGet);
  other.selectors = {{"Handle", self_}, {"Source", "netlink"}};
  EXPECT_EQ(invalid_selectors(other, "UnexpectedSelectors"),
            "selector 'Source' is not a key of Win32_Process (its key is Handle; CreationDate "
            "may be given beside it)");
  // A class without keys has no instance a selector could name.
  Request keyless = req(Operation::kGet);
  keyless.resource_uri =
      "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/__InstanceCreationEvent";
  keyless.selectors = {{"Handle", self_}};
  EXPECT_EQ(invalid_selectors(keyless, "UnexpectedSelectors"),
            "__InstanceCreationEvent has no key properties: no selector names one of its "
            "instances");
}

// A hostile EnablePrivilege option (empty items, repeats, unknown names) is audited in ONE line
// per request; more than 16 distinct names is a fault naming the option, and audits nothing.
TEST(OpsPrivileges, RefusedPrivilegesAreAuditedOncePerRequest) {
  char dir[] = "/tmp/lwmi-ops-audit-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/audit.log";
  config::Config cfg;
  cfg.audit.journal = false;
  cfg.audit.file = path;
  service::CimService svc{cfg, os::ProcFs("/proc"), os::SystemInfo::live()};
  Operations ops{svc};
  security::Caller nobody = security::Caller::current_process();
  nobody.held = {};  // holds nothing: every request is refused
  auto lines = [&] {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  };
  Request r;
  r.operation = Operation::kIdentify;
  r.message_id = "uuid:p";
  std::string hostile(512 * 1024, ',');
  hostile += " SeDebugPrivilege ,sedebugprivilege,SeDebugPrivilege,,SeNoSuchPrivilege, ,";
  r.options = {{"EnablePrivilege", hostile}, {"EnablePrivilege", ",,,SeDebugPrivilege,,,"}};
  Response out = ops.handle(r, nobody);
  EXPECT_FALSE(out.fault) << out.fault->reason;
  auto got = lines();
  ASSERT_EQ(got.size(), 1u) << "one audit line per request, not per comma";
  EXPECT_NE(got[0].find("action=EnablePrivilege"), std::string::npos) << got[0];
  EXPECT_NE(got[0].find("params=SeDebugPrivilege,SeNoSuchPrivilege"), std::string::npos) << got[0];
  EXPECT_NE(got[0].find("SeDebugPrivilege is not held; unknown privilege 'SeNoSuchPrivilege'"),
            std::string::npos)
      << got[0];

  // Only empty items: nothing asked, nothing audited.
  r.options = {{"EnablePrivilege", std::string(4096, ',')}};
  EXPECT_FALSE(ops.handle(r, nobody).fault);
  EXPECT_EQ(lines().size(), 1u);

  // 17 distinct names: a fault naming the option, and no audit line.
  std::string many;
  for (int i = 0; i < 17; ++i) many += "SeX" + std::to_string(i) + "Privilege,";
  r.options = {{"EnablePrivilege", many}};
  out = ops.handle(r, nobody);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->subcode, "w:InvalidOptions");
  EXPECT_EQ(out.fault->wbem, WbemStatus::kInvalidParameter);
  EXPECT_NE(out.fault->reason.find("EnablePrivilege"), std::string::npos) << out.fault->reason;
  EXPECT_EQ(lines().size(), 1u);

  // A long unknown name is cut in the audit line.
  r.options = {{"EnablePrivilege", std::string(10000, 'A')}};
  EXPECT_FALSE(ops.handle(r, nobody).fault);
  got = lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_LT(got[1].size(), 1000u) << "the refused name is truncated";
  std::filesystem::remove_all(dir);
}

// EnablePrivilege "*" is wmic's /privileges:enable over WS-Man: every privilege the caller
// holds is enabled, and none is asked for by name, so a caller holding nothing is refused
// nothing and nothing is audited. (What was enabled shows in an enumeration: one opened with
// SeDebugPrivilege enabled ends when a later Pull comes from a caller no longer holding it.)
TEST(OpsPrivileges, EveryHeldEnablesWhatIsHeldAndRefusesNothing) {
  char dir[] = "/tmp/lwmi-ops-every-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/audit.log";
  config::Config cfg;
  cfg.audit.journal = false;
  cfg.audit.file = path;
  service::CimService svc{cfg, os::ProcFs("/proc"), os::SystemInfo::live()};
  Operations ops{svc};
  security::Caller admin = security::Caller::current_process();
  admin.held = {};
  admin.held.add(security::Privilege::kDebug);
  admin.enabled = {};
  security::Caller nobody = admin;
  nobody.held = {};
  auto pull_as = [&](const Response& opened, const security::Caller& who) {
    Request p;
    p.operation = Operation::kPull;
    p.resource_uri = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process";
    p.message_id = "uuid:p";
    p.context = opened.context;
    p.max_elements = 2;
    return ops.handle(p, who);
  };
  Request e;
  e.operation = Operation::kEnumerate;
  e.resource_uri = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process";
  e.message_id = "uuid:e";

  e.options = {{"EnablePrivilege", "*"}};
  Response opened = ops.handle(e, admin);
  ASSERT_FALSE(opened.fault) << opened.fault->reason;
  Response lost = pull_as(opened, nobody);
  ASSERT_TRUE(lost.fault) << "\"*\" enabled the SeDebugPrivilege the caller holds";
  EXPECT_EQ(lost.fault->wbem, WbemStatus::kAccessDenied);
  EXPECT_NE(lost.fault->reason.find("SeDebugPrivilege"), std::string::npos);

  // Without it, holding is not enabling: losing the privilege changes nothing.
  e.options = {};
  opened = ops.handle(e, admin);
  ASSERT_FALSE(opened.fault) << opened.fault->reason;
  EXPECT_FALSE(pull_as(opened, nobody).fault);

  // Holding nothing, "*" (alone or beside empty items) enables nothing and is no refusal.
  e.options = {{"EnablePrivilege", "*"}, {"EnablePrivilege", " * ,,"}};
  opened = ops.handle(e, nobody);
  ASSERT_FALSE(opened.fault) << opened.fault->reason;
  EXPECT_FALSE(pull_as(opened, nobody).fault);
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);)
    EXPECT_EQ(l.find("EnablePrivilege"), std::string::npos) << "nothing refused: " << l;
  std::filesystem::remove_all(dir);
}

// root\subscription over WS-Man, with a served class made for the test: Create, Get, Enumerate
// (by class and by WQL) and Delete by its resource URI; the wrong namespace or body refused.
class SubscriptionOps : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(::mkdtemp(dir_), nullptr);
    config::Config cfg;
    cfg.audit.journal = false;
    cfg.audit.file = std::string(dir_) + "/audit.log";
    svc_ = std::make_unique<service::CimService>(cfg, os::ProcFs("/proc"), os::SystemInfo::live());
    fake_ = service::testing::serve_fake_class(*svc_);
    ops_ = std::make_unique<Operations>(*svc_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  size_t audit_lines() const {
    std::ifstream in(std::string(dir_) + "/audit.log");
    size_t n = 0;
    for (std::string l; std::getline(in, l);) n += l.find("action=CreateInstance") != l.npos;
    return n;
  }
  static std::string uri(const std::string& ns, const std::string& cls) {
    return std::string(ns::kWmiPrefix) + ns + "/" + cls;
  }
  Request create(const std::string& resource, const std::string& element,
                 const std::string& element_ns, std::vector<PropertyText> props) {
    Request r;
    r.operation = Operation::kCreate;
    r.resource_uri = resource;
    r.message_id = "uuid:create";
    r.instance_element = element;
    r.instance_namespace = element_ns;
    r.instance_properties = std::move(props);
    return r;
  }
  Request create_filter(std::vector<PropertyText> props) {
    std::string u = uri("root/subscription", "LWMI_TestFilter");
    return create(u, "LWMI_TestFilter", u, std::move(props));
  }

  char dir_[64] = "/tmp/lwmi-ops-sub-XXXXXX";
  std::unique_ptr<service::CimService> svc_;
  std::shared_ptr<service::testing::FakeServedClass> fake_;
  std::unique_ptr<Operations> ops_;
  security::Caller me_ = security::Caller::current_process();
};

TEST_F(SubscriptionOps, CreateThenGetEnumerateDelete) {
  Response out = ops_->handle(create_filter({{"Name", "f1"},
                                             {"Query", "SELECT * FROM X"},
                                             {"Limit", "3"},
                                             {"Tags", "a"},
                                             {"Tags", "b"},
                                             {"Target", "LWMI_TestFilter.Name=\"f0\""},
                                             {"Query", "", true}}),
                              me_);
  ASSERT_FALSE(out.fault) << out.fault->reason;
  EXPECT_EQ(out.action, "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse");
  EXPECT_EQ(out.relates_to, "uuid:create");
  ASSERT_TRUE(out.created);
  EXPECT_EQ(out.created->to_string(), "root\\subscription:LWMI_TestFilter.Name=\"f1\"");
  auto stored = fake_->stored("f1");
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->get("Query")->is_null()) << "the later xsi:nil wins";
  EXPECT_EQ(stored->get("Tags")->elements().size(), 2u);
  EXPECT_NE(encode(out).find("<w:Selector Name=\"Name\">f1</w:Selector>"), std::string::npos);

  Request get;
  get.operation = Operation::kGet;
  get.resource_uri = uri("root/subscription", "LWMI_TestFilter");
  get.selectors = {{"Name", "f1"}};
  out = ops_->handle(get, me_);
  ASSERT_FALSE(out.fault) << out.fault->reason;
  ASSERT_TRUE(out.instance);
  std::string xml = encode(out);
  EXPECT_NE(xml.find("xmlns:p=\"" + uri("root/subscription", "LWMI_TestFilter") + "\""),
            std::string::npos)
      << xml;
  // The same class named in root/cimv2 is not there.
  get.resource_uri = uri("root/cimv2", "LWMI_TestFilter");
  out = ops_->handle(get, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->wbem, WbemStatus::kInvalidClass);
  EXPECT_EQ(out.fault->reason, "class LWMI_TestFilter is in root\\subscription, not root\\cimv2");

  Request en;
  en.operation = Operation::kEnumerate;
  en.resource_uri = uri("root/subscription", "*");
  en.filter = "SELECT * FROM LWMI_TestFilter";
  en.optimize = true;
  en.max_elements = 10;
  out = ops_->handle(en, me_);
  ASSERT_FALSE(out.fault) << out.fault->reason;
  ASSERT_EQ(out.items.size(), 1u);
  EXPECT_EQ(out.items[0].instance.namespace_path(), "root\\subscription");
  en.resource_uri = uri("root/cimv2", "*");
  out = ops_->handle(en, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->wbem, WbemStatus::kInvalidClass);
  en.resource_uri = uri("root/nowhere", "*");
  out = ops_->handle(en, me_);
  ASSERT_TRUE(out.fault);
  EXPECT_EQ(out.fault->wbem, WbemStatus::kInvalidNamespace);

  Request del;
  del.operation = Operation::kDelete;
  del.resource_uri = uri("root/subscription", "LWMI_TestFilter");
  del.selectors = {{"Name", "f1"}};
  out = ops_->handle(del, me_);
  ASSERT_FALSE(out.fault) << out.fault->reason;
  EXPECT_FALSE(fake_->stored("f1"));
}

// Each way a Create can be wrong gets its own fault, reaches no creator, and is audited.
TEST_F(SubscriptionOps, CreateRefusals) {
  std::string sub = uri("root/subscription", "LWMI_TestFilter");
  struct Case {
    Request r;
    std::string subcode;
    WbemStatus wbem;
    std::string reason;
  } cases[] = {
      {create(sub, "Win32_Process", sub, {{"Name", "x"}}), "w:SchemaValidationError",
       WbemStatus::kInvalidParameter,
       "the Create body is an instance of 'Win32_Process', but the resource URI names class "
       "LWMI_TestFilter"},
      {create(sub, "LWMI_TestFilter", uri("root/cimv2", "LWMI_TestFilter"), {{"Name", "x"}}),
       "w:SchemaValidationError", WbemStatus::kInvalidParameter,
       "the Create body's <LWMI_TestFilter> is in namespace '" +
           uri("root/cimv2", "LWMI_TestFilter") + "', expected the resource URI " + sub},
      {create_filter({{"Name", "x"}, {"Bogus", "1"}}), "w:SchemaValidationError",
       WbemStatus::kInvalidProperty, "class LWMI_TestFilter has no property 'Bogus'"},
      {create_filter({{"Name", "x"}, {"Limit", "-1"}}), "w:SchemaValidationError",
       WbemStatus::kTypeMismatch, "Limit: '-1' is not a uint32"},
      {create(uri("root/cimv2", "LWMI_TestFilter"), "LWMI_TestFilter",
              uri("root/cimv2", "LWMI_TestFilter"), {{"Name", "x"}}),
       "w:DestinationUnreachable", WbemStatus::kInvalidClass,
       "class LWMI_TestFilter is in root\\subscription, not root\\cimv2"},
      {create(uri("root/nowhere", "LWMI_TestFilter"), "LWMI_TestFilter",
              uri("root/nowhere", "LWMI_TestFilter"), {{"Name", "x"}}),
       "w:DestinationUnreachable", WbemStatus::kInvalidNamespace,
       "namespace 'root\\nowhere' does not exist (lwmi serves root/cimv2 and root/subscription)"},
      {create(uri("root/cimv2", "Win32_Process"), "Win32_Process",
              uri("root/cimv2", "Win32_Process"), {{"Name", "x"}}),
       "a:ActionNotSupported", WbemStatus::kProviderNotCapable,
       "class Win32_Process is created by its Create method, not CreateInstance"},
      {create(uri("root/subscription", "*"), "LWMI_TestFilter", uri("root/subscription", "*"), {}),
       "w:DestinationUnreachable", WbemStatus::kInvalidClass,
       "Create needs a class in its resource URI, not '*'"},
  };
  for (const auto& c : cases) {
    Response out = ops_->handle(c.r, me_);
    ASSERT_TRUE(out.fault) << c.reason;
    EXPECT_EQ(out.fault->subcode, c.subcode) << c.reason;
    EXPECT_EQ(out.fault->wbem, c.wbem) << c.reason;
    EXPECT_EQ(out.fault->reason, c.reason);
  }
  EXPECT_EQ(fake_->creates, 0);
  EXPECT_EQ(audit_lines(), std::size(cases));
  // A duplicate is the creator's refusal: w:AlreadyExists.
  ASSERT_FALSE(ops_->handle(create_filter({{"Name", "d"}}), me_).fault);
  Response dup = ops_->handle(create_filter({{"Name", "d"}}), me_);
  ASSERT_TRUE(dup.fault);
  EXPECT_EQ(dup.fault->subcode, "w:AlreadyExists");
  EXPECT_EQ(dup.fault->wbem, WbemStatus::kAlreadyExists);
}

}  // namespace lwmi::wsman
