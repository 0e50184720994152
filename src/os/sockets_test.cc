#include "os/sockets.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
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

}  // namespace
}  // namespace lwmi::os
