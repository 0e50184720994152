// net/cloexec_socket.h — Boost.Asio sockets that are close-on-exec from birth.
//
// Boost.Asio 1.74 opens sockets with socket(2) and accepts with accept(2), neither with
// close-on-exec: a process lwmid started inherited its listeners and other clients' connections,
// and could accept on them (DESIGN decision 10). lwmid's listeners and accepted connections, and
// liblwmi's connections, are made here instead. Header-only (templates over the protocol).
#pragma once

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <utility>

#include "os/sockets.h"

namespace lwmi::net {

/// Opens `s` (a socket or an acceptor, not yet open) for `protocol` with SOCK_CLOEXEC.
template <class Socket, class Protocol>
boost::system::error_code open_cloexec(Socket& s, const Protocol& protocol) {
  os::Fd fd;
  if (int err = os::open_socket(protocol.family(), protocol.type(), protocol.protocol(), &fd))
    return {err, boost::system::system_category()};
  boost::system::error_code ec;
  s.assign(protocol, fd.get(), ec);
  if (!ec) fd.release();  // the socket owns it now
  return ec;
}

/// async_accept with accept4(SOCK_CLOEXEC): waits until the listener is readable, then accepts.
/// The listener must be non-blocking (acceptor.non_blocking(true)), so that a connection reset
/// between readiness and accept never blocks the thread. handler(error_code, socket) runs on
/// the acceptor's executor; the new socket gets `socket_ex`. The acceptor must outlive the wait.
template <class Protocol, class Executor, class Handler>
void async_accept_cloexec(boost::asio::basic_socket_acceptor<Protocol>& acceptor,
                          Executor socket_ex, Handler handler) {
  acceptor.async_wait(
      boost::asio::socket_base::wait_read,
      [&acceptor, socket_ex, handler = std::move(handler)](boost::system::error_code ec) mutable {
        typename Protocol::socket socket(socket_ex);
        if (ec) return handler(ec, std::move(socket));
        os::Fd fd;
        if (const int e = os::accept_connection(acceptor.native_handle(), &fd)) {
          if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ECONNABORTED)
            return async_accept_cloexec(acceptor, socket_ex, std::move(handler));
          return handler(boost::system::error_code(e, boost::system::system_category()),
                         std::move(socket));
        }
        auto local = acceptor.local_endpoint(ec);
        if (!ec) socket.assign(local.protocol(), fd.get(), ec);
        if (!ec) fd.release();  // the socket owns it now
        fd.reset();             // else closed before the handler runs
        handler(ec, std::move(socket));
      });
}

}  // namespace lwmi::net
