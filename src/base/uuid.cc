// base/uuid.cc — version 4 UUIDs from getrandom(2).
#include "base/uuid.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <random>

namespace lwmi::base {
namespace {

// Fills `b` from the kernel. Without it (no getrandom, a seccomp filter), a per-thread
// generator seeded by std::random_device: the ids stay distinct, only less unpredictable.
void random_bytes(unsigned char (&b)[16]) {
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      break;
    }
  }
  if (got == sizeof b) return;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  for (size_t i = 0; i < sizeof b; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8; ++j) b[i + j] = static_cast<unsigned char>(v >> (j * 8));
  }
}

}  // namespace

std::string new_uuid() {
  unsigned char b[16];
  random_bytes(b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // variant 10
  char buf[48];
  std::snprintf(buf, sizeof buf,
                "uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                b[14], b[15]);
  return buf;
}

}  // namespace lwmi::base
