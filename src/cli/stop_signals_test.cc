#include "cli/stop_signals.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>

namespace lwmi::cli {
namespace {

// Waits (bounded) until `pred` holds; the bound only keeps a broken build from hanging.
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 1000 && !pred(); ++i) ::usleep(10 * 1000);
  return pred();
}

TEST(StopSignals, FirstSignalRunsTheActionInsteadOfEndingTheProcess) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    StopSignals signals;
    std::atomic<int> ran{0};
    signals.on_stop([&] { ++ran; });
    ASSERT_EQ(::kill(::getpid(), sig), 0);
    ASSERT_TRUE(eventually([&] { return ran.load() == 1; })) << sig;
    EXPECT_EQ(signals.received(), sig);
  }
}

TEST(StopSignals, EndAsReceivedEndsTheProcessByTheSignal) {
  EXPECT_EXIT(
      {
        StopSignals signals;
        std::atomic<bool> stop{false};
        signals.on_stop([&] { stop = true; });
        ::kill(::getpid(), SIGTERM);
        while (!stop) ::usleep(1000);
        // The command cleans up here, then:
        signals.end_as_received();
        std::_Exit(0);
      },
      ::testing::KilledBySignal(SIGTERM), "");
}

TEST(StopSignals, ASecondSignalEndsTheProcessAtOnce) {
  EXPECT_EXIT(
      {
        StopSignals signals;
        std::atomic<bool> stop{false};
        signals.on_stop([&] { stop = true; });
        ::kill(::getpid(), SIGINT);
        while (!stop) ::usleep(1000);
        ::kill(::getpid(), SIGINT);  // the cleanup hangs: the user presses Ctrl-C again
        for (;;) ::usleep(1000);
      },
      ::testing::KilledBySignal(SIGINT), "");
}

TEST(StopSignals, WithoutAnActionASignalEndsTheProcess) {
  EXPECT_EXIT(
      {
        StopSignals signals;
        ::kill(::getpid(), SIGHUP);
        for (;;) ::usleep(1000);
      },
      ::testing::KilledBySignal(SIGHUP), "");
}

TEST(StopSignals, AnIgnoredSignalStaysIgnored) {
  EXPECT_EXIT(
      {
        std::signal(SIGINT, SIG_IGN);  // as a shell starts a background job
        StopSignals signals;
        std::atomic<bool> stop{false};
        signals.on_stop([&] { stop = true; });
        ::kill(::getpid(), SIGINT);
        ::usleep(300 * 1000);
        std::_Exit(stop ? 1 : 7);
      },
      ::testing::ExitedWithCode(7), "");
}

}  // namespace
}  // namespace lwmi::cli
