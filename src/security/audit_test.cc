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
  EXPECT_EQ(broken.record(c, r),
            "audit line not written to /nonexistent-dir/audit.log: No such file or directory");
}

}  // namespace lwmi::security
