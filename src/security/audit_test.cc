#include "security/audit.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace lwmi::security {

TEST(Audit, FormatsOneLogfmtLine) {
  Caller c;
  c.uid = 1000;
  c.user = "alice";
  AuditRecord r;
  r.action = "Terminate";
  r.result = "0";
  r.params = "Reason=5";
  r.target = AuditTarget{42, "20261127062133.130000+000", "my prog", 1000};
  EXPECT_EQ(AuditLog::format(c, r, 1795755365537001),
            "time=2026-11-27T04:56:05.537001Z action=Terminate result=0 caller.uid=1000 "
            "caller.user=alice peer=local mode=embedded privileges=none target.pid=42 "
            "target.start=20261127062133.130000+000 target.name=\"my prog\" target.uid=1000 "
            "params=\"Reason=5\"");
}

TEST(Audit, EscapesHostileValues) {
  Caller c;
  AuditRecord r;
  r.action = "Terminate";
  r.result = "2";
  r.target = AuditTarget{1, "", "x\" injected=1\nnext", std::nullopt};
  std::string line = AuditLog::format(c, r, 0);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("target.name=\"x\\\" injected=1\\x0anext\""), std::string::npos) << line;
}

TEST(Audit, AppendsToTheConfiguredFile) {
  auto path = std::filesystem::temp_directory_path() / ("lwmi-audit-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  config::AuditConfig ac;
  ac.file = path.string();
  ac.journal = false;
  AuditLog log(ac);
  Caller c;
  AuditRecord r;
  r.action = "SetPriority";
  r.result = "0";
  EXPECT_EQ(log.record(c, r), "");
  EXPECT_EQ(log.record(c, r), "");
  std::ifstream in(path);
  std::string l1, l2, l3;
  std::getline(in, l1);
  std::getline(in, l2);
  EXPECT_NE(l1.find("action=SetPriority"), std::string::npos);
  EXPECT_NE(l2.find("action=SetPriority"), std::string::npos);
  EXPECT_FALSE(std::getline(in, l3));
  std::filesystem::remove(path);
  config::AuditConfig bad;
  bad.file = "/nonexistent-dir/audit.log";
  bad.journal = false;
  AuditLog broken(bad);
  // Nothing took the line: lwmid's log gets it whole with the reason.
  std::string lost = broken.record(c, r);
  EXPECT_EQ(lost.rfind("audit line not written to /nonexistent-dir/audit.log: No such file or "
                       "directory; audit line: time=",
                       0),
            0u)
      << lost;
  EXPECT_NE(lost.find(" action=SetPriority result=0 "), std::string::npos) << lost;
}

namespace {

AuditRecord terminate_record(int32_t pid) {
  AuditRecord r;
  r.action = "Terminate";
  r.result = "0";
  r.target = AuditTarget{pid, "20261127062133.130000+000", "sleep", 1000};
  return r;
}

config::AuditConfig audit_config(std::string file, bool journal) {
  config::AuditConfig ac;
  ac.file = std::move(file);
  ac.journal = journal;
  return ac;
}

constexpr const char* kNoJournal = "/nonexistent-dir/journal.socket";

}  // namespace

TEST(Audit, ReportsEveryLineNothingTookWholeByDefault) {
  AuditLog log(audit_config("", true));
  log.set_journal_socket(kNoJournal);
  Caller c;
  for (int32_t pid : {41, 42}) {
    std::string p = log.record(c, terminate_record(pid));
    EXPECT_EQ(p.rfind("no systemd journal is running and no [audit] file is configured; audit "
                      "line: time=",
                      0),
              0u)
        << p;
    EXPECT_NE(p.find(" target.pid=" + std::to_string(pid) + " "), std::string::npos) << p;
  }
}

TEST(Audit, TellOnceSaysItOnceAndShortlyWhenNothingKeepsTheLines) {
  AuditLog log(audit_config("", true));
  log.set_journal_socket(kNoJournal);
  log.tell_once();
  Caller c;
  EXPECT_EQ(log.record(c, terminate_record(41)),
            "audit records of this run are not kept: no systemd journal is running and no "
            "[audit] file is configured");
  EXPECT_EQ(log.record(c, terminate_record(42)), "");
  EXPECT_EQ(log.record(c, terminate_record(43)), "");
}

TEST(Audit, TellOnceNamesTheFileItCouldNotWrite) {
  AuditLog log(audit_config("/nonexistent-dir/audit.log", true));
  log.set_journal_socket(kNoJournal);
  log.tell_once();
  Caller c;
  EXPECT_EQ(log.record(c, terminate_record(41)),
            "audit records of this run are not kept: /nonexistent-dir/audit.log: No such file "
            "or directory, and no systemd journal is running");
  EXPECT_EQ(log.record(c, terminate_record(42)), "");
}

TEST(Audit, TellOnceSaysTheJournalAloneKeepsThemWhenTheFileFails) {
  AuditLog log(audit_config("/nonexistent-dir/audit.log", true));
  // sd_journal_send() reports no error when no journald listens: the socket's presence is what
  // counts, and here it is "present".
  log.set_journal_socket("/");
  log.tell_once();
  Caller c;
  EXPECT_EQ(log.record(c, terminate_record(41)),
            "audit records of this run go to the journal only: /nonexistent-dir/audit.log: No "
            "such file or directory");
  EXPECT_EQ(log.record(c, terminate_record(42)), "");
}

TEST(Audit, TellOnceIsSilentWhenTheFileKeepsEveryLineWhole) {
  auto path =
      std::filesystem::temp_directory_path() / ("lwmi-audit-once-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  AuditLog log(audit_config(path.string(), true));
  log.set_journal_socket(kNoJournal);  // no journal is no problem when the file takes the line
  log.tell_once();
  Caller c;
  EXPECT_EQ(log.record(c, terminate_record(41)), "");
  EXPECT_EQ(log.record(c, terminate_record(42)), "");
  std::ifstream in(path);
  std::string l1, l2;
  std::getline(in, l1);
  std::getline(in, l2);
  EXPECT_NE(l1.find(" target.pid=41 "), std::string::npos) << l1;
  EXPECT_NE(l2.find(" target.pid=42 "), std::string::npos) << l2;
  std::filesystem::remove(path);
}

TEST(Audit, NothingConfiguredIsNothingToReport) {
  AuditLog log(audit_config("", false));
  Caller c;
  EXPECT_EQ(log.record(c, terminate_record(41)), "");
}

}  // namespace lwmi::security
