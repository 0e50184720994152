#include "cli/stop_signals.h"
#include "base/mutex.h"

#include <pthread.h>

#include <csignal>
#include <cstdlib>
#include <ctime>

namespace lwmi::cli {

StopSignals::StopSignals() {
  sigemptyset(&set_);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaddset(&set_, sig);
  }
  ::pthread_sigmask(SIG_BLOCK, &set_, &old_mask_);
  thread_ = std::thread([this] { run(); });
}

StopSignals::~StopSignals() {
  closing_ = true;
  thread_.join();
  // A signal that came after the thread stopped looking stays pending: unblocking delivers it
  // (with its default action), as if it had come after this object.
  ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void StopSignals::run() {
  // Looks at closing_ five times a second: the destructor needs no signal of its own to end it.
  const timespec tick{0, 200 * 1000 * 1000};
  while (!closing_) {
    int sig = ::sigtimedwait(&set_, nullptr, &tick);
    if (sig <= 0) continue;  // EAGAIN (the tick) or EINTR
    base::MutexLock lock(mu_);
    if (received_ != 0 || !action_) end_as(sig);
    received_ = sig;
    action_();
  }
}

void StopSignals::on_stop(std::function<void()> action) {
  base::MutexLock lock(mu_);
  action_ = std::move(action);
}

void StopSignals::end_as_received() {
  if (int sig = received_) end_as(sig);
}

void StopSignals::end_as(int sig) {
  std::signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  ::raise(sig);           // this thread has it unblocked: the default action ends the process
  std::_Exit(128 + sig);  // a signal whose default is not to end the process (none of ours)
}

}  // namespace lwmi::cli
