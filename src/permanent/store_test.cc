// store_test.cc — the rules every front end shares, and the store file: each refusal class, the
// cascade, what files may not lose, persistence across a new Store, a failed write changing
// nothing, a corrupt file refusing every change.
#include "permanent/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace lwmi::permanent {
namespace {

namespace fs = std::filesystem;

const char* kQuery =
    "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Process' "
    "AND TargetInstance.Name = 'Download.exe'";

EventFilter Filter(const std::string& name, const std::string& query = kQuery) {
  EventFilter f;
  f.name = name;
  f.query = query;
  return f;
}

Consumer Terminate(const std::string& name, uint32_t reason = 7) {
  Consumer c;
  c.name = name;
  c.spec = TerminateConsumer{reason};
  return c;
}

Binding Bind(const std::string& filter, const std::string& consumer) {
  Binding b;
  b.filter = filter;
  b.consumer = ConsumerRef{"LWMI_TerminateProcessEventConsumer", consumer};
  return b;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lwmi-store-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "subscriptions.json").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string path_;
};

TEST_F(StoreTest, MadeKeptAndLoadedAgain) {
  {
    Store s(path_, ConsumerSettings{});
    ASSERT_TRUE(s.load().ok());
    ASSERT_TRUE(s.create(Filter("f")).ok());
    ASSERT_TRUE(s.create(Terminate("t")).ok());
    ASSERT_TRUE(s.create(Bind("f", "t")).ok());
  }
  Store again(path_, ConsumerSettings{});
  ASSERT_TRUE(again.load().ok());
  const Definitions d = again.all();
  ASSERT_EQ(d.filters.size(), 1u);
  EXPECT_EQ(d.filters[0].query, kQuery);
  ASSERT_EQ(d.consumers.size(), 1u);
  EXPECT_EQ(std::get<TerminateConsumer>(d.consumers[0].spec).reason, 7u);
  ASSERT_EQ(d.bindings.size(), 1u);
  EXPECT_EQ(d.bindings[0].filter, "f");
}

TEST_F(StoreTest, EachRefusalHasItsCode) {
  Store s(path_, ConsumerSettings{});
  ASSERT_TRUE(s.create(Filter("f")).ok());
  auto dup = s.create(Filter("F"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, WbemStatus::kAlreadyExists);
  auto bad = s.create(Filter("g", "SELECT * FROM __InstanceCreationEvent WHERE"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("column"), std::string::npos) << bad.error().message;
  auto data = s.create(Filter("h", "SELECT * FROM Win32_Process"));
  ASSERT_FALSE(data.ok()) << "a data query is not an event filter";
  EventFilter ns = Filter("i");
  ns.event_namespace = "root\\default";
  auto wrong_ns = s.create(ns);
  ASSERT_FALSE(wrong_ns.ok());
  EXPECT_EQ(wrong_ns.error().code, WbemStatus::kInvalidNamespace);
  auto missing = s.create(Bind("f", "nobody"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, WbemStatus::kNotFound);
  auto no_filter = s.create(Bind("nothing", "t"));
  ASSERT_FALSE(no_filter.ok());
  EXPECT_EQ(no_filter.error().code, WbemStatus::kNotFound);
  EXPECT_EQ(s.all().filters.size(), 1u) << "a refused change changed something";
}

TEST_F(StoreTest, DeletingAFilterOrAConsumerDeletesItsBindings) {
  Store s(path_, ConsumerSettings{});
  ASSERT_TRUE(s.create(Filter("f")).ok());
  ASSERT_TRUE(s.create(Filter("g")).ok());
  ASSERT_TRUE(s.create(Terminate("t")).ok());
  ASSERT_TRUE(s.create(Bind("f", "t")).ok());
  ASSERT_TRUE(s.create(Bind("g", "t")).ok());
  ASSERT_TRUE(s.delete_filter("f").ok());
  ASSERT_EQ(s.all().bindings.size(), 1u);
  ASSERT_TRUE(s.delete_consumer(ConsumerRef{"LWMI_TerminateProcessEventConsumer", "t"}).ok());
  EXPECT_TRUE(s.all().bindings.empty());
  EXPECT_EQ(s.delete_filter("f").error().code, WbemStatus::kNotFound);
  EXPECT_EQ(
      s.delete_binding("g", ConsumerRef{"LWMI_TerminateProcessEventConsumer", "t"}).error().code,
      WbemStatus::kNotFound);
}

TEST_F(StoreTest, WhatFilesDefineIsReadOnlyAndABadReloadKeepsTheOld) {
  Store s(path_, ConsumerSettings{});
  Definitions files;
  files.filters.push_back(Filter("file-filter"));
  files.filters.back().origin = Origin{"/etc/lwmi/subscriptions.d/a.toml", 2, 1};
  ASSERT_TRUE(s.set_files(files).ok());
  ASSERT_TRUE(s.create(Terminate("t")).ok());
  ASSERT_TRUE(s.create(Bind("file-filter", "t")).ok()) << "a store binding may use a file's filter";
  auto del = s.delete_filter("file-filter");
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.error().code, WbemStatus::kReadOnly);
  EXPECT_NE(del.error().message.find("a.toml:2:1"), std::string::npos) << del.error().message;
  auto dup = s.create(Filter("file-filter"));
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("a.toml:2:1"), std::string::npos) << dup.error().message;

  // A reload that drops the filter the store's binding uses is refused: nothing changes.
  auto dropped = s.set_files(Definitions{});
  ASSERT_FALSE(dropped.ok());
  EXPECT_EQ(s.all().filters.size(), 1u);
  Definitions bad = files;
  bad.filters.push_back(Filter("x", "SELECT nonsense"));
  bad.filters.back().origin = Origin{"/etc/lwmi/subscriptions.d/b.toml", 7, 1};
  auto refused = s.set_files(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message.rfind("/etc/lwmi/subscriptions.d/b.toml:7:1: ", 0), 0u)
      << refused.error().message;
  EXPECT_EQ(s.all().filters.size(), 1u);
}

TEST_F(StoreTest, AFailedWriteChangesNothing) {
  Store s((dir_ / "missing-dir" / "subscriptions.json").string(), ConsumerSettings{});
  auto r = s.create(Filter("f"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(s.all().filters.empty());
}

TEST_F(StoreTest, ACorruptStoreLoadsNothingAndRefusesChanges) {
  {
    Store s(path_, ConsumerSettings{});
    ASSERT_TRUE(s.create(Filter("f")).ok());
  }
  std::string text;
  {
    std::ifstream in(path_);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  {
    std::ofstream out(path_, std::ios::trunc);
    out << text.substr(0, text.size() / 2);
  }
  Store s(path_, ConsumerSettings{});
  auto r = s.load();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("subscriptions.json"), std::string::npos) << r.error().message;
  EXPECT_TRUE(s.all().filters.empty());
  auto c = s.create(Filter("g"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("cannot be changed"), std::string::npos);
  std::ifstream in(path_);
  std::string after(std::istreambuf_iterator<char>(in), {});
  EXPECT_EQ(after, text.substr(0, text.size() / 2)) << "the corrupt file was overwritten";
}

}  // namespace
}  // namespace lwmi::permanent
