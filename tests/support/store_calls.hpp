#pragma once

// Store calls for tests, each waiting for its answer: what the store's
// in-process tests (tests/dm/store_service_test.cpp, store_kill_test.cpp)
// share.

#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "runtime/store.hpp"
#include "support/eventually.hpp"
#include "support/node_cluster.hpp"

namespace meshrt::test::store_calls {

using namespace std::chrono_literals;

using opt_string = std::optional<std::string>;

/// The answer of one store call: the value, or the error.
template<class T>
struct outcome {
  T value{};
  caf::error error;
  explicit operator bool() const {
    return !error;
  }
};

inline outcome<opt_string> get(caf::scoped_actor& self, const node& n, const std::string& key) {
  outcome<opt_string> r;
  store_get(self, n, key)
    .receive([&](opt_string& v) { r.value = std::move(v); },
             [&](caf::error& e) { r.error = std::move(e); });
  return r;
}

inline caf::error set(caf::scoped_actor& self, const node& n, const std::string& key,
                      const std::string& value, store_write_options opts = {}) {
  caf::error result;
  store_set(self, n, key, value, opts).receive([] {}, [&](caf::error& e) { result = e; });
  return result;
}

inline nlohmann::json stats(caf::scoped_actor& self, const node& n) {
  return meshrt::test::store_stats_json(self, n);
}

inline bool rings_hold(caf::scoped_actor& self, const std::vector<node>& nodes, size_t count) {
  return meshrt::test::store_rings_hold(self, nodes, count);
}

/// No slot of any of `nodes` is moving, and each handover that ended was
/// reported (its migration_done emitted).
inline bool settled(caf::scoped_actor& self, const std::vector<node>& nodes) {
  return eventually(
    [&] {
      for (const auto& n : nodes)
        if (auto s = stats(self, n); s["migrations_in_flight"] != 0 || s["handover_open"] == true)
          return false;
      return true;
    },
    20s);
}

inline std::vector<std::string> numbered(const std::string& prefix, size_t n) {
  std::vector<std::string> result;
  for (size_t i = 0; i < n; ++i)
    result.push_back(prefix + std::to_string(i));
  return result;
}

inline outcome<std::vector<opt_string>> get_many(caf::scoped_actor& self, const node& n,
                                                 std::vector<std::string> keys,
                                                 caf::timespan timeout = 5s) {
  outcome<std::vector<opt_string>> r;
  store_get_many(self, n, std::move(keys), timeout)
    .receive([&](std::vector<opt_string>& v) { r.value = std::move(v); },
             [&](caf::error& e) { r.error = std::move(e); });
  return r;
}

inline void set_many(caf::scoped_actor& self, const node& n, std::vector<std::string> keys,
                     std::vector<std::string> values) {
  store_write_options opts;
  opts.timeout = 5s;
  store_set_many(self, n, std::move(keys), std::move(values), opts)
    .receive([] {}, [](caf::error& e) { FAIL("set_many: " << to_string(e)); });
}

} // namespace meshrt::test::store_calls
