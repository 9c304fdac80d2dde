#include "apps/ping_command.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/mesh_envelope.hpp"
#include "actors/mesh_error.hpp"
#include "actors/node_actor.hpp"
#include "actors/node_atoms.hpp"
#include "apps/guest_join.hpp"
#include "benchmarks/bench_util.hpp"
#include "runtime/config.hpp"
#include "runtime/logging.hpp"
#include "runtime/node.hpp"
#include "runtime/system_config.hpp"
#include "transport/endpoint.hpp"

#include <spdlog/spdlog.h>

namespace meshrt::cli {

namespace {

using run_atom = caf::atom_constant<caf::atom("run")>;
using next_atom = caf::atom_constant<caf::atom("next")>;

/// What one round of pings measured: round trips in us, error counts by kind.
struct ping_results {
  std::vector<double> rtt_us;
  std::map<std::string, int> errors;
};

/// The error's kind as the JSON output names it.
std::string kind_of(const caf::error& err) {
  if (err.category() == caf::atom("meshrt")) {
    auto code = static_cast<mesh_errc>(err.code());
    return code == mesh_errc::request_timeout ? "timeout" : to_string(code);
  }
  return err == caf::sec::request_timeout ? "timeout" : to_string(err);
}

/// Sends the checks one after another from an event-based actor, so the
/// round trips measure the mesh, not a blocking receive. They go to the
/// node's correlator (send_rpc on the handle), the path `meshrt bench rpc`
/// measures.
caf::behavior pinger(caf::event_based_actor* self, const node& n, const std::string& target,
                     const ping_options& opts, const std::shared_ptr<ping_results>& results) {
  auto done = std::make_shared<caf::response_promise>();
  auto timeout = caf::timespan{std::chrono::milliseconds{opts.timeout_ms}};
  return {
    [=](run_atom) {
      *done = self->make_response_promise();
      self->send(self, next_atom::value, 1);
      return *done;
    },
    [=](next_atom, int seq) {
      if (seq > opts.count) {
        done->deliver(caf::unit);
        return;
      }
      auto t0 = std::chrono::steady_clock::now();
      auto elapsed_us = [t0] {
        return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
          .count();
      };
      // No CAF timer (send_rpc sets none): the correlator answers every
      // request by `timeout`, and a CAF timer per request is a trip through
      // CAF's clock thread on every round trip measured.
      send_rpc(self, n, health_check_command, target, byte_buffer{}, timeout)
        .then(
          [=](const byte_buffer&) {
            auto us = elapsed_us();
            results->rtt_us.push_back(us);
            if (!opts.json)
              std::printf("%s: seq=%d rtt=%.1f us\n", target.c_str(), seq, us);
            self->send(self, next_atom::value, seq + 1);
          },
          [=](caf::error& err) {
            auto kind = kind_of(err);
            ++results->errors[kind];
            if (!opts.json)
              std::printf("%s: seq=%d error=%s: %s\n", target.c_str(), seq, kind.c_str(),
                          (context_of(err).empty() ? to_string(err) : context_of(err)).c_str());
            self->send(self, next_atom::value, seq + 1);
          });
    },
  };
}

} // namespace

int run_ping(const ping_options& opts) {
  if (!transport::endpoint::parse(opts.node))
    throw std::invalid_argument("--node: '" + opts.node + "' is not a mesh address (a.b.c.d:port)");
  if (opts.count < 1)
    throw std::invalid_argument("--count must be at least 1");
  if (opts.timeout_ms < 1)
    throw std::invalid_argument("--timeout must be at least 1 ms");
  config cfg; // the defaults (a temporary here: GCC 12 sees its strings as uninitialized)
  guest_node guest{cfg, opts.mars, opts.cluster_key_file, opts.app};
  auto& sys = guest.system();
  const auto& n = guest.get();
  caf::scoped_actor self{sys};
  // A target that is reachable answers even if MARS does not, so a silent
  // MARS is only a warning.
  if (!guest.member())
    logger("node")->warn("MARS at {} did not answer within 2 s; pinging anyway", opts.mars);
  auto results = std::make_shared<ping_results>();
  auto p = sys.spawn(pinger, n, opts.node, opts, results);
  auto total = std::chrono::milliseconds{(opts.timeout_ms + 1000) * opts.count + 5000};
  self->request(p, total, run_atom::value).receive([] {}, [](caf::error&) {});
  self->send_exit(p, caf::exit_reason::user_shutdown);
  const auto& rtt = results->rtt_us;
  auto p50 = bench::percentile(rtt, 0.50);
  auto p99 = bench::percentile(rtt, 0.99);
  auto max = rtt.empty() ? 0.0 : *std::max_element(rtt.begin(), rtt.end());
  if (opts.json) {
    nlohmann::json errors = nlohmann::json::object();
    errors["timeout"] = 0;
    for (const auto& [kind, n] : results->errors)
      errors[kind] = n;
    nlohmann::json j{{"node", opts.node},
                     {"count", opts.count},
                     {"ok", rtt.size()},
                     {"rtt_us", {{"p50", p50}, {"p99", p99}, {"max", max}}},
                     {"errors", errors}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("--- %s: %d sent, %zu answered; rtt p50 %.1f us, p99 %.1f us, max %.1f us\n",
                opts.node.c_str(), opts.count, rtt.size(), p50, p99, max);
  }
  return static_cast<int>(rtt.size()) == opts.count ? 0 : 1;
}

} // namespace meshrt::cli
