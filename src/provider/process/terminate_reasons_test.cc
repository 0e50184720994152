#include "provider/process/terminate_reasons.h"

#include <gtest/gtest.h>

namespace lwmi::provider::process {

TEST(TerminateReasons, KeyedByPidAndStartTime) {
  TerminateReasons r;
  r.record(4242, 1000, 7);
  EXPECT_EQ(r.lookup(4242, 1000), 7u);
  EXPECT_EQ(r.lookup(4242, 1000), 7u) << "every subscription may read it";
  EXPECT_FALSE(r.lookup(4242, 1001)) << "a reused pid is another process";
  EXPECT_FALSE(r.lookup(4243, 1000));
  EXPECT_EQ(r.lookup(4242, 0), 7u) << "start unknown: the newest entry for the pid";
  r.forget(4242, 1000);
  EXPECT_FALSE(r.lookup(4242, 1000)) << "the signal was not sent";
}

TEST(TerminateReasons, Bounded) {
  TerminateReasons r;
  for (int32_t pid = 1; pid <= static_cast<int32_t>(TerminateReasons::kMaxEntries) + 10; ++pid)
    r.record(pid, 5, 1);
  EXPECT_FALSE(r.lookup(1, 5)) << "the oldest entries go first";
  EXPECT_EQ(r.lookup(static_cast<int32_t>(TerminateReasons::kMaxEntries) + 10, 5), 1u);
}

}  // namespace lwmi::provider::process
