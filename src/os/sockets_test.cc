#include "os/sockets.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

namespace lwmi::os {
namespace {

bool cloexec(int fd) {
  return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

// A connected unix pair, both ends owned.
void socket_pair(Fd* a, Fd* b) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  a->reset(sv[0]);
  b->reset(sv[1]);
}

TEST(Sockets, PeerCredentialsNameThisProcess) {
  Fd a, b;
  socket_pair(&a, &b);
  auto cred = peer_credentials(a.get());
  ASSERT_TRUE(cred);
  EXPECT_EQ(cred->pid, ::getpid());
  EXPECT_EQ(cred->uid, ::geteuid());
  EXPECT_EQ(cred->gid, ::getegid());
  Fd r, w;
  ASSERT_EQ(make_pipe(&r, &w), 0);
  EXPECT_FALSE(peer_credentials(r.get())) << "a pipe has no peer credentials";
}

TEST(Sockets, PeerPidfdIsCloseOnExecOrSaysTheKernelHasNone) {
  Fd a, b;
  socket_pair(&a, &b);
  Fd pidfd;
  const int err = peer_pidfd(a.get(), &pidfd);
  if (err == ENOPROTOOPT || err == EINVAL) GTEST_SKIP() << "kernel without SO_PEERPIDFD";
  ASSERT_EQ(err, 0);
  ASSERT_TRUE(pidfd.valid());
  EXPECT_TRUE(cloexec(pidfd.get()));
}

TEST(Sockets, SocketsAndAcceptedConnectionsAreCloseOnExec) {
  Fd listener;
  ASSERT_EQ(open_socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, &listener), 0);
  EXPECT_TRUE(cloexec(listener.get()));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // Abstract name: nothing left on disk.
  const std::string name = "lwmi-sockets-test-" + std::to_string(::getpid());
  std::copy(name.begin(), name.end(), addr.sun_path + 1);
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  Fd none;
  EXPECT_EQ(accept_connection(listener.get(), &none), EAGAIN) << "nothing waiting";
  EXPECT_FALSE(none.valid());
  Fd client;
  ASSERT_EQ(open_socket(AF_UNIX, SOCK_STREAM, 0, &client), 0);
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  Fd conn;
  ASSERT_EQ(accept_connection(listener.get(), &conn), 0);
  EXPECT_TRUE(cloexec(conn.get()));
}

TEST(Sockets, HangUpIsSeenWithoutConsumingWhatThePeerSent) {
  Fd a, b;
  socket_pair(&a, &b);
  EXPECT_FALSE(peer_hung_up(a.get())) << "open and quiet";
  ASSERT_EQ(send_now(b.get(), "x"), 1);
  EXPECT_FALSE(peer_hung_up(a.get())) << "a pipelined byte is not a hang-up";
  char c = 0;
  ASSERT_EQ(::read(a.get(), &c, 1), 1) << "the byte is still there";
  EXPECT_EQ(c, 'x');
  b.reset();
  EXPECT_TRUE(peer_hung_up(a.get()));
  // Writing to a closed peer: an error, not SIGPIPE (this test would die of it).
  errno = 0;
  EXPECT_EQ(send_now(a.get(), "late"), -1);
  EXPECT_EQ(errno, EPIPE);
}

TEST(SocketFiles, ParentsAreMadeAndAListenerRemovesOnlyItsOwnFile) {
  const std::string root = "/tmp/lwmi-socket-files-" + std::to_string(::getpid());
  const std::string path = root + "/a/b/lwmid.sock";
  std::string failed;
  ASSERT_EQ(make_parent_directories(path, 0755, &failed), 0);
  struct stat st {};
  ASSERT_EQ(::stat((root + "/a/b").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(make_parent_directories(path, 0755, &failed), 0) << "existing ones are fine";
  bool is_socket = true;
  EXPECT_EQ(socket_file_state(path, &is_socket), ENOENT);
  // A plain file where a socket's parent must be: refused, naming it.
  { std::ofstream(root + "/file") << "x"; }
  EXPECT_EQ(make_parent_directories(root + "/file/sub/x.sock", 0755, &failed), ENOTDIR);
  EXPECT_EQ(failed, root + "/file/sub");

  { std::ofstream(path) << "mine"; }
  ASSERT_EQ(socket_file_state(path, &is_socket), 0);
  EXPECT_FALSE(is_socket);
  auto mine = file_identity(path);
  ASSERT_TRUE(mine);
  EXPECT_EQ(set_file_mode(path, 0640), 0);
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  // Another process replaced the file since: it stays. (A second link keeps the old inode
  // in use, so that the new file cannot be given its number.)
  ASSERT_EQ(::link(path.c_str(), (root + "/keep").c_str()), 0);
  ASSERT_EQ(remove_file(path), 0);
  { std::ofstream(root + "/other") << "theirs"; }
  ASSERT_EQ(::rename((root + "/other").c_str(), path.c_str()), 0);
  remove_if_same(path, *mine);
  EXPECT_EQ(::access(path.c_str(), F_OK), 0) << "not the listener's file: left alone";
  remove_if_same(path, *file_identity(path));
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "its own file: removed";
  EXPECT_EQ(remove_file(path), ENOENT);
  ::unlink((root + "/file").c_str());
  ::unlink((root + "/keep").c_str());
  ::rmdir((root + "/a/b").c_str());
  ::rmdir((root + "/a").c_str());
  ::rmdir(root.c_str());
}

}  // namespace
}  // namespace lwmi::os
