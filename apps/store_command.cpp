#include "apps/store_command.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "apps/guest_join.hpp"
#include "runtime/meshrt.hpp"

namespace meshrt::cli {

namespace {

/// Prints `err` as CAF renders it with meshrt's categories and returns 1.
int report(caf::actor_system& sys, const caf::error& err) {
  std::fprintf(stderr, "meshrt: %s\n", sys.render(err).c_str());
  return 1;
}

int run_stats(caf::actor_system& sys, caf::scoped_actor& self, const node& n,
              const store_options& opts, const std::string& storage_type) {
  auto timeout = caf::timespan{std::chrono::milliseconds{opts.timeout_ms}};
  std::vector<std::string> addresses;
  caf::error err;
  node_addresses_by_type(self, n, storage_type)
    .receive([&](std::vector<std::string>& a) { addresses = std::move(a); },
             [&](caf::error& e) { err = std::move(e); });
  if (err)
    return report(sys, err);
  // The guest's view is MARS's; a ring is each storage node's own, and can
  // hold a node MARS does not list at this moment (expired for a late
  // announce, or not yet announced again). So the nodes asked are the
  // view's and every ring member an answer names, and a node whose shards
  // did not all answer is asked again (at most 2 s): the totals leave no
  // key out unseen. A ring member outside the view that does not answer is
  // shown, not counted as a failure: it is most likely gone.
  const auto in_view = addresses;
  std::map<std::string, nlohmann::json> answers;
  for (int attempt = 0; attempt < 20; ++attempt) {
    bool again = false;
    for (size_t i = 0; i < addresses.size(); ++i) {
      const auto address = addresses[i]; // the loop may add to addresses
      auto& j = answers[address];
      if (j.is_object() && (j.contains("error") || j.value("shards_unanswered", 0) == 0))
        continue;
      store_stats(self, n, address, timeout)
        .receive([&](std::string& s) { j = nlohmann::json::parse(s); },
                 [&](caf::error& e) {
                   j = {{"node", address}, {"error", sys.render(e)}};
                 });
      if (j.contains("error"))
        continue;
      again = again || j.value("shards_unanswered", 0) != 0;
      for (const auto& member : j.value("ring_members", nlohmann::json::array()))
        if (std::find(addresses.begin(), addresses.end(), member) == addresses.end())
          addresses.push_back(member.get<std::string>());
    }
    if (!again)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  int failed = 0;
  size_t answered = 0;
  uint64_t keys = 0, bytes = 0, in_flight = 0, unanswered = 0;
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& [address, j] : answers) {
    nodes.push_back(j);
    if (j.contains("error")) {
      if (std::find(in_view.begin(), in_view.end(), address) != in_view.end())
        ++failed;
      continue;
    }
    ++answered;
    keys += j["keys"].get<uint64_t>();
    bytes += j["bytes"].get<uint64_t>();
    in_flight += j["migrations_in_flight"].get<uint64_t>();
    unanswered += j.value("shards_unanswered", uint64_t{0});
  }
  if (opts.json) {
    nlohmann::json doc{{"storage_type", storage_type},
                       {"nodes", nodes},
                       {"totals",
                        {{"nodes", answered},
                         {"keys", keys},
                         {"bytes", bytes},
                         {"migrations_in_flight", in_flight},
                         {"shards_unanswered", unanswered}}}};
    std::printf("%s\n", doc.dump(2).c_str());
  } else {
    std::printf("%-22s %8s %10s %12s %6s %10s\n", "NODE", "SLOTS", "KEYS", "BYTES", "RING",
                "MOVING");
    for (const auto& j : nodes) {
      if (j.contains("error")) {
        std::printf("%-22s %s\n", j["node"].get<std::string>().c_str(),
                    j["error"].get<std::string>().c_str());
        continue;
      }
      std::printf("%-22s %8llu %10llu %12llu %6llu %10llu\n", j["node"].get<std::string>().c_str(),
                  static_cast<unsigned long long>(j["slots"]["owned"].get<uint64_t>())
                    + static_cast<unsigned long long>(j["slots"]["outgoing"].get<uint64_t>()),
                  static_cast<unsigned long long>(j["keys"].get<uint64_t>()),
                  static_cast<unsigned long long>(j["bytes"].get<uint64_t>()),
                  static_cast<unsigned long long>(j["ring_nodes"].get<uint64_t>()),
                  static_cast<unsigned long long>(j["migrations_in_flight"].get<uint64_t>()));
    }
    std::printf("%zu storage nodes (type %s), %llu keys, %llu bytes, %llu slots moving\n", answered,
                storage_type.c_str(), static_cast<unsigned long long>(keys),
                static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(in_flight));
  }
  if (unanswered > 0)
    std::fprintf(stderr, "meshrt: %llu shards did not answer within 2 s: their keys are missing\n",
                 static_cast<unsigned long long>(unanswered));
  return failed == 0 && unanswered == 0 ? 0 : 1;
}

} // namespace

int run_store(const store_options& opts) {
  const auto& a = opts.action;
  if (a != "get" && a != "set" && a != "del" && a != "stats")
    throw std::invalid_argument("store: expected get, set, del or stats, got '" + a + "'");
  if (a != "stats" && opts.key.empty())
    throw std::invalid_argument("store " + a + ": KEY is required");
  if (a == "set" && opts.value.empty())
    throw std::invalid_argument("store set: VALUE is required");
  if (opts.ttl_s < 0)
    throw std::invalid_argument("--ttl must not be negative");
  if (opts.timeout_ms < 1)
    throw std::invalid_argument("--timeout must be at least 1 ms");
  auto cfg = load_config(opts.config_path);
  guest_node guest{cfg, opts.mars, opts.cluster_key_file, opts.app};
  auto& sys = guest.system();
  const auto& n = guest.get();
  caf::scoped_actor self{sys};
  int rc = 0;
  if (!guest.member()) {
    std::fprintf(stderr, "meshrt: MARS at %s did not answer within 2 s\n", opts.mars.c_str());
    rc = 1;
  } else if (a == "stats") {
    rc = run_stats(sys, self, n, opts, cfg.dm.storage_target_node_type);
  } else {
    auto timeout = caf::timespan{std::chrono::milliseconds{opts.timeout_ms}};
    caf::error err;
    auto keep = [&](caf::error& e) { err = std::move(e); };
    if (a == "get") {
      std::optional<std::string> value;
      store_get(self, n, opts.key, timeout)
        .receive([&](std::optional<std::string>& v) { value = std::move(v); }, keep);
      if (err) {
        rc = report(sys, err);
      } else if (!value) {
        std::fprintf(stderr, "meshrt: %s: not found\n", opts.key.c_str());
        rc = 1;
      } else {
        std::printf("%s\n", value->c_str());
      }
    } else if (a == "set") {
      store_write_options w;
      w.ttl = std::chrono::milliseconds{static_cast<int64_t>(opts.ttl_s * 1000)};
      w.timeout = timeout;
      store_set(self, n, opts.key, opts.value, w).receive([] {}, keep);
      if (err)
        rc = report(sys, err);
      else
        std::printf("OK\n");
    } else {
      bool existed = false;
      store_del(self, n, opts.key, timeout).receive([&](bool b) { existed = b; }, keep);
      if (err)
        rc = report(sys, err);
      else
        std::printf("%s\n", existed ? "deleted" : "not found");
    }
  }
  return rc;
}

} // namespace meshrt::cli
