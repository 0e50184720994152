#include "security/audit_limiter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace lwmi::security {
namespace {

using std::chrono::seconds;

Caller user(uid_t uid, const std::string& peer) {
  Caller c;
  c.uid = c.euid = uid;
  c.user = "u" + std::to_string(uid);
  c.peer = peer;
  c.embedded = false;
  return c;
}

AuditRecord refusal(const std::string& params = "CommandLine=x") {
  AuditRecord r;
  r.action = "Create";
  r.result = "WBEM_E_ACCESS_DENIED";
  r.params = params;
  r.detail = "Create is not allowed for remote callers";
  return r;
}

// The attack: one caller repeats the same refused call as fast as it can, over ever new
// connections. Five lines a window are written, the rest counted into one summary line.
TEST(AuditRepeatLimiter, IdenticalLinesOfOneCallerAreSummarised) {
  AuditRepeatLimiter lim;
  const auto t0 = std::chrono::steady_clock::time_point{} + seconds(1000);
  std::vector<AuditRepeatLimiter::Summary> due;
  size_t written = 0;
  for (int i = 0; i < 1000; ++i)
    if (lim.admit(user(1000, "unix:pid=" + std::to_string(i)), refusal(), t0, &due)) ++written;
  EXPECT_EQ(written, AuditRepeatLimiter::kBurst);
  EXPECT_TRUE(due.empty());
  EXPECT_EQ(lim.suppressed(), 1000 - AuditRepeatLimiter::kBurst);
  EXPECT_TRUE(lim.flush(t0 + seconds(9)).empty()) << "the window is still open";
  auto s = lim.flush(t0 + AuditRepeatLimiter::kWindow);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].record.repeated, 1000 - AuditRepeatLimiter::kBurst);
  EXPECT_EQ(s[0].record.params, "CommandLine=x");
  EXPECT_EQ(s[0].caller.peer, "unix:pid=999") << "the latest peer";
  EXPECT_EQ(lim.open_windows(), 0u);
  // A new window: written again.
  EXPECT_TRUE(lim.admit(user(1000, "x"), refusal(), t0 + seconds(11), &due));
}

TEST(AuditRepeatLimiter, OtherCallersAndOtherLinesAreNotHeldBack) {
  AuditRepeatLimiter lim;
  const auto t0 = std::chrono::steady_clock::time_point{} + seconds(1000);
  std::vector<AuditRepeatLimiter::Summary> due;
  for (int i = 0; i < 100; ++i) (void)lim.admit(user(1000, "p"), refusal(), t0, &due);
  EXPECT_TRUE(lim.admit(user(1001, "p"), refusal(), t0, &due)) << "another caller";
  EXPECT_TRUE(lim.admit(user(1000, "p"), refusal("CommandLine=y"), t0, &due)) << "other params";
  // A later record() writes the summary of a window that has ended.
  EXPECT_TRUE(lim.admit(user(1002, "p"), refusal(), t0 + seconds(30), &due));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].record.repeated, 100 - AuditRepeatLimiter::kBurst);
  EXPECT_EQ(due[0].caller.uid, 1000u);
}

// Ever new lines fill the table: the oldest windows close early, their summaries written.
TEST(AuditRepeatLimiter, TableStaysBoundedAndNothingIsLost) {
  AuditRepeatLimiter lim;
  const auto t0 = std::chrono::steady_clock::time_point{} + seconds(1000);
  std::vector<AuditRepeatLimiter::Summary> due;
  for (int i = 0; i < 10; ++i) (void)lim.admit(user(1000, "p"), refusal(), t0, &due);
  for (size_t i = 0; i < AuditRepeatLimiter::kMaxKeys; ++i)
    ASSERT_TRUE(lim.admit(user(1000, "p"), refusal(std::to_string(i)), t0, &due));
  EXPECT_LE(lim.open_windows(), AuditRepeatLimiter::kMaxKeys);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].record.repeated, 5u);
  EXPECT_TRUE(lim.flush_all().empty()) << "the other windows counted nothing";
}

TEST(AuditRepeatLimiter, SummaryKeepsClippedFields) {
  AuditRepeatLimiter lim;
  const auto t0 = std::chrono::steady_clock::time_point{} + seconds(1000);
  std::vector<AuditRepeatLimiter::Summary> due;
  const std::string big(100000, 'a');
  for (int i = 0; i < 7; ++i) (void)lim.admit(user(1000, "p"), refusal(big), t0, &due);
  auto s = lim.flush_all();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].record.repeated, 2u);
  EXPECT_LT(s[0].record.params.size(), AuditRepeatLimiter::kMaxSampleField + 8);
}

// Through AuditLog: a flood of identical lines ends in the file as kBurst lines and one
// "repeated=N" line (written at the latest when the log closes).
TEST(AuditRepeatLimiter, AuditLogWritesTheSummary) {
  auto path =
      std::filesystem::temp_directory_path() / ("lwmi-audit-repeat-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  config::AuditConfig ac;
  ac.file = path.string();
  ac.journal = false;
  {
    AuditLog log(ac);
    log.limit_repeats();
    for (int i = 0; i < 500; ++i) EXPECT_EQ(log.record(user(1000, "p"), refusal()), "");
    EXPECT_EQ(log.repeats_counted(), 500 - AuditRepeatLimiter::kBurst);
  }
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), AuditRepeatLimiter::kBurst + 1);
  EXPECT_EQ(lines[0].find("repeated="), std::string::npos);
  EXPECT_NE(lines.back().find(" repeated=495"), std::string::npos) << lines.back();
  EXPECT_NE(lines.back().find("action=Create"), std::string::npos) << lines.back();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace lwmi::security
