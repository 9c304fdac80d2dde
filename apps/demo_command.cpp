#include "apps/demo_command.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

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

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs)
    out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? "(none)" : out;
}

} // namespace

int run_demo(uint16_t port) {
  caf::actor_system_config sys_cfg;
  apply_meshrt_defaults(sys_cfg);
  caf::actor_system sys{sys_cfg};
  caf::scoped_actor self{sys};
  int failures = 0;
  auto check = [&](bool ok, const std::string& what) {
    if (!ok) {
      ++failures;
      say("  FAILED: " + what);
    }
    return ok;
  };

  say("== MARS and four nodes on loopback");
  mars_config mc;
  mc.port = port;
  auto mars = spawn_mars(sys, mc);
  config cfg;
  cfg.mesh.mars_port = port;
  cfg.mesh.port = static_cast<uint16_t>(port + 1);
  std::vector<node> nodes;
  for (const char* type : {"HTTP", "UDP", "UDP", "MATCH"}) {
    node_options opts;
    opts.app = "demo";
    opts.type = type;
    nodes.push_back(start_node(sys, cfg, opts));
  }
  std::vector<std::string> addrs;
  addrs.reserve(nodes.size());
  for (const auto& n : nodes)
    addrs.push_back(value_of(whoami(self, n)).mesh_address);
  say("MARS 127.0.0.1:" + std::to_string(port) + "; nodes " + join(addrs));
  auto& http = nodes[0];
  auto& match = nodes[3];
  check(within(5s, [&] { return value_of(node_addresses(self, http)).size() == 4; }),
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
    .receive([] {}, [&](caf::error& e) { check(false, "handle: " + to_string(e)); });
  auto t0 = std::chrono::steady_clock::now();
  request(self, http, greet, addrs[3], greet_request{"demo"})
    .receive(
      [&](greet_response& r) {
        auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                    .count();
        say(r.text + " -- first round trip " + std::to_string(static_cast<int>(us))
            + " us (sets up the peer link)");
      },
      [&](caf::error& e) { check(false, "greet: " + context_of(e)); });

  say("\n== an error kind: a command nobody handles");
  send_rpc(self, http, uint16_t{42}, addrs[1], byte_buffer{})
    .receive([&](byte_buffer&) { check(false, "command 42 had no handler, yet was answered"); },
             [&](caf::error& e) {
               check(is(e, mesh_errc::no_handler), "no_handler expected");
               say("command 42 on " + addrs[1] + ": " + to_string(static_cast<mesh_errc>(e.code()))
                   + " (" + context_of(e) + ")");
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
      .receive([] {}, [&](caf::error& e) { check(false, "handle: " + to_string(e)); });
  std::string text = "the arena opens in 5 minutes";
  send_many(self, http, news, {addrs[1], addrs[2], addrs[3]}, byte_buffer(text.begin(), text.end()),
            2);
  check(within(5s, [&] { return *heard == 3; }), "SendMany reached all three");

  say("\n== shared data: set on one node, read on another");
  set_shared_data(self, nodes[1], "rooms_open", 12)
    .receive([] {}, [&](caf::error& e) { check(false, "set_shared_data: " + to_string(e)); });
  std::optional<int16_t> value;
  check(within(5s,
               [&] {
                 value = value_of(shared_data(self, match, "rooms_open"));
                 return value.has_value();
               }),
        "shared data reached the MATCH node");
  say("rooms_open on " + addrs[3] + " = " + std::to_string(value.value_or(0)));

  say("\n== a node leaves: offline first, then gone");
  self->send(nodes[2].actor(), leave_atom::value); // no need to wait for the answer
  check(
    within(5s,
           [&] { return value_of(get_node(self, http, addrs[2])).status == node_status::offline; }),
    addrs[2] + " seen offline");
  say(addrs[2] + " is offline in the view of " + addrs[0]);
  check(within(8s, [&] { return value_of(node_addresses(self, http)).size() == 3; }),
        addrs[2] + " gone");
  say(addrs[2] + " is gone; the view holds " + join(value_of(node_addresses(self, http))));

  say("\n(Direct messages between users arrive with the DM module.)");
  for (const auto& n : nodes)
    self->send_exit(n.actor(), caf::exit_reason::user_shutdown);
  self->send_exit(mars, caf::exit_reason::user_shutdown);
  say(failures == 0 ? "\ndemo: every step worked" : "\ndemo: some steps failed");
  return failures == 0 ? 0 : 1;
}

} // namespace meshrt::cli
