// os/testing/descriptors.h — what descriptors a process a test started holds.
// Thread safety: plain functions.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace lwmi::os::testing {

/// The descriptors `pid` holds, from /proc/PID/fd, in order.
inline std::vector<int> open_descriptors(pid_t pid) {
  std::vector<int> fds;
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec))
    fds.push_back(std::stoi(e.path().filename().string()));
  std::sort(fds.begin(), fds.end());
  return fds;
}

/// open_descriptors() once they settle on exactly 0-2, or after 2 s: right after its exec a
/// program's loader briefly holds the libraries it maps (fd 3 was seen under load), while a
/// descriptor the spawner leaked stays.
inline std::vector<int> settled_descriptors(pid_t pid) {
  std::vector<int> fds;
  for (int i = 0; i < 200; ++i) {
    fds = open_descriptors(pid);
    if (fds == std::vector<int>{0, 1, 2}) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fds;
}

}  // namespace lwmi::os::testing
