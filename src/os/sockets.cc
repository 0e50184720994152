// os/sockets.cc — socket system calls: close-on-exec birth, peer credentials, peeks.
#include "os/sockets.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77  // Linux >= 6.5
#endif

namespace lwmi::os {

int open_socket(int family, int type, int protocol, Fd* out) {
  Fd fd(::socket(family, type | SOCK_CLOEXEC, protocol));
  if (!fd) return errno;
  *out = std::move(fd);
  return 0;
}

int accept_connection(int listener, Fd* out) {
  Fd fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd) return errno;
  *out = std::move(fd);
  return 0;
}

std::optional<PeerCredentials> peer_credentials(int socket) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred)
    return std::nullopt;
  return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

int peer_pidfd(int socket, Fd* out) {
  int pidfd = -1;
  socklen_t len = sizeof pidfd;
  if (::getsockopt(socket, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) != 0) return errno;
  if (pidfd < 0) return ESRCH;
  Fd fd(pidfd);
  // Pidfds are born close-on-exec; set again all the same, as this descriptor goes to a root
  // daemon's long-lived connections.
  (void)set_cloexec(fd.get());
  *out = std::move(fd);
  return 0;
}

ssize_t send_now(int socket, std::string_view bytes) {
  return ::send(socket, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

bool peer_hung_up(int socket) {
  char c;
  const ssize_t n = ::recv(socket, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

}  // namespace lwmi::os
