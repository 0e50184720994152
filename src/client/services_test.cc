#include "lwmi/services.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

namespace lwmi {

TEST(Locator, ConnectsLocallyEmbedded) {
  auto s = Locator::connect();
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_TRUE((*s)->embedded());
  auto me = (*s)->get_object("Win32_Process.Handle=\"" + std::to_string(::getpid()) + "\"",
                             {"Name", "ProcessId"});
  ASSERT_TRUE(me.ok()) << me.error().to_string();
  EXPECT_EQ(me->get("ProcessId")->as_u64(), static_cast<uint64_t>(::getpid()));
  EXPECT_EQ(me->property_count(), 2u);
}

TEST(Locator, RefusesWhatItCannotDo) {
  ConnectOptions o;
  o.user = "alice";
  auto r = Locator::connect(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kLocalCredentials);
  ConnectOptions ns;
  ns.namespace_path = "root\\default";
  EXPECT_EQ(Locator::connect(ns).error().code, WbemStatus::kInvalidNamespace);
  ConnectOptions cfg;
  cfg.config_path = "/nonexistent/lwmid.conf";
  auto c = Locator::connect(cfg);
  ASSERT_FALSE(c.ok()) << "an explicit config file must exist";
}

// Connected to root\subscription, the classes of root\cimv2 are elsewhere: refused by name
// (a path naming root\cimv2 itself still reaches them); "" finds every class where it is.
TEST(Locator, NamespaceOfTheConnection) {
  ConnectOptions o;
  o.embedded_only = true;
  o.namespace_path = "root\\subscription";
  auto s = Locator::connect(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  std::string self = "Win32_Process.Handle=\"" + std::to_string(::getpid()) + "\"";
  auto get = (*s)->get_object(self);
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().code, WbemStatus::kInvalidClass);
  EXPECT_EQ(get.error().message, "class Win32_Process is in root\\cimv2, not root\\subscription");
  EXPECT_EQ((*s)->enumerate_instances("Win32_Process").error().code, WbemStatus::kInvalidClass);
  EXPECT_EQ((*s)->exec_query("SELECT * FROM Win32_Process").error().code,
            WbemStatus::kInvalidClass);
  EXPECT_EQ((*s)->delete_instance(self).error().code, WbemStatus::kInvalidClass);
  EXPECT_EQ((*s)->create_instance("Win32_Process", {}).error().code, WbemStatus::kInvalidClass);
  EXPECT_TRUE((*s)->get_object("root\\cimv2:" + self).ok());

  o.namespace_path = "";
  auto any = Locator::connect(o);
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE((*any)->get_object(self).ok());
  auto create = (*any)->create_instance("Win32_Process", {{"Name", Value::string("x")}});
  ASSERT_FALSE(create.ok());
  EXPECT_EQ(create.error().code, WbemStatus::kProviderNotCapable);
  EXPECT_EQ(create.error().message,
            "class Win32_Process is created by its Create method, not CreateInstance");
}

TEST(Privileges, EnableNeedsHolding) {
  auto s = Locator::connect();
  ASSERT_TRUE(s.ok());
  auto unknown = (*s)->privileges().enable("SeTcbPrivilege");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, WbemStatus::kInvalidParameter);
  auto debug = (*s)->privileges().enable("SeDebugPrivilege");
  if (::geteuid() == 0)
    EXPECT_TRUE(debug.ok());
  else
    EXPECT_EQ(debug.error().code, WbemStatus::kPrivilegeNotHeld);
}

// Terminate(Reason=7) through the service reaches the stop trace's ExitStatus; the event source
// the subscription used is served as LWMI_EventSource.
TEST(Events, TerminatesReasonIsTheStopTracesExitStatus) {
  ConnectOptions o;
  o.embedded_only = true;
  auto s = Locator::connect(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 500; ++i) {  // until it runs sleep
    char buf[64] = {};
    std::string link = "/proc/" + std::to_string(pid) + "/exe";
    if (::readlink(link.c_str(), buf, sizeof buf - 1) > 0 &&
        std::string(buf).find("sleep") != std::string::npos)
      break;
    ::usleep(10000);
  }
  auto events = (*s)->exec_notification_query(
      "SELECT * FROM Win32_ProcessStopTrace WHERE ProcessID = " + std::to_string(pid));
  ASSERT_TRUE(events.ok()) << events.error().to_string();
  auto r = (*s)->exec_method("Win32_Process.Handle=\"" + std::to_string(pid) + "\"", "Terminate",
                             {{"Reason", Value::uint32(7)}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->return_value, 0u);
  ::waitpid(pid, nullptr, 0);
  Instance ev;
  auto got = (*events)->next(&ev, 5000);
  ASSERT_TRUE(got.ok() && *got) << "no stop trace";
  EXPECT_EQ(ev.class_name(), "Win32_ProcessStopTrace");
  EXPECT_EQ(ev.get("ExitStatus")->as_u64(), 7u);
  EXPECT_EQ(ev.get("ProcessName")->as_string(), "sleep");

  auto state = (*events)->source_state();
  ASSERT_TRUE(state);
  const std::string source = state->get("Source")->as_string();
  EXPECT_TRUE(source == "bpf" || source == "netlink" || source == "proc-poll") << source;
  auto listed = (*s)->exec_query("SELECT * FROM LWMI_EventSource WHERE Source = '" + source + "'");
  ASSERT_TRUE(listed.ok()) << listed.error().to_string();
  Instance src;
  ASSERT_TRUE((*listed)->next(&src));
  EXPECT_GE(src.get("Active")->as_u64(), 1u);
  EXPECT_GE(src.get("EventsReceived")->as_u64(), 1u);
  auto one = (*s)->get_object("LWMI_EventSource.Source=\"" + source + "\"");
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  auto none = (*s)->get_object("LWMI_EventSource.Source=\"fanotify\"");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, WbemStatus::kNotFound);
}

// The classes of a namespace, from the schema query: the connection's, or the one named.
TEST(Locator, EnumerateClassesOfANamespace) {
  ConnectOptions o;
  o.embedded_only = true;
  auto s = Locator::connect(o);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto names = [](const std::vector<std::shared_ptr<const ClassDecl>>& v) {
    std::vector<std::string> out;
    for (const auto& c : v) out.push_back(c->name);
    return out;
  };
  auto cimv2 = (*s)->enumerate_classes();
  ASSERT_TRUE(cimv2.ok()) << cimv2.error().to_string();
  auto n = names(*cimv2);
  EXPECT_NE(std::find(n.begin(), n.end(), "Win32_Process"), n.end());
  EXPECT_EQ(std::find(n.begin(), n.end(), "__EventFilter"), n.end());
  auto sub = (*s)->enumerate_classes("root\\subscription");
  ASSERT_TRUE(sub.ok()) << sub.error().to_string();
  n = names(*sub);
  EXPECT_NE(std::find(n.begin(), n.end(), "__EventFilter"), n.end());
  EXPECT_EQ(std::find(n.begin(), n.end(), "Win32_Process"), n.end());
  for (const auto& c : *sub) EXPECT_EQ(c->namespace_path, "root\\subscription");
  auto none = (*s)->enumerate_classes("root\\default");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, WbemStatus::kInvalidNamespace);
}

}  // namespace lwmi
