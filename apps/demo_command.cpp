#include "apps/demo_command.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/mars_actor.hpp"
#include "actors/mesh_error.hpp"
#include "actors/node_actor.hpp"
#include "actors/node_atoms.hpp"
#include "runtime/command.hpp"
#include "runtime/config.hpp"
#include "runtime/system_config.hpp"

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

template<class T, class... Ts>
T ask(caf::scoped_actor& self, const caf::actor& dst, Ts&&... xs) {
  T result{};
  self->request(dst, 5s, std::forward<Ts>(xs)...)
    .receive([&](T& x) { result = std::move(x); }, [](caf::error&) {});
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
  std::vector<caf::actor> nodes;
  for (const char* type : {"HTTP", "UDP", "UDP", "MATCH"}) {
    node_options opts;
    opts.app = "demo";
    opts.type = type;
    nodes.push_back(spawn_node(sys, cfg.mesh, opts));
  }
  std::vector<std::string> addrs;
  addrs.reserve(nodes.size());
  for (const auto& n : nodes)
    addrs.push_back(ask<node_record>(self, n, whoami_atom::value).mesh_address);
  say("MARS 127.0.0.1:" + std::to_string(port) + "; nodes " + join(addrs));
  auto& http = nodes[0];
  auto& match = nodes[3];
  check(within(5s,
               [&] {
                 return ask<std::vector<std::string>>(self, http, addresses_atom::value,
                                                      std::vector<std::string>{})
                          .size()
                        == 4;
               }),
        "every node in the view of " + addrs[0]);
  say("view of " + addrs[0] + ": UDP nodes "
      + join(ask<std::vector<std::string>>(self, http, by_type_atom::value, std::string{"UDP"}))
      + "; MATCH nodes "
      + join(ask<std::vector<std::string>>(self, http, by_type_atom::value, std::string{"MATCH"})));

  say("\n== a typed request: HTTP node asks the MATCH node to greet");
  self->send(match, handle_atom::value, greet.id,
             spawn_command_handler(sys, greet, [](const greet_request& r, const std::string& from) {
               return greet_response{"hello, " + r.name + " (asked by " + from + ")"};
             }));
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
  self->request(http, 5s, rpc_atom::value, uint16_t{42}, addrs[1], byte_buffer{})
    .receive([&](byte_buffer&) { check(false, "command 42 had no handler, yet was answered"); },
             [&](caf::error& e) {
               check(is(e, mesh_errc::no_handler), "no_handler expected");
               say("command 42 on " + addrs[1] + ": " + to_string(static_cast<mesh_errc>(e.code()))
                   + " (" + context_of(e) + ")");
             });

  say("\n== SendMany from the HTTP node to the other three, limit 2");
  auto heard = std::make_shared<std::atomic<int>>(0);
  for (size_t i = 1; i < nodes.size(); ++i)
    self->send(
      nodes[i], handle_atom::value, news,
      spawn_handler(sys, [me = addrs[i], heard](const byte_buffer& text, const std::string& from) {
        auto line = me;
        line.append(" heard from ").append(from).append(": ").append(text.begin(), text.end());
        say(line);
        ++*heard;
        return caf::expected<byte_buffer>{byte_buffer{}};
      }));
  std::string text = "the arena opens in 5 minutes";
  self->send(http, send_many_atom::value, news,
             std::vector<std::string>{addrs[1], addrs[2], addrs[3]},
             byte_buffer(text.begin(), text.end()), uint16_t{2});
  check(within(5s, [&] { return *heard == 3; }), "SendMany reached all three");

  say("\n== shared data: set on one node, read on another");
  self->send(nodes[1], set_shared_atom::value, std::string{"rooms_open"}, int16_t{12});
  int16_t value = 0;
  bool found = false;
  check(within(5s,
               [&] {
                 self->request(match, 5s, shared_atom::value, std::string{"rooms_open"})
                   .receive(
                     [&](int16_t v, bool f) {
                       value = v;
                       found = f;
                     },
                     [](caf::error&) {});
                 return found;
               }),
        "shared data reached the MATCH node");
  say("rooms_open on " + addrs[3] + " = " + std::to_string(value));

  say("\n== a node leaves: offline first, then gone");
  self->send(nodes[2], leave_atom::value);
  check(within(5s,
               [&] {
                 auto rec = ask<node_record>(self, http, node_atom::value, addrs[2]);
                 return rec.status == node_status::offline;
               }),
        addrs[2] + " seen offline");
  say(addrs[2] + " is offline in the view of " + addrs[0]);
  check(within(8s,
               [&] {
                 return ask<std::vector<std::string>>(self, http, addresses_atom::value,
                                                      std::vector<std::string>{})
                          .size()
                        == 3;
               }),
        addrs[2] + " gone");
  say(addrs[2] + " is gone; the view holds "
      + join(ask<std::vector<std::string>>(self, http, addresses_atom::value,
                                           std::vector<std::string>{})));

  say("\n(Direct messages between users arrive with the DM module.)");
  for (const auto& n : nodes)
    self->send_exit(n, caf::exit_reason::user_shutdown);
  self->send_exit(mars, caf::exit_reason::user_shutdown);
  say(failures == 0 ? "\ndemo: every step worked" : "\ndemo: some steps failed");
  return failures == 0 ? 0 : 1;
}

} // namespace meshrt::cli
