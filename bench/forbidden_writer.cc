/* The "forbidden" program of bench/events.sh: its first act is to create the file named by
 * argv[1] (so a launch that got to run any of its code leaves that file), then it lives for
 * argv[2] milliseconds (default 2000) and exits 0 — a launch that was not stopped. */
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc > 1) {
    int fd = open(argv[1], O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
  }
  long ms = argc > 2 ? atol(argv[2]) : 2000;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
  return 0;
}
