#include "event/terminate_target.h"

#include <gtest/gtest.h>

#include "cim/schema.h"

namespace lwmi::event {
namespace {

constexpr const char* kStart = "20261127100501.250000+060";

Instance of(const char* cls) {
  return Instance(cim::Schema::builtin().find(cls));
}

Instance start_trace(std::optional<std::string> start) {
  Instance ev = of("Win32_ProcessStartTrace");
  ev.set("ProcessID", Value::uint32(4242));
  ev.set("ProcessName", Value::string("Download.exe"));
  ev.set("ProcessCreationDate", start ? Value::datetime(*start) : Value::null(CimType::kDatetime));
  return ev;
}

Instance creation(bool with_start) {
  auto target = std::make_shared<Instance>(of("Win32_Process"));
  target->set("Handle", Value::string("4242"));
  target->set("ProcessId", Value::uint32(4242));
  target->set("Name", Value::string("Download.exe"));
  ObjectPath id;
  id.class_name = "Win32_Process";
  id.keys.push_back({"Handle", Value::string("4242")});
  if (with_start) id.keys.push_back({"CreationDate", Value::string(kStart)});
  target->set_identity(id);
  Instance ev = of("__InstanceCreationEvent");
  ev.set("TargetInstance", Value::object(target));
  return ev;
}

}  // namespace

TEST(WatchTerminate, RefusesQueriesAboutEndedProcesses) {
  EXPECT_EQ(terminate_refusal("SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA "
                              "'Win32_Process'"),
            "--terminate cannot act on __InstanceDeletionEvent: it reports processes that have "
            "already ended; use it with __InstanceCreationEvent, __InstanceModificationEvent or "
            "Win32_ProcessStartTrace");
  EXPECT_EQ(terminate_refusal("SELECT * FROM Win32_ProcessStopTrace"),
            "--terminate cannot act on Win32_ProcessStopTrace: it reports processes that have "
            "already ended; use it with __InstanceCreationEvent, __InstanceModificationEvent or "
            "Win32_ProcessStartTrace");
  EXPECT_EQ(terminate_refusal("SELECT * FROM Win32_ProcessTrace WHERE ProcessName = 'x'"),
            "--terminate cannot act on Win32_ProcessTrace: it also delivers "
            "Win32_ProcessStopTrace, which reports processes that have already ended; use it "
            "with __InstanceCreationEvent, __InstanceModificationEvent or "
            "Win32_ProcessStartTrace");
  EXPECT_NE(terminate_refusal("SELECT * FROM __InstanceOperationEvent WITHIN 1 WHERE "
                              "TargetInstance ISA 'Win32_Process'")
                .find("it also delivers __InstanceDeletionEvent"),
            std::string::npos);
  EXPECT_NE(terminate_refusal("SELECT * FROM Win32_ProcessStartTrace GROUP WITHIN 5")
                .find("--terminate cannot act on GROUP WITHIN"),
            std::string::npos);
}

TEST(WatchTerminate, AcceptsQueriesAboutRunningProcesses) {
  EXPECT_EQ(terminate_refusal("SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'x'"), "");
  EXPECT_EQ(terminate_refusal("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                              "'Win32_Process'"),
            "");
  EXPECT_EQ(terminate_refusal("SELECT * FROM __InstanceModificationEvent WITHIN 1 WHERE "
                              "TargetInstance ISA 'Win32_Process'"),
            "");
  // A query that does not compile is left to the subscription, which reports its WBEM error.
  EXPECT_EQ(terminate_refusal("SELECT * FROM LWMI_EventSource"), "");
  EXPECT_EQ(terminate_refusal("SELECT * FORM Win32_ProcessStartTrace"), "");
}

TEST(WatchTerminate, StartTraceNamesThePidAndItsStartTime) {
  auto t = terminate_target(start_trace(std::string(kStart)));
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ(t->path, std::string("Win32_Process.Handle=\"4242\",CreationDate=\"") + kStart + "\"");
  EXPECT_EQ(t->pid, "4242");
  EXPECT_EQ(t->name, "Download.exe");
  // Without its start time the pid alone could name another process: not terminated.
  auto gone = terminate_target(start_trace(std::nullopt));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, WbemStatus::kNotFound);
  EXPECT_NE(gone.error().message.find("process 4242: not terminated"), std::string::npos);
}

TEST(WatchTerminate, CreationNamesItsTargetsIdentity) {
  auto t = terminate_target(creation(true));
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ(t->path, std::string("Win32_Process.Handle=\"4242\",CreationDate=\"") + kStart + "\"");
  EXPECT_EQ(t->name, "Download.exe");
  auto no_start = terminate_target(creation(false));
  ASSERT_FALSE(no_start.ok());
  EXPECT_EQ(no_start.error().code, WbemStatus::kNotFound);
}

TEST(WatchTerminate, OtherEventsAreNotTargets) {
  Instance stop = of("Win32_ProcessStopTrace");
  stop.set("ProcessID", Value::uint32(4242));
  auto t = terminate_target(stop);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, WbemStatus::kInvalidParameter);
  EXPECT_NE(t.error().message.find("does not act on Win32_ProcessStopTrace"), std::string::npos);
  EXPECT_FALSE(terminate_target(of("__InstanceDeletionEvent")).ok());
  EXPECT_FALSE(terminate_target(of("__AggregateEvent")).ok());
}

// A process Terminate did not end is never reported as terminated: the outcome says why, in the
// method's words when it gave them, else what the code means.
TEST(WatchTerminate, TheOutcomeSaysWhatHappened) {
  TerminateTarget t{"Win32_Process.Handle=\"4095\"", "4095", "sshd"};
  MethodResult done;
  EXPECT_EQ(terminate_outcome(t, done), "terminated process 4095 (sshd): ReturnValue 0");
  MethodResult denied;
  denied.return_value = 2;
  EXPECT_EQ(terminate_outcome(t, denied).rfind(
                "did not end process 4095 (sshd): ReturnValue 2 (Access denied): it is another "
                "user's: ending it needs SeDebugPrivilege held and enabled",
                0),
            0u)
      << terminate_outcome(t, denied);
  denied.notes = {"process 4095 belongs to root: SeDebugPrivilege must be held and enabled"};
  EXPECT_EQ(terminate_outcome(t, denied),
            "did not end process 4095 (sshd): ReturnValue 2 (Access denied): process 4095 belongs "
            "to root: SeDebugPrivilege must be held and enabled");
  MethodResult protected_one;
  protected_one.return_value = 3;
  EXPECT_NE(terminate_outcome(t, protected_one).find("Insufficient privilege): it is protected"),
            std::string::npos)
      << terminate_outcome(t, protected_one);
  EXPECT_EQ(terminate_outcome(t, protected_one).find("terminated"), std::string::npos);
}

}  // namespace lwmi::event
