#include "dm/client.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "dm/client_protocol.hpp"

using namespace std::chrono_literals;
using namespace meshrt;

namespace {

/// A gateway that logs its one client in and then reads nothing more, as
/// a real one does while the client's sends on their way weigh
/// clientPendingSendBytes (or a node that hangs).
class stalled_gateway {
public:
  stalled_gateway() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    int small = 4096; // the accepted socket's, so that the client fills it soon
    ::setsockopt(listener_, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    REQUIRE(::listen(listener_, 1) == 0);
    thread_ = std::thread{[this] { serve(); }};
  }

  ~stalled_gateway() {
    done_ = true;
    ::shutdown(listener_, SHUT_RDWR); // an accept() still waiting returns
    thread_.join();
    ::close(listener_);
  }

  uint16_t port() const {
    return port_;
  }

private:
  void serve() {
    int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0)
      return;
    frame_reader reader{1 << 20};
    char buf[4096];
    while (!done_) { // the login, answered; then nothing is read
      auto n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0)
        break;
      reader.feed(buf, static_cast<size_t>(n));
      if (auto f = reader.next(); f && f->cmd == client_cmd::login) {
        client_frame ok;
        ok.cmd = client_cmd::login_ok;
        auto bytes = encode(ok);
        ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        break;
      }
    }
    for (int i = 0; i < 1000 && !done_; ++i) // at most 10 s
      std::this_thread::sleep_for(10ms);
    ::close(fd);
  }

  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> done_{false};
};

} // namespace

TEST_SUITE("dm.client") {
  TEST_CASE("a send the gateway takes nothing more of ends at its timeout with a clear error") {
    stalled_gateway gw;
    dm_client c;
    c.set_quiet(true); // a send returns once written: only the write waits
    REQUIRE(!c.connect("127.0.0.1", gw.port()));
    REQUIRE(!c.login("ann"));
    std::string big(256 * 1024, 'x');
    client_error err;
    auto took = 0ms;
    int sent = 0;
    for (; sent < 200 && !err; ++sent) { // the sockets hold a few MB at most
      auto t0 = std::chrono::steady_clock::now();
      err = c.send("bob", 1, 1, big, 300ms);
      took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                   - t0);
    }
    REQUIRE(err);
    CHECK(sent < 200);
    CHECK(took >= 250ms); // it waited for the gateway
    CHECK(took < 2s);     // and not past its timeout (and some scheduling)
    INFO(err.text);
    if (err.code == client_errc::timeout) { // nothing of the frame went
      CHECK(c.connected());
    } else { // part of it went: the stream cannot go on
      CHECK(err.code == client_errc::closed);
      CHECK_FALSE(c.connected());
    }
    // a clear waits the same way
    if (c.connected()) {
      auto clear_err = c.clear("bob", 1, 1, big, 100ms);
      CHECK((clear_err.code == client_errc::timeout || clear_err.code == client_errc::closed));
    }
  }
}
