#include "transport/io_poller.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <asio.hpp>
#include <doctest/doctest.h>

#include "support/eventually.hpp"

using namespace std::chrono_literals;
using meshrt::test::eventually;
using meshrt::transport::io_poller;

namespace {

/// A connected pair of datagram sockets; the first is read without
/// blocking.
struct socket_pair {
  int fds[2] = {-1, -1};
  socket_pair() {
    REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds) == 0);
  }
  ~socket_pair() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  int reader() const {
    return fds[0];
  }
  void write(char c) const {
    REQUIRE(::send(fds[1], &c, 1, 0) == 1);
  }
  /// Reads every waiting datagram; how many there were.
  int drain() const {
    int n = 0;
    char c;
    while (::recv(fds[0], &c, 1, 0) == 1)
      ++n;
    return n;
  }
};

} // namespace

TEST_SUITE("transport.io_poller") {
  TEST_CASE("a watched descriptor's handler runs in the polling thread while it has data") {
    io_poller poller;
    socket_pair s;
    int reads = 0;
    bool in_poller = false;
    poller.watch(s.reader(), [&] {
      reads += s.drain();
      in_poller = poller.in_polling_thread();
    });
    s.write('a');
    s.write('b');
    for (int i = 0; i < 10 && reads < 2; ++i)
      poller.run(-1);
    CHECK(reads == 2);
    CHECK(in_poller);
    CHECK(poller.in_polling_thread());
    // after unwatch nothing is read: the descriptor is the caller's again
    poller.unwatch(s.reader());
    s.write('c');
    poller.run(0);
    CHECK(reads == 2);
    CHECK(s.drain() == 1);
  }

  TEST_CASE("a run that waited runs every handler ready by then, not only the first") {
    io_poller poller;
    socket_pair a, b, c;
    int reads = 0;
    for (const auto* s : {&a, &b, &c})
      poller.watch(s->reader(), [&reads, s] { reads += s->drain(); });
    a.write('a');
    b.write('b');
    c.write('c');
    CHECK(poller.run(-1) == 3);
    CHECK(reads == 3);
    for (const auto* s : {&a, &b, &c})
      poller.unwatch(s->reader());
  }

  TEST_CASE("wake() from another thread ends a waiting run") {
    io_poller poller;
    std::thread waker{[&] {
      std::this_thread::sleep_for(20ms);
      poller.wake();
    }};
    auto t0 = std::chrono::steady_clock::now();
    CHECK(poller.run(-1) == 1); // the wake-up, nothing else
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    waker.join();
    // a wake() before the run is not lost
    poller.wake();
    CHECK(poller.run(-1) == 1);
  }

  TEST_CASE("unwatch outside the polling thread waits for a run of the handler under way") {
    io_poller poller;
    socket_pair s;
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};
    poller.watch(s.reader(), [&] {
      s.drain();
      started = true;
      std::this_thread::sleep_for(100ms);
      finished = true;
    });
    std::thread polling{[&] {
      for (int i = 0; i < 10 && !started; ++i)
        poller.run(-1);
    }};
    s.write('a');
    REQUIRE(eventually([&] { return started.load(); }, 5s));
    poller.unwatch(s.reader());
    CHECK(finished); // what the handler used may go now
    polling.join();
  }

  TEST_CASE("a handler may let its own descriptor go, and the others keep running") {
    io_poller poller;
    socket_pair once, always;
    int once_runs = 0;
    int always_reads = 0;
    poller.watch(once.reader(), [&] {
      ++once_runs;
      poller.unwatch(once.reader()); // leaves its data unread
    });
    poller.watch(always.reader(), [&] { always_reads += always.drain(); });
    once.write('a');
    always.write('b');
    for (int i = 0; i < 10 && (once_runs == 0 || always_reads == 0); ++i)
      poller.run(-1);
    always.write('c');
    for (int i = 0; i < 10 && always_reads < 2; ++i)
      poller.run(-1);
    poller.run(0);
    CHECK(once_runs == 1);
    CHECK(always_reads == 2);
    CHECK(once.drain() == 1);
  }

  TEST_CASE("Asio work posted to the context runs in the polling thread") {
    io_poller poller;
    bool ran = false;
    asio::post(poller.context(), [&] { ran = poller.in_polling_thread(); });
    CHECK(poller.run(-1) == 1);
    CHECK(ran);
    CHECK(poller.run(0) == 0);
  }
}
