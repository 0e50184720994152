#include "event/event_query.h"

#include <gtest/gtest.h>

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
      "select * from __InstanceOperationEvent where TargetInstance.Name = 'x' and "
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

TEST(EventQuery, Errors) {
  struct Case {
    const char* wql;
    WbemStatus code;
    const char* message;
  } cases[] = {
      {"SELECT * FROM Win32_Process", WbemStatus::kNotEventClass,
       "invalid query at column 15: Win32_Process is not an event class (use an __Instance…Event "
       "class, or a data query for instances)"},
      {"SELECT * FROM __InstanceCreationEvent", WbemStatus::kInvalidQuery,
       "invalid query at column 15: lwmi delivers instance events for processes: the WHERE "
       "clause must include TargetInstance ISA 'Win32_Process'"},
      {"SELECT * FROM __InstanceCreationEvent WITHIN 0.05 WHERE TargetInstance ISA "
       "'Win32_Process'",
       WbemStatus::kInvalidQuery,
       "invalid query at column 39: WITHIN 0.050000 is below the 0.1 s minimum"},
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
      {"SELECT * FROM __InstanceModificationEvent WITHIN 5 WHERE TargetInstance ISA "
       "'Win32_Process'",
       WbemStatus::kNotSupported,
       "invalid query at column 15: __InstanceModificationEvent is not delivered yet (creation "
       "and deletion events are)"},
  };
  for (const auto& c : cases) {
    auto q = compile_event_query(c.wql);
    ASSERT_FALSE(q.ok()) << c.wql;
    EXPECT_EQ(q.error().code, c.code) << c.wql;
    EXPECT_EQ(q.error().message, c.message) << c.wql;
  }
}

}  // namespace lwmi::event
