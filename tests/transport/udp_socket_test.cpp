#include "transport/udp_socket.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

#include <doctest/doctest.h>

#include "transport/wire.hpp"

using namespace meshrt::transport;

namespace {

/// Packets of the given sizes, each filled with bytes that name its index
/// and position, so that a swapped, cut or merged datagram shows.
std::vector<std::vector<uint8_t>> packets_of(const std::vector<size_t>& sizes) {
  std::vector<std::vector<uint8_t>> result;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::vector<uint8_t> p(sizes[i]);
    for (size_t j = 0; j < p.size(); ++j)
      p[j] = static_cast<uint8_t>(i * 7 + j);
    result.push_back(std::move(p));
  }
  return result;
}

size_t send_all(udp_socket& from, const endpoint& to,
                const std::vector<std::vector<uint8_t>>& packets) {
  std::vector<const uint8_t*> ptrs;
  std::vector<size_t> sizes;
  for (const auto& p : packets) {
    ptrs.push_back(p.data());
    sizes.push_back(p.size());
  }
  return from.send_batch(to, ptrs.data(), sizes.data(), packets.size());
}

/// Receives until `count` datagrams arrived or two seconds passed.
std::vector<std::vector<uint8_t>> receive(udp_socket& sock, size_t count) {
  std::vector<std::vector<uint8_t>> result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{2};
  while (result.size() < count && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{sock.fd(), POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0)
      continue;
    for (const auto& dg : sock.receive_batch())
      result.emplace_back(dg.data, dg.data + dg.size);
  }
  return result;
}

/// An address where nothing is bound: a port bound a moment and closed
/// again (scanning from where the tests' other sockets start, after them).
endpoint closed_port() {
  auto b = udp_socket::bind_scan("127.0.0.1", 48100);
  return b.local();
}

void check_round_trip(bool trains, const std::vector<size_t>& sizes) {
  auto a = udp_socket::bind_scan("127.0.0.1", 48100);
  auto b = udp_socket::bind_scan("127.0.0.1", 48100);
  if (!trains)
    a.disable_segmentation();
  auto packets = packets_of(sizes);
  REQUIRE(send_all(a, b.local(), packets) == packets.size());
  auto got = receive(b, packets.size());
  REQUIRE(got.size() == packets.size());
  for (size_t i = 0; i < packets.size(); ++i) {
    INFO("datagram " << i);
    CHECK(got[i] == packets[i]);
  }
}

} // namespace

TEST_SUITE("transport.udp_socket") {

  TEST_CASE("this kernel takes and delivers trains of datagrams") {
    auto sock = udp_socket::bind_scan("127.0.0.1", 48100);
    CHECK(sock.sends_trains());
    CHECK(sock.receives_trains());
    sock.disable_segmentation();
    CHECK_FALSE(sock.sends_trains());
  }

  TEST_CASE("packets of mixed sizes arrive as the same datagrams, in order") {
    // Runs of one size with a shorter last packet, a longer packet after a
    // shorter one, single packets, and runs longer than one train.
    std::vector<size_t> sizes
      = {1400, 1400, 1400, 900, 1400, 1400, 200, 1300, 1300, 1324, 1324, 64, 1, 1, 1, 1400};
    for (int i = 0; i < 150; ++i)
      sizes.push_back(1324);
    for (int i = 0; i < 200; ++i)
      sizes.push_back(100);
    sizes.push_back(1339);
    SUBCASE("as trains") {
      check_round_trip(true, sizes);
    }
    SUBCASE("one by one") {
      check_round_trip(false, sizes);
    }
  }

  TEST_CASE("a train that fills the largest UDP payload still arrives as one train") {
    // 50 x 1,310 bytes (a sealed packet of 64-byte messages) is 65,500
    // bytes of payload: under the UDP limit, but with its headers a frame of
    // 64 KiB, which loopback will not offload; it would be cut in software
    // and come up as 50 datagrams. 45 x 1,432 (full sealed packets) and
    // 46 x 1,400 (full plain ones) are the common trains, 50 x 1,300 one
    // just under the limit.
    for (size_t size : {size_t{1310}, size_t{1432}, size_t{1400}, size_t{1300}}) {
      INFO("packets of " << size << " bytes");
      auto a = udp_socket::bind_scan("127.0.0.1", 48100);
      auto b = udp_socket::bind_scan("127.0.0.1", 48100);
      REQUIRE(a.sends_trains());
      REQUIRE(b.receives_trains());
      auto packets = packets_of(std::vector<size_t>(100, size));
      REQUIRE(send_all(a, b.local(), packets) == packets.size());
      auto got = receive(b, packets.size());
      REQUIRE(got.size() == packets.size());
      CHECK(got == packets);
      // 100 packets in trains of at most 64 segments and 64 KiB: 2 or 3.
      CHECK(b.buffers_received() <= 3);
    }
  }

  TEST_CASE("an oversized datagram arrives whole, too long for the decoder") {
    auto b = udp_socket::bind_scan("127.0.0.1", 48100);
    int raw = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(raw >= 0);
    sockaddr_in to{};
    b.local().to_sockaddr(to);
    std::vector<uint8_t> big(5000, 0x42);
    REQUIRE(sendto(raw, big.data(), big.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to))
            == static_cast<ssize_t>(big.size()));
    uint8_t small[10] = {1};
    REQUIRE(sendto(raw, small, sizeof(small), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to))
            == static_cast<ssize_t>(sizeof(small)));
    close(raw);
    auto got = receive(b, 2);
    REQUIRE(got.size() == 2);
    CHECK(got[0].size() > max_packet_size);
    CHECK(got[1].size() == sizeof(small));
  }

  TEST_CASE("a datagram to a closed port is reported unreachable, and what arrived is kept") {
    auto a = udp_socket::bind_scan("127.0.0.1", 48100);
    auto c = udp_socket::bind_scan("127.0.0.1", 48100);
    auto gone = closed_port();
    // c's datagram waits at a; then a's datagram to the closed port
    // bounces, and the kernel's report of it comes before c's datagram
    auto hello = packets_of({20});
    REQUIRE(send_all(c, a.local(), hello) == 1);
    REQUIRE(send_all(a, gone, packets_of({10})) == 1);
    auto got = receive(a, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0] == hello[0]);
    CHECK(a.take_unreachable() == std::vector<endpoint>{gone});
    CHECK(a.take_unreachable().empty()); // each report once
    // a live port reports nothing
    REQUIRE(send_all(a, c.local(), packets_of({10})) == 1);
    CHECK(receive(c, 1).size() == 1);
    CHECK(c.take_unreachable().empty());
    CHECK_FALSE(a.has_unreachable());
  }

  TEST_CASE("a report of a closed port fails no send to another destination") {
    // The kernel leaves the report's error on the socket, where the next
    // send call, to anyone, meets it once.
    auto a = udp_socket::bind_scan("127.0.0.1", 48100);
    auto c = udp_socket::bind_scan("127.0.0.1", 48100);
    auto gone = closed_port();
    REQUIRE(send_all(a, gone, packets_of({10})) == 1);
    auto after = packets_of({30, 30, 12});
    CHECK(send_all(a, c.local(), after) == after.size());
    CHECK(receive(c, after.size()) == after);
    // the report itself is still read: at the latest when a finds nothing
    a.receive_batch();
    CHECK(a.take_unreachable() == std::vector<endpoint>{gone});
  }
}
