// os/sockets.h — what lwmi asks of a socket beyond what Boost.Asio offers: close-on-exec birth,
// the peer's credentials and pidfd, and the few non-blocking peeks and sends of the server.
//
// Every descriptor made here is close-on-exec (DESIGN decision 10). Functions return 0 or an
// errno value unless they say otherwise.
// Thread safety: every function is safe to call from any thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "os/descriptors.h"

namespace lwmi::os {

/// socket(family, type | SOCK_CLOEXEC, protocol) into *out.
int open_socket(int family, int type, int protocol, Fd* out);
/// accept4(listener, SOCK_CLOEXEC) into *out; EAGAIN when nothing is waiting (a non-blocking
/// listener).
int accept_connection(int listener, Fd* out);

/// Who is at the other end of a connected unix socket, as the kernel saw it at connect.
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};
/// SO_PEERCRED; nullopt when the kernel gives none (not a unix socket).
std::optional<PeerCredentials> peer_credentials(int socket);
/// SO_PEERPIDFD (Linux >= 6.5): a close-on-exec pidfd of the peer process into *out. ENOPROTOOPT
/// or EINVAL: the kernel has no SO_PEERPIDFD; ESRCH: the peer has exited.
int peer_pidfd(int socket, Fd* out);

/// Sends what fits of `bytes` now, never blocking and never raising SIGPIPE (best effort: a
/// last word before closing). Returns the bytes sent, or -1 with errno set.
ssize_t send_now(int socket, std::string_view bytes);
/// Whether the peer has closed its end or the connection failed, seen without blocking and
/// without consuming anything it sent (a pipelined request stays for the next read).
bool peer_hung_up(int socket);

/// A unix socket's file: which file it is, so that a listener removes its own file and never
/// one another process has put in its place since.
struct FileIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
};
/// The directories above `path` that do not exist yet, made with `mode` (0 or an errno value;
/// *failed names the directory that could not be made).
int make_parent_directories(const std::string& path, mode_t mode, std::string* failed);
/// What is at `path` now, without following a link: 0 and *is_socket, or ENOENT (nothing), or
/// another errno value.
int socket_file_state(const std::string& path, bool* is_socket);
/// The identity of the file at `path` (following links), if there is one.
std::optional<FileIdentity> file_identity(const std::string& path);
/// unlink(path): 0 or an errno value.
int remove_file(const std::string& path);
/// chmod(path, mode): 0 or an errno value.
int set_file_mode(const std::string& path, mode_t mode);
/// Removes the file at `path` when it is still the one `identity` names (a listener's own
/// socket file at shutdown); leaves whatever else is there.
void remove_if_same(const std::string& path, const FileIdentity& identity);

}  // namespace lwmi::os
