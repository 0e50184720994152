// os/sockets.cc — socket system calls: close-on-exec birth, peer credentials, peeks.
#include "os/sockets.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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

int make_parent_directories(const std::string& path, mode_t mode, std::string* failed) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    std::string dir = path.substr(0, pos);
    if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
      const int err = errno;
      if (failed) *failed = std::move(dir);
      return err;
    }
  }
  return 0;
}

int socket_file_state(const std::string& path, bool* is_socket) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno;
  *is_socket = S_ISSOCK(st.st_mode);
  return 0;
}

std::optional<FileIdentity> file_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileIdentity{st.st_dev, st.st_ino};
}

int remove_file(const std::string& path) {
  return ::unlink(path.c_str()) == 0 ? 0 : errno;
}

int set_file_mode(const std::string& path, mode_t mode) {
  return ::chmod(path.c_str(), mode) == 0 ? 0 : errno;
}

void remove_if_same(const std::string& path, const FileIdentity& identity) {
  auto now = file_identity(path);
  if (now && now->dev == identity.dev && now->ino == identity.ino) (void)remove_file(path);
}

}  // namespace lwmi::os
