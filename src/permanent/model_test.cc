// model_test.cc — the classes' properties: round trips, conversions, and each refusal class.
#include "permanent/model.h"

#include <gtest/gtest.h>

namespace lwmi::permanent {
namespace {

TEST(Model, FilterRoundTripsThroughItsProperties) {
  EventFilter f;
  f.name = "no-download";
  f.query = "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'Download.exe'";
  auto back = filter_from(properties_of(f));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->name, f.name);
  EXPECT_EQ(back->query, f.query);
  EXPECT_EQ(back->query_language, "WQL");
  EXPECT_EQ(back->event_namespace, "root\\cimv2");
}

TEST(Model, FilterRefusals) {
  auto missing = filter_from({{"Name", Value::string("x")}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, WbemStatus::kInvalidParameter);
  EXPECT_NE(missing.error().message.find("__EventFilter.Query"), std::string::npos);
  auto unknown = filter_from({{"Name", Value::string("x")}, {"Qeury", Value::string("q")}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, WbemStatus::kInvalidProperty);
  EXPECT_NE(unknown.error().message.find("'Qeury'"), std::string::npos);
  auto lang = filter_from({{"Name", Value::string("x")},
                           {"Query", Value::string("q")},
                           {"QueryLanguage", Value::string("CQL")}});
  ASSERT_FALSE(lang.ok());
  EXPECT_EQ(lang.error().code, WbemStatus::kInvalidParameter);
  auto type = filter_from({{"Name", Value::uint32(3)}, {"Query", Value::string("q")}});
  ASSERT_FALSE(type.ok());
  EXPECT_EQ(type.error().code, WbemStatus::kTypeMismatch);
}

TEST(Model, ConsumersByClassWithConvertedValues) {
  auto c = consumer_from("logfileeventconsumer", {{"Name", Value::string("log")},
                                                  {"Filename", Value::string("/var/log/lwmi/a")},
                                                  {"MaximumFileSize", Value::string("4096")}});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->class_name(), "LogFileEventConsumer");
  EXPECT_EQ(std::get<LogFileConsumer>(c->spec).maximum_file_size, 4096u);
  auto t = consumer_from("LWMI_TerminateProcessEventConsumer",
                         {{"Name", Value::string("t")}, {"Reason", Value::sint64(7)}});
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ(std::get<TerminateConsumer>(t->spec).reason, 7u);
  auto back = consumer_from(t->class_name(), properties_of(*t));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::get<TerminateConsumer>(back->spec).reason, 7u);

  auto j = consumer_from(
      "LWMI_JournalEventConsumer",
      {{"Name", Value::string("j")},
       {"InsertionStringTemplates", Value::array(CimType::kString, {Value::string("%__CLASS%")})}});
  ASSERT_TRUE(j.ok()) << j.error().to_string();
  EXPECT_EQ(std::get<JournalConsumer>(j->spec).insertion_string_templates.size(), 1u);
}

TEST(Model, ConsumerRefusals) {
  auto cls = consumer_from("ActiveScriptEventConsumer", {{"Name", Value::string("x")}});
  ASSERT_FALSE(cls.ok());
  EXPECT_EQ(cls.error().code, WbemStatus::kInvalidClass);
  auto name =
      consumer_from("CommandLineEventConsumer", {{"ExecutablePath", Value::string("/bin/true")}});
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.error().code, WbemStatus::kInvalidParameter);
  auto neg = consumer_from("LWMI_TerminateProcessEventConsumer",
                           {{"Name", Value::string("t")}, {"Reason", Value::sint64(-1)}});
  ASSERT_FALSE(neg.ok());
  EXPECT_EQ(neg.error().code, WbemStatus::kTypeMismatch);
  auto wrong =
      consumer_from("LogFileEventConsumer", {{"Name", Value::string("l")},
                                             {"Filename", Value::string("/x")},
                                             {"ExecutablePath", Value::string("/bin/sh")}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, WbemStatus::kInvalidProperty);
}

TEST(Model, BindingPathsRoundTrip) {
  Binding b;
  b.filter = "a \"quoted\" name";
  b.consumer = ConsumerRef{"LogFileEventConsumer", "back\\slash"};
  auto back = binding_from(properties_of(b));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->filter, b.filter);
  EXPECT_TRUE(back->consumer == b.consumer);
  auto bare =
      binding_from({{"Filter", Value::string("f")},
                    {"Consumer", Value::string("LWMI_TerminateProcessEventConsumer.Name=\"t\"")}});
  ASSERT_TRUE(bare.ok()) << bare.error().to_string();
  EXPECT_EQ(bare->filter, "f");
  auto no_consumer = binding_from({{"Filter", Value::string("f")}});
  ASSERT_FALSE(no_consumer.ok());
  EXPECT_EQ(no_consumer.error().code, WbemStatus::kInvalidParameter);
  auto not_consumer = binding_from(
      {{"Filter", Value::string("f")}, {"Consumer", Value::string("Win32_Process.Handle=\"1\"")}});
  ASSERT_FALSE(not_consumer.ok());
  EXPECT_EQ(not_consumer.error().code, WbemStatus::kInvalidObjectPath);
}

}  // namespace
}  // namespace lwmi::permanent
