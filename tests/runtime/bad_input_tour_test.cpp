// The bad-input tour: every public entry point of a running cluster fed its
// bad inputs in turn — API calls, client frames, raw datagrams, a flood of
// silent connections, config files — each answered with its own clear
// error while the nodes go on serving everyone else.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "dm/client.hpp"
#include "dm/client_gateway.hpp"
#include "runtime/command.hpp"
#include "runtime/config.hpp"
#include "runtime/config_error.hpp"
#include "runtime/dm.hpp"
#include "runtime/handlers.hpp"
#include "runtime/store.hpp"
#include "support/command.hpp"
#include "support/gateway_wire.hpp"
#include "support/node_cluster.hpp"
#include "support/store_calls.hpp"
#include "support/temp_dir.hpp"
#include "support/test_system.hpp"

using namespace std::chrono_literals;
using namespace meshrt;
using namespace meshrt::test;

namespace {

struct echo_request {
  std::string text;
  MSGPACK_DEFINE(text);
};

struct echo_response {
  std::string text;
  MSGPACK_DEFINE(text);
};

constexpr command<echo_request, echo_response> echo{100};
/// The same id with a payload of another type: what a confused or hostile
/// peer sends.
constexpr command<uint64_t, echo_response> echo_number{100};

/// Sends one UDP datagram of `bytes` to 127.0.0.1:`port`.
void send_datagram(int fd, uint16_t port, const std::vector<uint8_t>& bytes) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
}

uint16_t port_of(const std::string& mesh_address) {
  return static_cast<uint16_t>(std::stoi(mesh_address.substr(mesh_address.rfind(':') + 1)));
}

/// Opens up to `count` TCP connections to 127.0.0.1:`port` that never say
/// a word; their descriptors.
std::vector<int> silent_connections(uint16_t port, size_t count) {
  std::vector<int> fds;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (fds.size() < count && std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      break;
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      continue;
    }
    fds.push_back(fd);
  }
  return fds;
}

} // namespace

TEST_SUITE("tour.bad_input") {

  TEST_CASE("every entry point refuses its bad input clearly and the nodes serve on") {
    caf::actor_system sys{test_system_config()};
    node_cluster c{sys, 51500};
    c.start_mars();
    auto& self = c.self();
    // Two storage nodes on a ring of 3 slots, a third node that serves
    // clients (its gateway at most 1,000 connections, 2 s to log in).
    dm_config storage_dm;
    storage_dm.storage_ring_size = 3;
    auto a = c.start_node("HTTP", storage_dm);
    auto b = c.start_node("HTTP", storage_dm);
    auto dm = storage_dm;
    dm.gateway.port = 51540;
    dm.gateway.max_connections = 1000;
    dm.gateway.login_timeout = 2s;
    auto g = c.start_node("UDP", dm);
    REQUIRE(store_rings_hold(self, {a, b, g}, 2));
    auto addr_b = c.address_of(b.actor());
    handle(
      self, b, echo.id,
      spawn_command_handler(
        sys, echo, [](const echo_request& r, const std::string&) { return echo_response{r.text}; }))
      .receive([] {}, [](caf::error& e) { FAIL(to_string(e)); });
    auto port = g.client_port();
    dm_client ann;
    dm_client bob;
    REQUIRE(!ann.open("127.0.0.1", port, "ann"));
    REQUIRE(!bob.open("127.0.0.1", port, "bob"));
    int round = 0;
    // The cluster serves: an RPC, a store write and read, a DM between
    // clients of the gateway.
    auto serving = [&] {
      auto text = "round " + std::to_string(++round);
      std::string echoed;
      request(self, a, echo, addr_b, echo_request{text}, 3s)
        .receive([&](echo_response& r) { echoed = r.text; }, [](caf::error&) {});
      bool stored = !store_calls::set(self, a, "tour", text)
                    && store_calls::get(self, b, "tour").value == std::optional{text};
      bool dm_ok = !ann.send("bob", 1, 1, text);
      auto got = dm_ok ? bob.receive(3s) : std::nullopt;
      CHECK_MESSAGE(echoed == text, "RPC in " << text);
      CHECK_MESSAGE(stored, "store in " << text);
      CHECK_MESSAGE((got && got->message == text), "DM in " << text);
      return echoed == text && stored && got && got->message == text;
    };
    REQUIRE(serving());

    SUBCASE("mesh requests: oversized, unknown command, wrong payload type, bad address") {
      caf::error err;
      send_rpc(self, a, echo.id, addr_b, byte_buffer(10 * 1024 * 1024 + 1))
        .receive([](byte_buffer&) {}, [&](caf::error& e) { err = e; });
      CHECK_MESSAGE(is(err, mesh_errc::message_too_large), to_string(err));
      send_rpc(self, a, 4242, addr_b, byte_buffer{1, 2, 3})
        .receive([](byte_buffer&) {}, [&](caf::error& e) { err = e; });
      CHECK_MESSAGE(is(err, mesh_errc::no_handler), to_string(err));
      request(self, a, echo_number, addr_b, uint64_t{7}, 3s)
        .receive([](echo_response&) {}, [&](caf::error& e) { err = e; });
      CHECK_MESSAGE(is(err, mesh_errc::invalid_data), to_string(err));
      send_rpc(self, a, echo.id, "nowhere", byte_buffer{})
        .receive([](byte_buffer&) {}, [&](caf::error& e) { err = e; });
      CHECK_MESSAGE(is(err, mesh_errc::invalid_address), to_string(err));
      CHECK(serving());
    }

    SUBCASE("shared data and store keys over their limits") {
      caf::error err;
      set_shared_data(self, a, std::string(55, 'k'), int16_t{1})
        .receive([] {}, [&](caf::error& e) { err = e; });
      CHECK_MESSAGE(is(err, mesh_errc::invalid_argument), to_string(err));
      err = {};
      set_shared_data(self, a, std::string(54, 'k'), int16_t{1})
        .receive([] {}, [&](caf::error& e) { err = e; });
      CHECK_MESSAGE(!err, to_string(err));
      CHECK(is(store_calls::set(self, a, std::string(257, 'k'), "v"), store_errc::key_too_long));
      CHECK(is(store_calls::set(self, a, "", "v"), store_errc::key_too_long));
      CHECK(
        is(store_calls::get(self, a, std::string(100000, 'k')).error, store_errc::key_too_long));
      CHECK(is(store_calls::set(self, a, "big", std::string(64 * 1024 + 1, 'v')),
               store_errc::value_too_large));
      CHECK(serving());
    }

    SUBCASE("a ring smaller than the storage nodes refuses the newcomer, keeps its own") {
      auto extra = c.start_node("HTTP", storage_dm);
      // Three storage nodes do not fit a ring of 3 slots: the ring stays on
      // the two it had (the newcomer takes no slots), and the newcomer's
      // own store calls fail with a clear error instead of guessing.
      CHECK(eventually([&] {
        auto st = store_calls::stats(self, extra);
        return st["ring_nodes"] == 0 && store_calls::stats(self, a)["ring_nodes"] == 2;
      }));
      auto err = store_calls::set(self, extra, "tour", "from the newcomer");
      CHECK_MESSAGE(is(err, store_errc::ring_too_small), to_string(err));
      CHECK(store_calls::stats(self, a)["ring_nodes"] == 2);
      CHECK(serving());
    }

    SUBCASE("user ids empty or huge, in the API and at the gateway") {
      caf::error err;
      // (spawned with an argument: CAF 0.17 binds a null reference for a
      // function of none, which UBSan reports)
      auto inbox = sys.spawn(
        [](caf::event_based_actor*, int) -> caf::behavior { return {[](caf::message&) {}}; }, 0);
      for (const auto& uid : {std::string{}, std::string(257, 'u'), std::string(1 << 20, 'u')}) {
        dm_connect(self, g, uid, inbox)
          .receive([](caf::actor&) { FAIL("a bad user id logged in"); },
                   [&](caf::error& e) { err = e; });
        CHECK_MESSAGE(is(err, dm_errc::bad_user_id), to_string(err));
      }
      anon_send_exit(inbox, caf::exit_reason::user_shutdown);
      auto to_huge = ann.send(std::string(257, 'u'), 1, 1, "hello?");
      CHECK(to_huge);
      CHECK(to_huge.text.find("user_not_found") != std::string::npos);
      bool closed = false;
      auto f = raw_exchange(port, frame_bytes(client_cmd::login, ""), closed);
      REQUIRE(f);
      CHECK(f->code == static_cast<uint8_t>(gateway_errc::bad_user_id));
      CHECK(closed);
      CHECK(serving());
    }

    SUBCASE("client frames: malformed, truncated, oversized, unknown, and silence") {
      struct bad_frame {
        byte_buffer bytes;
        gateway_errc expected;
      };
      std::vector<bad_frame> frames;
      auto unknown = frame_bytes(client_cmd::login, "x");
      unknown[5] = 200;
      frames.push_back({unknown, gateway_errc::unknown_command});
      auto overrun = frame_bytes(client_cmd::login, "abc");
      overrun[8] = 50; // the id's length runs past the frame
      frames.push_back({overrun, gateway_errc::malformed});
      frames.push_back({byte_buffer{0, 0, 0x20, 0, 1, 2, 0, 0}, gateway_errc::frame_too_large});
      frames.push_back({byte_buffer{}, gateway_errc::login_timeout}); // connects, says nothing
      // Half a frame, then nothing: the login timeout ends it.
      auto half = frame_bytes(client_cmd::login, "dan");
      half.resize(half.size() / 2);
      frames.push_back({half, gateway_errc::login_timeout});
      for (const auto& bf : frames) {
        CAPTURE(to_string(bf.expected));
        bool closed = false;
        auto f = raw_exchange(port, bf.bytes, closed, 4000);
        REQUIRE(f);
        CHECK(f->cmd == client_cmd::error);
        CHECK(f->code == static_cast<uint8_t>(bf.expected));
        CHECK(!f->user.empty());
        CHECK(closed);
      }
      CHECK(serving());
    }

    SUBCASE("10,000 connections that never say a word lock no user out") {
      // The test holds the clients' ends; the gateway at most 1,000 more.
      auto files = raise_open_files_limit();
      if (files < 12000) {
        MESSAGE("skipped: the open-files limit is " << files << ", 10,000 connections need 12,000");
        return;
      }
      auto fds = silent_connections(port, 10000);
      CHECK(fds.size() == 10000);
      // Whoever comes next still logs in, and the users already in stay.
      dm_client cat;
      REQUIRE(!cat.open("127.0.0.1", port, "cat"));
      CHECK(!cat.send("ann", 1, 1, "made it"));
      auto got = ann.receive(3s);
      REQUIRE(got);
      CHECK(got->message == "made it");
      CHECK(serving());
      nlohmann::json stats;
      self->request(g.gateway(), 3s, gateway_stats_atom::value)
        .receive([&](std::string& s) { stats = nlohmann::json::parse(s); },
                 [](caf::error& e) { FAIL(to_string(e)); });
      CHECK(stats["open"].get<int>() <= 1000);
      CHECK(stats["closed"]["too_many_connections"].get<int>() >= 9000);
      for (auto fd : fds)
        ::close(fd);
    }

    SUBCASE("garbage datagrams at a node and at MARS") {
      int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
      REQUIRE(fd >= 0);
      std::mt19937 rng{7};
      for (int i = 0; i < 2000; ++i) {
        std::vector<uint8_t> junk(1 + rng() % 1400);
        for (auto& x : junk)
          x = static_cast<uint8_t>(rng());
        send_datagram(fd, port_of(addr_b), junk);
        send_datagram(fd, c.mars_port(), junk);
      }
      ::close(fd);
      CHECK(serving());
      // MARS still answers: a new node joins and is seen.
      auto late = c.start_node("UDP");
      CHECK(eventually([&] {
        std::vector<std::string> seen;
        node_addresses(self, a).receive([&](std::vector<std::string>& xs) { seen = xs; },
                                        [](caf::error&) {});
        return seen.size() == 4;
      }));
    }

    SUBCASE("a truncated config file is one clear error, at load and at the CLI") {
      temp_dir dir;
      auto whole = R"({"address": "127.0.0.1", "port": 9000, "marsPort": 6789})";
      auto path = dir.write("cut.json", std::string{whole}.substr(0, 30));
      try {
        load_config(path);
        FAIL("a truncated config loaded");
      } catch (const config_error& e) {
        std::string what = e.what();
        CHECK(what.find("cut.json") != std::string::npos);
        CHECK(what.find('\n') == std::string::npos);
      }
      auto r = run_command("timeout 10 " + std::string{MESHRT_CLI} + " node --config " + path);
      CHECK(r.exit_code == 2); // refused at once, not hanging (124)
      CHECK(r.err.find("meshrt: config error: " + path + ": invalid JSON") == 0);
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
      CHECK(serving());
    }
  }
}
