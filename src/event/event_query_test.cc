#include "event/event_query.h"

#include <gtest/gtest.h>

#include "cim/schema.h"

namespace lwmi::event {

TEST(EventQuery, TheSeedsQuery) {
  auto q = compile_event_query(
      "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Process'");
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  EXPECT_TRUE(q->creation);
  EXPECT_FALSE(q->deletion);
  EXPECT_EQ(*q->within, 1.0);
  EXPECT_EQ(q->filter->where, nullptr) << "every process";
}

TEST(EventQuery, ConditionsOnTargetInstance) {
  auto q = compile_event_query(
      "select * from __InstanceOperationEvent within 1 where TargetInstance.Name = 'x' and "
      "TargetInstance isa 'CIM_Process' and TargetInstance.ParentProcessId = 1");
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  EXPECT_TRUE(q->creation);
  EXPECT_TRUE(q->deletion);
  ASSERT_NE(q->filter->where, nullptr);
  auto proc = q->filter->concrete;
  auto name = *proc->property_index("Name");
  auto ppid = *proc->property_index("ParentProcessId");
  auto read = [&](const char* n, uint32_t p) {
    return [=](size_t i) {
      if (i == name) return Value::string(n);
      if (i == ppid) return Value::uint32(p);
      return Value::null(CimType::kString);
    };
  };
  EXPECT_TRUE(wql::matches(*q->filter, read("X", 1)));
  EXPECT_FALSE(wql::matches(*q->filter, read("x", 2)));
  EXPECT_FALSE(wql::matches(*q->filter, read("y", 1)));
}

TEST(EventQuery, ModificationsNeedWithinAndWatchWhatTheQueryNames) {
  auto q = compile_event_query(
      "SELECT TargetInstance.Priority FROM __InstanceModificationEvent WITHIN 0.5 WHERE "
      "TargetInstance ISA 'Win32_Process' AND PreviousInstance.Priority = 8 AND "
      "TargetInstance.ProcessId = 42");
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  EXPECT_TRUE(q->modification);
  EXPECT_FALSE(q->creation);
  EXPECT_EQ(*q->within, 0.5);
  auto year = compile_event_query(
      "SELECT * FROM __InstanceCreationEvent WITHIN 31536000 WHERE TargetInstance ISA "
      "'Win32_Process'");
  ASSERT_TRUE(year.ok()) << "a year is the maximum, accepted: " << year.error().to_string();
  auto inf = compile_event_query(
      "SELECT * FROM __InstanceCreationEvent WITHIN 1e999 WHERE TargetInstance ISA "
      "'Win32_Process'");
  ASSERT_FALSE(inf.ok()) << "an infinite WITHIN";
  EXPECT_EQ(inf.error().code, WbemStatus::kInvalidQuery) << inf.error().to_string();
  auto proc = cim::Schema::builtin().find("Win32_Process");
  EXPECT_FALSE(q->watched.is_all());
  for (const char* name : {"Priority", "ProcessId", "Handle", "CreationDate"})
    EXPECT_TRUE(q->watched.contains(*proc->property_index(name))) << name;
  for (const char* name : {"KernelModeTime", "WorkingSetSize", "Name"})
    EXPECT_FALSE(q->watched.contains(*proc->property_index(name))) << name;
  // The condition reads TargetInstance from the first indices, PreviousInstance after them.
  const size_t n = q->target_count;
  const size_t prio = *proc->property_index("Priority"), pid = *proc->property_index("ProcessId");
  auto read = [&](uint32_t before, uint32_t p) {
    return [=](size_t i) {
      if (i == n + prio) return Value::uint32(before);
      if (i == pid) return Value::uint32(p);
      return Value::null(CimType::kUint32);
    };
  };
  EXPECT_TRUE(wql::matches(*q->filter, read(8, 42)));
  EXPECT_FALSE(wql::matches(*q->filter, read(4, 42)));
  EXPECT_FALSE(wql::matches(*q->filter, read(8, 43)));

  auto all = compile_event_query(
      "SELECT * FROM __InstanceOperationEvent WITHIN 2 WHERE TargetInstance ISA 'Win32_Process'");
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  EXPECT_TRUE(all->creation && all->deletion && all->modification);
  EXPECT_TRUE(all->watched.is_all()) << "SELECT *: every property is compared";
}

TEST(EventQuery, TracesAndGroups) {
  auto stop = compile_event_query(
      "SELECT * FROM Win32_ProcessStopTrace WHERE ProcessName = 'x' AND ExitStatus = 3");
  ASSERT_TRUE(stop.ok()) << stop.error().to_string();
  EXPECT_TRUE(stop->stop_trace);
  EXPECT_FALSE(stop->start_trace || stop->intrinsic());
  auto both = compile_event_query("SELECT ProcessID FROM Win32_ProcessTrace");
  ASSERT_TRUE(both.ok()) << both.error().to_string();
  EXPECT_TRUE(both->start_trace && both->stop_trace);

  auto g = compile_event_query(
      "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' "
      "GROUP WITHIN 2 BY TargetInstance.Name HAVING NumberOfEvents > 3");
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(*g->group_within, 2u);
  ASSERT_EQ(g->group_by.size(), 1u);
  EXPECT_EQ(g->group_by[0], (std::vector<std::string>{"TargetInstance", "Name"}));
  EXPECT_FALSE(having_passes(*g, 3));
  EXPECT_TRUE(having_passes(*g, 4));
}

TEST(EventQuery, Errors) {
  struct Case {
    const char* wql;
    WbemStatus code;
    const char* message;
  } cases[] = {
      {"SELECT * FROM Win32_Process", WbemStatus::kNotEventClass,
       "invalid query at column 15: Win32_Process is not an event class (use an __Instance…Event "
       "class, a Win32_Process…Trace class, or a data query for instances)"},
      {"SELECT * FROM __InstanceCreationEvent", WbemStatus::kInvalidQuery,
       "invalid query at column 15: lwmi delivers instance events for processes: the WHERE "
       "clause must include TargetInstance ISA 'Win32_Process'"},
      {"SELECT * FROM __InstanceCreationEvent WITHIN 0.05 WHERE TargetInstance ISA "
       "'Win32_Process'",
       WbemStatus::kInvalidQuery,
       "invalid query at column 39: WITHIN 0.050000 is below the 0.1 s minimum"},
      {"SELECT * FROM __InstanceCreationEvent WITHIN 3000000000 WHERE TargetInstance ISA "
       "'Win32_Process'",
       WbemStatus::kInvalidQuery,
       "invalid query at column 39: WITHIN 3000000000.000000 is above the 31536000 s (one year) "
       "maximum"},
      {"SELECT * FROM __InstanceCreationEvent WITHIN 31536001 WHERE TargetInstance ISA "
       "'Win32_Process'",
       WbemStatus::kInvalidQuery,
       "invalid query at column 39: WITHIN 31536001.000000 is above the 31536000 s (one year) "
       "maximum"},
      {"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' OR "
       "TargetInstance.Name = 'x'",
       WbemStatus::kInvalidQuery,
       "invalid query at column 45: TargetInstance ISA must be ANDed with the rest of the "
       "condition"},
      {"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND Name "
       "= 'x'",
       WbemStatus::kInvalidQuery,
       "invalid query at column 84: conditions of a process event query name TargetInstance's "
       "properties, e.g. TargetInstance.Name; 'Name' is not one"},
      {"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND "
       "TargetInstance.Nmae = 'x'",
       WbemStatus::kInvalidQuery,
       "invalid query at column 84: class Win32_Process has no property 'Nmae'"},
      {"SELECT * FROM Nothing", WbemStatus::kInvalidClass,
       "invalid query at column 15: no class named 'Nothing' in root\\cimv2"},
      {"SELECT * FROM __InstanceModificationEvent WHERE TargetInstance ISA 'Win32_Process'",
       WbemStatus::kRegistrationTooPrecise,
       "invalid query at column 15: a WITHIN clause was not used in this query: "
       "__InstanceModificationEvent includes modification events, which only polling can find "
       "(add e.g. WITHIN 1; creation and deletion events need none)"},
      {"SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA 'Win32_Process'",
       WbemStatus::kRegistrationTooPrecise,
       "invalid query at column 15: a WITHIN clause was not used in this query: "
       "__InstanceOperationEvent includes modification events, which only polling can find "
       "(add e.g. WITHIN 1; creation and deletion events need none)"},
      {"SELECT * FROM __InstanceModificationEvent WITHIN 0.09 WHERE TargetInstance ISA "
       "'Win32_Process'",
       WbemStatus::kInvalidQuery,
       "invalid query at column 43: WITHIN 0.090000 is below the 0.1 s minimum"},
      {"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND "
       "PreviousInstance.Name = 'x'",
       WbemStatus::kInvalidQuery,
       "invalid query at column 84: class __InstanceCreationEvent has no property "
       "'PreviousInstance' (only modification events have one)"},
      {"SELECT * FROM __InstanceModificationEvent WITHIN 1 WHERE TargetInstance ISA "
       "'Win32_Process' AND PreviousInstance.Name.Length = 3",
       WbemStatus::kPropertyNotAnObject,
       "invalid query at column 97: 'Name' is not an embedded object: "
       "'PreviousInstance.Name.Length' names nothing"},
      {"SELECT * FROM __InstanceModificationEvent WITHIN 1 WHERE TargetInstance ISA "
       "'Win32_Process' AND PreviousInstance.Nmae = 'x'",
       WbemStatus::kInvalidQuery,
       "invalid query at column 97: class Win32_Process has no property "
       "'PreviousInstance.Nmae'"},
      {"SELECT * FROM __InstanceModificationEvent WITHIN 1 WHERE TargetInstance ISA "
       "'Win32_Process' AND PreviousInstance.Priority LIKE '1%'",
       WbemStatus::kInvalidOperator,
       "invalid query at column 97: LIKE needs a string property; 'PreviousInstance.Priority' "
       "is a uint32"},
      {"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' AND "
       "TIME_CREATED.X = 1",
       WbemStatus::kPropertyNotAnObject,
       "invalid query at column 84: 'TIME_CREATED' is not an embedded object: 'TIME_CREATED.X' "
       "names nothing"},
      {"SELECT * FROM Win32_ProcessStopTrace WHERE ProcesName = 'x'", WbemStatus::kInvalidQuery,
       "invalid query at column 44: class Win32_ProcessStopTrace has no property 'ProcesName'"},
      {"SELECT * FROM Win32_ProcessStartTrace WHERE TargetInstance ISA 'Win32_Process'",
       WbemStatus::kInvalidQuery,
       "invalid query at column 45: class Win32_ProcessStartTrace has no property "
       "'TargetInstance'"},
      {"SELECT * FROM Win32_ProcessStartTrace WHERE ExitStatus = 1", WbemStatus::kInvalidQuery,
       "invalid query at column 45: class Win32_ProcessStartTrace has no property 'ExitStatus'"},
      {"SELECT * FROM __AggregateEvent", WbemStatus::kNotEventClass,
       "invalid query at column 15: __AggregateEvent is not an event class (use an "
       "__Instance…Event class, a Win32_Process…Trace class, or a data query for instances)"},
      {"SELECT * FROM __ExtrinsicEvent", WbemStatus::kNotSupported,
       "invalid query at column 15: __ExtrinsicEvent is not delivered: lwmi delivers "
       "__InstanceCreationEvent, __InstanceDeletionEvent, __InstanceModificationEvent, "
       "__InstanceOperationEvent, Win32_ProcessStartTrace/StopTrace/Trace and "
       "LWMI_ProcessBlockedTrace"},
      {"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' GROUP "
       "WITHIN 2 BY TargetInstance",
       WbemStatus::kAggregatingByObject,
       "invalid query at column 98: cannot group by the embedded object TargetInstance: name "
       "one of its properties, e.g. TargetInstance.Name"},
      {"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' GROUP "
       "WITHIN 2 BY TIME_CREATED.Low",
       WbemStatus::kPropertyNotAnObject,
       "invalid query at column 98: 'TIME_CREATED' is not an embedded object: "
       "'TIME_CREATED.Low' names nothing"},
      {"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' GROUP "
       "WITHIN 2 BY TargetInstance.Nmae",
       WbemStatus::kInvalidQuery,
       "invalid query at column 98: class Win32_Process has no property 'Nmae'"},
      {"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' GROUP "
       "WITHIN 2 BY Nothing",
       WbemStatus::kInvalidQuery,
       "invalid query at column 98: class __InstanceCreationEvent has no property 'Nothing' to "
       "group by"},
      {"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' GROUP "
       "WITHIN 0.5",
       WbemStatus::kInvalidQuery,
       "invalid query at column 80: GROUP WITHIN takes a whole number of seconds, at least 1 "
       "(not 0.500000)"},
      {"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process' GROUP BY "
       "TargetInstance.Name",
       WbemStatus::kMissingGroupWithin, nullptr},
      {"SELECT TargetInstance.Nmae FROM __InstanceModificationEvent WITHIN 1 WHERE "
       "TargetInstance ISA 'Win32_Process'",
       WbemStatus::kInvalidQuery,
       "invalid query at column 8: class Win32_Process has no property 'Nmae'"},
  };
  for (const auto& c : cases) {
    auto q = compile_event_query(c.wql);
    ASSERT_FALSE(q.ok()) << c.wql;
    EXPECT_EQ(q.error().code, c.code) << c.wql;
    if (c.message) {
      EXPECT_EQ(q.error().message, c.message) << c.wql;
    }
  }
}

}  // namespace lwmi::event
