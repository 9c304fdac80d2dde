#include "dm/client_gateway.hpp"

#include <thread>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "dm/client.hpp"
#include "dm/dm_error.hpp"
#include "dm/dm_wire.hpp"
#include "runtime/dm.hpp"
#include "support/gateway_wire.hpp"
#include "support/hook_gate.hpp"
#include "support/node_cluster.hpp"
#include "support/test_key.hpp"
#include "support/test_system.hpp"
#include "transport/atoms.hpp"
#include "transport/packed_messages.hpp"

using namespace std::chrono_literals;
using namespace meshrt;
using meshrt::test::eventually;
using meshrt::test::frame_bytes;
using meshrt::test::io_system_config;
using meshrt::test::node_cluster;
using meshrt::test::raw_exchange;
using meshrt::test::test_system_config;

namespace {

/// MARS, two storage nodes, and two UDP nodes with client gateways.
struct gateway_cluster {
  caf::actor_system sys;
  node_cluster c;
  std::vector<node> storage;
  node udp1, udp2;

  gateway_cluster(uint16_t base_port, const client_gateway_config& gw,
                  caf::actor_system_config& cfg = test_system_config()) :
    sys(cfg),
    c(sys, base_port) {
    c.start_mars();
    for (int i = 0; i < 2; ++i)
      storage.push_back(c.start_node("HTTP"));
    dm_config dm;
    dm.gateway = gw;
    dm.gateway.port = static_cast<uint16_t>(base_port + 40);
    udp1 = c.start_node("UDP", dm);
    udp2 = c.start_node("UDP", dm);
    auto all = storage;
    all.push_back(udp1);
    all.push_back(udp2);
    REQUIRE(meshrt::test::store_rings_hold(c.self(), all, 2));
  }

  dm_client client(const node& n, const std::string& user) {
    dm_client cl;
    auto err = cl.connect("127.0.0.1", n.client_port());
    REQUIRE_MESSAGE(!err, err.text);
    err = cl.login(user);
    REQUIRE_MESSAGE(!err, err.text);
    return cl;
  }

  nlohmann::json stats(const node& n) {
    std::string text = "{}";
    c.self()
      ->request(n.gateway(), caf::infinite, gateway_stats_atom::value)
      .receive([&](std::string& s) { text = s; }, [](caf::error& e) { FAIL(to_string(e)); });
    return nlohmann::json::parse(text);
  }
};

/// Two users on two gateways: messages both ways, the error cases, a
/// ClearCache with a last message, and the disconnect message.
void exchange_through_two_gateways(caf::actor_system_config& cfg, uint16_t base_port) {
  gateway_cluster k{base_port, {}, cfg};
  // the node's public endpoint is where its clients connect
  node_record me;
  whoami(k.c.self(), k.udp1).receive([&](node_record& r) { me = r; }, [](caf::error&) {});
  CHECK(me.public_endpoint == "127.0.0.1:" + std::to_string(k.udp1.client_port()));
  set_on_user_disconnect(k.c.self(), k.udp1, [](const std::string& gone, const std::string&) {
    return byte_buffer{'b', 'y', 'e'};
  });
  auto ann = k.client(k.udp1, "ann");
  auto bob = k.client(k.udp2, "bob");
  REQUIRE(!ann.send("bob", 1, 7, "hello bob"));
  auto got = bob.receive(3s);
  REQUIRE(got);
  CHECK(got->what == client_event::kind::message);
  CHECK(got->from == "ann");
  CHECK(got->ver == 1);
  CHECK(got->cmd == 7);
  CHECK(got->message == "hello bob");
  REQUIRE(!bob.send("ann", 2, 8, "hello ann"));
  got = ann.receive(3s);
  REQUIRE(got);
  CHECK(got->message == "hello ann");
  // the error cases reach the client as values
  auto err = ann.send("nobody", 1, 7, "anyone?");
  CHECK(err.code == client_errc::not_delivered);
  CHECK(err.kind() == "user_not_found");
  err = ann.send("bob", 1, 7, "");
  CHECK(err.kind() == "message_nil");
  // ClearCache with a last message
  REQUIRE(!ann.clear("bob", 3, 9, "so long"));
  got = bob.receive(3s);
  REQUIRE(got);
  CHECK(got->message == "so long");
  CHECK(got->cmd == 9);
  // a dropped connection disconnects the user: bob hears the disconnect
  // message, and ann can no longer be reached
  REQUIRE(!ann.send("bob", 1, 7, "talk again"));
  REQUIRE(bob.receive(3s));
  ann.disconnect();
  got = bob.receive(3s);
  REQUIRE(got);
  CHECK(got->what == client_event::kind::peer_gone);
  CHECK(got->from == "ann");
  CHECK(got->message == "bye");
  REQUIRE(eventually([&] { return bob.send("ann", 1, 7, "ann?").kind() == "user_not_found"; }, 3s));
  auto s = k.stats(k.udp1);
  CHECK(s["logins"] == 1);
  CHECK(s["closed"]["client_closed"] == 1);
}

/// A client that reads nothing is cut off at clientSendQueueBytes; the
/// others go on.
void drop_a_client_that_does_not_read(caf::actor_system_config& cfg, uint16_t base_port) {
  client_gateway_config gw;
  gw.send_queue_bytes = 256 * 1024;
  gateway_cluster k{base_port, gw, cfg};
  auto slow = k.client(k.udp2, "slow");
  auto ann = k.client(k.udp1, "ann");
  auto bob = k.client(k.udp2, "bob");
  // 60 KB messages to a client that reads nothing: once the socket
  // buffers are full, the gateway holds them, up to 256 KB
  std::string big(60 * 1024, 'x');
  int sent = 0;
  for (; sent < 1000; ++sent)
    if (ann.send("slow", 1, 1, big) || k.stats(k.udp2)["closed"].contains("slow_client"))
      break;
  CHECK(sent < 1000);
  REQUIRE(eventually([&] { return k.stats(k.udp2)["closed"]["slow_client"] == 1; }, 5s));
  // the others go on
  REQUIRE(!ann.send("bob", 1, 1, "after"));
  auto got = bob.receive(3s);
  REQUIRE(got);
  CHECK(got->message == "after");
  // the slow client reads what its socket held, then finds it cut
  client_error err;
  for (int i = 0; i < 1000 && err.code != client_errc::closed; ++i)
    slow.receive(100ms, &err);
  CHECK(err.code == client_errc::closed);
}

/// Frames that wait for a client's socket keep their order with those
/// written at once.
void deliver_in_order_to_a_late_reader(caf::actor_system_config& cfg, uint16_t base_port) {
  // The DM service writes a frame itself while nothing waits for the
  // socket; once the socket is full the rest waits for the gateway's
  // thread, and later frames queue behind it: none may overtake another.
  client_gateway_config gw;
  gw.send_queue_bytes = 64 * 1024 * 1024; // never the limit here
  gateway_cluster k{base_port, gw, cfg};
  auto ann = k.client(k.udp1, "ann");
  auto late = k.client(k.udp2, "late");
  // 5.7 MB: more than the sockets take (here about 4 MB), so about a
  // third of the frames wait in the gateway
  constexpr int count = 700;
  for (int i = 0; i < count; ++i) {
    std::string text(8 * 1024, static_cast<char>('a' + i % 26));
    auto err = ann.send("late", 1, static_cast<uint16_t>(i), text);
    REQUIRE_MESSAGE(!err, err.text);
  }
  int next = 0;
  for (int tries = 0; next < count && tries < 2 * count; ++tries) {
    auto e = late.receive(3s);
    if (!e)
      break;
    REQUIRE(e->what == client_event::kind::message);
    CHECK(e->cmd == next);
    CHECK(e->message == std::string(8 * 1024, static_cast<char>('a' + next % 26)));
    ++next;
  }
  CHECK(next == count);
  CHECK_FALSE(k.stats(k.udp2)["closed"].contains("slow_client"));
}

/// A client that sends faster than its messages are delivered: once its
/// sends on their way weigh clientPendingSendBytes, the gateway reads none
/// of its frames until half were answered; then every message arrives, in
/// order.
void hold_back_a_client_that_sends_too_fast(caf::actor_system_config& cfg, uint16_t base_port) {
  client_gateway_config gw;
  gw.pending_send_bytes = 1024;
  gateway_cluster k{base_port, gw, cfg};
  // bob's node holds each message at a hook (each up to its 1 s limit):
  // no answer comes back for a while
  meshrt::test::hook_gate gate{k.sys};
  set_on_receive_message(k.c.self(), k.udp2, gate.actor());
  auto bob = k.client(k.udp2, "bob"); // a login: after the hook, at the same service
  dm_client ann;
  ann.set_quiet(true); // its sends do not wait for their results
  auto err = ann.connect("127.0.0.1", k.udp1.client_port());
  REQUIRE_MESSAGE(!err, err.text);
  err = ann.login("ann");
  REQUIRE_MESSAGE(!err, err.text);
  auto text = [](int i) { return std::string(200, static_cast<char>('a' + i % 26)); };
  constexpr int count = 30;
  for (int i = 0; i < count; ++i) {
    err = ann.send("bob", 1, static_cast<uint16_t>(i), text(i));
    REQUIRE_MESSAGE(!err, err.text);
  }
  // each send weighs 3 + 200 + 128 = 331 bytes: the fourth makes 1,324
  auto held_at_four = [&] {
    auto s = k.stats(k.udp1);
    return s["sends"] == 4 && s["paused"] == 1;
  };
  REQUIRE(eventually(held_at_four, 900ms));
  std::this_thread::sleep_for(50ms);
  CHECK(held_at_four());
  CHECK(gate.asked() == 1);
  gate.open();
  for (int i = 0; i < count; ++i) {
    auto got = bob.receive(3s);
    REQUIRE(got);
    CHECK(got->cmd == i);
    CHECK(got->message == text(i));
  }
  // the last ones' answers are on their way back: reading goes on when
  // they come (there is nothing more to read here)
  CHECK(eventually([&] { return k.stats(k.udp1)["paused"] == 0; }, 3s));
  auto s = k.stats(k.udp1);
  CHECK(s["sends"] == count);
  CHECK(s["read_pauses"] >= 1);
  CHECK_FALSE(s["closed"].contains("slow_client"));
  // nothing failed: a quiet client hears only of failures
  CHECK_FALSE(ann.receive(100ms));
  // A clear weighs as a send does, until it has left the session's queue:
  // behind a held message three make 1,324 bytes again.
  meshrt::test::hook_gate gate_again{k.sys};
  set_on_receive_message(k.c.self(), k.udp2, gate_again.actor());
  k.c.self()
    ->request(k.udp2.dm(), caf::infinite, dm_stats_atom::value)
    .receive([](const std::string&) {}, [](caf::error&) {}); // the hook is in place
  auto pauses = s["read_pauses"].get<int>();
  err = ann.send("bob", 1, 100, text(0));
  REQUIRE_MESSAGE(!err, err.text);
  for (int i = 0; i < 10; ++i) {
    err = ann.clear("bob", 1, static_cast<uint16_t>(200 + i), text(i));
    REQUIRE_MESSAGE(!err, err.text);
  }
  REQUIRE(eventually(
    [&] {
      s = k.stats(k.udp1);
      return s["paused"] == 1 && s["read_pauses"] == pauses + 1 && gate_again.asked() == 1;
    },
    900ms));
  gate_again.open();
  auto got = bob.receive(3s);
  REQUIRE(got);
  CHECK(got->cmd == 100);
  got = bob.receive(3s); // the first clear's last message; the rest find nothing cached
  REQUIRE(got);
  CHECK(got->cmd == 200);
  CHECK(eventually([&] { return k.stats(k.udp1)["paused"] == 0; }, 3s));
  CHECK_FALSE(bob.receive(100ms));
}

/// What one batch of datagrams brings a client leaves in one write: five
/// messages for bob handed to his node's DM service together, as its
/// transport hands over what one wake-up read.
void one_write_for_one_batch(caf::actor_system_config& cfg, uint16_t base_port) {
  gateway_cluster k{base_port, {}, cfg};
  auto bob = k.client(k.udp2, "bob");
  auto before = k.stats(k.udp2);
  auto sender = k.c.address_of(k.udp1.actor());
  constexpr int count = 5;
  packed_messages batch;
  for (int i = 0; i < count; ++i) {
    auto text = "m" + std::to_string(i);
    batch.add(encode(dm_deliver{970001 + static_cast<uint64_t>(i), 3000, "ann", "bob", 1,
                                static_cast<uint16_t>(i), byte_buffer(text.begin(), text.end()),
                                sender, dm_kind::deliver}));
  }
  k.c.self()->send(k.udp2.dm(), transport::received_atom::value, sender, batch, false);
  for (int i = 0; i < count; ++i) {
    auto got = bob.receive(3s);
    REQUIRE(got);
    CHECK(got->cmd == i);
    CHECK(got->message == "m" + std::to_string(i));
  }
  auto after = k.stats(k.udp2);
  CHECK(after["frames_out"].get<int>() - before["frames_out"].get<int>() == count);
  CHECK(after["writes"].get<int>() - before["writes"].get<int>() == 1);
  // a message on its own leaves at once, as before
  auto ann = k.client(k.udp1, "ann");
  REQUIRE(!ann.send("bob", 1, 99, "alone"));
  auto got = bob.receive(3s);
  REQUIRE(got);
  CHECK(got->message == "alone");
}

} // namespace

TEST_SUITE("dm.client_gateway") {
  TEST_CASE("messages for one client from one batch of datagrams leave in one write") {
    one_write_for_one_batch(test_system_config(), 50600);
  }

  TEST_CASE("with the I/O scheduler messages from one batch of datagrams leave in one write") {
    one_write_for_one_batch(io_system_config(), 50650);
  }

  TEST_CASE("clients on two gateways exchange messages through the client library") {
    exchange_through_two_gateways(test_system_config(), 49950);
  }

  TEST_CASE("with the I/O scheduler clients on two gateways exchange messages") {
    // Each node runs its actors, its UDP socket and its clients' sockets in
    // one thread.
    exchange_through_two_gateways(io_system_config(), 50300);
  }

  TEST_CASE("bad frames get an error frame and close their connection only") {
    gateway_cluster k{50000, {}};
    auto port = k.udp1.client_port();
    auto ann = k.client(k.udp1, "ann");
    auto bob = k.client(k.udp2, "bob");
    struct bad_case {
      byte_buffer bytes;
      gateway_errc expected;
    };
    std::vector<bad_case> cases;
    // a send before the login
    cases.push_back({frame_bytes(client_cmd::send, "bob", 1), gateway_errc::not_logged_in});
    // empty and over-long user ids
    cases.push_back({frame_bytes(client_cmd::login, ""), gateway_errc::bad_user_id});
    cases.push_back(
      {frame_bytes(client_cmd::login, std::string(257, 'u')), gateway_errc::bad_user_id});
    // a header announcing 2 MB (clientMaxFrameSize is 1 MB)
    byte_buffer huge{0, 0, 0x20, 0, 1, 2, 0, 0};
    cases.push_back({huge, gateway_errc::frame_too_large});
    // an unknown cmd, another version, a frame only gateways send
    auto unknown = frame_bytes(client_cmd::login, "x");
    unknown[5] = 77;
    cases.push_back({unknown, gateway_errc::unknown_command});
    auto version = frame_bytes(client_cmd::login, "x");
    version[4] = 9;
    cases.push_back({version, gateway_errc::bad_version});
    cases.push_back({frame_bytes(client_cmd::login_ok, ""), gateway_errc::unknown_command});
    // a login whose id length runs past the frame
    auto truncated = frame_bytes(client_cmd::login, "abc");
    truncated[8] = 50;
    cases.push_back({truncated, gateway_errc::malformed});
    // two logins on one connection (the second while the first is under way)
    auto twice = frame_bytes(client_cmd::login, "cat");
    auto again = frame_bytes(client_cmd::login, "cat");
    twice.insert(twice.end(), again.begin(), again.end());
    cases.push_back({twice, gateway_errc::already_logged_in});
    for (const auto& c : cases) {
      bool closed = false;
      auto f = raw_exchange(port, c.bytes, closed);
      REQUIRE_MESSAGE(f, to_string(c.expected));
      CHECK(f->cmd == client_cmd::error);
      CHECK_MESSAGE(f->code == static_cast<uint8_t>(c.expected),
                    to_string(c.expected) << " / got " << int{f->code} << " " << f->user);
      CHECK(!f->user.empty());
      CHECK(closed);
    }
    // nobody else noticed
    REQUIRE(!ann.send("bob", 1, 1, "still fine"));
    auto got = bob.receive(3s);
    REQUIRE(got);
    CHECK(got->message == "still fine");
    auto s = k.stats(k.udp1);
    CHECK(s["closed"]["bad_user_id"] == 2);
    CHECK(s["closed"]["unknown_command"] == 2);
    CHECK(s["closed"]["already_logged_in"] == 1);
  }

  TEST_CASE("after a quiet login only a send that fails is answered") {
    gateway_cluster k{50450, {}};
    auto bob = k.client(k.udp2, "bob");
    // On the wire: three sends that arrive, then one to nobody; the only
    // frame back is the last one's result.
    test::raw_connection ann{k.udp1.client_port()};
    client_frame login;
    login.cmd = client_cmd::login;
    login.flags = login_quiet;
    login.user = "ann";
    ann.write(encode(login));
    auto ok = ann.read(1000);
    REQUIRE(ok.size() == 1);
    CHECK(ok[0].cmd == client_cmd::login_ok);
    for (uint32_t seq = 1; seq <= 3; ++seq)
      ann.write(frame_bytes(client_cmd::send, "bob", seq));
    for (int i = 0; i < 3; ++i) {
      auto got = bob.receive(3s);
      REQUIRE(got);
      CHECK(got->from == "ann");
    }
    ann.write(frame_bytes(client_cmd::send, "nobody", 4));
    auto back = ann.read(1500);
    REQUIRE(back.size() == 1);
    CHECK(back[0].cmd == client_cmd::send_result);
    CHECK(back[0].seq == 4);
    CHECK(back[0].code == static_cast<uint8_t>(dm_errc::user_not_found));
    // Through the client library: send() returns once written, a failure
    // comes from receive() naming its send.
    dm_client cat;
    cat.set_quiet(true);
    REQUIRE(!cat.connect("127.0.0.1", k.udp1.client_port()));
    REQUIRE(!cat.login("cat"));
    REQUIRE(!cat.send("bob", 1, 7, "from a quiet client"));
    auto got = bob.receive(3s);
    REQUIRE(got);
    CHECK(got->message == "from a quiet client");
    REQUIRE(!cat.send("nobody", 1, 7, "anyone?"));
    auto failed_seq = cat.last_seq();
    REQUIRE(!cat.send("bob", 1, 7, "still here"));
    auto failed = cat.receive(3s);
    REQUIRE(failed);
    CHECK(failed->what == client_event::kind::send_failed);
    CHECK(failed->seq == failed_seq);
    CHECK(failed->error.code == client_errc::not_delivered);
    CHECK(failed->error.kind() == "user_not_found");
    got = bob.receive(3s);
    REQUIRE(got);
    CHECK(got->message == "still here");
    // and bob, who logged in without the flag, still hears every result
    REQUIRE(!bob.send("cat", 1, 7, "hi cat"));
  }

  TEST_CASE("a connection that does not log in within clientLoginTimeout is closed") {
    client_gateway_config gw;
    gw.login_timeout = 300ms;
    gateway_cluster k{50150, gw};
    auto ann = k.client(k.udp1, "ann");
    auto bob = k.client(k.udp2, "bob");
    // connects, says nothing
    bool closed = false;
    auto f = raw_exchange(k.udp1.client_port(), byte_buffer{}, closed);
    REQUIRE(f);
    CHECK(f->cmd == client_cmd::error);
    CHECK(f->code == static_cast<uint8_t>(gateway_errc::login_timeout));
    CHECK(closed);
    CHECK(k.stats(k.udp1)["closed"]["login_timeout"] == 1);
    // the users who logged in stay, past the timeout
    REQUIRE(!ann.send("bob", 1, 1, "still here"));
    auto got = bob.receive(3s);
    REQUIRE(got);
    CHECK(got->message == "still here");
  }

  TEST_CASE("exposeCommands off: clients log in and receive, but do not send") {
    client_gateway_config gw;
    gw.expose_commands = false;
    gateway_cluster k{50050, gw};
    auto bob = k.client(k.udp2, "bob");
    auto ann = k.client(k.udp1, "ann");
    auto err = ann.send("bob", 1, 1, "may I?");
    CHECK(err.code == client_errc::refused);
    CHECK(err.kind() == "unknown_command");
    // the application sends on its users' behalf
    auto cat = k.client(k.udp1, "cat");
    caf::error sent;
    send_message_by_user_id(k.c.self(), k.udp1, "cat", "bob", 1, 2, byte_buffer{'o', 'k'})
      .receive([] {}, [&](caf::error& e) { sent = e; });
    CHECK(!sent);
    auto got = bob.receive(3s);
    REQUIRE(got);
    CHECK(got->from == "cat");
    CHECK(got->message == "ok");
  }

  TEST_CASE("a client that does not read is dropped, and the node keeps serving") {
    drop_a_client_that_does_not_read(test_system_config(), 50100);
  }

  TEST_CASE("with the I/O scheduler a client that does not read is dropped") {
    drop_a_client_that_does_not_read(io_system_config(), 50350);
  }

  TEST_CASE("a client that sends faster than its messages are delivered is read no further "
            "while its sends on their way weigh clientPendingSendBytes") {
    hold_back_a_client_that_sends_too_fast(test_system_config(), 50500);
  }

  TEST_CASE("with the I/O scheduler a client that sends too fast is held back, and loses "
            "nothing") {
    hold_back_a_client_that_sends_too_fast(io_system_config(), 50550);
  }

  TEST_CASE("a client that reads late gets every message, whole and in order") {
    deliver_in_order_to_a_late_reader(test_system_config(), 50250);
  }

  TEST_CASE("with the I/O scheduler a client that reads late gets every message in order") {
    deliver_in_order_to_a_late_reader(io_system_config(), 50400);
  }

  TEST_CASE("with a token key only a user's own valid token logs it in") {
    auto key = test::test_key(7);
    client_gateway_config gw;
    gw.token_key = key;
    gateway_cluster k{50200, gw};
    auto now = std::chrono::system_clock::now();
    auto bob_token = issue_login_token("bob", now + 1h, key);
    dm_client bob;
    REQUIRE(!bob.connect("127.0.0.1", k.udp2.client_port()));
    auto err = bob.login("bob", bob_token);
    REQUIRE_MESSAGE(!err, err.text);
    dm_client ann;
    REQUIRE(!ann.connect("127.0.0.1", k.udp1.client_port()));
    err = ann.login("ann", issue_login_token("ann", now + 1h, key));
    REQUIRE_MESSAGE(!err, err.text);
    // Mallory tries to be bob: without a token, with a forged one, an
    // expired one, ann's, and one made with another key.
    // (a character inside the MAC: the last one also holds padding bits,
    // which make a change malformed rather than forged)
    auto forged = bob_token;
    auto& c = forged[forged.rfind('.') + 5];
    c = c == 'A' ? 'B' : 'A';
    auto other = test::test_key(9);
    std::vector<std::pair<std::string, std::string>> attempts{
      {"", "malformed"},
      {"not a token", "malformed"},
      {forged, "forged"},
      {issue_login_token("bob", now - 1s, key), "expired"},
      {issue_login_token("ann", now + 1h, key), "other_user"},
      {issue_login_token("bob", now + 1h, other), "forged"},
    };
    for (const auto& [token, why] : attempts) {
      CAPTURE(why);
      dm_client mallory;
      REQUIRE(!mallory.connect("127.0.0.1", k.udp2.client_port()));
      err = mallory.login("bob", token);
      CHECK(err.code == client_errc::refused);
      CHECK(err.kind() == "bad_token");
      CHECK(err.text.find(why) != std::string::npos);
      CHECK(!mallory.connected());
    }
    // (each is counted as its connection closes, just after the error frame)
    CHECK(
      eventually([&] { return k.stats(k.udp2)["closed"]["bad_token"] == attempts.size(); }, 3s));
    // bob's session is his alone: the refused logins did not take it over,
    // and what ann sends him reaches him only
    REQUIRE(!ann.send("bob", 1, 1, "for bob only"));
    auto got = bob.receive(3s);
    REQUIRE(got);
    CHECK(got->message == "for bob only");
    // a token passed on to another user is refused for it; its owner logs in
    dm_client cat;
    REQUIRE(!cat.connect("127.0.0.1", k.udp1.client_port()));
    CHECK(cat.login("cat", bob_token).kind() == "bad_token");
  }
}
