// os/system_info.h — host facts the process provider needs: clock ticks, page size, boot epoch,
// host and OS names, kernel release. Captured once; tests construct their own.
// Thread safety: plain value.
#pragma once

#include <cstdint>
#include <string>

namespace lwmi::os {

struct SystemInfo {
  long clk_tck = 100;          ///< sysconf(_SC_CLK_TCK)
  long page_size = 4096;       ///< sysconf(_SC_PAGESIZE)
  int64_t boot_epoch_us = 0;   ///< CLOCK_REALTIME - CLOCK_BOOTTIME, in Unix microseconds
  std::string host;            ///< uname nodename up to the first '.'
  std::string kernel_release;  ///< uname release
  std::string os_name;         ///< "PRETTY_NAME|/|root block device"
  int32_t self_pid = 0;        ///< the process running lwmi (protected from Terminate)

  /// Reads the live system (boot epoch, uname, /etc/os-release, the root mount).
  static SystemInfo live();
  /// Boot epoch recomputed now (CLOCK_REALTIME - CLOCK_BOOTTIME); steps with the wall clock.
  static int64_t boot_epoch_now_us();
};

}  // namespace lwmi::os
