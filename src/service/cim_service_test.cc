#include "service/cim_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "base/strings.h"
#include "service/testing/fake_served_class.h"

namespace lwmi::service {

class LiveService : public ::testing::Test {
 protected:
  CimService svc_{config::Config{}, os::ProcFs("/proc"), os::SystemInfo::live()};
  security::Caller me_ = security::Caller::current_process();
  std::string self_ = std::to_string(::getpid());
};

TEST_F(LiveService, GetsItselfByEveryPathForm) {
  for (std::string p :
       {"Win32_Process.Handle=\"" + self_ + "\"", "Win32_Process='" + self_ + "'",
        "win32_process.handle=" + self_, "\\\\.\\root\\cimv2:Win32_Process=" + self_,
        "//localhost/root/cimv2:Win32_Process.Handle=\"" + self_ + "\"",
        "CIM_Process.Handle=\"" + self_ + "\""}) {
    auto r = svc_.get_object(me_, p, {});
    ASSERT_TRUE(r.ok()) << p << ": " << r.error().to_string();
    EXPECT_EQ(r->class_name(), "Win32_Process");
    EXPECT_EQ(r->get("ProcessId")->as_u64(), static_cast<uint64_t>(::getpid()));
  }
}

TEST_F(LiveService, ErrorsNameTheProblem) {
  struct Case {
    std::string path;
    WbemStatus code;
    std::string message;
  } cases[] = {
      {"Win32_Nothing.Handle=\"1\"", WbemStatus::kInvalidClass,
       "no class named 'Win32_Nothing' in root\\cimv2 or root\\subscription"},
      {"\\\\.\\root\\default:Win32_Process=1", WbemStatus::kInvalidNamespace,
       "namespace 'root\\default' does not exist (lwmi serves root\\cimv2 and "
       "root\\subscription)"},
      {"\\\\otherhost\\root\\cimv2:Win32_Process=1", WbemStatus::kInvalidParameter,
       "the path names host 'otherhost': connect to it with --node otherhost"},
      {"Win32_Process", WbemStatus::kInvalidObjectPath,
       "'Win32_Process' names the class Win32_Process, not an instance: add its key, e.g. "
       "Win32_Process.Handle=\"1\""},
      {"Win32_Process.Handle=\"999999999\"", WbemStatus::kNotFound,
       "no process with Handle \"999999999\""},
  };
  for (const auto& c : cases) {
    auto r = svc_.get_object(me_, c.path, {});
    ASSERT_FALSE(r.ok()) << c.path;
    EXPECT_EQ(r.error().code, c.code) << c.path;
    EXPECT_EQ(r.error().message, c.message) << c.path;
  }
  auto bad = svc_.get_object(me_, "Win32_Process.Handle=\"" + self_ + "\"", {"Nope"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, WbemStatus::kInvalidProperty);
}

TEST_F(LiveService, EnumeratesSuperclassAndRejectsItsMissingProperties) {
  auto s = svc_.enumerate(me_, "CIM_ManagedSystemElement", {"Name"});
  ASSERT_TRUE(s.ok());
  Instance i;
  bool found_self = false;
  size_t n = 0;
  while ((*s)->next(&i)) {
    ++n;
    if (i.identity().key("Handle")->value.as_string() == self_) found_self = true;
  }
  EXPECT_GT(n, 1u);
  EXPECT_TRUE(found_self);
  // CIM_Process does not declare ExecutablePath (Win32_Process does).
  auto r = svc_.enumerate(me_, "CIM_Process", {"ExecutablePath"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "class CIM_Process has no property 'ExecutablePath'");
  auto none = svc_.enumerate(me_, "Win32_ProcessStartup", {});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE((*none)->next(&i));
}

}  // namespace lwmi::service

namespace lwmi::service {

TEST_F(LiveService, QueriesStreamAndKeepIdentity) {
  auto s = svc_.exec_query(me_, "SELECT Name FROM Win32_Process WHERE ProcessId = " + self_);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  Instance i;
  ASSERT_TRUE((*s)->next(&i));
  EXPECT_EQ(i.get("Name")->as_string(), "service_test");
  EXPECT_TRUE(i.get("__PATH")->is_null()) << "the key was not selected";
  EXPECT_EQ(i.identity().key("Handle")->value.as_string(), self_);
  EXPECT_TRUE(i.identity().key("CreationDate")) << "a result can still be a method's target";
  EXPECT_FALSE((*s)->next(&i));
}

TEST_F(LiveService, QueryErrorsCarryPositions) {
  struct Case {
    std::string wql;
    WbemStatus code;
    size_t position;
  } cases[] = {
      {"SELECT * FROM Win32_Nothing", WbemStatus::kInvalidClass, 14},
      {"SELECT * FORM Win32_Process", WbemStatus::kInvalidQuery, 9},
      {"ASSOCIATORS OF {Win32_Process='1'}", WbemStatus::kNotSupported, 0},
      {"SELECT * FROM Win32_Process WHERE Nope = 1", WbemStatus::kInvalidQuery, 34},
  };
  for (const auto& c : cases) {
    auto r = svc_.exec_query(me_, c.wql);
    ASSERT_FALSE(r.ok()) << c.wql;
    EXPECT_EQ(r.error().code, c.code) << c.wql;
    ASSERT_TRUE(r.error().position.has_value()) << c.wql;
    EXPECT_EQ(*r.error().position, c.position) << c.wql;
  }
  auto lang = svc_.exec_query(me_, "SELECT * FROM Win32_Process", "SQL");
  ASSERT_FALSE(lang.ok());
  EXPECT_EQ(lang.error().code, WbemStatus::kInvalidQueryType);
}

TEST_F(LiveService, QueryOnAClassWithoutInstancesIsEmptyNotAnError) {
  auto s = svc_.exec_query(me_, "SELECT * FROM Win32_ProcessStartup");
  ASSERT_TRUE(s.ok());
  Instance i;
  EXPECT_FALSE((*s)->next(&i));
  EXPECT_FALSE((*s)->error().has_value());
}

}  // namespace lwmi::service

namespace lwmi::service {

TEST_F(LiveService, RemoteCreateNeedsTheConfigsPermission) {
  security::Caller remote = me_;
  remote.remote = true;
  auto r = svc_.exec_method(remote, "Win32_Process", "Create",
                            {{"CommandLine", Value::string("/bin/true")}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kAccessDenied);
  EXPECT_EQ(r.error().message,
            "Create is not allowed for remote callers ([security] remote_create = false)");
  config::Config allow;
  allow.security.remote_create = true;
  CimService permissive(allow, os::ProcFs("/proc"), os::SystemInfo::live());
  auto ok = permissive.exec_method(remote, "Win32_Process", "Create",
                                   {{"CommandLine", Value::string("/bin/true")}});
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(ok->return_value, 0u);
}

// A class served in root\subscription: found without a namespace or in its own, refused in
// another with a message naming both, and its instances carry their namespace.
class ServedNamespace : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(::mkdtemp(dir_), nullptr);
    config::Config cfg;
    cfg.audit.journal = false;
    cfg.audit.file = audit_path();
    svc_ = std::make_unique<CimService>(cfg, os::ProcFs("/proc"), os::SystemInfo::live());
    fake_ = testing::serve_fake_class(*svc_);
    ASSERT_NE(fake_->class_decl(), nullptr);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string audit_path() const { return std::string(dir_) + "/audit.log"; }
  std::vector<std::string> audit_lines() const {
    std::ifstream in(audit_path());
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  Result<ObjectPath> create(const std::string& cls, Parameters props) {
    return svc_->create_instance(me_, cls, props);
  }

  char dir_[64] = "/tmp/lwmi-svc-ns-XXXXXX";
  std::unique_ptr<CimService> svc_;
  std::shared_ptr<testing::FakeServedClass> fake_;
  security::Caller me_ = security::Caller::current_process();
};

TEST_F(ServedNamespace, SchemaDocumentsNameTheirClassesNamespace) {
  EXPECT_EQ(fake_->class_decl()->namespace_path, "root\\subscription");
  auto builtin = cim::Schema::builtin().find("Win32_Process");
  ASSERT_NE(builtin, nullptr);
  EXPECT_EQ(builtin->namespace_path, "root\\cimv2");
  EXPECT_TRUE(builtin->in_namespace("//ROOT/CIMv2"));
  EXPECT_FALSE(builtin->in_namespace("root\\cimv2x"));
}

TEST_F(ServedNamespace, ClassesAreFoundInTheirNamespaceOnly) {
  ASSERT_TRUE(svc_->get_class("lwmi_testfilter").ok());
  ASSERT_TRUE(svc_->get_class("LWMI_TestFilter", "root/subscription").ok());
  auto wrong = svc_->get_class("LWMI_TestFilter", "root\\cimv2");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, WbemStatus::kInvalidClass);
  EXPECT_EQ(wrong.error().message,
            "class LWMI_TestFilter is in root\\subscription, not root\\cimv2");
  auto other = svc_->get_class("Win32_Process", "root\\subscription");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().message, "class Win32_Process is in root\\cimv2, not root\\subscription");
  auto none = svc_->get_class("Win32_Process", "root\\nowhere");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, WbemStatus::kInvalidNamespace);
}

TEST_F(ServedNamespace, CreateGetEnumerateQueryDelete) {
  auto made = create("LWMI_TestFilter", {{"Name", Value::string("f1")},
                                         {"Query", Value::string("SELECT * FROM X")},
                                         {"Limit", Value::string("7")},
                                         {"Tags", Value::string("a")},
                                         {"Tags", Value::string("b")},
                                         {"Target", Value::string("LWMI_TestFilter.Name=\"f0\"")}});
  ASSERT_TRUE(made.ok()) << made.error().to_string();
  EXPECT_EQ(made->to_string(), "root\\subscription:LWMI_TestFilter.Name=\"f1\"");
  auto stored = fake_->stored("f1");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->get("Limit")->type(), CimType::kUint32);
  EXPECT_EQ(stored->get("Limit")->as_u64(), 7u);
  ASSERT_EQ(stored->get("Tags")->elements().size(), 2u);
  EXPECT_EQ(stored->get("Tags")->elements()[1].as_string(), "b");
  EXPECT_EQ(stored->get("Target")->type(), CimType::kReference);
  EXPECT_EQ(stored->get("Target")->to_text(), "LWMI_TestFilter.Name=\"f0\"");

  for (std::string p :
       {"LWMI_TestFilter.Name=\"f1\"", "root\\subscription:LWMI_TestFilter.Name='f1'",
        "\\\\.\\root\\subscription:LWMI_TestFilter.Name=\"f1\""}) {
    auto got = svc_->get_object(me_, p, {});
    ASSERT_TRUE(got.ok()) << p << ": " << got.error().to_string();
    EXPECT_EQ(got->namespace_path(), "root\\subscription");
    EXPECT_EQ(got->get("__NAMESPACE")->as_string(), "root\\subscription");
    EXPECT_NE(got->get("__PATH")->as_string().find("\\root\\subscription:LWMI_TestFilter"),
              std::string::npos)
        << got->get("__PATH")->as_string();
  }
  auto wrong = svc_->get_object(me_, "root\\cimv2:LWMI_TestFilter.Name=\"f1\"", {});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, WbemStatus::kInvalidClass);
  auto process = svc_->get_object(me_, "root\\subscription:Win32_Process.Handle=\"1\"", {});
  ASSERT_FALSE(process.ok());
  EXPECT_EQ(process.error().code, WbemStatus::kInvalidClass);

  auto all = svc_->enumerate(me_, "LWMI_TestFilter", {}, "root\\subscription");
  ASSERT_TRUE(all.ok());
  Instance i;
  ASSERT_TRUE((*all)->next(&i));
  EXPECT_EQ(i.namespace_path(), "root\\subscription");
  EXPECT_FALSE(svc_->enumerate(me_, "LWMI_TestFilter", {}, "root\\cimv2").ok());

  ASSERT_TRUE(create("LWMI_TestFilter", {{"Name", Value::string("f2")}}).ok());
  auto q = svc_->exec_query(me_, "SELECT * FROM LWMI_TestFilter WHERE Name = 'f2'");
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  ASSERT_TRUE((*q)->next(&i));
  EXPECT_EQ(i.get("Name")->as_string(), "f2");
  EXPECT_EQ(i.namespace_path(), "root\\subscription");
  EXPECT_FALSE((*q)->next(&i));
  auto elsewhere = svc_->exec_query(me_, "SELECT * FROM LWMI_TestFilter", "WQL", "root\\cimv2");
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.error().code, WbemStatus::kInvalidClass);

  auto del = svc_->delete_instance(me_, "root\\subscription:LWMI_TestFilter.Name=\"f2\"");
  ASSERT_TRUE(del.ok()) << del.error().to_string();
  EXPECT_FALSE(fake_->stored("f2"));
  EXPECT_FALSE(svc_->delete_instance(me_, "root\\cimv2:LWMI_TestFilter.Name=\"f1\"").ok());
  EXPECT_TRUE(fake_->stored("f1"));
}

// Every refusal names its cause, never reaches the creator when the service refuses, and is
// audited like a creation that ran.
TEST_F(ServedNamespace, CreateRefusalsAreAudited) {
  struct Case {
    std::string cls;
    Parameters props;
    WbemStatus code;
    std::string message;
  } cases[] = {
      {"LWMI_TestFilter",
       {{"Nope", Value::string("x")}},
       WbemStatus::kInvalidProperty,
       "class LWMI_TestFilter has no property 'Nope'"},
      {"LWMI_TestFilter",
       {{"Limit", Value::string("seven")}},
       WbemStatus::kTypeMismatch,
       "Limit: 'seven' is not a uint32"},
      {"Win32_Process",
       {{"Name", Value::string("x")}},
       WbemStatus::kProviderNotCapable,
       "class Win32_Process is created by its Create method, not CreateInstance"},
      {"LWMI_EventSource",
       {},
       WbemStatus::kProviderNotCapable,
       "instances of LWMI_EventSource cannot be created"},
      {"root\\cimv2:LWMI_TestFilter",
       {},
       WbemStatus::kInvalidClass,
       "class LWMI_TestFilter is in root\\subscription, not root\\cimv2"},
      {"LWMI_TestFilter.Name=\"x\"",
       {},
       WbemStatus::kInvalidObjectPath,
       "'LWMI_TestFilter.Name=\"x\"' is not a class: CreateInstance takes the class and the "
       "properties, keys included"},
      {"LWMI_Nothing",
       {},
       WbemStatus::kInvalidClass,
       "no class named 'LWMI_Nothing' in root\\cimv2 or root\\subscription"},
  };
  for (const auto& c : cases) {
    auto r = create(c.cls, c.props);
    ASSERT_FALSE(r.ok()) << c.cls;
    EXPECT_EQ(r.error().code, c.code) << c.cls;
    EXPECT_EQ(r.error().message, c.message) << c.cls;
  }
  EXPECT_EQ(fake_->creates, 0) << "the service refused before the creator ran";
  auto lines = audit_lines();
  ASSERT_EQ(lines.size(), std::size(cases));
  for (const auto& l : lines) EXPECT_NE(l.find("action=CreateInstance"), std::string::npos) << l;
  EXPECT_NE(lines[0].find("WBEM_E_INVALID_PROPERTY"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("Nope=x"), std::string::npos) << lines[0];

  // The creator's own refusal (a duplicate) and a success are audited too.
  ASSERT_TRUE(create("LWMI_TestFilter", {{"Name", Value::string("d")}}).ok());
  auto dup = create("LWMI_TestFilter", {{"Name", Value::string("D")}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, WbemStatus::kAlreadyExists);
  lines = audit_lines();
  ASSERT_EQ(lines.size(), std::size(cases) + 2);
  EXPECT_NE(lines[lines.size() - 2].find("result=0"), std::string::npos) << lines[lines.size() - 2];
  EXPECT_NE(lines.back().find("WBEM_E_ALREADY_EXISTS"), std::string::npos) << lines.back();
}

// A body of half a megabyte of properties is refused, and its audit line is cut, saying so.
TEST_F(ServedNamespace, HugeCreateIsAuditedInABoundedLine) {
  Parameters props;
  for (int i = 0; i < 512; ++i) props.push_back({"Tags", Value::string(std::string(1000, 'x'))});
  props.push_back({"Nope", Value::string("1")});
  auto r = create("LWMI_TestFilter", props);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kInvalidProperty);
  auto lines = audit_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LT(lines[0].size(), 10000u);
  EXPECT_NE(lines[0].find("more bytes)"), std::string::npos);

  // A made-up name or value is quoted in part in the error (and so in the audit line).
  auto name = create("LWMI_TestFilter", {{std::string(100000, 'N'), Value::string("1")}});
  ASSERT_FALSE(name.ok());
  EXPECT_LT(name.error().message.size(), 400u);
  auto value = create("LWMI_TestFilter", {{"Limit", Value::string(std::string(100000, '9'))}});
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.error().code, WbemStatus::kTypeMismatch);
  EXPECT_LT(value.error().message.size(), 400u);
  for (const auto& l : audit_lines()) EXPECT_LT(l.size(), 10000u);
}

// A served class without a creator or remover is not capable of either.
TEST(ServedWithoutOps, CreateAndDeleteAreNotCapable) {
  CimService svc{config::Config{}, os::ProcFs("/proc"), os::SystemInfo::live()};
  auto fake = std::make_shared<testing::FakeServedClass>();
  svc.serve(fake, CimService::ServedOps{});
  auto me = security::Caller::current_process();
  auto c = svc.create_instance(me, "LWMI_TestFilter", {{"Name", Value::string("x")}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, WbemStatus::kProviderNotCapable);
  auto d = svc.delete_instance(me, "LWMI_TestFilter.Name=\"x\"");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, WbemStatus::kProviderNotCapable);
}

// Schema queries: SELECT * FROM meta_class answers a class object per class of the namespace.
std::vector<Instance> all(Result<std::unique_ptr<InstanceStream>> s) {
  std::vector<Instance> out;
  if (!s.ok()) return out;
  Instance i;
  while ((*s)->next(&i)) out.push_back(i);
  return out;
}

std::vector<std::string> names(const std::vector<Instance>& v) {
  std::vector<std::string> out;
  for (const auto& i : v) out.push_back(i.class_name());
  return out;
}

TEST_F(LiveService, MetaClassListsTheNamespacesClassesAsClassObjects) {
  auto v = all(svc_.exec_query(me_, "SELECT * FROM meta_class"));
  auto n = names(v);
  EXPECT_EQ(n.size(), cim::Schema::builtin().classes().size() - 8);  // 8 in root\subscription
  EXPECT_TRUE(std::is_sorted(n.begin(), n.end(), [](const std::string& a, const std::string& b) {
    return base::icompare(a, b) < 0;
  }));
  auto w = std::find(n.begin(), n.end(), "Win32_Process");
  ASSERT_NE(w, n.end());
  EXPECT_EQ(std::find(n.begin(), n.end(), "__EventFilter"), n.end());
  const Instance& p = v[w - n.begin()];
  EXPECT_TRUE(p.is_class());
  EXPECT_TRUE(p.properties().empty());
  EXPECT_EQ(p.get("__GENUS")->as_i64(), 1);
  EXPECT_EQ(p.get("__CLASS")->as_string(), "Win32_Process");
  EXPECT_EQ(p.get("__SUPERCLASS")->as_string(), "CIM_Process");
  EXPECT_EQ(p.get("__DYNASTY")->as_string(), "CIM_ManagedSystemElement");
  EXPECT_EQ(p.get("__DERIVATION")->to_text(),
            Value::array(CimType::kString,
                         {Value::string("CIM_Process"), Value::string("CIM_LogicalElement"),
                          Value::string("CIM_ManagedSystemElement")})
                .to_text());
  EXPECT_EQ(p.get("__PROPERTY_COUNT")->as_i64(), 45);
  EXPECT_EQ(p.get("__NAMESPACE")->as_string(), "root\\cimv2");
  EXPECT_EQ(p.get("__RELPATH")->as_string(), "Win32_Process");
  EXPECT_EQ(p.get("__PATH")->as_string(),
            "\\\\" + svc_.system().host + "\\root\\cimv2:Win32_Process");
  // A class object is a method target for static methods: its identity is the class path.
  EXPECT_TRUE(p.identity().is_class_path());
  // The root class has no superclass: NULL, and its dynasty is itself.
  const Instance& root = v[std::find(n.begin(), n.end(), "CIM_ManagedSystemElement") - n.begin()];
  EXPECT_TRUE(root.get("__SUPERCLASS")->is_null());
  EXPECT_EQ(root.get("__DYNASTY")->as_string(), "CIM_ManagedSystemElement");
}

TEST_F(LiveService, MetaClassWhereTestsTheDescribingProperties) {
  EXPECT_EQ(
      names(all(svc_.exec_query(me_, "SELECT * FROM meta_class WHERE __CLASS = 'win32_process'"))),
      std::vector<std::string>{"Win32_Process"});
  EXPECT_EQ(
      names(all(svc_.exec_query(me_, "select * from META_CLASS where __this isa 'CIM_Process'"))),
      (std::vector<std::string>{"CIM_Process", "Win32_Process"}));
  EXPECT_EQ(names(all(svc_.exec_query(
                me_, "SELECT * FROM meta_class WHERE __SUPERCLASS = 'Win32_ProcessTrace'"))),
            (std::vector<std::string>{"LWMI_ProcessBlockedTrace", "Win32_ProcessStartTrace",
                                      "Win32_ProcessStopTrace"}));
  auto roots = names(all(svc_.exec_query(
      me_, "SELECT __CLASS FROM meta_class WHERE __SUPERCLASS IS NULL AND __CLASS LIKE 'CIM%'")));
  EXPECT_EQ(roots, std::vector<std::string>{"CIM_ManagedSystemElement"});
  EXPECT_EQ(names(all(svc_.exec_query(
                me_,
                "SELECT * FROM meta_class WHERE __PROPERTY_COUNT = 45 AND __DYNASTY = "
                "'CIM_ManagedSystemElement'"))),
            std::vector<std::string>{"Win32_Process"});
  EXPECT_TRUE(
      all(svc_.exec_query(me_, "SELECT * FROM meta_class WHERE __this ISA 'Nothing'")).empty());
}

TEST_F(LiveService, MetaClassGivesTheNormalWqlErrors) {
  struct Case {
    std::string wql;
    WbemStatus code;
    std::string message;
  } cases[] = {
      {"SELECT * FROM meta_class WHERE Name = 'x'", WbemStatus::kInvalidQuery,
       "invalid query at column 32: class meta_class has no property 'Name'"},
      {"SELECT Handle FROM meta_class", WbemStatus::kInvalidQuery,
       "invalid query at column 8: class meta_class has no property 'Handle'"},
      {"SELECT * FROM meta_class WHERE __PATH = 'x'", WbemStatus::kInvalidQuery,
       "invalid query at column 32: system property '__PATH' cannot be tested in WHERE (only "
       "__CLASS)"},
      {"SELECT * FROM meta_class WHERE __SUPERCLASS ISA 'x'", WbemStatus::kInvalidQuery,
       "invalid query at column 32: ISA tests the class of an embedded object; '__SUPERCLASS' is "
       "a string"},
      {"SELECT * FROM meta_class WHERE __this ISA 5", WbemStatus::kInvalidQuery, ""},
      {"SELECT * FROM meta_class WITHIN 5", WbemStatus::kInvalidQuery, ""},
  };
  for (const auto& c : cases) {
    auto r = svc_.exec_query(me_, c.wql);
    ASSERT_FALSE(r.ok()) << c.wql;
    EXPECT_EQ(r.error().code, c.code) << c.wql;
    if (!c.message.empty()) {
      EXPECT_EQ(r.error().message, c.message) << c.wql;
    }
  }
  auto ns = svc_.exec_query(me_, "SELECT * FROM meta_class", "WQL", "root\\default");
  ASSERT_FALSE(ns.ok());
  EXPECT_EQ(ns.error().code, WbemStatus::kInvalidNamespace);
}

TEST_F(ServedNamespace, MetaClassListsTheNamespaceAskedFor) {
  auto sub =
      names(all(svc_->exec_query(me_, "SELECT * FROM meta_class", "WQL", "root/subscription")));
  EXPECT_NE(std::find(sub.begin(), sub.end(), "__EventFilter"), sub.end());
  EXPECT_NE(std::find(sub.begin(), sub.end(), "LWMI_TestFilter"), sub.end());  // served
  EXPECT_EQ(std::find(sub.begin(), sub.end(), "Win32_Process"), sub.end());
  auto v = all(svc_->exec_query(me_, "SELECT * FROM meta_class WHERE __CLASS = 'LWMI_TestFilter'",
                                "WQL", "root\\subscription"));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].get("__NAMESPACE")->as_string(), "root\\subscription");
  EXPECT_EQ(v[0].get("__PROPERTY_COUNT")->as_i64(), 5);
  // Without a namespace, root\cimv2.
  auto cimv2 = names(all(svc_->exec_query(me_, "SELECT * FROM meta_class")));
  EXPECT_EQ(std::find(cimv2.begin(), cimv2.end(), "LWMI_TestFilter"), cimv2.end());
  EXPECT_NE(std::find(cimv2.begin(), cimv2.end(), "Win32_Process"), cimv2.end());
}

}  // namespace lwmi::service
