// Operations over the live /proc: decoded requests in, responses out (no network).
#include "wsman/operations.h"

#include "wsman/envelope.h"

#include <gtest/gtest.h>
#include <unistd.h>

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
