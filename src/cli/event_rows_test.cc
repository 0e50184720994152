#include "cli/event_rows.h"

#include <gtest/gtest.h>

#include <sstream>

#include "cim/schema.h"

namespace lwmi::cli {
namespace {

std::shared_ptr<const ClassDecl> cls(std::string_view name) {
  auto c = cim::Schema::builtin().find(name);
  EXPECT_NE(c, nullptr) << name;
  return c;
}

std::shared_ptr<Instance> process(uint32_t pid, const std::string& name, uint32_t priority = 8) {
  auto p = std::make_shared<Instance>(cls("Win32_Process"));
  p->set("Handle", Value::string(std::to_string(pid)));
  p->set("ProcessId", Value::uint32(pid));
  p->set("Name", Value::string(name));
  p->set("ParentProcessId", Value::uint32(1));
  p->set("CommandLine", Value::string(name + " 60"));
  p->set("CreationDate", Value::datetime("20261207231115.940000+000"));
  p->set("Priority", Value::uint32(priority));
  p->set("WorkingSetSize", Value::uint64(98304));
  p->set_server("vm");
  return p;
}

Instance intrinsic(std::string_view event_class, std::shared_ptr<Instance> target,
                   std::shared_ptr<Instance> previous = nullptr) {
  Instance e(cls(event_class));
  e.set("TIME_CREATED", Value::uint64(134411586758474926ull));
  e.set("SECURITY_DESCRIPTOR", Value::null(CimType::kUint8, true));
  e.set("TargetInstance", Value::object(std::move(target)));
  if (previous) e.set("PreviousInstance", Value::object(std::move(previous)));
  e.set_server("h1");
  return e;
}

Instance start_trace(uint32_t pid, const std::string& name) {
  Instance e(cls("Win32_ProcessStartTrace"));
  e.set("TIME_CREATED", Value::uint64(134411586758474926ull));
  e.set("ProcessID", Value::uint32(pid));
  e.set("ParentProcessID", Value::uint32(1));
  e.set("ProcessName", Value::string(name));
  e.set("SessionID", Value::uint32(0));
  e.set("Sid", Value::array(CimType::kUint8, {Value::uint8(1), Value::uint8(5)}));
  e.set("ProcessCreationDate", Value::datetime("20261207231115.940000+000"));
  e.set_server("h2");
  return e;
}

std::vector<std::string> names(const Instance& row) {
  std::vector<std::string> out;
  for (const auto& [n, v] : row.properties()) out.push_back(n);
  return out;
}

std::string text(const Instance& row, std::string_view name) {
  auto v = row.get(name);
  return v ? v->to_text() : "<absent>";
}

std::string render(Format f, std::string_view wql, const std::vector<Instance>& events,
                   bool node = false) {
  std::ostringstream out;
  OutputOptions o;
  o.format = f;
  o.node_column = node;
  auto fm = make_event_formatter(o, out, wql);
  fm->begin({});
  for (const auto& e : events) fm->add(e);
  fm->end();
  return out.str();
}

constexpr std::string_view kCreation =
    "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Process'";

}  // namespace

TEST(EventRows, CreationShowsTheTargetInstancesDefaultProperties) {
  Instance row = event_row(intrinsic("__InstanceCreationEvent", process(4242, "sleep")));
  EXPECT_EQ(names(row),
            (std::vector<std::string>{"__CLASS", "TIME_CREATED", "TargetInstance.ProcessId",
                                      "TargetInstance.Name", "TargetInstance.ParentProcessId",
                                      "TargetInstance.CommandLine"}));
  EXPECT_EQ(text(row, "__CLASS"), "__InstanceCreationEvent");
  EXPECT_EQ(text(row, "TIME_CREATED"), "134411586758474926");
  EXPECT_EQ(text(row, "TargetInstance.ProcessId"), "4242");
  EXPECT_EQ(text(row, "TargetInstance.Name"), "sleep");
  EXPECT_EQ(text(row, "TargetInstance.CommandLine"), "sleep 60");
  EXPECT_EQ(row.server(), "h1") << "the Node of the event, not of its TargetInstance";
  EXPECT_EQ(row.get("TargetInstance.ProcessId")->type(), CimType::kUint32) << "types kept";
}

TEST(EventRows, TheQuerysSelectListChoosesTheColumns) {
  EventColumns c = event_columns(
      "SELECT TargetInstance.Name, TargetInstance.priority, PreviousInstance.Name, "
      "TIME_CREATED FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
      "'Win32_Process'");
  EXPECT_EQ(c.target, (std::vector<std::string>{"Name", "priority"}));
  EXPECT_EQ(c.flat, (std::vector<std::string>{"TIME_CREATED"}));
  Instance row = event_row(intrinsic("__InstanceCreationEvent", process(7, "bash")), c);
  EXPECT_EQ(names(row), (std::vector<std::string>{"__CLASS", "TIME_CREATED", "TargetInstance.Name",
                                                  "TargetInstance.Priority"}))
      << "names as the schema spells them";
  EXPECT_EQ(event_columns(kCreation).target, std::vector<std::string>{});
  EXPECT_EQ(event_columns("not a query").target, std::vector<std::string>{});
}

TEST(EventRows, AProjectedTargetShowsAbsentPropertiesAsNull) {
  auto p = std::make_shared<Instance>(cls("Win32_Process"));
  p->set("Handle", Value::string("9"));
  p->set("ProcessId", Value::uint32(9));
  Instance row = event_row(intrinsic("__InstanceDeletionEvent", p));
  EXPECT_EQ(text(row, "TargetInstance.ProcessId"), "9");
  ASSERT_TRUE(row.get("TargetInstance.Name"));
  EXPECT_TRUE(row.get("TargetInstance.Name")->is_null());
}

TEST(EventRows, AModificationShowsWhatChangedBeforeAndAfter) {
  Instance row = event_row(
      intrinsic("__InstanceModificationEvent", process(5, "nice", 4), process(5, "nice", 8)));
  EXPECT_EQ(names(row),
            (std::vector<std::string>{"__CLASS", "TIME_CREATED", "TargetInstance.ProcessId",
                                      "TargetInstance.Name", "TargetInstance.ParentProcessId",
                                      "TargetInstance.CommandLine", "TargetInstance.Priority",
                                      "PreviousInstance.Priority"}));
  EXPECT_EQ(text(row, "TargetInstance.Priority"), "4");
  EXPECT_EQ(text(row, "PreviousInstance.Priority"), "8");
}

TEST(EventRows, TracesAreFlatWithoutTheirByteArrays) {
  Instance row = event_row(start_trace(31, "cron"));
  EXPECT_EQ(names(row),
            (std::vector<std::string>{"__CLASS", "TIME_CREATED", "ProcessID", "ProcessName",
                                      "ParentProcessID", "ProcessCreationDate", "SessionID"}));
  EXPECT_EQ(text(row, "__CLASS"), "Win32_ProcessStartTrace");
  EXPECT_EQ(row.server(), "h2");
  Instance sid = event_row(start_trace(31, "cron"), event_columns("SELECT ProcessName, Sid FROM "
                                                                  "Win32_ProcessStartTrace"));
  EXPECT_EQ(names(sid),
            (std::vector<std::string>{"__CLASS", "TIME_CREATED", "ProcessName", "Sid"}));
  EXPECT_EQ(text(sid, "Sid"), "{1,5}");
}

TEST(EventRows, AnAggregateShowsItsRepresentativesRow) {
  Instance agg(cls("__AggregateEvent"));
  agg.set("NumberOfEvents", Value::uint32(3));
  agg.set("Representative", Value::object(std::make_shared<Instance>(
                                intrinsic("__InstanceCreationEvent", process(8, "sh")))));
  Instance row = event_row(agg);
  EXPECT_EQ(text(row, "NumberOfEvents"), "3");
  EXPECT_EQ(text(row, "Representative.__CLASS"), "__InstanceCreationEvent");
  EXPECT_EQ(text(row, "Representative.TargetInstance.Name"), "sh");
}

TEST(EventRows, OtherInstancesPassUnchanged) {
  Instance p = *process(1, "init");
  Instance row = event_row(p);
  EXPECT_EQ(&row.cls(), &p.cls());
  EXPECT_EQ(names(row), names(p));
}

TEST(EventRows, ListAndTableShowTheRowCsvAndJsonTheEvent) {
  std::vector<Instance> events{intrinsic("__InstanceCreationEvent", process(4242, "sleep"))};
  EXPECT_EQ(render(Format::kList, kCreation, events, /*node=*/true),
            "\n\nNode=h1\n__CLASS=__InstanceCreationEvent\nTIME_CREATED=134411586758474926\n"
            "TargetInstance.ProcessId=4242\nTargetInstance.Name=sleep\n"
            "TargetInstance.ParentProcessId=1\nTargetInstance.CommandLine=sleep 60\n\n\n");
  EXPECT_EQ(render(Format::kTable, kCreation, events, /*node=*/true),
            "Node  __CLASS                  TIME_CREATED        TargetInstance.ProcessId  "
            "TargetInstance.Name  TargetInstance.ParentProcessId  TargetInstance.CommandLine\n"
            "h1    __InstanceCreationEvent  134411586758474926  4242                      sleep    "
            "            1                               sleep 60\n");
  std::string json = render(Format::kJson, kCreation, events);
  EXPECT_NE(json.find(R"("TargetInstance":{"__CLASS":"Win32_Process")"), std::string::npos) << json;
  std::string csv = render(Format::kCsv, kCreation, events);
  EXPECT_EQ(csv.substr(0, csv.find("\r\n")),
            "Node,SECURITY_DESCRIPTOR,TargetInstance,TIME_CREATED");
}

TEST(EventRows, HostileTextInTheTargetIsShownAsDisplayTextShowsIt) {
  std::vector<Instance> events{
      intrinsic("__InstanceCreationEvent", process(6, "x\nTargetInstance.Name=forged"))};
  std::string out = render(Format::kList, kCreation, events);
  EXPECT_NE(out.find("TargetInstance.Name=$'x\\nTargetInstance.Name=forged'\n"), std::string::npos)
      << out;
  EXPECT_EQ(out.find("\nTargetInstance.Name=forged"), std::string::npos) << out;
}

}  // namespace lwmi::cli
