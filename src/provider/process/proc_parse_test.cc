#include "provider/process/proc_parse.h"

#include <gtest/gtest.h>

namespace lwmi::provider::process {

// 52 fields as the kernel writes them; comm is the caller's.
static std::string stat_line(const std::string& comm, char state = 'S') {
  return "4321 (" + comm + ") " + state +
         " 1 4321 4321 0 -1 4194560 150 0 7 0 250 120 0 0 20 -5 3 0 987654 12345678 321 "
         "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 2 0 0 0 0 0 0 0 0 0 0 0\n";
}

TEST(ParseStat, OrdinaryLine) {
  auto s = parse_stat(stat_line("sleep"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pid, 4321);
  EXPECT_EQ(s->comm, "sleep");
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->ppid, 1);
  EXPECT_EQ(s->minflt, 150u);
  EXPECT_EQ(s->majflt, 7u);
  EXPECT_EQ(s->utime, 250u);
  EXPECT_EQ(s->stime, 120u);
  EXPECT_EQ(s->nice, -5);
  EXPECT_EQ(s->num_threads, 3);
  EXPECT_EQ(s->starttime, 987654u);
  EXPECT_EQ(s->vsize, 12345678u);
  EXPECT_EQ(s->rss, 321);
  EXPECT_EQ(s->policy, 2u);
  EXPECT_FALSE(s->is_kernel_thread());
}

TEST(ParseStat, CommWithSpacesAndParentheses) {
  for (std::string comm : {"a b", "x) (y", ") S 1 2 3", "((", "tmux: server", ""}) {
    auto s = parse_stat(stat_line(comm));
    ASSERT_TRUE(s) << comm;
    EXPECT_EQ(s->comm, comm);
    EXPECT_EQ(s->ppid, 1) << comm;
    EXPECT_EQ(s->starttime, 987654u) << comm;
  }
}

TEST(ParseStat, ZombieAndKernelThread) {
  EXPECT_TRUE(parse_stat(stat_line("z", 'Z'))->is_zombie());
  std::string kt =
      "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 2 0 0 20 0 1 0 3 0 0 18446744073709551615 0 "
      "0 0 0 0 0 0 2147483647 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
  auto s = parse_stat(kt);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->is_kernel_thread());
}

TEST(ParseStat, RejectsTruncatedOrGarbage) {
  EXPECT_FALSE(parse_stat(""));
  EXPECT_FALSE(parse_stat("12 (a"));
  EXPECT_FALSE(parse_stat("12 (a) S 1 2 3"));
  EXPECT_FALSE(parse_stat("x (a) " + std::string(100, ' ')));
}

TEST(ParseStatus, UidsAndMemory) {
  auto st = parse_status(
      "Name:\tsleep\nTgid:\t77\nPid:\t78\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t5\t5\t5\n"
      "VmPeak:\t    8000 kB\nVmSize:\t    7000 kB\nVmHWM:\t     900 kB\nVmRSS:\t     800 kB\n"
      "VmData:\t     300 kB\nVmStk:\t     132 kB\n");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->tgid, 77);
  EXPECT_EQ(st->uid[0], 1000u);
  EXPECT_EQ(st->uid[2], 1002u);
  EXPECT_TRUE(st->has_uid);
  EXPECT_EQ(*st->vm_peak, 8000u);
  EXPECT_EQ(*st->vm_hwm, 900u);
  EXPECT_EQ(*st->vm_data, 300u);
  EXPECT_EQ(*st->vm_stk, 132u);
}

TEST(ParseStatus, KernelThreadHasNoMemoryLines) {
  auto st = parse_status("Name:\tkthreadd\nTgid:\t2\nUid:\t0\t0\t0\t0\n");
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->vm_data);
}

TEST(ParseIo, Counters) {
  auto io = parse_io("rchar: 10\nwchar: 20\nsyscr: 3\nsyscw: 4\nread_bytes: 0\n");
  EXPECT_EQ(*io.rchar, 10u);
  EXPECT_EQ(*io.wchar, 20u);
  EXPECT_EQ(*io.syscr, 3u);
  EXPECT_EQ(*io.syscw, 4u);
}

TEST(CommandLine, SplitsNulSeparatedArgv) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_cmdline(std::string("sleep\0"
                                      "100\0",
                                      10)),
            (V{"sleep", "100"}));
  EXPECT_EQ(split_cmdline(std::string("a\0\0b\0", 5)), (V{"a", "", "b"}));
  EXPECT_EQ(split_cmdline(""), V{});
  EXPECT_EQ(split_cmdline("sshd: root@pts/0"), V{"sshd: root@pts/0"});
}

TEST(CommandLine, WindowsQuoting) {
  struct Case {
    std::vector<std::string> argv;
    std::string want;
  } cases[] = {
      {{"sleep", "100"}, "sleep 100"},
      {{"echo", "a b"}, "echo \"a b\""},
      {{"x", ""}, "x \"\""},
      {{"x", "say \"hi\""}, "x \"say \\\"hi\\\"\""},
      {{"x", "C:\\dir\\"}, "x C:\\dir\\"},
      {{"x", "a b\\"}, "x \"a b\\\\\""},
      {{"x", "a\\\"b"}, "x \"a\\\\\\\"b\""},
  };
  for (const auto& c : cases) EXPECT_EQ(join_windows_command_line(c.argv), c.want);
}

TEST(Priority, MapsNiceAndPolicyToBasePriority) {
  EXPECT_EQ(base_priority(0, 0), 8u);
  EXPECT_EQ(base_priority(19, 0), 4u);
  EXPECT_EQ(base_priority(10, 0), 6u);
  EXPECT_EQ(base_priority(1, 0), 6u);
  EXPECT_EQ(base_priority(-6, 0), 10u);
  EXPECT_EQ(base_priority(-11, 0), 13u);
  EXPECT_EQ(base_priority(-16, 0), 24u);
  EXPECT_EQ(base_priority(0, 1), 24u);  // SCHED_FIFO
  EXPECT_EQ(base_priority(0, 2), 24u);  // SCHED_RR
  EXPECT_EQ(base_priority(0, 5), 4u);   // SCHED_IDLE
}

}  // namespace lwmi::provider::process
