#include "apps/demo_command.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "dm/client.hpp"
#include "dm/dm_wire.hpp"
#include "runtime/meshrt.hpp"

namespace meshrt::cli {

namespace {

using namespace std::chrono_literals;

struct greet_request {
  std::string name;
  MSGPACK_DEFINE(name);
};

struct greet_response {
  std::string text;
  MSGPACK_DEFINE(text);
};

constexpr command<greet_request, greet_response> greet{100};
constexpr uint16_t news = 200;

/// Lines printed from handler actors and the main thread, in order.
void say(const std::string& line) {
  static std::mutex mtx;
  std::lock_guard<std::mutex> guard{mtx};
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

/// Polls `pred` every 50 ms for up to `limit`.
template<class Predicate>
bool within(std::chrono::milliseconds limit, Predicate pred) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

/// The value of a blocking node query; the type's zero value if it failed.
template<class Handle, class T>
T value_of(reply<Handle, T> r) {
  T result{};
  r.receive([&](T& x) { result = std::move(x); }, [](caf::error&) {});
  return result;
}

/// The steps that failed, each said when it fails.
struct failed_steps {
  int count = 0;

  bool check(bool ok, const std::string& what) {
    if (!ok) {
      ++count;
      say("  FAILED: " + what);
    }
    return ok;
  }
};

double us_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

std::string us_text(double us) {
  return std::to_string(static_cast<long>(us)) + " us";
}

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs)
    out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? "(none)" : out;
}

/// Direct messages between users of the client library, on the gateways of
/// the first UDP node (ann) and the MATCH node (bob): a first and a cached
/// message, a hook, a storage node killed and the users' locations healing,
/// a disconnect message.
void dm_steps(caf::scoped_actor& self, const std::vector<node>& nodes,
              const std::vector<std::string>& addrs,
              std::vector<std::pair<std::string, std::string>>& measured, failed_steps& failed) {
  const auto& ann_node = nodes[1];
  const auto& bob_node = nodes[3];
  const auto& observer = nodes[0];
  say("\n== direct messages: ann at " + addrs[1] + " (client port "
      + std::to_string(ann_node.client_port()) + "), bob at " + addrs[3] + " (client port "
      + std::to_string(bob_node.client_port()) + ")");
  dm_client ann;
  dm_client bob;
  auto err = ann.open("127.0.0.1", ann_node.client_port(), "ann");
  if (!err)
    err = bob.open("127.0.0.1", bob_node.client_port(), "bob");
  if (!failed.check(!err, "ann and bob log in: " + err.text))
    return;
  // ann sends, bob reads: the time until ann's send is confirmed (delivered
  // to bob's client), -1 if it failed
  auto exchange = [&](dm_client& from, const std::string& text, std::string& got) {
    auto t0 = std::chrono::steady_clock::now();
    if (auto e = from.send("bob", 1, 7, text); !failed.check(!e, "send '" + text + "': " + e.text))
      return -1.0;
    auto us = us_since(t0);
    auto ev = bob.receive(3s);
    if (!failed.check(ev && ev->what == client_event::kind::message, "bob receives '" + text + "'"))
      return -1.0;
    got = ev->message;
    return us;
  };
  std::string got;
  auto first = exchange(ann, "gg! rematch?", got);
  if (first >= 0) {
    say("bob got from ann: '" + got + "' -- first message " + us_text(first)
        + " until delivered (its lookup travels with it: FindData)");
    measured.emplace_back("DM, first message to a user", us_text(first));
  }
  std::vector<double> cached;
  for (int i = 0; i < 5; ++i)
    if (auto us = exchange(ann, "round " + std::to_string(i + 2), got); us >= 0)
      cached.push_back(us);
  if (!cached.empty()) {
    std::sort(cached.begin(), cached.end());
    auto median = cached[cached.size() / 2];
    say("five more over the cached channel, median " + us_text(median) + "; bob's last: '" + got
        + "'");
    measured.emplace_back("DM, cached channel (median of 5)", us_text(median));
  }

  say("\n== a hook on bob's node rewrites what its users receive");
  set_on_message(self, bob_node,
                 [](uint8_t, uint16_t, const byte_buffer& m, const std::string&,
                    const std::string&) -> std::optional<byte_buffer> {
                   std::string text{m.begin(), m.end()};
                   auto at = text.find("noob");
                   if (at == std::string::npos)
                     return std::nullopt; // unchanged
                   text.replace(at, 4, "****");
                   return byte_buffer{text.begin(), text.end()};
                 });
  value_of(dm_stats(self, bob_node)); // answered after the hook is in
  if (exchange(ann, "nice try, noob", got) >= 0)
    say("ann sent 'nice try, noob'; bob got '" + got + "'");

  say("\n== a storage node dies without a word (" + addrs[4] + ")");
  auto t_kill = std::chrono::steady_clock::now();
  self->send_exit(nodes[4].actor(), caf::exit_reason::kill);
  auto gone = [&] {
    auto view = value_of(node_addresses(self, observer));
    return std::find(view.begin(), view.end(), addrs[4]) == view.end();
  };
  if (failed.check(within(15s, gone), addrs[4] + " noticed gone")) {
    auto ms = us_since(t_kill) / 1000;
    say("the cluster noticed after " + std::to_string(static_cast<long>(ms)) + " ms");
    measured.emplace_back("storage node's death noticed",
                          std::to_string(static_cast<long>(ms)) + " ms");
  }
  auto located = [&] {
    for (const char* user : {"ann", "bob"})
      if (!value_of(store_get(self, observer, location_key(user))))
        return false;
    return true;
  };
  if (failed.check(within(15s, located), "the users' locations resolve again")) {
    auto ms = us_since(t_kill) / 1000;
    say("ann's and bob's locations resolve " + std::to_string(static_cast<long>(ms))
        + " ms after the kill (a location the dead node held is set again by its user's node)");
    measured.emplace_back("users' locations back after the kill",
                          std::to_string(static_cast<long>(ms)) + " ms");
  }
  dm_client cat; // a user who never wrote to bob: a fresh lookup
  if (failed.check(!cat.open("127.0.0.1", ann_node.client_port(), "cat"), "cat logs in")
      && exchange(cat, "hi bob, I'm new here", got) >= 0)
    say("cat, new at " + addrs[1] + ", reaches bob: '" + got + "'");

  say("\n== ann leaves: bob hears it from ann's node");
  set_on_user_disconnect(self, ann_node, [](const std::string& who, const std::string&) {
    std::string text = who + " has left the lobby";
    return byte_buffer{text.begin(), text.end()};
  });
  value_of(dm_stats(self, ann_node)); // answered after the hook is in
  ann.disconnect();
  auto ev = bob.receive(3s);
  if (failed.check(ev && ev->what == client_event::kind::peer_gone, "bob hears that ann left"))
    say("bob: " + ev->from + " is gone: '" + ev->message + "'");
}

} // namespace

int run_demo(uint16_t port) {
  caf::actor_system_config sys_cfg;
  apply_meshrt_defaults(sys_cfg);
  caf::actor_system sys{sys_cfg};
  caf::scoped_actor self{sys};
  failed_steps failed;
  // What the demo measured, for the table at the end.
  std::vector<std::pair<std::string, std::string>> measured;

  say("== MARS and five nodes on loopback (two with client gateways)");
  mars_config mc;
  mc.port = port;
  auto mars = spawn_mars(sys, mc);
  config cfg;
  cfg.mesh.mars_port = port;
  cfg.mesh.port = static_cast<uint16_t>(port + 1);
  std::vector<node> nodes;
  // Storage nodes (the store and the users' locations) are the HTTP ones.
  for (const char* type : {"HTTP", "UDP", "UDP", "MATCH", "HTTP"}) {
    node_options opts;
    opts.app = "demo";
    opts.type = type;
    bool with_clients = nodes.size() == 1 || nodes.size() == 3; // the first UDP node, MATCH
    cfg.dm.gateway.port = with_clients ? static_cast<uint16_t>(port + 40) : uint16_t{0};
    nodes.push_back(start_node(sys, cfg, opts));
  }
  std::vector<std::string> addrs;
  addrs.reserve(nodes.size());
  for (const auto& n : nodes)
    addrs.push_back(value_of(whoami(self, n)).mesh_address);
  say("MARS 127.0.0.1:" + std::to_string(port) + "; nodes " + join(addrs));
  auto& http = nodes[0];
  auto& match = nodes[3];
  failed.check(
    within(5s, [&] { return value_of(node_addresses(self, http)).size() == nodes.size(); }),
    "every node in the view of " + addrs[0]);
  say("view of " + addrs[0] + ": UDP nodes "
      + join(value_of(node_addresses_by_type(self, http, "UDP"))) + "; MATCH nodes "
      + join(value_of(node_addresses_by_type(self, http, "MATCH"))));

  say("\n== a typed request: HTTP node asks the MATCH node to greet");
  handle(self, match, greet.id,
         spawn_command_handler(sys, greet,
                               [](const greet_request& r, const std::string& from) {
                                 return greet_response{"hello, " + r.name + " (asked by " + from
                                                       + ")"};
                               }))
    .receive([] {}, [&](caf::error& e) { failed.check(false, "handle: " + to_string(e)); });
  auto t0 = std::chrono::steady_clock::now();
  request(self, http, greet, addrs[3], greet_request{"demo"})
    .receive(
      [&](greet_response& r) {
        auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                    .count();
        say(r.text + " -- first round trip " + us_text(us) + " (sets up the peer link)");
        measured.emplace_back("typed request, first round trip", us_text(us));
      },
      [&](caf::error& e) { failed.check(false, "greet: " + context_of(e)); });

  say("\n== an error kind: a command nobody handles");
  send_rpc(self, http, uint16_t{42}, addrs[1], byte_buffer{})
    .receive(
      [&](byte_buffer&) { failed.check(false, "command 42 had no handler, yet was answered"); },
      [&](caf::error& e) {
        failed.check(is(e, mesh_errc::no_handler), "no_handler expected");
        say("command 42 on " + addrs[1] + ": " + to_string(static_cast<mesh_errc>(e.code())) + " ("
            + context_of(e) + ")");
      });

  say("\n== SendMany from the HTTP node to the other three, limit 2");
  auto heard = std::make_shared<std::atomic<int>>(0);
  for (size_t i = 1; i < nodes.size(); ++i)
    handle(
      self, nodes[i], news,
      spawn_handler(
        sys,
        [me = addrs[i], heard](const byte_buffer& text, const std::string& from) {
          auto line = me;
          line.append(" heard from ").append(from).append(": ").append(text.begin(), text.end());
          say(line);
          ++*heard;
          return caf::expected<byte_buffer>{byte_buffer{}};
        }))
      .receive([] {}, [&](caf::error& e) { failed.check(false, "handle: " + to_string(e)); });
  std::string text = "the arena opens in 5 minutes";
  send_many(self, http, news, {addrs[1], addrs[2], addrs[3]}, byte_buffer(text.begin(), text.end()),
            2);
  failed.check(within(5s, [&] { return *heard == 3; }), "SendMany reached all three");

  say("\n== shared data: set on one node, read on another");
  set_shared_data(self, nodes[1], "rooms_open", 12)
    .receive([] {},
             [&](caf::error& e) { failed.check(false, "set_shared_data: " + to_string(e)); });
  std::optional<int16_t> value;
  failed.check(within(5s,
                      [&] {
                        value = value_of(shared_data(self, match, "rooms_open"));
                        return value.has_value();
                      }),
               "shared data reached the MATCH node");
  say("rooms_open on " + addrs[3] + " = " + std::to_string(value.value_or(0)));

  dm_steps(self, nodes, addrs, measured, failed);

  say("\n== a node leaves: offline first, then gone");
  self->send(nodes[2].actor(), leave_atom::value); // no need to wait for the answer
  failed.check(
    within(5s,
           [&] { return value_of(get_node(self, http, addrs[2])).status == node_status::offline; }),
    addrs[2] + " seen offline");
  say(addrs[2] + " is offline in the view of " + addrs[0]);
  failed.check(within(8s, [&] { return value_of(node_addresses(self, http)).size() == 3; }),
               addrs[2] + " gone");
  say(addrs[2] + " is gone; the view holds " + join(value_of(node_addresses(self, http))));

  say("\n== what the demo measured");
  for (const auto& [what, figure] : measured)
    say("  " + what + std::string(what.size() < 44 ? 44 - what.size() : 1, ' ') + figure);
  for (const auto& n : nodes)
    self->send_exit(n.actor(), caf::exit_reason::user_shutdown);
  self->send_exit(mars, caf::exit_reason::user_shutdown);
  say(failed.count == 0 ? "\ndemo: every step worked" : "\ndemo: some steps failed");
  return failed.count == 0 ? 0 : 1;
}

} // namespace meshrt::cli
