// Live transports on real loopback sockets, driven through their actors.

#include "transport/transport_actor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "actors/mesh_error.hpp"
#include "support/eventually.hpp"
#include "support/test_key.hpp"
#include "support/test_system.hpp"
#include "support/threads.hpp"
#include "support/transport_port.hpp"
#include "transport/atoms.hpp"
#include "transport/udp_socket.hpp"

using namespace meshrt;
using namespace meshrt::transport;
using namespace std::chrono_literals;

namespace {

byte_buffer numbered(uint32_t i, size_t size) {
  byte_buffer b(std::max<size_t>(size, 4), static_cast<uint8_t>(i));
  std::memcpy(b.data(), &i, 4);
  return b;
}

uint32_t number_of(const byte_buffer& b) {
  uint32_t i = 0;
  std::memcpy(&i, b.data(), 4);
  return i;
}

/// Two transports on loopback, each delivering to its own scoped actor.
struct pair_fixture {
  caf::actor_system sys{test::test_system_config()};
  caf::scoped_actor at_a{sys};
  caf::scoped_actor at_b{sys};
  caf::actor a;
  caf::actor b;
  uint16_t port_a = 0;
  uint16_t port_b = 0;

  /// `first_port`: where binding starts. A test that binds a port again
  /// after closing it takes a range of its own, where no other test's
  /// transports scan into the moment it is free.
  explicit pair_fixture(transport_config cfg = {}, fault_options faults_b = {},
                        uint16_t first_port = 43100) {
    cfg.port = first_port;
    a = spawn_transport(sys, cfg, at_a);
    cfg.faults = faults_b;
    b = spawn_transport(sys, cfg, at_b);
    port_a = test::transport_port(at_a, a);
    port_b = test::transport_port(at_a, b);
  }

  ~pair_fixture() {
    at_a->send_exit(a, caf::exit_reason::user_shutdown);
    at_a->send_exit(b, caf::exit_reason::user_shutdown);
  }

  std::string addr_a() const {
    return "127.0.0.1:" + std::to_string(port_a);
  }

  std::string addr_b() const {
    return "127.0.0.1:" + std::to_string(port_b);
  }

  caf::actor link_a_to_b() {
    caf::actor link;
    at_a->request(a, 5s, peer_atom::value, addr_b())
      .receive([&](caf::actor& l) { link = l; }, [&](caf::error&) {});
    return link;
  }

  nlohmann::json stats(const caf::actor& t) {
    nlohmann::json out;
    at_a->request(t, 5s, stats_atom::value)
      .receive([&](const std::string& s) { out = nlohmann::json::parse(s); }, [&](caf::error&) {});
    return out;
  }

  /// Receives `n` messages at B within `limit`; checks order and content.
  size_t receive_in_order(uint32_t n, std::chrono::seconds limit, size_t size = 0) {
    uint32_t expected = 0;
    bool timed_out = false;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (expected < n && !timed_out) {
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= 0s)
        break;
      at_b->receive(
        [&](received_atom, const std::string&, const packed_messages& packed_batch, bool reliable) {
          auto batch = packed_batch.unpack();
          REQUIRE(reliable);
          for (const auto& data : batch) {
            REQUIRE(number_of(data) == expected);
            if (size > 0)
              REQUIRE(data == numbered(expected, size));
            ++expected;
          }
        },
        caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(left)) >>
          [&] { timed_out = true; });
    }
    return expected;
  }
};

int raw_socket() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  return fd;
}

void raw_send(int fd, uint16_t port, const void* data, size_t size) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sendto(fd, data, size, 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
}

} // namespace

TEST_SUITE("transport.live") {

  TEST_CASE("binding scans upward to the first free port") {
    auto first = udp_socket::bind_scan("127.0.0.1", 43200);
    auto second = udp_socket::bind_scan("127.0.0.1", first.local().port);
    CHECK(second.local().port > first.local().port);
    CHECK(first.local().to_string() == "127.0.0.1:" + std::to_string(first.local().port));
    CHECK_THROWS_WITH_AS(udp_socket::bind_scan("not-an-ip", 43200),
                         "cannot bind mesh socket: 'not-an-ip' is not an IPv4 address",
                         std::runtime_error);
    CHECK_THROWS_AS(udp_socket::bind_scan("192.0.2.1", 43200), std::runtime_error);
  }

  TEST_CASE("100,000 reliable messages through 20% drop, 5% duplication, 5% reorder") {
    transport_config cfg;
    cfg.faults = {20, 5, 5, 7};
    pair_fixture f{cfg, cfg.faults};
    auto link = f.link_a_to_b();
    REQUIRE(link);
    constexpr uint32_t n = 100'000;
    for (uint32_t i = 0; i < n; ++i)
      f.at_a->send(link, mesh_send_atom::value, numbered(i, 40), true);
    CHECK(f.receive_in_order(n, 60s, 40) == n);
    // Nothing more arrives: every message was delivered exactly once.
    bool extra = false;
    f.at_b->receive(
      [&](received_atom, const std::string&, const packed_messages&, bool) { extra = true; },
      [&](caf::message&) { extra = true; }, // anything at all is one too many
      caf::after(200ms) >> [] {});
    CHECK(!extra);
    auto s = f.stats(f.a)["peers"][f.addr_b()];
    MESSAGE("sender link: " << s.dump());
    CHECK(s["retransmits"].get<uint64_t>() > 0);
    CHECK(s["give_ups"].get<uint64_t>() == 0);
  }

  TEST_CASE("a 10 MB message through 10% drop") {
    transport_config cfg;
    cfg.faults = {10, 0, 0, 3};
    pair_fixture f{cfg, cfg.faults};
    auto big = numbered(0, max_message_size);
    for (size_t i = 4; i < big.size(); ++i)
      big[i] = static_cast<uint8_t>(i * 7);
    f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), big, true);
    bool got = false;
    f.at_b->receive(
      [&](received_atom, const std::string& from, const packed_messages& packed_batch, bool) {
        auto batch = packed_batch.unpack();
        got = true;
        CHECK(from == f.addr_a());
        REQUIRE(batch.size() == 1);
        CHECK(batch[0] == big);
      },
      caf::after(30s) >> [] {});
    CHECK(got);
  }

  TEST_CASE("with a cluster key 20,000 messages through 10% drop and duplication arrive once") {
    transport_config cfg;
    cfg.cluster_key = test::test_key(3);
    cfg.faults = {10, 5, 5, 11};
    pair_fixture f{cfg, cfg.faults};
    auto link = f.link_a_to_b();
    REQUIRE(link);
    constexpr uint32_t n = 20'000;
    for (uint32_t i = 0; i < n; ++i)
      f.at_a->send(link, mesh_send_atom::value, numbered(i, 40 + (i % 3000)), true);
    CHECK(f.receive_in_order(n, 60s) == n);
    auto auth = f.stats(f.b)["auth"];
    MESSAGE("receiver's guard: " << auth.dump());
    CHECK(auth["keyed"] == true);
    for (const auto& [why, count] : auth["dropped"].items())
      CHECK_MESSAGE(count == 0, why);
  }

  TEST_CASE("transports with another cluster key or none do not hear each other") {
    caf::actor_system sys{test::test_system_config()};
    caf::scoped_actor self{sys};
    auto start = [&](std::optional<uint8_t> key) {
      transport_config cfg;
      cfg.port = 47150;
      cfg.session.retry_timeout_us = 500'000;
      if (key)
        cfg.cluster_key = test::test_key(*key);
      return spawn_transport(sys, cfg, self);
    };
    auto keyed = start(1);
    auto other = start(2);
    auto open = start(std::nullopt);
    auto addr = [&](const caf::actor& t) {
      return "127.0.0.1:" + std::to_string(test::transport_port(self, t));
    };
    auto stats = [&](const caf::actor& t) {
      nlohmann::json out;
      self->request(t, 5s, stats_atom::value)
        .receive([&](const std::string& s) { out = nlohmann::json::parse(s); }, [](caf::error&) {});
      return out["auth"];
    };
    // each send fails for want of an acknowledgement; nothing is delivered
    for (const auto& [from, to] :
         {std::pair{other, keyed}, std::pair{open, keyed}, std::pair{keyed, open}}) {
      self->send(from, mesh_send_atom::value, addr(to), numbered(1, 10), true);
      bool failed = false;
      bool delivered = false;
      for (int i = 0; i < 2 && !failed; ++i)
        self->receive(
          [&](send_failed_atom, const std::string&, const caf::error&) { failed = true; },
          [&](received_atom, const std::string&, const packed_messages&, bool) {
            delivered = true;
          },
          caf::after(3s) >> [] {});
      CHECK(failed);
      CHECK_FALSE(delivered);
    }
    CHECK(stats(keyed)["dropped"]["bad_mac"] > 0);
    CHECK(stats(keyed)["dropped"]["unauthenticated"] > 0);
    CHECK(stats(open)["dropped"]["unexpected_mac"] > 0);
    // the keyed side told the others why: they count its refusals
    CHECK(stats(other)["dropped"]["refused_by_peer"] > 0);
    CHECK(stats(open)["dropped"]["refused_by_peer"] > 0);
    CHECK(stats(open)["keyed"] == false);
    for (const auto& t : {keyed, other, open})
      self->send_exit(t, caf::exit_reason::user_shutdown);
  }

  TEST_CASE("a cluster key needs a specific bind address") {
    caf::actor_system sys{test::test_system_config()};
    caf::scoped_actor self{sys};
    transport_config cfg;
    cfg.address = "0.0.0.0";
    cfg.cluster_key = secret_key{};
    CHECK_THROWS_WITH_AS(spawn_transport(sys, cfg, self),
                         "a cluster key needs a specific bind address, not 0.0.0.0",
                         std::runtime_error);
  }

  TEST_CASE("a storm of malformed datagrams does not disturb a real exchange") {
    pair_fixture f;
    auto link = f.link_a_to_b();
    int fd = raw_socket();
    std::mt19937 rng{99};
    constexpr uint32_t n = 3000;
    size_t garbage = 0;
    for (uint32_t i = 0; i < n; ++i) {
      f.at_a->send(link, mesh_send_atom::value, numbered(i, 200), true);
      // Between real messages: random bytes, a truncated header, a valid
      // header announcing huge segments, an oversized datagram.
      std::vector<uint8_t> junk(1 + rng() % 1500);
      for (auto& x : junk)
        x = static_cast<uint8_t>(rng());
      switch (i % 4) {
        case 0:
          break;
        case 1:
          junk.assign({0xA7, 1, 0, 0, 1, 2});
          break;
        case 2:
          junk.assign(24, 0);
          junk[0] = 0xA7;
          junk[1] = 1;
          junk[16] = 1;    // reliable segment
          junk[18] = 0xFF; // of 65535 bytes
          junk[19] = 0xFF;
          break;
        case 3:
          junk.resize(4000, 0xA7);
          break;
      }
      raw_send(fd, f.port_b, junk.data(), junk.size());
      ++garbage;
    }
    CHECK(f.receive_in_order(n, 30s, 200) == n);
    sockaddr_in me{};
    socklen_t len = sizeof(me);
    getsockname(fd, reinterpret_cast<sockaddr*>(&me), &len);
    auto junk_peer = "127.0.0.1:" + std::to_string(ntohs(me.sin_port));
    auto s = f.stats(f.b);
    MESSAGE("receiver: " << s.dump());
    auto rejected = s["peers"][junk_peer]["rejected"].get<uint64_t>();
    CHECK(rejected >= garbage * 9 / 10); // random bytes rarely parse, the rest never
    CHECK(s["peers"][f.addr_a()]["rejected"].get<uint64_t>() == 0);
    close(fd);
  }

  TEST_CASE("a batch send arrives whole and in order") {
    pair_fixture f;
    std::vector<byte_buffer> batch;
    for (uint32_t i = 0; i < 500; ++i)
      batch.push_back(numbered(i, 64));
    f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), batch, true);
    CHECK(f.receive_in_order(500, 10s, 64) == 500);
  }

  TEST_CASE("packed messages arrive whole and in order, large ones in a buffer of their own") {
    pair_fixture f;
    // Small ones share bundles, a split one and a mid-sized one go on their
    // own: all of them come out as the messages they were.
    std::vector<size_t> sizes_of;
    for (uint32_t i = 0; i < 2000; ++i)
      sizes_of.push_back(i == 700 ? 5000 : i == 701 ? 600 : 64);
    packed_messages out;
    for (uint32_t i = 0; i < sizes_of.size(); ++i)
      out.add(numbered(i, sizes_of[i]));
    CHECK(out.size() == sizes_of.size());
    f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), out, true);
    uint32_t expected = 0;
    bool late = false;
    size_t deliveries = 0;
    while (expected < sizes_of.size() && !late)
      f.at_b->receive(
        [&](received_atom, const std::string&, const packed_messages& batch, bool) {
          ++deliveries;
          for (auto data : batch.views()) {
            if (data.size() == 5000)
              CHECK(batch.size() == 1); // the split message, reassembled, alone
            REQUIRE(data.to_buffer() == numbered(expected, sizes_of[expected]));
            ++expected;
          }
        },
        caf::after(5s) >> [&] { late = true; });
    CHECK(expected == sizes_of.size());
    CHECK(deliveries < sizes_of.size() / 10); // many messages per delivery
    bool extra = false;
    f.at_b->receive([&](caf::message&) { extra = true; }, caf::after(200ms) >> [] {});
    CHECK(!extra);
  }

  TEST_CASE("trains can be turned off, and the exchange is the same") {
    transport_config cfg;
    cfg.trains = false;
    pair_fixture f{cfg};
    CHECK(f.stats(f.a)["trains"] == false);
    f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), numbered(7, 1'000'000), true);
    bool got = false;
    f.at_b->receive(
      [&](received_atom, const std::string&, const packed_messages& batch, bool) {
        REQUIRE(batch.size() == 1);
        got = (*batch.views().begin()).to_buffer() == numbered(7, 1'000'000);
      },
      caf::after(10s) >> [] {});
    CHECK(got);
    pair_fixture with_trains;
    CHECK(with_trains.stats(with_trains.a)["trains"] == true);
  }

  TEST_CASE("unreliable messages arrive") {
    pair_fixture f;
    for (uint32_t i = 0; i < 10; ++i)
      f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), numbered(i, 3000), false);
    size_t got = 0;
    bool late = false;
    while (got < 10 && !late)
      f.at_b->receive(
        [&](received_atom, const std::string&, const packed_messages& packed_batch, bool reliable) {
          auto batch = packed_batch.unpack();
          CHECK(!reliable);
          for (const auto& data : batch) {
            CHECK(data.size() == 3000);
            ++got;
          }
        },
        caf::after(5s) >> [&] { late = true; });
    CHECK(got == 10);
  }

  TEST_CASE("a peer whose port closed is named to the receiver") {
    pair_fixture f;
    auto gone = f.addr_b();
    f.at_a->send_exit(f.b, caf::exit_reason::kill);
    f.at_a->wait_for(f.b);
    // Once b's socket is closed (its peer links let it go a moment after
    // the transport), a's datagrams to it bounce off the closed port.
    bool told = false;
    for (uint32_t i = 0; i < 50 && !told; ++i) {
      f.at_a->send(f.a, mesh_send_atom::value, gone, numbered(i, 10), false);
      f.at_a->receive([&](unreachable_atom, const std::string& peer) { told = peer == gone; },
                      caf::after(100ms) >> [] {});
    }
    CHECK(told);
    CHECK(f.stats(f.a)["unreachable"] >= 1);
  }

  TEST_CASE("what a peer gone with its port closed has not acknowledged fails at once") {
    transport_config cfg;
    cfg.session.retry_timeout_us = 30'000'000; // only the two signs together fail it
    pair_fixture f{cfg, {}, 52600};            // b's port, once free, is no one else's
    auto dead = f.addr_b();
    f.at_a->send_exit(f.b, caf::exit_reason::kill);
    f.at_a->wait_for(f.b);
    std::vector<std::string> failures;
    int bounces = 0;
    // What arrives at a's receiver within `d`.
    auto listen = [&](caf::timespan d) {
      auto until = std::chrono::steady_clock::now() + d;
      for (auto now = std::chrono::steady_clock::now(); now < until;
           now = std::chrono::steady_clock::now())
        f.at_a->receive([&](unreachable_atom, const std::string& peer) { bounces += peer == dead; },
                        [&](send_failed_atom, const std::string& peer, const caf::error& err) {
                          CHECK(peer == dead);
                          CHECK(is(err, mesh_errc::network_error));
                          failures.push_back(context_of(err));
                        },
                        caf::after(until - now) >> [] {});
    };
    // The port bounces, but the peer is not known to be gone: it waits.
    size_t sent = 0;
    for (uint32_t i = 0; i < 50 && bounces == 0; ++i, ++sent) {
      f.at_a->send(f.a, mesh_send_atom::value, dead, numbered(i, 10), true);
      listen(100ms);
    }
    REQUIRE(bounces > 0);
    listen(300ms);
    CHECK(failures.empty());
    // The cluster's view loses it: everything unacknowledged fails now.
    auto start = std::chrono::steady_clock::now();
    f.at_a->send(f.a, peer_gone_atom::value, dead, true);
    for (int i = 0; i < 20 && failures.size() < sent; ++i)
      listen(50ms);
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    REQUIRE(failures.size() == sent); // each message's sender told
    CHECK(failures[0].find(dead + " is gone: its port is closed") == 0);
    // Gone first, bounce after: a new message fails as soon as it bounces.
    f.at_a->send(f.a, mesh_send_atom::value, dead, numbered(100, 10), true);
    for (int i = 0; i < 20 && failures.size() < sent + 1; ++i)
      listen(50ms);
    CHECK(failures.size() == sent + 1);
    // Back in the view (a new process there, say): bounces alone wait again.
    f.at_a->send(f.a, peer_gone_atom::value, dead, false);
    f.at_a->send(f.a, mesh_send_atom::value, dead, numbered(101, 10), true);
    listen(500ms);
    CHECK(failures.size() == sent + 1);
    CHECK(f.stats(f.a)["peers"][dead]["abandoned"] == 2);
  }

  TEST_CASE("a send without acknowledgement fails with a network error naming the peer") {
    transport_config cfg;
    cfg.session.retry_interval_us = 50'000;
    cfg.session.retry_timeout_us = 300'000;
    pair_fixture f{cfg};
    int fd = raw_socket(); // bound, never answers
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
    socklen_t len = sizeof(sa);
    getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    auto silent = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
    auto start = std::chrono::steady_clock::now();
    f.at_a->send(f.a, mesh_send_atom::value, silent, numbered(1, 10), true);
    bool failed = false;
    f.at_a->receive(
      [&](send_failed_atom, const std::string& peer, const caf::error& err) {
        failed = true;
        CHECK(peer == silent);
        CHECK(is(err, mesh_errc::network_error));
        CHECK(context_of(err)
              == "no acknowledgement from " + silent + " within retryTimeout (300 ms)");
        CHECK(f.sys.render(err).rfind("meshrt.network_error: no acknowledgement", 0) == 0);
      },
      caf::after(5s) >> [] {});
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(failed);
    CHECK(elapsed >= 300ms);
    CHECK(elapsed < 1500ms);
    // Tagged sends: each failure names its message by the sender's tag, in
    // the order they were sent; an untagged one in between stays untagged.
    f.at_a->send(f.a, mesh_send_atom::value, silent, numbered(2, 10), true, uint64_t{41});
    f.at_a->send(f.a, mesh_send_atom::value, silent, numbered(3, 10), true);
    f.at_a->send(f.a, mesh_send_atom::value, silent, numbered(4, 10), true, uint64_t{42});
    std::vector<uint64_t> tags;
    int untagged = 0;
    for (int i = 0; i < 3; ++i)
      f.at_a->receive(
        [&](send_failed_atom, const std::string&, const caf::error& err, uint64_t tag) {
          CHECK(is(err, mesh_errc::network_error));
          tags.push_back(tag);
        },
        [&](send_failed_atom, const std::string&, const caf::error&) { ++untagged; },
        caf::after(5s) >> [] {});
    CHECK(tags == std::vector<uint64_t>{41, 42});
    CHECK(untagged == 1);
    // A packed batch fails once, however many messages it held.
    packed_messages batch;
    for (uint32_t i = 0; i < 30; ++i)
      batch.add(numbered(i, 10));
    f.at_a->send(f.a, mesh_send_atom::value, silent, batch, true);
    int batch_failures = 0;
    f.at_a->receive(
      [&](send_failed_atom, const std::string&, const caf::error& err) {
        CHECK(is(err, mesh_errc::network_error));
        ++batch_failures;
      },
      caf::after(5s) >> [] {});
    f.at_a->receive(
      [&](send_failed_atom, const std::string&, const caf::error&) { ++batch_failures; },
      caf::after(500ms) >> [] {});
    CHECK(batch_failures == 1);
    close(fd);
  }

  TEST_CASE("too large and badly addressed sends fail at once") {
    pair_fixture f;
    f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), byte_buffer(max_message_size + 1), true);
    f.at_a->receive(
      [&](send_failed_atom, const std::string& peer, const caf::error& err) {
        CHECK(peer == f.addr_b());
        CHECK(is(err, mesh_errc::message_too_large));
        CHECK(context_of(err)
              == "message of 10000001 bytes exceeds MaxMessageSize (10000000 bytes)");
      },
      caf::after(2s) >> [] { FAIL("no failure reported"); });
    f.at_a->send(f.a, mesh_send_atom::value, std::string{"localhost:80"}, byte_buffer(3), true);
    f.at_a->receive([&](send_failed_atom, const std::string&,
                        const caf::error& err) { CHECK(is(err, mesh_errc::invalid_address)); },
                    caf::after(2s) >> [] { FAIL("no failure reported"); });
    // The transport keeps working afterwards.
    f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), numbered(0, 10), true);
    CHECK(f.receive_in_order(1, 5s) == 1);
  }

  TEST_CASE("an idle peer link ends, and the next message to its peer starts a new one") {
    transport_config cfg;
    cfg.link_idle_timeout = 200ms;
    pair_fixture f{cfg};
    auto running = [&] { return f.sys.registry().running(); };
    f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), numbered(0, 10), true);
    REQUIRE(f.receive_in_order(1, 5s) == 1);
    // A sender that cached the link's handle, as a node's outbox does, and
    // keeps only a weak one.
    auto cached = f.link_a_to_b().address();
    REQUIRE(f.stats(f.a)["peers"].size() == 1);
    auto with_links = running();
    // Both ends' links go quiet, report, and are forgotten; nobody holds
    // them, so they end.
    REQUIRE(meshrt::test::eventually(
      [&] { return f.stats(f.a)["links_closed"] == 1 && f.stats(f.b)["links_closed"] == 1; }));
    CHECK(f.stats(f.a)["peers"].empty());
    CHECK(meshrt::test::eventually([&] { return running() == with_links - 2; }));
    CHECK_FALSE(caf::actor_cast<caf::actor>(cached));
    // The next messages start new links, in new epochs, and arrive in order.
    for (uint32_t i = 0; i < 100; ++i)
      f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), numbered(i, 10), true);
    CHECK(f.receive_in_order(100, 5s) == 100);
    CHECK(f.stats(f.a)["peers"].size() == 1);
  }

  TEST_CASE("a link that went idle still passes on what a holder of its handle sends") {
    transport_config cfg;
    cfg.link_idle_timeout = 200ms;
    pair_fixture f{cfg};
    f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), numbered(0, 10), true);
    REQUIRE(f.receive_in_order(1, 5s) == 1);
    auto held = f.link_a_to_b(); // a strong handle keeps it alive
    REQUIRE(meshrt::test::eventually([&] { return f.stats(f.a)["links_closed"] == 1; }));
    for (uint32_t i = 0; i < 50; ++i)
      f.at_a->send(held, mesh_send_atom::value, numbered(i, 10), true);
    CHECK(f.receive_in_order(50, 5s) == 50);
  }

  TEST_CASE("a process that comes back at the same address and speaks first gets nothing sent "
            "to the one before: that fails at the sender") {
    pair_fixture f{{}, {}, 52400};
    f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), numbered(0, 10), true);
    REQUIRE(f.receive_in_order(1, 5s) == 1);
    f.at_b->send(f.b, mesh_send_atom::value, f.addr_a(), numbered(0, 10), true); // A knows B
    f.at_a->receive([](received_atom, const std::string&, const packed_messages&, bool) {},
                    caf::after(5s) >> [] { FAIL("B's message did not arrive"); });
    // B's acks are lost: B gets message 1, A does not learn it. Then B's
    // process ends, and A's retransmissions are lost until B is back (so
    // that the new B speaks first).
    f.at_a->send(f.b, faults_atom::value, 100.0);
    // B's transport passes the setting on to its link; its stats come from
    // that link after it, so once they are here, B's acks are dropped (else
    // message 1's ack may go out first and nothing is left to fail).
    f.stats(f.b);
    f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), numbered(1, 10), true, uint64_t{7});
    f.at_b->receive([](received_atom, const std::string&, const packed_messages&, bool) {},
                    caf::after(5s) >> [] { FAIL("message 1 did not reach the old B"); });
    f.at_a->send(f.a, faults_atom::value, 100.0);
    f.stats(f.a); // as for B: A's link drops from here on
    f.at_a->monitor(f.b);
    f.at_a->send_exit(f.b, caf::exit_reason::kill);
    f.at_a->receive([](caf::down_msg&) {}, caf::after(5s) >> [] { FAIL("B did not end"); });
    // The new B, at B's port, speaks first.
    caf::scoped_actor at_new_b{f.sys};
    transport_config cfg;
    cfg.port = f.port_b;
    caf::actor new_b;
    REQUIRE(meshrt::test::eventually([&] { // until the old socket is closed
      if (new_b)
        at_new_b->send_exit(new_b, caf::exit_reason::user_shutdown);
      new_b = spawn_transport(f.sys, cfg, at_new_b);
      return test::transport_port(at_new_b, new_b) == f.port_b;
    }));
    at_new_b->send(new_b, mesh_send_atom::value, f.addr_a(), numbered(2, 10), true);
    // A hears it, and fails message 1 instead of handing it to the new B.
    bool heard = false, failed = false;
    for (int i = 0; i < 2; ++i)
      f.at_a->receive(
        [&](received_atom, const std::string&, const packed_messages& m, bool) {
          heard = number_of(m.unpack().at(0)) == 2;
        },
        [&](send_failed_atom, const std::string& peer, const caf::error& err, uint64_t tag) {
          failed = peer == f.addr_b() && tag == 7 && is(err, mesh_errc::network_error);
        },
        caf::after(5s) >> [] {});
    CHECK(heard);
    CHECK(failed);
    CHECK(f.stats(f.a)["peers"][f.addr_b()]["peer_restarts"] == 1);
    // What A sends now reaches the new B, and message 1 never does.
    f.at_a->send(f.a, faults_atom::value, 0.0);
    f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), numbered(3, 10), true);
    std::vector<uint32_t> got;
    auto collect = [&](received_atom, const std::string&, const packed_messages& m, bool) {
      for (const auto& data : m.unpack())
        got.push_back(number_of(data));
    };
    at_new_b->receive(
      collect, caf::after(5s) >> [] {});
    at_new_b->receive(
      collect, caf::after(300ms) >> [] {}); // anything else that comes
    CHECK(got == std::vector<uint32_t>{3});
    at_new_b->send_exit(new_b, caf::exit_reason::user_shutdown);
  }

  TEST_CASE("shutdown is quick and leaves nothing running") {
    auto threads_before = meshrt::test::thread_ids();
    uint16_t port = 0;
    {
      pair_fixture f;
      port = f.port_b;
      f.at_a->send(f.a, mesh_send_atom::value, f.addr_b(), numbered(0, 10), true);
      REQUIRE(f.receive_in_order(1, 5s) == 1);
      CHECK_FALSE(meshrt::test::threads_started_since(threads_before).empty());
      f.at_a->monitor(f.b);
      auto start = std::chrono::steady_clock::now();
      f.at_a->send_exit(f.b, caf::exit_reason::user_shutdown);
      bool down = false;
      f.at_a->receive([&](caf::down_msg&) { down = true; }, caf::after(1s) >> [] {});
      CHECK(down);
      CHECK(std::chrono::steady_clock::now() - start < 500ms);
    }
    // The actor system is gone: its threads and the transports' are too
    // (an ended thread may linger in /proc for a moment, longer under a
    // sanitizer or with both cores busy; a leaked one never goes), and the
    // port is free again.
    std::string left;
    CHECK_MESSAGE(meshrt::test::eventually(
                    [&] {
                      left = meshrt::test::threads_started_since(threads_before);
                      return left.empty();
                    },
                    10s),
                  "threads left: " << left);
    auto again = udp_socket::bind_scan("127.0.0.1", port, 1);
    CHECK(again.local().port == port);
  }

} // TEST_SUITE
