#include "service/cim_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

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
       "no class named 'Win32_Nothing' in root\\cimv2"},
      {"\\\\.\\root\\default:Win32_Process=1", WbemStatus::kInvalidNamespace,
       "namespace 'root\\default' does not exist (lwmi serves root\\cimv2)"},
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

}  // namespace lwmi::service
