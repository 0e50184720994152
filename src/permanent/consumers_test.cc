// consumers_test.cc — the three consumers with real processes, files and a journal socket: each
// attack (a value that would add arguments or lines, a link planted before or after the check, a
// command that never ends, a flood of commands) is tried and shown contained.
#include "permanent/consumers.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cim/instance_json.h"
#include "cim/schema.h"
#include "os/testing/descriptors.h"

namespace lwmi::permanent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/lwmi-consumers-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), mode);
}

Instance creation_event(const std::string& name, uint32_t pid = 4242) {
  auto p = std::make_shared<Instance>(cim::Schema::builtin().find("Win32_Process"));
  p->set("Handle", Value::string(std::to_string(pid)));
  p->set("Name", Value::string(name));
  p->set("ProcessId", Value::uint32(pid));
  Instance e(cim::Schema::builtin().find("__InstanceCreationEvent"));
  e.set("TargetInstance", Value::object(p));
  e.set("TIME_CREATED", Value::uint64(134096778001234567ull));
  return e;
}

/// Collects one delivery's outcome.
struct Outcome {
  std::promise<Result<void>> promise;
  std::future<Result<void>> future = promise.get_future();
  Delivered callback() {
    return [this](Result<void> r) { promise.set_value(std::move(r)); };
  }
  bool ready() { return future.wait_for(0s) == std::future_status::ready; }
  /// Waits (generously: this is a bound on a hang, not a speed check).
  Result<void> get() {
    if (future.wait_for(30s) != std::future_status::ready)
      return Error{WbemStatus::kFailed, "test: no outcome within 30 s"};
    return future.get();
  }
};

Consumer command(std::string path, std::string tmpl, std::string dir = "", uint32_t kill = 0) {
  Consumer c;
  c.name = "cmd";
  CommandLineConsumer spec;
  spec.executable_path = std::move(path);
  spec.command_line_template = std::move(tmpl);
  spec.working_directory = std::move(dir);
  spec.kill_timeout = kill;
  c.spec = spec;
  return c;
}

Consumer log_file(std::string filename, std::string text, uint64_t max = 65535) {
  Consumer c;
  c.name = "log";
  LogFileConsumer spec;
  spec.filename = std::move(filename);
  spec.text = std::move(text);
  spec.maximum_file_size = max;
  c.spec = spec;
  return c;
}

std::unique_ptr<ConsumerAction> action_of(const Consumer& c, const ConsumerSettings& s,
                                          std::shared_ptr<CommandRunner> runner = nullptr) {
  auto a = make_action(c, s, std::move(runner));
  EXPECT_TRUE(a.ok()) << a.error().to_string();
  return a.ok() ? std::move(*a) : nullptr;
}

/// The pids of processes whose command line is exactly `argv`.
std::vector<pid_t> processes_with(const std::vector<std::string>& argv) {
  std::string want;
  for (const auto& a : argv) want += a + '\0';
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (read_file(e.path().string() + "/cmdline") == want) out.push_back(std::stoi(name));
  }
  return out;
}

std::vector<pid_t> wait_for_processes(const std::vector<std::string>& argv, size_t count) {
  for (int i = 0; i < 300; ++i) {
    auto found = processes_with(argv);
    if (found.size() >= count) return found;
    std::this_thread::sleep_for(20ms);
  }
  return processes_with(argv);
}

std::string unique_sleep_arg() {
  static int n = 0;
  return std::to_string(1000 + ++n) + "." + std::to_string(::getpid());
}

// ---- Command consumer -----------------------------------------------------------------------

TEST(CommandConsumer, ValuesStayWholeArgumentsAndTheChildGetsOnlyWhatItShould) {
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  const std::string out = dir / "out";
  fs::create_directory(out);
  struct passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  ASSERT_EQ(::chown(out.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  write_file(dir / "child.sh",
             "#!/bin/sh\n"
             "printf '%s\\0' \"$@\" > " +
                 out +
                 "/argv\n"
                 "id -u > " +
                 out +
                 "/uid\n"
                 "pwd > " +
                 out +
                 "/cwd\n"
                 "cat /proc/$$/environ > " +
                 out +
                 "/environ\n"
                 "cat > " +
                 out + "/stdin\n",
             0755);
  const std::string hostile = "a b \"c d\" $(touch " + dir.path() + "/pwned) `id` ;\n--evil\\\" %x";
  Instance event = creation_event(hostile);
  ConsumerSettings settings;
  auto runner = make_command_runner(settings);
  auto action = action_of(command(dir / "child.sh",
                                  "--name %TargetInstance.Name% \"quoted %TargetInstance.Name%\" "
                                  "--pid=%TargetInstance.ProcessId%",
                                  out, 20),
                          settings, runner);
  ASSERT_TRUE(action);
  Outcome o;
  action->deliver(event, o.callback());
  auto r = o.get();
  ASSERT_TRUE(r.ok()) << r.error().to_string();

  std::string expected_argv;
  for (const std::string& a :
       {std::string("--name"), hostile, "quoted " + hostile, std::string("--pid=4242")})
    expected_argv += a + '\0';
  EXPECT_EQ(read_file(out + "/argv"), expected_argv);
  EXPECT_FALSE(fs::exists(dir / "pwned"));
  EXPECT_EQ(read_file(out + "/uid"), std::to_string(nobody->pw_uid) + "\n");
  EXPECT_EQ(read_file(out + "/cwd"), out + "\n");
  EXPECT_EQ(read_file(out + "/environ"),
            std::string("PATH=/usr/sbin:/usr/bin:/sbin:/bin\0LANG=C.UTF-8\0", 48));
  EXPECT_EQ(read_file(out + "/stdin"), cim::instance_json(event, false) + "\n");
}

TEST(CommandConsumer, TheChildHasZeroToTwoOnlyItsOwnSessionAndIsKilledWithTheRunner) {
  int leaky = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaky, 0);
  ConsumerSettings settings;
  auto runner = make_command_runner(settings);
  const std::string arg = unique_sleep_arg();
  auto action = action_of(command("/bin/sleep", arg), settings, runner);
  Outcome o;
  action->deliver(creation_event("x"), o.callback());
  auto pids = wait_for_processes({"/bin/sleep", arg}, 1);
  ASSERT_EQ(pids.size(), 1u);
  const std::string proc = "/proc/" + std::to_string(pids[0]);
  EXPECT_EQ(os::testing::settled_descriptors(pids[0]), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(fs::read_symlink(proc + "/fd/0").string().rfind("pipe:", 0), 0u);
  EXPECT_EQ(fs::read_symlink(proc + "/fd/1"), "/dev/null");
  EXPECT_EQ(fs::read_symlink(proc + "/fd/2"), "/dev/null");
  EXPECT_NE(read_file(proc + "/status").find("\nUid:\t65534\t65534\t65534\t65534\n"),
            std::string::npos);
  EXPECT_EQ(fs::read_symlink(proc + "/cwd"), "/");
  std::string stat = read_file(proc + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string state, ppid, pgrp, session;
  fields >> state >> ppid >> pgrp >> session;
  EXPECT_EQ(session, std::to_string(pids[0])) << "its own session";
  EXPECT_EQ(ppid, std::to_string(::getpid())) << "our child, reaped by the runner";
  EXPECT_FALSE(o.ready());

  runner.reset();
  action.reset();  // the action held the runner too
  auto r = o.get();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("stopping"), std::string::npos) << r.error().message;
  EXPECT_TRUE(processes_with({"/bin/sleep", arg}).empty());
  ::close(leaky);
}

TEST(CommandConsumer, KillTimeoutAndCommandTimeoutKillAndSayWhich) {
  ConsumerSettings settings;
  settings.command_timeout = 60;
  auto runner = make_command_runner(settings);
  const std::string arg = unique_sleep_arg();
  auto killed = action_of(command("/bin/sleep", arg, "", 1), settings, runner);
  Outcome o;
  killed->deliver(creation_event("x"), o.callback());
  auto r = o.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, WbemStatus::kTimedOut);
  EXPECT_EQ(r.error().message, "/bin/sleep killed after its 1 s KillTimeout");
  EXPECT_TRUE(processes_with({"/bin/sleep", arg}).empty());

  ConsumerSettings capped;
  capped.command_timeout = 1;
  auto runner2 = make_command_runner(capped);
  for (uint32_t kill : {0u, 30u}) {
    auto a = action_of(command("/bin/sleep", unique_sleep_arg(), "", kill), capped, runner2);
    Outcome o2;
    a->deliver(creation_event("x"), o2.callback());
    auto r2 = o2.get();
    ASSERT_FALSE(r2.ok());
    EXPECT_EQ(r2.error().message,
              "/bin/sleep killed after its 1 s [subscriptions] command_timeout");
  }
}

TEST(CommandConsumer, ExitStatusIsTheOutcome) {
  ConsumerSettings settings;
  auto runner = make_command_runner(settings);
  Outcome ok, failed, signalled;
  action_of(command("/bin/true", ""), settings, runner)
      ->deliver(creation_event("x"), ok.callback());
  action_of(command("/bin/sh", "-c \"exit 3\""), settings, runner)
      ->deliver(creation_event("x"), failed.callback());
  action_of(command("/bin/sh", "-c \"kill -TERM $$\""), settings, runner)
      ->deliver(creation_event("x"), signalled.callback());
  EXPECT_TRUE(ok.get().ok());
  auto f = failed.get();
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().message, "/bin/sh exited with status 3");
  auto s = signalled.get();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "/bin/sh killed by signal 15 (SIGTERM)");
}

// A command that exits leaving a background process in its group: the leftover is killed, so a
// command cannot outlive the concurrency bound by detaching work.
TEST(CommandConsumer, WhatACommandLeavesInItsProcessGroupEndsWithIt) {
  ConsumerSettings settings;
  auto runner = make_command_runner(settings);
  const std::string arg = unique_sleep_arg();
  Outcome o;
  action_of(command("/bin/sh", "-c \"/bin/sleep " + arg + " & exit 0\""), settings, runner)
      ->deliver(creation_event("x"), o.callback());
  auto r = o.get();
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  // Killed before the outcome was reported; an orphan goes to init, which reaps it soon.
  for (int i = 0; i < 250 && !processes_with({"/bin/sleep", arg}).empty(); ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(processes_with({"/bin/sleep", arg}).empty());
}

// A command that exits without reading a large stdin: the write fails with EPIPE, which must
// neither kill this process (SIGPIPE is not ignored in the test) nor block the runner.
TEST(CommandConsumer, ACommandThatDoesNotReadItsStdinHarmsNothing) {
  ASSERT_EQ(::signal(SIGPIPE, SIG_DFL), SIG_DFL);
  ConsumerSettings settings;
  auto runner = make_command_runner(settings);
  Instance big = creation_event(std::string(1 << 20, 'x'));
  Outcome o;
  action_of(command("/bin/true", ""), settings, runner)->deliver(big, o.callback());
  auto r = o.get();
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  // And one that never reads nor exits is still killed at its time.
  Outcome stuck;
  action_of(command("/bin/sleep", unique_sleep_arg(), "", 1), settings, runner)
      ->deliver(big, stuck.callback());
  auto s = stuck.get();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, WbemStatus::kTimedOut);
}

TEST(CommandConsumer, ConcurrencyIsBoundedAndTheQueueRefusesBeyondItsSize) {
  ConsumerSettings settings;
  settings.max_concurrent_commands = 2;
  settings.max_queued_commands = 1;
  auto runner = make_command_runner(settings);
  const std::string arg = unique_sleep_arg();
  auto action = action_of(command("/bin/sleep", arg), settings, runner);
  std::vector<std::unique_ptr<Outcome>> outcomes;
  for (int i = 0; i < 4; ++i) {
    outcomes.push_back(std::make_unique<Outcome>());
    action->deliver(creation_event("x"), outcomes.back()->callback());
  }
  ASSERT_TRUE(outcomes[3]->ready()) << "refused at once";
  auto refused = outcomes[3]->get();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, WbemStatus::kQuotaViolation);
  EXPECT_NE(refused.error().message.find("command queue full"), std::string::npos);
  EXPECT_EQ(wait_for_processes({"/bin/sleep", arg}, 2).size(), 2u);
  std::this_thread::sleep_for(300ms);  // give a third the chance to start, were it allowed to
  EXPECT_EQ(processes_with({"/bin/sleep", arg}).size(), 2u);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(outcomes[i]->ready());

  action.reset();
  runner.reset();  // kills the two, fails the queued one
  for (int i = 0; i < 3; ++i) {
    auto r = outcomes[i]->get();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("lwmi is stopping"), std::string::npos);
  }
  EXPECT_TRUE(processes_with({"/bin/sleep", arg}).empty());
}

TEST(CommandConsumer, AMissingWorkingDirectoryIsAFailureAndTheRunnerGoesOn) {
  ConsumerSettings settings;
  auto runner = make_command_runner(settings);
  Outcome o;
  action_of(command("/bin/true", "", "/nonexistent/lwmi-dir"), settings, runner)
      ->deliver(creation_event("x"), o.callback());
  auto r = o.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      r.error().message,
      "could not run /bin/true as nobody in /nonexistent/lwmi-dir: No such file or directory");
  Outcome next;
  action_of(command("/bin/true", ""), settings, runner)
      ->deliver(creation_event("x"), next.callback());
  EXPECT_TRUE(next.get().ok());
}

TEST(CommandConsumer, RootAsCommandUserIsAFailure) {
  ConsumerSettings settings;
  settings.command_user = "root";
  auto runner = make_command_runner(settings);
  TempDir dir;
  Outcome o;
  action_of(command("/bin/touch", dir / "ran"), settings, runner)
      ->deliver(creation_event("x"), o.callback());
  auto r = o.get();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("command_user must not be root"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "ran"));
  settings.command_user = "lwmi-no-such-user";
  auto runner2 = make_command_runner(settings);
  Outcome o2;
  action_of(command("/bin/true", ""), settings, runner2)
      ->deliver(creation_event("x"), o2.callback());
  EXPECT_FALSE(o2.get().ok());
}

TEST(CommandConsumer, CheckRefusesWhatCannotRun) {
  ConsumerSettings settings;
  TempDir dir;
  write_file(dir / "data", "x", 0644);
  struct Case {
    Consumer c;
    const char* says;
  } cases[] = {
      {command("sleep", "1"), "absolute"},
      {command(dir / "missing", ""), "No such file"},
      {command(dir / "data", ""), "not an executable regular file"},
      {command(dir.path(), ""), "not an executable regular file"},
      {command("/bin/true", "", "relative/dir"), "WorkingDirectory"},
      {command("/bin/true", "a %TargetInstance.Name"), "CommandLineTemplate"},
  };
  for (const Case& k : cases) {
    auto r = check_consumer(k.c, settings);
    ASSERT_FALSE(r.ok()) << k.says;
    EXPECT_EQ(r.error().code, WbemStatus::kInvalidParameter);
    EXPECT_NE(r.error().message.find(k.says), std::string::npos) << r.error().message;
  }
  auto t = check_consumer(command("/bin/true", "a %TargetInstance.Name"), settings);
  ASSERT_TRUE(t.error().position.has_value());
  EXPECT_EQ(*t.error().position, 2u);
  EXPECT_TRUE(check_consumer(command("/bin/true", "%TargetInstance.Name%"), settings).ok());
  EXPECT_FALSE(make_action(command("/bin/true", ""), settings, nullptr).ok()) << "no runner";
}

TEST(Consumers, TerminateIsTheEnginesNotMakeActions) {
  Consumer c;
  c.name = "t";
  c.spec = TerminateConsumer{7};
  auto a = make_action(c, ConsumerSettings(), make_command_runner(ConsumerSettings()));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, WbemStatus::kInvalidParameter);
}

// ---- Log file consumer ----------------------------------------------------------------------

class LogFileConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.log_directory = dir_.path();  // root's, mode 0700
  }
  Result<void> deliver(const Consumer& c, const Instance& event) {
    auto a = make_action(c, settings_, nullptr);
    if (!a.ok()) return a.take_error();
    Outcome o;
    (*a)->deliver(event, o.callback());
    return o.get();
  }
  TempDir dir_;
  TempDir elsewhere_;
  ConsumerSettings settings_;
};

TEST_F(LogFileConsumerTest, OneEventIsOneEscapedLine) {
  auto c =
      log_file(dir_ / "events.log", "started %TargetInstance.Name% (%TargetInstance.ProcessId%)");
  ASSERT_TRUE(check_consumer(c, settings_).ok());
  ASSERT_TRUE(deliver(c, creation_event("evil\nFAKE started root\x1b[2J", 7)).ok());
  ASSERT_TRUE(deliver(c, creation_event("plain", 8)).ok());
  EXPECT_EQ(read_file(dir_ / "events.log"),
            "started evil\\nFAKE started root\\x1b[2J (7)\nstarted plain (8)\n");
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "events.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u & ~static_cast<unsigned>(::umask(::umask(0))));
}

TEST_F(LogFileConsumerTest, PathsOutsideOrThroughLinksAreRefusedAtTheCheck) {
  fs::create_directory(dir_ / "sub");
  fs::create_directory_symlink(elsewhere_.path(), dir_ / "linkdir");
  fs::create_symlink(elsewhere_ / "target", dir_ / "link.log");
  write_file(dir_ / "plainfile", "");
  write_file(elsewhere_ / "linked", "");
  fs::create_hard_link(elsewhere_ / "linked", dir_ / "hardlink.log");
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  struct Case {
    std::string filename;
    const char* says;
  } cases[] = {
      {elsewhere_ / "x.log", "is not under"},
      {"relative.log", "absolute"},
      {dir_ / "sub/../../x.log", "'..'"},
      {dir_ / "sub/../x.log", "'..'"},
      {dir_.path(), "is not under"},
      {dir_.path() + "-sibling/x.log", "is not under"},
      {dir_ / "link.log", "symbolic link"},
      {dir_ / "linkdir/x.log", "symbolic link"},
      {dir_ / "plainfile/x.log", "not a directory"},
      {dir_ / "fifo", "not a regular file"},
      {dir_ / "hardlink.log", "hard links"},
  };
  for (const Case& k : cases) {
    auto r = check_consumer(log_file(k.filename, "x"), settings_);
    ASSERT_FALSE(r.ok()) << k.filename;
    EXPECT_EQ(r.error().code, WbemStatus::kInvalidParameter);
    EXPECT_NE(r.error().message.find(k.says), std::string::npos) << r.error().message;
    EXPECT_FALSE(deliver(log_file(k.filename, "x"), creation_event("x")).ok()) << k.filename;
  }
  EXPECT_FALSE(fs::exists(elsewhere_ / "target"));
  EXPECT_FALSE(fs::exists(elsewhere_ / "x.log"));
  EXPECT_EQ(read_file(elsewhere_ / "linked"), "");
  // A directory not there yet is no error at the check (the delivery says it is missing).
  EXPECT_TRUE(check_consumer(log_file(dir_ / "later/x.log", "x"), settings_).ok());
  EXPECT_TRUE(check_consumer(log_file(dir_ / "sub/./x.log", "x"), settings_).ok());
  EXPECT_FALSE(check_consumer(log_file(dir_ / "x.log", "%Unclosed"), settings_).ok());
}

TEST_F(LogFileConsumerTest, TheLogDirectoryMustBeRootsAndNotWritableByOthers) {
  auto c = log_file(dir_ / "x.log", "x");
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0777), 0);
  auto r = check_consumer(c, settings_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("is writable by others (mode 0777)"), std::string::npos)
      << r.error().message;
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  EXPECT_TRUE(check_consumer(c, settings_).ok());
  ASSERT_EQ(::chown(dir_.path().c_str(), 65534, 0), 0);
  r = check_consumer(c, settings_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not owned by root"), std::string::npos);
  settings_.log_directory = dir_ / "missing";
  EXPECT_FALSE(check_consumer(log_file(dir_ / "missing/x.log", "x"), settings_).ok());
}

// The check passed; then a link is planted where a directory or the file was. The delivery
// must not follow it.
TEST_F(LogFileConsumerTest, ALinkPlantedAfterTheCheckIsNotFollowed) {
  fs::create_directory(dir_ / "sub");
  auto in_sub = log_file(dir_ / "sub/x.log", "line");
  ASSERT_TRUE(check_consumer(in_sub, settings_).ok());
  auto action = make_action(in_sub, settings_, nullptr);
  ASSERT_TRUE(action.ok());
  fs::rename(dir_ / "sub", dir_ / "sub.old");
  fs::create_directory_symlink(elsewhere_.path(), dir_ / "sub");
  Outcome o;
  (*action)->deliver(creation_event("x"), o.callback());
  auto r = o.get();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("symbolic link"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(elsewhere_ / "x.log"));

  auto file = log_file(dir_ / "y.log", "line");
  ASSERT_TRUE(check_consumer(file, settings_).ok());
  auto action2 = make_action(file, settings_, nullptr);
  ASSERT_TRUE(action2.ok());
  write_file(elsewhere_ / "victim", "precious\n");
  fs::create_symlink(elsewhere_ / "victim", dir_ / "y.log");
  Outcome o2;
  (*action2)->deliver(creation_event("x"), o2.callback());
  EXPECT_FALSE(o2.get().ok());
  EXPECT_EQ(read_file(elsewhere_ / "victim"), "precious\n");

  // A hard link to a file elsewhere (on the same file system) is refused too, and a FIFO
  // planted there neither blocks nor receives the line.
  fs::remove(dir_ / "y.log");
  fs::create_hard_link(elsewhere_ / "victim", dir_ / "y.log");
  Outcome o3;
  (*action2)->deliver(creation_event("x"), o3.callback());
  EXPECT_FALSE(o3.get().ok());
  EXPECT_EQ(read_file(elsewhere_ / "victim"), "precious\n");
  fs::remove(dir_ / "y.log");
  ASSERT_EQ(::mkfifo((dir_ / "y.log").c_str(), 0600), 0);
  Outcome o4;
  (*action2)->deliver(creation_event("x"), o4.callback());
  EXPECT_FALSE(o4.get().ok());
}

TEST_F(LogFileConsumerTest, RotatesToDotOneAtTheSize) {
  // Each line is 10 bytes; at most 25 bytes a file: two lines, then rotation.
  auto c = log_file(dir_ / "r.log", "line %TargetInstance.ProcessId%", 25);
  for (uint32_t i = 1000; i < 1005; ++i) ASSERT_TRUE(deliver(c, creation_event("x", i)).ok());
  EXPECT_EQ(read_file(dir_ / "r.log.1"), "line 1002\nline 1003\n");
  EXPECT_EQ(read_file(dir_ / "r.log"), "line 1004\n");
  // No limit: never rotated.
  auto unlimited = log_file(dir_ / "u.log", "line %TargetInstance.ProcessId%", 0);
  for (uint32_t i = 1000; i < 1010; ++i)
    ASSERT_TRUE(deliver(unlimited, creation_event("x", i)).ok());
  EXPECT_EQ(read_file(dir_ / "u.log").size(), 100u);
  EXPECT_FALSE(fs::exists(dir_ / "u.log.1"));
}

TEST_F(LogFileConsumerTest, ConcurrentDeliveriesNeverInterleaveWithinALine) {
  auto c = log_file(dir_ / "c.log", "%TargetInstance.Name%", 0);
  auto a1 = make_action(c, settings_, nullptr);
  auto a2 = make_action(c, settings_, nullptr);  // another consumer, same file
  ASSERT_TRUE(a1.ok() && a2.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      ConsumerAction& a = t % 2 ? **a1 : **a2;
      Instance e = creation_event(std::string(5000, static_cast<char>('a' + t)));
      for (int i = 0; i < 50; ++i) a.deliver(e, [](Result<void> r) { EXPECT_TRUE(r.ok()); });
    });
  }
  for (auto& t : threads) t.join();
  std::istringstream in(read_file(dir_ / "c.log"));
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    ASSERT_EQ(line.size(), 5000u);
    EXPECT_EQ(line.find_first_not_of(line[0]), std::string::npos);
  }
  EXPECT_EQ(lines, 200);
}

// ---- Journal consumer -----------------------------------------------------------------------

Consumer journal(uint32_t type, std::vector<std::string> templates, std::string source) {
  Consumer c;
  c.name = "j";
  JournalConsumer spec;
  spec.event_type = type;
  spec.event_id = 77;
  spec.source_name = std::move(source);
  spec.insertion_string_templates = std::move(templates);
  c.spec = spec;
  return c;
}

TEST(JournalConsumer, CheckTakesWmisEventTypesOnly) {
  ConsumerSettings s;
  for (uint32_t t : {1u, 2u, 4u, 8u, 16u})
    EXPECT_TRUE(check_consumer(journal(t, {"x"}, "src"), s).ok());
  for (uint32_t t : {0u, 3u, 5u, 32u}) {
    auto r = check_consumer(journal(t, {"x"}, "src"), s);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, WbemStatus::kInvalidParameter);
    EXPECT_NE(r.error().message.find("EventType"), std::string::npos);
  }
  EXPECT_FALSE(check_consumer(journal(4, {"ok", "%Bad"}, "src"), s).ok());
  EXPECT_FALSE(check_consumer(journal(4, {"x"}, "a\nb"), s).ok());
  EXPECT_FALSE(check_consumer(journal(4, {"x"}, ""), s).ok());
}

TEST(JournalConsumer, WithoutAJournalTheDeliveryFailsSayingSo) {
  if (::access("/run/systemd/journal/socket", F_OK) == 0)
    GTEST_SKIP() << "a journal runs here; the entry test below covers delivery";
  auto a = make_action(journal(4, {"x"}, "src"), ConsumerSettings(), nullptr);
  ASSERT_TRUE(a.ok());
  Outcome o;
  (*a)->deliver(creation_event("x"), o.callback());
  auto r = o.get();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no systemd journal is running"), std::string::npos);
}

/// Runs `body` in a child process with a mount namespace of its own in which /run (and
/// /var/log/journal) are fresh tmpfs: a journal socket bound or a journald started there touches
/// nothing of the host's. Returns what `body` returned; "SKIP …" when no namespace can be made.
std::string in_private_run(const std::function<std::string()>& body) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return "ERROR pipe";
  pid_t child = ::fork();
  if (child < 0) return "ERROR fork";
  if (child == 0) {
    ::close(pipe_fds[0]);
    std::string out;
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") != 0) {
      out = std::string("SKIP no private mount namespace here: ") + std::strerror(errno);
    } else {
      if (::access("/var/log/journal", F_OK) == 0)
        ::mount("tmpfs", "/var/log/journal", "tmpfs", 0, "mode=0755");
      ::mkdir("/run/systemd", 0755);
      ::mkdir("/run/systemd/journal", 0755);
      out = body();
    }
    (void)!::write(pipe_fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "ERROR child: " + got;
  return got;
}

std::string deliver_once(ConsumerAction& action, const Instance& event) {
  std::string result = "ERROR no outcome";
  action.deliver(event,
                 [&](Result<void> r) { result = r.ok() ? "OK" : "ERROR " + r.error().message; });
  return result;
}

Consumer journal_consumer() {
  return journal(8, {"started", "%TargetInstance.Name%", "as %TargetInstance.ProcessId%"},
                 "lwmi-test-" + std::to_string(::getpid()));
}
const char kHostileName[] = "evil\nPRIORITY=0\x1b";
const char kEscapedMessage[] = "started evil\\nPRIORITY=0\\x1b as 4242";

// What sd_journal_send() sends, read from the journal's socket path bound by the test (the
// native protocol: KEY=value lines): exact fields, with no journald needed.
TEST(JournalConsumer, TheEntryCarriesTheEscapedMessageAndWmisFields) {
  auto action = make_action(journal_consumer(), ConsumerSettings(), nullptr);
  ASSERT_TRUE(action.ok());
  std::string got = in_private_run([&]() -> std::string {
    int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, "/run/systemd/journal/socket");
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      return "ERROR bind";
    std::string r = deliver_once(**action, creation_event(kHostileName, 4242));
    if (r != "OK") return r;
    timeval tv{10, 0};
    ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[65536];
    ssize_t n = ::recv(s, buf, sizeof buf, 0);
    if (n < 0) return "ERROR recv";
    return std::string(buf, static_cast<size_t>(n));
  });
  if (got.rfind("SKIP", 0) == 0) GTEST_SKIP() << got;
  ASSERT_NE(got.rfind("ERROR", 0), 0u) << got;
  std::map<std::string, std::string> fields;
  std::istringstream in(got);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    ASSERT_NE(eq, std::string::npos) << "a field without '=' (binary-encoded?): " << line;
    fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  EXPECT_EQ(fields["MESSAGE"], kEscapedMessage);
  EXPECT_EQ(fields["SYSLOG_IDENTIFIER"],
            std::get<JournalConsumer>(journal_consumer().spec).source_name);
  EXPECT_EQ(fields["PRIORITY"], "5");
  EXPECT_EQ(fields["LWMI_EVENT_ID"], "77");
  EXPECT_EQ(fields["LWMI_EVENT_CLASS"], "__InstanceCreationEvent");
}

// The same entry through a real journald (started in the private namespace: none runs on these
// machines) and read back with journalctl.
TEST(JournalConsumer, JournaldStoresTheEntryAndJournalctlReadsItBack) {
  const char* journald = "/lib/systemd/systemd-journald";
  if (::access(journald, X_OK) != 0) GTEST_SKIP() << journald << " is not installed";
  auto action = make_action(journal_consumer(), ConsumerSettings(), nullptr);
  ASSERT_TRUE(action.ok());
  const std::string source = std::get<JournalConsumer>(journal_consumer().spec).source_name;
  std::string got = in_private_run([&]() -> std::string {
    pid_t j = ::fork();
    if (j == 0) {
      int null_fd = ::open("/dev/null", O_RDWR);
      ::dup2(null_fd, 0), ::dup2(null_fd, 1), ::dup2(null_fd, 2);
      ::execl(journald, journald, static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::string out = "ERROR journald did not start";
    for (int i = 0; i < 200; ++i) {
      if (::access("/run/systemd/journal/socket", F_OK) == 0) {
        out = deliver_once(**action, creation_event(kHostileName, 4242));
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    if (out == "OK") {
      out = "ERROR journalctl found no entry";
      const std::string cmd =
          "journalctl -o json --no-pager --identifier=" + source + " 2>/dev/null";
      for (int i = 0; i < 100; ++i) {  // journald stores the datagram asynchronously
        std::string text;
        if (FILE* f = ::popen(cmd.c_str(), "r")) {
          char buf[4096];
          size_t n;
          while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
          ::pclose(f);
        }
        if (!text.empty()) {
          out = text;
          break;
        }
        std::this_thread::sleep_for(50ms);
      }
    }
    ::kill(j, SIGTERM);
    ::waitpid(j, nullptr, 0);
    return out;
  });
  if (got.rfind("SKIP", 0) == 0) GTEST_SKIP() << got;
  ASSERT_NE(got.rfind("ERROR", 0), 0u) << got;
  auto entry = nlohmann::json::parse(got.substr(0, got.find('\n')), nullptr, false);
  ASSERT_FALSE(entry.is_discarded()) << got;
  EXPECT_EQ(entry.value("MESSAGE", ""), kEscapedMessage);
  EXPECT_EQ(entry.value("SYSLOG_IDENTIFIER", ""), source);
  EXPECT_EQ(entry.value("PRIORITY", ""), "5");
  EXPECT_EQ(entry.value("LWMI_EVENT_ID", ""), "77");
  EXPECT_EQ(entry.value("LWMI_EVENT_CLASS", ""), "__InstanceCreationEvent");
}

}  // namespace
}  // namespace lwmi::permanent
