#include "os/proc_fs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "os/system_info.h"

namespace lwmi::os {
namespace fs = std::filesystem;

class ProcFsTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("lwmi-procfs-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "42" / "fd");
    fs::create_directories(root_ / "7");
    fs::create_directories(root_ / "self");
    fs::create_directories(root_ / "sys");
    std::ofstream(root_ / "42" / "stat") << "42 (a b) S 1 ...";
    std::string big(10000, 'x');
    std::ofstream(root_ / "42" / "cmdline") << big;
    fs::create_symlink("/usr/bin/sleep", root_ / "42" / "exe");
    for (int i = 0; i < 3; ++i) std::ofstream(root_ / "42" / "fd" / std::to_string(i)) << "";
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(ProcFsTree, ScansOnlyNumericEntries) {
  ProcFs p(root_.string());
  auto scan = p.scan();
  std::vector<int32_t> pids;
  int32_t pid;
  while (scan.next(&pid)) pids.push_back(pid);
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<int32_t>{7, 42}));
  EXPECT_EQ(scan.error(), 0);
}

TEST_F(ProcFsTree, ReadsFilesLinksAndDirectories) {
  ProcFs p(root_.string());
  std::string s;
  ASSERT_EQ(p.read(42, "stat", &s), 0);
  EXPECT_EQ(s, "42 (a b) S 1 ...");
  ASSERT_EQ(p.read(42, "cmdline", &s), 0);
  EXPECT_EQ(s.size(), 10000u) << "long files are read whole";
  ASSERT_EQ(p.readlink(42, "exe", &s), 0);
  EXPECT_EQ(s, "/usr/bin/sleep");
  uint32_t n = 0;
  ASSERT_EQ(p.count_entries(42, "fd", &n), 0);
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(p.read(42, "io", &s), ENOENT);
  EXPECT_EQ(p.read(99, "stat", &s), ENOENT);
  EXPECT_EQ(p.readlink(7, "exe", &s), ENOENT);
}

TEST_F(ProcFsTree, StartTicksCountFieldsFromTheLastParenthesis) {
  ProcFs p(root_.string());
  uint64_t t = 0;
  EXPECT_EQ(p.start_ticks(42, &t), EINVAL) << "a truncated stat is malformed";
  fs::create_directories(root_ / "8");
  std::ofstream(root_ / "8" / "stat")
      << "8 (x) 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19) S 1 8 8 0 -1 4194560 10 0 0 0 1 "
         "0 0 0 20 0 1 0 123456789 1000 100\n";
  ASSERT_EQ(p.start_ticks(8, &t), 0) << "a comm holding ')' and numbers does not shift fields";
  EXPECT_EQ(t, 123456789u);
  std::ofstream(root_ / "8" / "stat")
      << "8 (x) S 1 8 8 0 -1 4194560 10 0 0 0 1 0 0 0 20 0 1 0 12x 1\n";
  EXPECT_EQ(p.start_ticks(8, &t), EINVAL) << "not a number";
  EXPECT_EQ(p.start_ticks(99, &t), ENOENT);
  ProcFs live("/proc");
  uint64_t a = 0, b = 0;
  ASSERT_EQ(live.start_ticks(::getpid(), &a), 0);
  ASSERT_EQ(live.start_ticks(::getpid(), &b), 0);
  EXPECT_EQ(a, b);
  EXPECT_GT(a, 0u);
}

TEST_F(ProcFsTree, MissingRootReportsError) {
  ProcFs p((root_ / "nope").string());
  auto scan = p.scan();
  int32_t pid;
  EXPECT_FALSE(scan.next(&pid));
  EXPECT_EQ(scan.error(), ENOENT);
}

TEST(ProcFsLive, SeesItselfAndItsThreads) {
  ProcFs p;
  std::string s;
  ASSERT_EQ(p.read(::getpid(), "stat", &s), 0);
  EXPECT_EQ(s.substr(0, std::to_string(::getpid()).size()), std::to_string(::getpid()));
  std::vector<int32_t> tids;
  ASSERT_EQ(p.list_tasks(::getpid(), &tids), 0);
  EXPECT_NE(std::find(tids.begin(), tids.end(), ::getpid()), tids.end());
}

TEST(SystemInfoLive, ReadsHostFacts) {
  SystemInfo s = SystemInfo::live();
  EXPECT_GT(s.clk_tck, 0);
  EXPECT_GT(s.page_size, 0);
  EXPECT_FALSE(s.host.empty());
  EXPECT_EQ(s.host.find('.'), std::string::npos);
  EXPECT_FALSE(s.kernel_release.empty());
  EXPECT_NE(s.os_name.find("|/|"), std::string::npos);
  // The boot epoch is in the past and within a second of a second reading.
  EXPECT_LT(s.boot_epoch_us, static_cast<int64_t>(::time(nullptr)) * 1000000);
  EXPECT_LT(std::llabs(SystemInfo::boot_epoch_now_us() - s.boot_epoch_us), 1000000);
}

}  // namespace lwmi::os
