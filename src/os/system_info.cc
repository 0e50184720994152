#include "os/system_info.h"

#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <sstream>

#include "os/descriptors.h"

namespace lwmi::os {
namespace {

std::string os_release_pretty_name() {
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    std::string text;
    if (read_file(path, &text) != 0) continue;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
      std::string v = line.substr(12);
      if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
        v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return "Linux";
}

// The source of the "/" mount in /proc/self/mountinfo (field after " - fstype ").
std::string root_device() {
  std::string text;
  (void)read_file("/proc/self/mountinfo", &text);
  std::istringstream in(text);
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, devno, root, mountpoint;
    f >> id >> parent >> devno >> root >> mountpoint;
    if (mountpoint != "/") continue;
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream rest(line.substr(dash + 3));
    std::string fstype, source;
    rest >> fstype >> source;
    found = source;  // the last mount on "/" is the visible one
  }
  return found.empty() ? "none" : found;
}

}  // namespace

int64_t SystemInfo::boot_epoch_now_us() {
  struct timespec rt, bt;
  ::clock_gettime(CLOCK_REALTIME, &rt);
  ::clock_gettime(CLOCK_BOOTTIME, &bt);
  int64_t r = static_cast<int64_t>(rt.tv_sec) * 1000000 + rt.tv_nsec / 1000;
  int64_t b = static_cast<int64_t>(bt.tv_sec) * 1000000 + bt.tv_nsec / 1000;
  return r - b;
}

SystemInfo SystemInfo::live() {
  SystemInfo s;
  s.clk_tck = ::sysconf(_SC_CLK_TCK);
  if (s.clk_tck <= 0) s.clk_tck = 100;
  s.page_size = ::sysconf(_SC_PAGESIZE);
  if (s.page_size <= 0) s.page_size = 4096;
  // Rounded to the clock tick: start times have that precision, and two readings of the clocks
  // differ by a microsecond or so, which would make CreationDate change from run to run.
  int64_t tick_us = 1000000 / s.clk_tck;
  int64_t raw = boot_epoch_now_us();
  s.boot_epoch_us = (raw + tick_us / 2) / tick_us * tick_us;
  struct utsname u;
  if (::uname(&u) == 0) {
    s.host = u.nodename;
    auto dot = s.host.find('.');
    if (dot != std::string::npos) s.host.resize(dot);
    s.kernel_release = u.release;
  }
  s.os_name = os_release_pretty_name() + "|/|" + root_device();
  s.self_pid = static_cast<int32_t>(::getpid());
  return s;
}

}  // namespace lwmi::os
