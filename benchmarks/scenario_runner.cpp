#include "benchmarks/scenario_runner.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "benchmarks/bench_report.hpp"
#include "benchmarks/bench_util.hpp"
#include "benchmarks/child_process.hpp"
#include "benchmarks/latency_histogram.hpp"
#include "benchmarks/netns_lab.hpp"
#include "benchmarks/scenario_node.hpp"
#include "runtime/meshrt.hpp"

namespace meshrt::bench {

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;
using scenario_tick_atom = caf::atom_constant<caf::atom("scntick")>;

constexpr auto request_timeout = std::chrono::seconds{3};
constexpr auto tick = std::chrono::milliseconds{2};
/// Operations of one kind in flight at most; one due beyond it is not
/// issued and counts as failed ("backlog"), so a stalled cluster shows up
/// as errors instead of an unbounded queue.
constexpr uint64_t max_outstanding = 5000;

// ---- what the run counts ---------------------------------------------------------

/// One second of one operation.
struct second_stats {
  uint64_t ok = 0;
  uint64_t failed = 0;
  latency_histogram latency;
};

/// One operation over the whole run.
struct op_stats {
  uint64_t issued = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t duplicated = 0;
  double max_us = 0;
  std::vector<double> latencies_us;
  std::map<std::string, uint64_t> errors;
  std::vector<second_stats> seconds;
};

/// Every operation's counts, written from many actors at once.
class recorder {
public:
  /// Forgets everything and counts time from `t0` on.
  void restart(steady::time_point t0) {
    std::lock_guard<std::mutex> guard{mtx_};
    ops_.clear();
    seen_.clear();
    pending_.clear();
    t0_ = t0.time_since_epoch().count();
  }

  uint64_t now_us() const {
    auto t0 = steady::time_point{steady::duration{t0_.load()}};
    return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - t0).count());
  }

  void issued(const std::string& op) {
    std::lock_guard<std::mutex> guard{mtx_};
    ++ops_[op].issued;
  }

  /// An operation issued at `issued_us` that succeeded now. The timeline
  /// counts it in the second it was issued: a fault's failures then fall
  /// in the seconds of the fault, not seconds later when a timeout ends.
  void ok(const std::string& op, uint64_t issued_us) {
    record_ok(op, static_cast<double>(now_us() - std::min(now_us(), issued_us)), issued_us);
  }

  void record_ok(const std::string& op, double latency_us, uint64_t issued_us) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& s = ops_[op];
    ++s.ok;
    s.max_us = std::max(s.max_us, latency_us);
    s.latencies_us.push_back(latency_us);
    auto& sec = second_of(s, issued_us);
    ++sec.ok;
    sec.latency.record(latency_us);
  }

  /// An operation issued at `issued_us` that failed now with `kind`.
  void failed(const std::string& op, const std::string& kind, uint64_t issued_us) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& s = ops_[op];
    ++s.failed;
    ++s.errors[kind];
    ++second_of(s, issued_us).failed;
  }

  /// Microseconds since t0 of a monotonic_us() reading.
  uint64_t since_t0(uint64_t monotonic) const {
    auto t0 = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(steady::duration{t0_.load()}).count());
    return monotonic - std::min(monotonic, t0);
  }

  /// One-way message `seq`, sent at `sent_us` (monotonic), arrived at the
  /// node at `at` after `latency_us`; a second arrival at the same node is
  /// a duplicate (fan-outs reach several nodes).
  void arrived(const std::string& op, uint64_t seq, const std::string& at, uint64_t sent_us,
               uint64_t latency_us) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      pending_[op].erase(seq);
      if (!seen_[op].insert({seq, at}).second) {
        ++ops_[op].duplicated;
        return;
      }
    }
    record_ok(op, static_cast<double>(latency_us), since_t0(sent_us));
  }

  /// A reliable message with one recipient (send, dm) on its way from the
  /// node at `from` to the node at `target`: pending until it arrives or
  /// fails.
  void sent(const std::string& op, uint64_t seq, std::string from, std::string target) {
    std::lock_guard<std::mutex> guard{mtx_};
    pending_[op].emplace(seq, std::make_pair(std::move(from), std::move(target)));
  }

  /// Message `seq` failed and the sender was told.
  void settled(const std::string& op, uint64_t seq) {
    std::lock_guard<std::mutex> guard{mtx_};
    pending_[op].erase(seq);
  }

  /// A message to `target` failed and the sender was told which target
  /// only (a Send's failure): the oldest pending one to it is settled.
  void settled_to(const std::string& op, const std::string& target) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& p = pending_[op];
    auto i = std::find_if(p.begin(), p.end(),
                          [&](const auto& kv) { return kv.second.second == target; });
    if (i != p.end())
      p.erase(i);
  }

  /// The messages of `op` neither delivered nor reported failed: between
  /// nodes that ran to the end (lost: must be none), and from or to nodes
  /// in `gone` (killed or left while the message was in flight).
  std::pair<uint64_t, uint64_t> unsettled(const std::string& op,
                                          const std::set<std::string>& gone) const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::pair<uint64_t, uint64_t> out{0, 0};
    if (auto i = pending_.find(op); i != pending_.end())
      for (const auto& [seq, ends] : i->second)
        ++(gone.count(ends.first) || gone.count(ends.second) ? out.second : out.first);
    return out;
  }

  std::map<std::string, op_stats> snapshot() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return ops_;
  }

  /// ok / failed counts only (no samples), for the progress line.
  std::map<std::string, std::pair<uint64_t, uint64_t>> counts() const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::map<std::string, std::pair<uint64_t, uint64_t>> out;
    for (const auto& [op, s] : ops_)
      out[op] = {s.ok, s.failed};
    return out;
  }

private:
  second_stats& second_of(op_stats& s, uint64_t at_us) {
    auto i = static_cast<size_t>(at_us / 1'000'000);
    if (s.seconds.size() <= i)
      s.seconds.resize(i + 1);
    return s.seconds[i];
  }

  std::atomic<steady::rep> t0_{steady::now().time_since_epoch().count()};
  mutable std::mutex mtx_;
  std::map<std::string, op_stats> ops_;
  std::map<std::string, std::set<std::pair<uint64_t, std::string>>> seen_;
  /// By op: seq -> (sender's node, recipient's node).
  std::map<std::string, std::map<uint64_t, std::pair<std::string, std::string>>> pending_;
};

std::string error_kind(const caf::error& err) {
  if (err.category() == transport::error_category)
    return to_string(static_cast<mesh_errc>(err.code()));
  if (err.category() == caf::atom("dm"))
    return to_string(static_cast<dm_errc>(err.code()));
  if (err.category() == caf::atom("store"))
    return to_string(static_cast<store_errc>(err.code()));
  if (err.category() == caf::atom("system"))
    return caf::to_string(static_cast<caf::sec>(err.code()));
  return caf::to_string(err);
}

const char* one_way_ops[] = {"", "send", "usend", "fanout", "dm"};

uint8_t op_code(const std::string& op) {
  for (uint8_t i = 1; i < 5; ++i)
    if (op == one_way_ops[i])
      return i;
  return 0;
}

// ---- the cluster as the drivers see it ---------------------------------------------

struct member {
  node n;                              // in this process; invalid for a child process
  std::shared_ptr<child_process> proc; // a child process (cluster mode "processes")
  std::string address;
  std::string type;
  size_t index = 0;
  bool sends = true;    // its application runs: it issues operations
  bool targeted = true; // the others know it: operations go to it
  bool up = true;       // neither killed nor gone
};

struct dm_user {
  std::string name;
  caf::actor session;
  std::string at;       // its node's address
  bool sends = true;    // its node runs
  bool targeted = true; // the cluster still finds it
};

/// What the drivers, the fault thread and the progress line share.
struct run_state {
  recorder rec;
  std::mutex mtx; // members, clients, users
  /// The cluster's nodes, numbered as the scenario numbers them.
  std::vector<member> members;
  /// Cluster mode "processes": guest nodes in this process that issue the
  /// operations (and host the DM users); empty otherwise, the members do.
  std::vector<member> clients;
  std::vector<dm_user> users;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> next_seq{1};
  std::atomic<const char*> phase{"starting"};
};

/// A random element of `xs` passing `ok`, or nullptr.
template<class T, class Predicate>
const T* pick(const std::vector<T>& xs, std::mt19937_64& rng, Predicate ok) {
  std::vector<const T*> fit;
  for (const auto& x : xs)
    if (ok(x))
      fit.push_back(&x);
  if (fit.empty())
    return nullptr;
  return fit[std::uniform_int_distribution<size_t>{0, fit.size() - 1}(rng)];
}

struct driver_state {
  std::shared_ptr<run_state> run;
  std::string op;
  scenario_load load;
  uint64_t issued = 0;
  uint64_t outstanding = 0;
  std::mt19937_64 rng{42};
  steady::time_point t0;
  static inline const char* name = "meshrt.scenario_driver";
};

using driver_actor = caf::stateful_actor<driver_state>;

/// Issues one operation of the driver's kind.
void issue(driver_actor* self) {
  auto& st = self->state;
  auto run = st.run;
  auto op = st.op;
  auto& rec = run->rec;
  member from;
  member to;
  std::vector<std::string> everyone;
  dm_user sender;
  dm_user recipient;
  std::string sender_at; // the DM users' nodes' addresses
  std::string recipient_at;
  {
    std::lock_guard<std::mutex> guard{run->mtx};
    if (op == "dm") {
      auto* a = pick(run->users, st.rng, [](const dm_user& u) { return u.sends; });
      auto* b = a ? pick(run->users, st.rng,
                         [&](const dm_user& u) { return u.targeted && u.name != a->name; })
                  : nullptr;
      if (!a || !b) {
        rec.issued(op);
        rec.failed(op, "no_user", rec.now_us());
        return;
      }
      sender = *a;
      recipient = *b;
      sender_at = a->at;
      recipient_at = b->at;
    } else {
      const auto& senders = run->clients.empty() ? run->members : run->clients;
      auto* a = pick(senders, st.rng, [](const member& m) { return m.sends; });
      auto* b = pick(run->members, st.rng, [](const member& m) { return m.targeted; });
      if (!a || !b) {
        rec.issued(op);
        rec.failed(op, "no_node", rec.now_us());
        return;
      }
      from = *a;
      to = *b;
      if (op == "fanout")
        for (const auto& m : run->members)
          if (m.targeted && m.address != from.address)
            everyone.push_back(m.address);
    }
  }
  rec.issued(op);
  auto t_us = rec.now_us();
  auto sent_us = monotonic_us();
  auto done = [self, run, op, t_us] {
    --self->state.outstanding;
    run->rec.ok(op, t_us);
  };
  auto failed = [self, run, op, t_us](caf::error& err) {
    --self->state.outstanding;
    run->rec.failed(op, error_kind(err), t_us);
  };
  if (op == "rpc") {
    ++st.outstanding;
    send_rpc(self, from.n, scenario_echo, to.address, byte_buffer(st.load.payload, 'r'),
             request_timeout)
      .then([done](byte_buffer&) { done(); }, failed);
  } else if (op == "store") {
    ++st.outstanding;
    auto key = "scenario-"
               + std::to_string(std::uniform_int_distribution<size_t>{0, st.load.keys - 1}(st.rng));
    if (st.rng() % 2 == 0)
      store_set(self, from.n, key, std::string(st.load.payload, 'v')).then(done, failed);
    else
      store_get(self, from.n, key).then([done](std::optional<std::string>&) { done(); }, failed);
  } else if (op == "dm") {
    auto seq = run->next_seq++;
    rec.sent(op, seq, sender_at, recipient_at);
    // Counted when it arrives (the inbox); here only a failure is.
    send_message_by_user_id(self, sender.session, recipient.name, 1, 1,
                            stamped({op_code("dm"), seq, sent_us}, st.load.payload),
                            request_timeout)
      .then([] {},
            [run, t_us, seq](caf::error& err) {
              run->rec.settled("dm", seq);
              run->rec.failed("dm", error_kind(err), t_us);
            });
  } else {
    auto seq = run->next_seq++;
    auto payload = stamped({op_code(op), seq, sent_us}, st.load.payload);
    if (op == "send") {
      rec.sent(op, seq, from.address, to.address);
      send(self, from.n, scenario_sink, to.address, std::move(payload));
    } else if (op == "usend")
      usend(self, from.n, scenario_sink, to.address, std::move(payload));
    else if (!everyone.empty())
      send_many(self, from.n, scenario_sink, everyone, std::move(payload), st.load.limit);
  }
}

caf::behavior driver(driver_actor* self, std::shared_ptr<run_state> run, std::string op,
                     scenario_load load, steady::time_point t0) {
  self->state.run = std::move(run);
  self->state.op = std::move(op);
  self->state.load = load;
  self->state.t0 = t0;
  self->state.rng.seed(std::hash<std::string>{}(self->state.op));
  self->send(self, scenario_tick_atom::value);
  return {
    [=](scenario_tick_atom) {
      auto& st = self->state;
      if (st.run->stopping)
        return;
      auto elapsed = std::chrono::duration<double>(steady::now() - st.t0).count();
      auto due = static_cast<uint64_t>(st.load.rate * elapsed);
      for (; st.issued < due; ++st.issued) {
        if (st.outstanding >= max_outstanding) {
          st.run->rec.issued(st.op);
          st.run->rec.failed(st.op, "backlog", st.run->rec.now_us());
          continue;
        }
        issue(self);
      }
      self->delayed_send(self, tick, scenario_tick_atom::value);
    },
    // A one-way message (send, fanout) the node could not deliver.
    // When it was sent is not told: counted when the failure is.
    [=](transport::send_failed_atom, const std::string& to, const caf::error& err) {
      auto& rec = self->state.run->rec;
      if (self->state.op == "send")
        rec.settled_to("send", to);
      rec.failed(self->state.op, error_kind(err), rec.now_us());
    },
  };
}

/// Where DM users receive: every arrival counted once, with its latency.
caf::behavior dm_inbox(caf::event_based_actor*, const std::shared_ptr<run_state>& run) {
  return {
    [=](dm_message_atom, const std::string&, uint8_t, uint16_t, const byte_buffer& message) {
      if (auto s = read_stamp(message)) {
        auto now = monotonic_us();
        run->rec.arrived("dm", s->seq, "", s->sent_us, now - std::min(now, s->sent_us));
      }
    },
    [=](dm_peer_gone_atom, const std::string&, const byte_buffer&) {},
    [=](dm_closed_atom, const std::string&) {},
  };
}

// ---- the cluster -------------------------------------------------------------------------

/// On a node of this process that issues one-way messages: counts the
/// arrivals the receiving nodes report (benchmarks/scenario_node.hpp).
void count_arrivals(caf::scoped_actor& self, const node& n, const std::shared_ptr<run_state>& run) {
  std::weak_ptr<run_state> weak = run;
  handle(self, n, scenario_arrival,
         handler_function{
           [weak](const byte_buffer& data, const std::string&) -> caf::expected<byte_buffer> {
             auto run = weak.lock();
             auto a = decode_arrival(data);
             if (run && a && a->stamp.op >= 1 && a->stamp.op <= 3)
               run->rec.arrived(one_way_ops[a->stamp.op], a->stamp.seq, a->at, a->stamp.sent_us,
                                a->latency_us);
             return byte_buffer{};
           }})
    .receive([] {}, [](caf::error&) {});
}

/// Sleeps until `at`, or until the run stops first.
void sleep_unless_stopped(const run_state& run, steady::time_point at) {
  while (steady::now() < at && !run.stopping)
    std::this_thread::sleep_for(20ms);
}

/// The addresses a node's view holds.
std::vector<std::string> view_of(caf::scoped_actor& self, const node& n) {
  std::vector<std::string> out;
  node_addresses(self, n).receive([&](std::vector<std::string>& xs) { out = std::move(xs); },
                                  [](caf::error&) {});
  return out;
}

/// What one fault did.
struct fault_outcome {
  scenario_fault fault;
  std::string subject;   // the node it struck, or ""
  double detect_ms = -1; // until every other node's view showed it (-1: n/a or never)
  double heal_ms = -1;   // until a whole second without failed operations
  uint64_t failed = 0;   // operations failed from the fault until healed
  std::string note;
};

// ---- the report ----------------------------------------------------------------------------

/// What a short-lived program (`meshrt status`) printed, "" unless it
/// exited 0 within 5 s.
std::string command_output(const std::vector<std::string>& args, const std::string& log) {
  auto done = run_to_end(args, log, std::chrono::seconds{5});
  return done.exit_code == 0 ? done.log : std::string{};
}

std::string fmt(double v, int decimals = 0) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

} // namespace

scenario_result run_scenario(const scenario& s, const scenario_run_options& opts) {
  caf::actor_system_config cfg;
  apply_meshrt_defaults(cfg, scheduling::efficiency);
  // This process may host the whole cluster: CAF's own number of workers,
  // not efficiency's one per single-node process.
  cfg.set("scheduler.max-threads", std::max(4u, std::thread::hardware_concurrency()));
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto t_start = steady::now();
  auto run = std::make_shared<run_state>();

  // MARS and the nodes: in this process, or as child processes (`meshrt
  // mars`, `meshrt scenario-node`) driven from guest nodes of this one;
  // with "namespaces", each child in a network namespace of its own (MARS
  // in the first), where nftables drops packets.
  bool namespaces = s.mode == "namespaces";
  bool processes = s.mode == "processes" || namespaces;
  auto exe = self_exe();
  mars_config mc;
  mc.port = opts.base_port != 0 ? opts.base_port : free_port(SOCK_DGRAM);
  std::string logs;
  if (processes) {
    char tmpl[] = "/tmp/meshrt-scenario-XXXXXX";
    if (auto* d = mkdtemp(tmpl))
      logs = d;
    else
      throw std::runtime_error("bench scenario: cannot make a directory for the children's logs");
  }
  std::optional<netns_lab> lab;
  if (namespaces) {
    if (auto why = netns_lab::unavailable(); !why.empty())
      throw std::runtime_error("bench scenario: cluster mode \"namespaces\": " + why);
    size_t joins = std::count_if(s.faults.begin(), s.faults.end(),
                                 [](const auto& f) { return f.kind == fault_kind::join; });
    lab.emplace(1 + s.initial_nodes() + joins);
    // A node finds its address through `nic`, as in a real deployment.
    std::ofstream{logs + "/node.json"} << "{\"nic\": \"" << netns_lab::interface << "\"}\n";
  }
  size_t next_space = 1; // the lab's namespace for the next node
  /// What starts `args` where a child of this run belongs: namespace `space`.
  auto placed = [&](std::vector<std::string> args, size_t space) {
    return lab ? lab->command_in(space, std::move(args)) : args;
  };
  /// Where this process's guests bind, and where MARS listens.
  auto host = lab ? lab->host_address() : std::string{"127.0.0.1"};
  auto mars_host = lab ? lab->address(0) : std::string{"127.0.0.1"};
  auto mars_at = mars_host + ":" + std::to_string(mc.port);
  int generation = 0;
  /// A child's log once it says `ready`; throws with the log if it does not.
  auto await_child = [&](child_process& proc, const std::string& ready, const std::string& what) {
    if (!proc.wait_for_log(ready, 10s))
      throw std::runtime_error("bench scenario: " + what + " did not start: " + proc.log());
    return proc.log();
  };
  caf::actor mars;
  std::shared_ptr<child_process> mars_proc;
  auto start_mars = [&] {
    for (int i = 0; i < 150; ++i) {
      if (processes) {
        auto log = logs + "/mars" + std::to_string(++generation) + ".log";
        mars_proc = std::make_shared<child_process>(
          placed({exe, "mars", "--address", mars_host, "--port", std::to_string(mc.port)}, 0), log);
        if (mars_proc->wait_for_log("MARS listening", 5s) && !mars_proc->wait(0ms))
          return;
      } else {
        try {
          mars = spawn_mars(sys, mc);
          return;
        } catch (const std::runtime_error&) {
        }
      }
      std::this_thread::sleep_for(20ms); // a killed MARS's socket closes a moment later
    }
    throw std::runtime_error("bench scenario: cannot bind MARS on " + mars_at);
  };
  start_mars();
  config node_cfg;
  node_cfg.mesh.address = host;
  node_cfg.mesh.mars_address = mars_host;
  node_cfg.mesh.mars_port = mc.port;
  node_cfg.mesh.port = static_cast<uint16_t>(mc.port + 1);
  uint16_t next_child_port = static_cast<uint16_t>(mc.port + 1);
  auto add_member = [&](const std::string& type) {
    member m;
    if (processes) {
      auto port = next_child_port++;
      auto log = logs + "/node" + std::to_string(port) + ".log";
      std::vector<std::string> args{
        exe,      "scenario-node", "--type",       type,        "--port", std::to_string(port),
        "--mars", mars_at,         "--scheduling", "efficiency"};
      if (lab)
        args.insert(args.end(), {"--config", logs + "/node.json"});
      m.proc = std::make_shared<child_process>(placed(args, next_space++), log);
      m.address
        = word_after(await_child(*m.proc, "scenario node ready", type + " node"), "mesh node ");
      m.sends = false; // the guests of this process issue the operations
    } else {
      node_options no;
      no.type = type;
      m.n = start_node(sys, node_cfg, no);
      whoami(self, m.n).receive([&](node_record& r) { m.address = r.mesh_address; },
                                [](caf::error&) {});
      install_scenario_handlers(sys, m.n, m.address);
      count_arrivals(self, m.n, run);
    }
    m.type = type;
    std::lock_guard<std::mutex> guard{run->mtx};
    m.index = run->members.size();
    run->members.push_back(m);
    return m;
  };
  for (const auto& g : s.nodes)
    for (size_t i = 0; i < g.count; ++i)
      add_member(g.type);
  if (processes) {
    // Two guests: they see the cluster, send and receive, and are not in
    // anyone's view.
    auto guest_cfg = node_cfg;
    guest_cfg.mesh.port = static_cast<uint16_t>(mc.port + 100);
    for (int i = 0; i < 2; ++i) {
      node_options no;
      no.type = "CLIENT";
      no.guest = true;
      member m;
      m.n = start_node(sys, guest_cfg, no);
      whoami(self, m.n).receive([&](node_record& r) { m.address = r.mesh_address; },
                                [](caf::error&) {});
      m.targeted = false;
      count_arrivals(self, m.n, run);
      m.index = run->clients.size();
      run->clients.push_back(m);
    }
  }
  /// The nodes of this process whose views tell what the cluster sees.
  auto observers = [&] {
    std::vector<member> out;
    std::lock_guard<std::mutex> guard{run->mtx};
    for (const auto& m : run->clients.empty() ? run->members : run->clients)
      if (m.sends && m.n)
        out.push_back(m);
    return out;
  };
  auto all_see = [&](size_t count, std::chrono::milliseconds limit) {
    auto deadline = steady::now() + limit;
    while (steady::now() < deadline) {
      auto ms = observers();
      if (std::all_of(ms.begin(), ms.end(),
                      [&](const member& m) { return view_of(self, m.n).size() == count; }))
        return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  };
  if (!all_see(s.initial_nodes(), 10s))
    throw std::runtime_error("bench scenario: the " + std::to_string(s.initial_nodes())
                             + " nodes did not see each other within 10 s");
  // Users, spread over the nodes of this process.
  auto inbox = sys.spawn(dm_inbox, run);
  if (auto dm = s.workload.find("dm"); dm != s.workload.end()) {
    std::this_thread::sleep_for(500ms); // the store's ring settles on its nodes
    auto hosts = observers();
    for (size_t u = 0; u < dm->second.users; ++u) {
      const auto& host = hosts[u % hosts.size()];
      dm_user user{"user" + std::to_string(u), {}, host.address, true, true};
      caf::error last;
      for (int attempt = 0; attempt < 50 && !user.session; ++attempt) {
        dm_connect(self, host.n, user.name, inbox)
          .receive([&](caf::actor& session) { user.session = session; },
                   [&](caf::error& err) { last = err; });
        if (!user.session)
          std::this_thread::sleep_for(100ms);
      }
      if (!user.session)
        throw std::runtime_error("bench scenario: user " + user.name
                                 + " could not connect: " + to_string(last));
      run->users.push_back(user);
    }
  }

  // The load: one driver per operation, from t0 on.
  auto t0 = steady::now();
  auto setup_s = std::chrono::duration<double>(t0 - t_start).count();
  run->rec.restart(t0);
  run->phase = "load";
  std::vector<caf::actor> drivers;
  for (const auto& [op, load] : s.workload)
    drivers.push_back(sys.spawn(driver, run, op, load, t0));

  // Progress, until the run ends.
  std::atomic<bool> progress_done{false};
  std::vector<std::string> fault_notes;
  std::mutex notes_mtx;
  std::thread progress{[&] {
    auto every = opts.redraw
                   ? 250ms
                   : std::chrono::milliseconds{static_cast<int64_t>(opts.plain_every_s * 1000)};
    auto last = std::map<std::string, std::pair<uint64_t, uint64_t>>{};
    auto last_t = steady::now();
    while (!progress_done) {
      auto next = steady::now() + every;
      while (!progress_done && steady::now() < next)
        std::this_thread::sleep_for(20ms);
      if (progress_done || !opts.progress)
        break;
      auto counts = run->rec.counts();
      auto now = steady::now();
      auto dt = std::chrono::duration<double>(now - last_t).count();
      std::string line = "[" + fmt(std::chrono::duration<double>(now - t0).count(), 1) + "/"
                         + fmt(s.duration_s, 1) + " s] " + run->phase.load();
      uint64_t failed = 0;
      for (const auto& [op, c] : counts) {
        auto rate = static_cast<double>(c.first - last[op].first) / std::max(dt, 1e-3);
        line += " | " + op + " " + fmt(rate) + "/s";
        failed += c.second;
      }
      line += " | failed " + std::to_string(failed);
      {
        std::lock_guard<std::mutex> guard{notes_mtx};
        if (!fault_notes.empty())
          line += " | " + fault_notes.back();
      }
      last = counts;
      last_t = now;
      if (opts.redraw) {
        std::fprintf(opts.progress, "\r\033[K%s", line.c_str());
      } else {
        std::fprintf(opts.progress, "%s\n", line.c_str());
      }
      std::fflush(opts.progress);
    }
  }};

  /// The moment `seconds` into the load.
  auto run_time = [t0](double seconds) {
    return t0
           + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
  };
  // Resources: the nodes no fault strikes, sampled after warm-up and at
  // the end.
  std::map<std::string, nlohmann::json> warm;
  std::mutex warm_mtx;
  auto long_lived = [&] {
    std::set<size_t> struck;
    for (const auto& f : s.faults)
      if (ends_node(f.kind))
        struck.insert(f.node);
    std::vector<member> out;
    std::lock_guard<std::mutex> guard{run->mtx};
    for (const auto& m : run->members)
      if (m.proc && m.index < s.initial_nodes() && !struck.count(m.index))
        out.push_back(m);
    return out;
  }();
  /// A child's scenario_probe answer, asked from a guest; null if none.
  auto probe = [&](caf::scoped_actor& me, const member& m) {
    nlohmann::json out;
    send_rpc(me, run->clients.front().n, scenario_probe, m.address, byte_buffer{}, 3s)
      .receive(
        [&](const byte_buffer& b) {
          out = nlohmann::json::parse(std::string(b.begin(), b.end()), nullptr, false);
        },
        [](caf::error&) {});
    return out;
  };
  std::thread warmup;
  if (s.resources.enabled && !long_lived.empty())
    warmup = std::thread{[&] {
      sleep_unless_stopped(*run, run_time(s.resources.warmup_s));
      caf::scoped_actor me{sys};
      for (const auto& m : long_lived) {
        auto j = probe(me, m);
        std::lock_guard<std::mutex> guard{warm_mtx};
        warm[m.address] = j;
      }
    }};

  // The faults, each at its time; a watcher per fault measures detection.
  std::vector<fault_outcome> outcomes;
  std::vector<std::thread> watchers;
  std::mutex outcomes_mtx;
  auto elapsed_ms
    = [&] { return std::chrono::duration<double, std::milli>(steady::now() - t0).count(); };
  auto note = [&](const std::string& text) {
    std::lock_guard<std::mutex> guard{notes_mtx};
    fault_notes.push_back(text);
  };
  for (const auto& f : s.faults) {
    std::this_thread::sleep_until(run_time(f.at_s));
    fault_outcome out;
    out.fault = f;
    auto at_ms = elapsed_ms();
    note(to_string(f.kind) + " at " + fmt(at_ms / 1000, 1) + " s");
    member victim;
    {
      std::lock_guard<std::mutex> guard{run->mtx};
      if (f.node < run->members.size())
        victim = run->members[f.node];
    }
    size_t slot = 0;
    {
      std::lock_guard<std::mutex> guard{outcomes_mtx};
      slot = outcomes.size();
      outcomes.push_back(out);
    }
    auto record = [&, slot](auto change) {
      std::lock_guard<std::mutex> guard{outcomes_mtx};
      change(outcomes[slot]);
    };
    // Until every node but `except` sees (or no longer sees) `address`:
    // the ms since the fault, -1 if not within 15 s.
    auto watch = [&, at_ms, record](const std::string& address, bool present,
                                    const std::string& except, bool detects = true) {
      watchers.emplace_back([&, address, present, except, at_ms, record, detects] {
        caf::scoped_actor me{sys};
        auto deadline = steady::now() + 15s;
        while (steady::now() < deadline && !run->stopping) {
          bool done = true;
          for (const auto& m : observers()) {
            if (m.address == except)
              continue;
            auto v = view_of(me, m.n);
            if ((std::find(v.begin(), v.end(), address) != v.end()) != present) {
              done = false;
              break;
            }
          }
          if (done) {
            auto ms_now = elapsed_ms() - at_ms;
            if (detects)
              record([&](fault_outcome& o) { o.detect_ms = ms_now; });
            // The others know now: operations go there (join) or not (kill,
            // leave).
            std::lock_guard<std::mutex> guard{run->mtx};
            for (auto& m : run->members)
              if (m.address == address)
                m.targeted = present;
            for (auto& u : run->users)
              if (!present && u.at == address)
                u.targeted = false;
            return;
          }
          std::this_thread::sleep_for(20ms);
        }
      });
    };
    /// The node is gone, its application and its users' sessions with it.
    auto mark_gone = [run](const member& m) {
      std::lock_guard<std::mutex> guard{run->mtx};
      run->members[m.index].sends = false;
      run->members[m.index].up = false;
      for (auto& u : run->users)
        if (u.at == m.address)
          u.sends = false;
    };
    /// kill -9 (in this process: its actors killed), watched until every
    /// other node's view has dropped it.
    auto kill_victim = [&] {
      record([&](fault_outcome& o) { o.subject = victim.address; });
      mark_gone(victim);
      if (victim.proc)
        victim.proc->signal(SIGKILL);
      else
        self->send_exit(victim.n.actor(), caf::exit_reason::kill);
      watch(victim.address, false, victim.address);
    };
    switch (f.kind) {
      case fault_kind::kill:
        kill_victim();
        break;
      case fault_kind::leave: {
        record([&](fault_outcome& o) { o.subject = victim.address; });
        watchers.emplace_back([&, victim, mark_gone] {
          if (victim.proc) { // SIGTERM's path, as an operator stops a node
            victim.proc->stop(15s);
          } else {
            caf::scoped_actor me{sys};
            leave(me, victim.n).receive([] {}, [](caf::error&) {});
          }
          mark_gone(victim);
        });
        watch(victim.address, false, victim.address);
        break;
      }
      case fault_kind::restart: {
        // kill -9, and a new node of its type in its place (a new port:
        // messages to the old one stay told apart).
        kill_victim();
        auto m = add_member(victim.type);
        record([&](fault_outcome& o) { o.note = "replaced by " + m.address; });
        {
          std::lock_guard<std::mutex> guard{run->mtx};
          run->members[m.index].targeted = false; // until the others see it
        }
        watch(m.address, true, "", false);
        break;
      }
      case fault_kind::join: {
        auto m = add_member(f.type);
        record([&](fault_outcome& o) { o.subject = m.address; });
        {
          std::lock_guard<std::mutex> guard{run->mtx};
          run->members[m.index].targeted = false; // until the others see it
        }
        watch(m.address, true, "");
        break;
      }
      case fault_kind::mars_restart: {
        if (mars_proc) {
          mars_proc->signal(SIGKILL);
          mars_proc->wait(2s);
        } else {
          self->send_exit(mars, caf::exit_reason::kill);
        }
        start_mars();
        // Healed when the new MARS lists every node that runs: asked as
        // `meshrt status` asks it, from a guest node of its own.
        watchers.emplace_back([&, mars_now = mars, at_ms, record] {
          caf::scoped_actor me{sys};
          auto deadline = steady::now() + 15s;
          while (steady::now() < deadline && !run->stopping) {
            size_t expected = 0;
            {
              std::lock_guard<std::mutex> guard{run->mtx};
              for (const auto& m : run->members)
                expected += m.up ? 1 : 0;
            }
            size_t listed = 0;
            auto count = [&](const std::string& text) {
              auto doc = json::parse(text, nullptr, false);
              if (doc.is_object() && doc["apps"].is_object())
                for (const auto& [app, a] : doc["apps"].items())
                  listed += a.value("nodes", size_t{0});
              else if (doc.is_object() && doc["nodes"].is_array())
                listed = doc["nodes"].size();
            };
            if (mars_now)
              me->request(mars_now, 1s, transport::stats_atom::value)
                .receive(count, [](caf::error&) {});
            else
              count(
                command_output({exe, "status", "--mars", mars_at, "--json", "--log-level", "off"},
                               logs + "/status.log"));
            if (listed >= expected) {
              auto ms_now = elapsed_ms() - at_ms;
              record([&](fault_outcome& o) {
                o.detect_ms = ms_now;
                o.note = "every node registered with the new MARS";
              });
              return;
            }
            std::this_thread::sleep_for(20ms);
          }
        });
        break;
      }
      case fault_kind::drop: {
        // From this thread and from the watcher that ends the drop: a
        // scoped actor of its own each time.
        auto* lab_ptr = lab ? &*lab : nullptr;
        auto set_drop = [&sys, run, lab_ptr, progress = opts.progress](double percent) {
          if (lab_ptr) { // nftables in every namespace
            try {
              lab_ptr->set_drop(percent);
            } catch (const std::runtime_error& e) {
              if (progress)
                std::fprintf(progress, "%s\n", e.what());
            }
            return;
          }
          std::vector<member> ms;
          {
            std::lock_guard<std::mutex> guard{run->mtx};
            ms = run->members;
          }
          caf::scoped_actor me{sys};
          for (const auto& m : ms)
            if (m.sends)
              me->request(m.n.actor(), 1s, transport_atom::value)
                .receive(
                  [&](caf::actor& t) { me->send(t, transport::faults_atom::value, percent); },
                  [](caf::error&) {});
        };
        set_drop(f.percent);
        record([&](fault_outcome& o) {
          o.note = fmt(f.percent) + "% of datagrams dropped for " + fmt(f.for_s, 1) + " s";
        });
        auto until = run_time(f.at_s + f.for_s);
        watchers.emplace_back([&, set_drop, until] {
          sleep_unless_stopped(*run, until);
          set_drop(0);
        });
        break;
      }
    }
  }
  std::this_thread::sleep_until(run_time(s.duration_s));
  // Drain: nothing new is issued, what is in flight lands or fails.
  run->phase = "draining";
  run->stopping = true;
  std::this_thread::sleep_for(request_timeout + 500ms);
  progress_done = true;
  progress.join();
  for (auto& w : watchers)
    w.join();
  if (warmup.joinable())
    warmup.join();
  // Resources at the end: once the links of departed peers have idled out
  // (linkIdleTimeout, twice over at most, and retryTimeout), every figure
  // must be back where it stood after warm-up, memory within its margin.
  std::vector<std::string> resource_lines;
  std::vector<std::pair<std::string, double>> rss_growths;
  uint64_t resource_failures = 0;
  if (s.resources.enabled) {
    run->phase = "settling";
    caf::scoped_actor me{sys};
    auto deadline = steady::now() + 70s;
    for (const auto& m : long_lived) {
      auto before = warm.count(m.address) ? warm[m.address] : nlohmann::json{};
      if (!before.is_object()) {
        ++resource_failures;
        resource_lines.push_back(m.address + ": no sample after warm-up");
        continue;
      }
      auto figure = [](const nlohmann::json& j, const char* key) {
        return j.is_object() && j.contains(key) ? j[key].get<double>() : -1.0;
      };
      nlohmann::json after;
      auto back = [&] {
        after = probe(me, m);
        return figure(after, "links") >= 0 && figure(after, "links") <= figure(before, "links")
               && figure(after, "fds") <= figure(before, "fds")
               && figure(after, "actors") - figure(after, "links")
                    <= figure(before, "actors") - figure(before, "links");
      };
      auto came_back = back();
      while (!came_back && steady::now() < deadline) {
        std::this_thread::sleep_for(500ms);
        came_back = back();
      }
      auto rss0 = figure(before, "rss_kb");
      auto rss1 = figure(after, "rss_kb");
      auto growth = rss0 > 0 ? (rss1 - rss0) * 100 / rss0 : 0;
      bool ok = came_back && rss1 >= 0 && growth <= s.resources.rss_growth_percent;
      resource_failures += ok ? 0 : 1;
      resource_lines.push_back(
        m.address + ": rss " + fmt(rss0 / 1024, 1) + " -> " + fmt(rss1 / 1024, 1) + " MB ("
        + (growth >= 0 ? "+" : "") + fmt(growth, 1) + "%), fds " + fmt(figure(before, "fds"))
        + " -> " + fmt(figure(after, "fds")) + ", actors " + fmt(figure(before, "actors")) + " -> "
        + fmt(figure(after, "actors")) + " (peer links " + fmt(figure(before, "links")) + " -> "
        + fmt(figure(after, "links")) + ")" + (ok ? "" : ": NOT BACK"));
      rss_growths.emplace_back(m.address, growth);
    }
  }
  if (opts.progress && opts.redraw)
    std::fprintf(opts.progress, "\r\033[K");

  // ---- figures ---------------------------------------------------------------------------
  auto ops = run->rec.snapshot();
  scenario_result result;
  bench_report report{"scenario-" + s.name};
  for (const auto& [address, growth] : rss_growths)
    report.add("meshrt", "rss_growth_percent_" + address, growth, "%");
  auto total_seconds = static_cast<size_t>(std::ceil(s.duration_s));
  // Heal: the first whole second from the fault's detection on (from the
  // fault's end where there is nothing to detect) in which no operation
  // issued failed.
  auto failed_in = [&](size_t sec) {
    uint64_t n = 0;
    for (const auto& [op, st] : ops)
      if (sec < st.seconds.size())
        n += st.seconds[sec].failed;
    return n;
  };
  for (auto& o : outcomes) {
    auto from_ms = o.fault.at_s * 1000 + std::max(0.0, o.detect_ms);
    if (o.fault.kind == fault_kind::drop)
      from_ms = (o.fault.at_s + o.fault.for_s) * 1000;
    auto first = static_cast<size_t>(std::ceil(from_ms / 1000));
    for (auto sec = static_cast<size_t>(o.fault.at_s); sec < first && sec < total_seconds; ++sec)
      o.failed += failed_in(sec);
    for (auto sec = first; sec < total_seconds; ++sec) {
      if (failed_in(sec) == 0) {
        o.heal_ms = static_cast<double>(sec) * 1000 - o.fault.at_s * 1000;
        break;
      }
      o.failed += failed_in(sec);
    }
  }
  std::set<std::string> gone; // nodes killed or left
  for (const auto& o : outcomes)
    if (ends_node(o.fault.kind))
      gone.insert(o.subject);
  std::string text = "scenario " + s.name + ": " + fmt(s.duration_s, 1) + " s of load on "
                     + std::to_string(s.initial_nodes()) + " nodes (set up in " + fmt(setup_s, 1)
                     + " s)\n\n";
  char line[256];
  std::snprintf(line, sizeof(line), "%-7s %9s %9s %8s %6s %5s %9s %9s %9s %9s %9s\n", "op",
                "issued", "ok", "failed", "lost", "dup", "ok/s", "p50 us", "p90 us", "p99 us",
                "max us");
  text += line;
  for (const auto& op : scenario_operations()) {
    auto i = ops.find(op);
    if (i == ops.end() || !s.workload.count(op))
      continue;
    auto& st = i->second;
    // A reliable message with one recipient (send, dm) is lost when it
    // neither arrived nor was reported failed though both its nodes ran to
    // the end; one from or to a node killed or left meanwhile was in flight
    // at the crash (the recipient's node may have acknowledged it and died
    // before its handler ran, the sender's died with it queued: no reliable
    // transport can tell, nor is anyone left to report it). usend may lose
    // messages; fan-outs are counted per node reached.
    uint64_t lost = 0;
    uint64_t at_crash = 0;
    if (op == "send" || op == "dm") {
      std::tie(lost, at_crash) = run->rec.unsettled(op, gone);
      result.lost += lost;
      result.at_crash += at_crash;
      result.duplicated += st.duplicated;
    } else if (op == "usend") {
      lost = st.issued > st.ok + st.failed ? st.issued - st.ok - st.failed : 0;
    }
    auto rate = static_cast<double>(st.ok) / s.duration_s;
    std::snprintf(
      line, sizeof(line), "%-7s %9llu %9llu %8llu %6llu %5llu %9.0f %9.0f %9.0f %9.0f %9.0f\n",
      op.c_str(), static_cast<unsigned long long>(st.issued),
      static_cast<unsigned long long>(st.ok), static_cast<unsigned long long>(st.failed),
      static_cast<unsigned long long>(lost), static_cast<unsigned long long>(st.duplicated), rate,
      percentile(st.latencies_us, 0.5), percentile(st.latencies_us, 0.9),
      percentile(st.latencies_us, 0.99), st.max_us);
    text += line;
    report.add("meshrt", op + "_issued", static_cast<double>(st.issued), "ops");
    report.add("meshrt", op + "_ok", static_cast<double>(st.ok), "ops");
    report.add("meshrt", op + "_failed", static_cast<double>(st.failed), "ops");
    report.add("meshrt", op + "_lost", static_cast<double>(lost), "ops");
    report.add("meshrt", op + "_in_flight_at_crash", static_cast<double>(at_crash), "ops");
    report.add("meshrt", op + "_duplicated", static_cast<double>(st.duplicated), "ops");
    report.add("meshrt", op + "_ok_per_s", rate, "ops/s");
    add_latencies(report, "meshrt", op, st.latencies_us);
    report.add("meshrt", op + "_p90_us", percentile(st.latencies_us, 0.9), "us");
    report.add("meshrt", op + "_max_us", st.max_us, "us");
  }
  bool any_errors = false;
  for (const auto& [op, st] : ops)
    any_errors = any_errors || !st.errors.empty();
  if (any_errors) {
    text += "\nerrors by kind:\n";
    for (const auto& [op, st] : ops)
      for (const auto& [kind, n] : st.errors)
        text += "  " + op + " " + kind + ": " + std::to_string(n) + "\n";
  }
  if (!outcomes.empty()) {
    text += "\nfaults:\n";
    for (const auto& o : outcomes) {
      text += "  " + fmt(o.fault.at_s, 1) + " s " + to_string(o.fault.kind)
              + (o.subject.empty() ? "" : " " + o.subject)
              + (o.note.empty() ? "" : " (" + o.note + ")") + ": ";
      if (o.fault.kind != fault_kind::drop)
        text += o.detect_ms < 0 ? "not detected within 15 s, "
                                : "detected in " + fmt(o.detect_ms) + " ms, ";
      text += o.heal_ms < 0 ? "not healed by the end" : "healed in " + fmt(o.heal_ms) + " ms";
      text += ", " + std::to_string(o.failed) + " operations failed and reported\n";
    }
  }
  text += "\nreliable messages lost: " + std::to_string(result.lost) + ", duplicated: "
          + std::to_string(result.duplicated) + "; in flight from or to a node killed or leaving: "
          + std::to_string(result.at_crash) + "\n";
  if (s.resources.enabled) {
    result.resource_failures = resource_failures;
    text += "resources of the nodes no fault struck (after " + fmt(s.resources.warmup_s)
            + " s of warm-up -> at the end; memory within +" + fmt(s.resources.rss_growth_percent)
            + "%, descriptors, actors and links back):\n";
    for (const auto& line : resource_lines)
      text += "  " + line + "\n";
  }
  if (lab) {
    result.dropped_by_nftables = lab->dropped();
    text += "datagrams dropped by nftables: " + std::to_string(result.dropped_by_nftables) + "\n";
  }
  result.text = text;

  auto doc = json::parse(report.json());
  doc["duration_s"] = s.duration_s;
  doc["nodes"] = s.initial_nodes();
  auto& errors = doc["errors"] = json::object();
  for (const auto& [op, st] : ops)
    if (!st.errors.empty())
      errors[op] = st.errors;
  auto& faults = doc["faults"] = json::array();
  for (const auto& o : outcomes)
    faults.push_back({{"at_s", o.fault.at_s},
                      {"kind", to_string(o.fault.kind)},
                      {"subject", o.subject},
                      {"note", o.note},
                      {"detect_ms", o.detect_ms},
                      {"heal_ms", o.heal_ms},
                      {"failed", o.failed}});
  auto& timeline = doc["timeline"] = json::array();
  for (size_t sec = 0; sec < total_seconds; ++sec) {
    json row{{"t", sec}};
    for (const auto& [op, st] : ops) {
      second_stats one;
      if (sec < st.seconds.size())
        one = st.seconds[sec];
      row[op] = {{"ok", one.ok},
                 {"failed", one.failed},
                 {"p50_us", one.latency.percentile(0.5)},
                 {"p99_us", one.latency.percentile(0.99)}};
    }
    timeline.push_back(std::move(row));
  }
  result.json = doc.dump(2);

  // Down.
  for (const auto& d : drivers)
    self->send_exit(d, caf::exit_reason::user_shutdown);
  self->send_exit(inbox, caf::exit_reason::user_shutdown);
  for (const auto& group : {run->members, run->clients})
    for (const auto& m : group) {
      if (m.n)
        self->send_exit(m.n.actor(), caf::exit_reason::user_shutdown);
      if (m.proc && m.up)
        m.proc->stop(5s);
    }
  if (mars)
    self->send_exit(mars, caf::exit_reason::user_shutdown);
  if (mars_proc)
    mars_proc->stop(5s);
  if (!logs.empty() && result.lost == 0 && result.duplicated == 0 && resource_failures == 0)
    std::filesystem::remove_all(logs); // kept when something was lost: the logs may say why
  else if (!logs.empty())
    result.text += "the nodes' logs: " + logs + "\n";
  return result;
}

} // namespace meshrt::bench
