#include "apps/demo_command.hpp"

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "apps/demo_node.hpp"
#include "benchmarks/bench_util.hpp"
#include "benchmarks/child_process.hpp"
#include "dm/client.hpp"
#include "dm/dm_wire.hpp"
#include "runtime/meshrt.hpp"

namespace meshrt::cli {

namespace {

using namespace std::chrono_literals;

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

/// One node of the demo: in this process (`handle`), or a child process
/// running `meshrt demo-node` (`proc`).
struct demo_member {
  std::string address;
  uint16_t client_port = 0;
  node handle;
  std::unique_ptr<bench::child_process> proc;

  /// kill -9, or its actors' end in this process: no goodbye either way.
  void kill(caf::scoped_actor& self) {
    if (proc)
      proc->signal(SIGKILL);
    else
      self->send_exit(handle.actor(), caf::exit_reason::kill);
  }

  /// SIGTERM's path: offline, drain, leave.
  void leave(caf::scoped_actor& self) {
    if (proc)
      proc->signal(SIGTERM);
    else
      self->send(handle.actor(), leave_atom::value); // no need to wait for the answer
  }
};

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
void dm_steps(caf::scoped_actor& self, std::vector<demo_member>& members, const secret_key& key,
              std::vector<std::pair<std::string, std::string>>& measured, failed_steps& failed) {
  const auto& ann_node = members[1];
  const auto& bob_node = members[3];
  const auto& observer = members[0].handle;
  auto& storage = members[4];
  say("\n== direct messages: ann at " + ann_node.address + " (client port "
      + std::to_string(ann_node.client_port) + "), bob at " + bob_node.address + " (client port "
      + std::to_string(bob_node.client_port) + ")");
  // The gateways take only login tokens signed with the demo's key, as an
  // application's auth server would issue them.
  auto token = [&](const std::string& user) {
    return issue_login_token(user, std::chrono::system_clock::now() + std::chrono::minutes{5}, key);
  };
  dm_client ann;
  dm_client bob;
  auto err = ann.open("127.0.0.1", ann_node.client_port, "ann", token("ann"));
  if (!err)
    err = bob.open("127.0.0.1", bob_node.client_port, "bob", token("bob"));
  if (!failed.check(!err, "ann and bob log in: " + err.text))
    return;
  dm_client mallory;
  auto refused = mallory.open("127.0.0.1", bob_node.client_port, "bob", token("ann"));
  if (failed.check(refused.kind() == "bad_token", "a login as bob with ann's token is refused"))
    say("ann and bob log in with their tokens; a login as bob with ann's token: " + refused.text);
  // ann sends, bob reads: the time until ann's send is confirmed (delivered
  // to bob's client), -1 if it failed
  // With `again`, a send refused with reliable_timeout is said and sent once
  // more, as a client would: such a message was not delivered.
  auto exchange = [&](dm_client& from, const std::string& text, std::string& got,
                      bool again = false) {
    auto t0 = std::chrono::steady_clock::now();
    auto e = from.send("bob", 1, 7, text);
    if (again && e && e.kind() == "reliable_timeout") {
      say("first try: " + e.kind() + " (" + e.text + "); again");
      std::this_thread::sleep_for(1s);
      e = from.send("bob", 1, 7, text);
    }
    if (!failed.check(!e, "send '" + text + "': " + e.text))
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
        + " until delivered (straight to bob's node, which told the others of bob's login: a "
          "location hint)");
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

  say("\n== a hook on bob's node rewrites what its users receive (apps/demo_node.cpp)");
  if (exchange(ann, "nice try, noob", got) >= 0)
    say("ann sent 'nice try, noob'; bob got '" + got + "'");

  say("\n== a storage node dies without a word (" + storage.address + ")");
  auto t_kill = std::chrono::steady_clock::now();
  storage.kill(self);
  auto gone = [&] {
    auto view = value_of(node_addresses(self, observer));
    return std::find(view.begin(), view.end(), storage.address) == view.end();
  };
  if (failed.check(within(15s, gone), storage.address + " noticed gone")) {
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
  // A request to the dead node now: its port bounces and the view has lost
  // it, so it fails at once instead of after retryTimeout (3 s).
  auto t_ask = std::chrono::steady_clock::now();
  send_rpc(self, observer, uint16_t{42}, storage.address, byte_buffer{})
    .receive([&](byte_buffer&) { failed.check(false, "the dead node answered a request"); },
             [&](caf::error& e) {
               auto us = us_since(t_ask);
               say("a request to it fails after " + us_text(us) + ": " + context_of(e));
               measured.emplace_back("a request to the dead node fails", us_text(us));
             });
  dm_client cat; // a user who never wrote to bob: a first message again
  // It goes by bob's location hint, past the dead storage node. Without
  // hints (dmLocationHints off) its lookup could still go to the dead
  // owner until ann's node learns of the death from MARS (up to a
  // heartbeat after the node asked above), and cat would hear why and send
  // again.
  if (failed.check(!cat.open("127.0.0.1", ann_node.client_port, "cat", token("cat")), "cat logs in")
      && exchange(cat, "hi bob, I'm new here", got, true) >= 0)
    say("cat, new at " + ann_node.address + ", reaches bob: '" + got + "'");

  say("\n== ann leaves: bob hears it from ann's node");
  ann.disconnect();
  auto ev = bob.receive(3s);
  if (failed.check(ev && ev->what == client_event::kind::peer_gone, "bob hears that ann left"))
    say("bob: " + ev->from + " is gone: '" + ev->message + "'");
}

} // namespace

/// The demo's cluster in child processes: MARS and nodes 1 to 4 as
/// `meshrt mars` and `meshrt demo-node`; node 0, which the demo's steps
/// ask, stays in this process. Returns false (said) if a child did not
/// come up.
bool start_children(caf::actor_system& sys, uint16_t port, const config& cfg,
                    const std::string& dir, const std::string& gateway_config,
                    std::unique_ptr<bench::child_process>& mars, std::vector<demo_member>& members,
                    failed_steps& failed) {
  auto exe = bench::self_exe();
  mars = std::make_unique<bench::child_process>(
    std::vector<std::string>{exe, "mars", "--port", std::to_string(port)}, dir + "/mars.log");
  if (!failed.check(mars->wait_for_log("MARS listening", 5s),
                    "MARS started (" + dir + "/mars.log)"))
    return false;
  const char* types[] = {"HTTP", "UDP", "UDP", "MATCH", "HTTP"};
  for (size_t i = 0; i < 5; ++i) {
    demo_member m;
    bool with_clients = i == 1 || i == 3; // the first UDP node, MATCH
    if (i == 0) {
      node_options opts;
      opts.app = "demo";
      opts.type = types[i];
      m.handle = start_node(sys, cfg, opts);
      caf::scoped_actor self{sys};
      m.address = value_of(whoami(self, m.handle)).mesh_address;
      setup_demo_node(sys, m.handle, m.address);
      members.push_back(std::move(m));
      continue;
    }
    std::vector<std::string> args{exe,
                                  "demo-node",
                                  "--type",
                                  types[i],
                                  "--port",
                                  std::to_string(port + 1 + i),
                                  "--mars",
                                  "127.0.0.1:" + std::to_string(port),
                                  "--app",
                                  "demo",
                                  "--scheduling",
                                  "efficiency"};
    if (with_clients) {
      args.emplace_back("--client-port");
      args.push_back(std::to_string(port + 40 + i));
      args.emplace_back("--config");
      args.push_back(gateway_config);
    }
    auto log = dir + "/node" + std::to_string(i) + ".log";
    m.proc = std::make_unique<bench::child_process>(args, log);
    auto& proc = *m.proc;
    if (!failed.check(proc.wait_for_log("demo node ready", 10s),
                      std::string{types[i]} + " node started (" + log + ")"))
      return false;
    auto text = proc.log();
    m.address = bench::word_after(text, "mesh node ");
    if (with_clients) {
      auto gw = bench::word_after(text, "client gateway listening on ");
      m.client_port = static_cast<uint16_t>(std::stoi(gw.substr(gw.rfind(':') + 1)));
    }
    members.push_back(std::move(m));
  }
  return true;
}

int run_demo(uint16_t port, bool processes) {
  caf::actor_system_config sys_cfg;
  apply_meshrt_defaults(sys_cfg);
  caf::actor_system sys{sys_cfg};
  caf::scoped_actor self{sys};
  failed_steps failed;
  // What the demo measured, for the table at the end.
  std::vector<std::pair<std::string, std::string>> measured;

  say(processes ? "== MARS and five nodes on loopback, four of them child processes (two with "
                  "client gateways)"
                : "== MARS and five nodes on loopback (two with client gateways)");
  config cfg;
  cfg.mesh.mars_port = port;
  cfg.mesh.port = static_cast<uint16_t>(port + 1);
  // Users log in with tokens the demo issues under this key.
  auto token_key = random_secret_key();
  cfg.dm.gateway.token_key = token_key;
  caf::actor mars;
  std::unique_ptr<bench::child_process> mars_proc;
  std::vector<demo_member> members;
  std::string dir;
  if (processes) {
    char tmpl[] = "/tmp/meshrt-demo-XXXXXX";
    if (auto* d = mkdtemp(tmpl))
      dir = d;
    // The gateways' token key, in a file their processes read.
    std::string gateway_config;
    if (!dir.empty()) {
      write_new_key_file(dir + "/token.key");
      token_key = load_secret_key(dir + "/token.key");
      gateway_config = dir + "/gateway.json";
      std::ofstream{gateway_config} << "{\"clientTokenKeyFile\": \"" << dir << "/token.key\"}\n";
    }
    if (dir.empty()
        || !start_children(sys, port, cfg, dir, gateway_config, mars_proc, members, failed)) {
      say("\ndemo: the cluster did not start");
      for (auto& m : members)
        if (m.handle)
          self->send_exit(m.handle.actor(), caf::exit_reason::user_shutdown);
      return 1;
    }
  } else {
    mars_config mc;
    mc.port = port;
    mars = spawn_mars(sys, mc);
    // Storage nodes (the store and the users' locations) are the HTTP ones.
    for (const char* type : {"HTTP", "UDP", "UDP", "MATCH", "HTTP"}) {
      node_options opts;
      opts.app = "demo";
      opts.type = type;
      bool with_clients = members.size() == 1 || members.size() == 3; // the first UDP node, MATCH
      cfg.dm.gateway.port = with_clients ? static_cast<uint16_t>(port + 40) : uint16_t{0};
      demo_member m;
      m.handle = start_node(sys, cfg, opts);
      m.address = value_of(whoami(self, m.handle)).mesh_address;
      m.client_port = m.handle.client_port();
      setup_demo_node(sys, m.handle, m.address);
      members.push_back(std::move(m));
    }
  }
  std::vector<std::string> addrs;
  addrs.reserve(members.size());
  for (const auto& m : members)
    addrs.push_back(m.address);
  say("MARS 127.0.0.1:" + std::to_string(port) + "; nodes " + join(addrs)
      + (processes ? " (logs in " + dir + ")" : ""));
  auto& http = members[0].handle;
  failed.check(
    within(8s, [&] { return value_of(node_addresses(self, http)).size() == members.size(); }),
    "every node in the view of " + addrs[0]);
  say("view of " + addrs[0] + ": UDP nodes "
      + join(value_of(node_addresses_by_type(self, http, "UDP"))) + "; MATCH nodes "
      + join(value_of(node_addresses_by_type(self, http, "MATCH"))));

  say("\n== a typed request: HTTP node asks the MATCH node to greet");
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
  // Each node that hears it tells the HTTP node (apps/demo_node.cpp).
  auto heard_count = std::make_shared<std::atomic<int>>(0);
  handle(self, http, heard,
         spawn_handler(sys,
                       [heard_count](const byte_buffer& line, const std::string&) {
                         say(std::string{line.begin(), line.end()});
                         ++*heard_count;
                         return caf::expected<byte_buffer>{byte_buffer{}};
                       }))
    .receive([] {}, [&](caf::error& e) { failed.check(false, "handle: " + to_string(e)); });
  std::string text = "the arena opens in 5 minutes";
  send_many(self, http, news, {addrs[1], addrs[2], addrs[3]}, byte_buffer(text.begin(), text.end()),
            2);
  failed.check(within(5s, [&] { return *heard_count == 3; }), "SendMany reached all three");

  say("\n== shared data: set on one node, read on another");
  set_shared_data(self, http, "rooms_open", 12)
    .receive([] {},
             [&](caf::error& e) { failed.check(false, "set_shared_data: " + to_string(e)); });
  shared_answer value;
  failed.check(within(5s,
                      [&] {
                        request(self, http, read_shared, addrs[3], shared_query{"rooms_open"})
                          .receive([&](shared_answer& a) { value = a; }, [](caf::error&) {});
                        return value.found;
                      }),
               "shared data reached the MATCH node");
  say("rooms_open on " + addrs[3] + " = " + std::to_string(value.value));

  dm_steps(self, members, token_key, measured, failed);

  say("\n== a node leaves: offline first, then gone");
  members[2].leave(self);
  failed.check(
    within(5s,
           [&] { return value_of(get_node(self, http, addrs[2])).status == node_status::offline; }),
    addrs[2] + " seen offline");
  say(addrs[2] + " is offline in the view of " + addrs[0]);
  failed.check(within(8s, [&] { return value_of(node_addresses(self, http)).size() == 3; }),
               addrs[2] + " gone");
  say(addrs[2] + " is gone; the view holds " + join(value_of(node_addresses(self, http))));
  if (members[2].proc)
    failed.check(members[2].proc->wait(5s) == 0, addrs[2] + "'s process exits 0 after leaving");

  say("\n== what the demo measured");
  for (const auto& [what, figure] : measured)
    say("  " + what + std::string(what.size() < 44 ? 44 - what.size() : 1, ' ') + figure);
  for (auto& m : members) {
    if (m.handle)
      self->send_exit(m.handle.actor(), caf::exit_reason::user_shutdown);
    if (m.proc)
      m.proc->stop(5s);
  }
  if (mars)
    self->send_exit(mars, caf::exit_reason::user_shutdown);
  if (mars_proc)
    mars_proc->stop(5s);
  say(failed.count == 0 ? "\ndemo: every step worked" : "\ndemo: some steps failed");
  if (!dir.empty() && failed.count == 0)
    std::filesystem::remove_all(dir); // kept when a step failed: the children's logs say why
  return failed.count == 0 ? 0 : 1;
}

} // namespace meshrt::cli
