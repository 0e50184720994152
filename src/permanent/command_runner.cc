// permanent/command_runner.cc — CommandLineEventConsumer's processes: started by one reaper
// thread (as command_user, in their own session, stdin the event, 0-2 only, a fixed minimal
// environment), fed, killed when late, reported when they exit.
#include "permanent/command_runner.h"
#include "base/mutex.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "os/accounts.h"
#include "os/descriptors.h"
#include "os/process_control.h"

namespace lwmi::permanent {
namespace {

struct Account {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

/// command_user's identity, looked up at each run (an edited password database applies at
/// once); refused when it is root.
Result<Account> lookup_account(const std::string& user) {
  int e = 0;
  auto pw = os::SystemAccounts().user_named(user, &e);
  if (!pw)
    return Error{WbemStatus::kFailed,
                 "[subscriptions] command_user '" + user + "' is not an account" +
                     (e ? std::string(": ") + std::strerror(e) : std::string())};
  if (pw->uid == 0)
    return Error{WbemStatus::kFailed, "[subscriptions] command_user must not be root ('" + user +
                                          "' has uid 0); the command was not run"};
  Account a;
  a.uid = pw->uid;
  a.gid = pw->gid;
  a.groups = os::SystemAccounts().groups_of(*pw);
  return a;
}

/// After a write to a pipe whose reader is gone: takes the SIGPIPE this thread (which blocks
/// it) was sent, so it can never reach the process (a process that ignores SIGPIPE, as lwmid
/// does, is sent none).
void consume_sigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  timespec zero{};
  while (::sigtimedwait(&set, nullptr, &zero) < 0 && errno == EINTR) {
  }
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : std::string());
}

}  // namespace

struct CommandRunner::Child {
  pid_t pid = -1;
  os::Fd pidfd;
  os::Fd stdin_fd;  // the pipe's write end (non-blocking) while input remains
  std::string input;
  size_t written = 0;
  int64_t deadline_ms = 0;  // 0: none
  uint32_t timeout = 0;
  bool timeout_is_kill_timeout = false;
  bool killed = false;  // by us, at its deadline
  std::string program;
  Delivered done;
};

uint32_t CommandRunner::timeout_of(uint32_t kill_timeout, uint32_t command_timeout) {
  if (kill_timeout == 0) return command_timeout;
  if (command_timeout == 0) return kill_timeout;
  return std::min(kill_timeout, command_timeout);
}

CommandRunner::CommandRunner(const ConsumerSettings& settings) : settings_(settings) {
  wake_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  // Without its wake-up descriptor the reaper could never be told to stop: run() refuses all.
  if (wake_fd_.valid()) reaper_ = std::thread([this] { reap_loop(); });
}

CommandRunner::~CommandRunner() {
  {
    base::MutexLock lock(mu_);
    stopping_ = true;
  }
  wake();
  if (reaper_.joinable()) reaper_.join();
}

void CommandRunner::wake() {
  uint64_t one = 1;
  if (wake_fd_.valid()) (void)!::write(wake_fd_.get(), &one, sizeof one);
}

void CommandRunner::run(Job job) {
  const uint64_t capacity = std::max<uint32_t>(settings_.max_concurrent_commands, 1) +
                            static_cast<uint64_t>(settings_.max_queued_commands);
  bool stopping;
  {
    base::MutexLock lock(mu_);
    stopping = stopping_;
    if (!stopping && wake_fd_.valid() && active_ + queue_.size() < capacity) {
      queue_.push_back(std::move(job));
      lock.unlock();
      wake();
      return;
    }
  }
  Delivered done = std::move(job.done);
  if (!wake_fd_.valid())
    done(Error{WbemStatus::kFailed, "the command runner has no wake-up descriptor"});
  else if (stopping)
    done(Error{WbemStatus::kFailed, job.argv[0] + " not run: lwmi is stopping"});
  else
    done(Error{WbemStatus::kQuotaViolation,
               "command queue full: " + std::to_string(settings_.max_concurrent_commands) +
                   " commands run and " + std::to_string(settings_.max_queued_commands) +
                   " wait ([subscriptions] max_concurrent_commands, max_queued_commands); " +
                   job.argv[0] + " was not run"});
}

void CommandRunner::start(Job job, std::vector<Child>* running,
                          std::vector<std::pair<Delivered, Result<void>>>* out) {
  auto fail = [&](std::string message) {
    out->emplace_back(std::move(job.done), Error{WbemStatus::kFailed, std::move(message)});
  };
  auto account = lookup_account(settings_.command_user);
  if (!account.ok()) return fail(account.error().message);

  os::Fd in_read, in_write;
  if (int e = os::make_pipe(&in_read, &in_write); e != 0)
    return fail("could not make a pipe for " + job.argv[0] + ": " + std::strerror(e));
  ::fcntl(in_write.get(), F_SETFL, ::fcntl(in_write.get(), F_GETFL) | O_NONBLOCK);

  os::SpawnRequest request;
  request.argv = job.argv;
  request.directory = job.directory.empty() ? "/" : job.directory;
  // Nothing of lwmid's environment: a fixed PATH and locale.
  request.replace_environment = true;
  request.environment = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"};
  request.change_identity = true;
  request.uid = account->uid;
  request.gid = account->gid;
  request.groups = account->groups;
  request.detach = false;
  request.stdin_fd = in_read.get();
  os::LiveProcessControl control;
  pid_t pid = -1;
  int e = control.spawn(request, &pid);
  in_read.reset();
  if (e != 0) {
    return fail("could not run " + job.argv[0] + " as " + settings_.command_user + " in " +
                request.directory + ": " + std::strerror(e));
  }
  // Our unreaped child: its pid (and process group) cannot be reused until we wait for it.
  int pidfd = -1;
  if (int pe = control.pidfd_open(pid, &pidfd); pe != 0) {
    ::kill(-pid, SIGKILL);
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return fail("could not watch " + job.argv[0] + ": " + std::strerror(pe));
  }
  Child c;
  c.pid = pid;
  c.pidfd.reset(pidfd);
  c.stdin_fd = std::move(in_write);
  c.input = std::move(job.input);
  c.timeout = timeout_of(job.kill_timeout, settings_.command_timeout);
  c.timeout_is_kill_timeout =
      job.kill_timeout != 0 &&
      (settings_.command_timeout == 0 || job.kill_timeout <= settings_.command_timeout);
  c.deadline_ms = c.timeout ? os::monotonic_ms() + int64_t{c.timeout} * 1000 : 0;
  c.program = job.argv[0];
  c.done = std::move(job.done);
  running->push_back(std::move(c));
}

void CommandRunner::reap_loop() {
  // Writes to a command's stdin happen on this thread only: SIGPIPE blocked here is taken back
  // after EPIPE instead of ending the process (when it is not ignored already).
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);

  std::vector<Child> running;
  std::vector<std::pair<Delivered, Result<void>>> reports;
  const uint32_t max_running = std::max<uint32_t>(settings_.max_concurrent_commands, 1);

  // Feeds a child's stdin as far as the pipe takes it; closes it when all is written or the
  // command stopped reading.
  auto feed = [](Child& c) {
    while (c.stdin_fd.valid() && c.written < c.input.size()) {
      ssize_t w = ::write(c.stdin_fd.get(), c.input.data() + c.written, c.input.size() - c.written);
      if (w > 0) {
        c.written += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) return;
      if (w < 0 && errno == EPIPE) consume_sigpipe();
      break;
    }
    c.stdin_fd.reset();
  };
  auto outcome = [](const Child& c, int status) -> Result<void> {
    if (c.killed)
      return Error{
          WbemStatus::kTimedOut,
          c.program + " killed after its " + std::to_string(c.timeout) + " s " +
              (c.timeout_is_kill_timeout ? "KillTimeout" : "[subscriptions] command_timeout")};
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    if (WIFEXITED(status))
      return Error{WbemStatus::kFailed,
                   c.program + " exited with status " + std::to_string(WEXITSTATUS(status))};
    return Error{WbemStatus::kFailed,
                 c.program + " killed by signal " + signal_name(WTERMSIG(status))};
  };
  // Reaps an exited (or killed) child; what is left of its process group goes with it.
  auto reap = [](Child& c) {
    ::kill(-c.pid, SIGKILL);
    int status = 0;
    while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
    }
    c.pidfd.reset();
    c.stdin_fd.reset();
    return status;
  };
  auto report = [&] {
    if (reports.empty()) return;
    for (auto& [done, result] : reports) done(std::move(result));
    reports.clear();
  };

  for (;;) {
    std::vector<Job> to_start;
    bool stopping;
    {
      base::MutexLock lock(mu_);
      stopping = stopping_;
      while (!stopping && !queue_.empty() && active_ < max_running) {
        to_start.push_back(std::move(queue_.front()));
        queue_.pop_front();
        ++active_;
      }
    }
    if (stopping) {
      for (Child& c : running) {
        reap(c);
        reports.emplace_back(std::move(c.done),
                             Error{WbemStatus::kFailed, c.program + " killed: lwmi is stopping"});
      }
      running.clear();
      std::deque<Job> queued;
      {
        base::MutexLock lock(mu_);
        queued.swap(queue_);
        active_ = 0;
      }
      for (Job& j : queued)
        reports.emplace_back(std::move(j.done),
                             Error{WbemStatus::kFailed, j.argv[0] + " not run: lwmi is stopping"});
      report();
      return;
    }
    for (Job& j : to_start) {
      size_t before = running.size();
      start(std::move(j), &running, &reports);
      if (running.size() > before) {
        feed(running.back());
      } else {
        base::MutexLock lock(mu_);
        --active_;
      }
    }
    report();

    std::vector<pollfd> fds;
    fds.push_back({wake_fd_.get(), POLLIN, 0});
    int64_t now = os::monotonic_ms();
    int timeout = -1;
    for (const Child& c : running) {
      fds.push_back({c.pidfd.get(), POLLIN, 0});
      fds.push_back({c.stdin_fd.get(), POLLOUT, 0});  // -1 while nothing to write: ignored by poll
      if (c.deadline_ms && !c.killed) {
        int64_t left = std::max<int64_t>(c.deadline_ms - now, 0);
        if (timeout < 0 || left < timeout)
          timeout = static_cast<int>(std::min<int64_t>(left, 1 << 30));
      }
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0) {
      // EINTR; anything else should not happen: do not spin on it.
      if (errno != EINTR) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      (void)!::read(wake_fd_.get(), &count, sizeof count);
    }
    now = os::monotonic_ms();
    std::vector<Child> still;
    uint32_t finished = 0;
    for (size_t k = 0; k < running.size(); ++k) {
      Child& c = running[k];
      if (fds[2 + 2 * k].revents) feed(c);
      if (fds[1 + 2 * k].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
        int status = reap(c);
        reports.emplace_back(std::move(c.done), outcome(c, status));
        ++finished;
        continue;
      }
      if (c.deadline_ms && !c.killed && now >= c.deadline_ms) {
        ::kill(-c.pid, SIGKILL);  // the whole session's group: what it started goes too
        c.killed = true;
      }
      still.push_back(std::move(c));
    }
    running.swap(still);
    if (finished) {
      base::MutexLock lock(mu_);
      active_ -= finished;
    }
    report();
  }
}

std::shared_ptr<CommandRunner> make_command_runner(const ConsumerSettings& settings) {
  return std::make_shared<CommandRunner>(settings);
}

}  // namespace lwmi::permanent
