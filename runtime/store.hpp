#pragma once

// The cluster's key-value store (dm/store_service.hpp) as functions the
// compiler checks, in the style of node.hpp: each takes `self` (any CAF
// actor) and a node, and returns a reply (reply.hpp) of the operation's
// type or a caf::error of category "store" (store_errc, dm/store_error.hpp).
// Any node can call them, storage node or not; every call is answered by
// its timeout at the latest.
//
//   meshrt::store_set(self, n, "session:ann", "node-3", {std::chrono::minutes{5}})
//     .receive([] {}, [](caf::error& err) { ... });
//   meshrt::store_get(self, n, "session:ann")
//     .receive([](std::optional<std::string>& v) { ... }, [](caf::error&) { ... });

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/timespan.hpp>

#include "dm/store_atoms.hpp"
#include "dm/store_error.hpp"
#include "dm/store_event.hpp"
#include "runtime/node.hpp"

namespace meshrt {

/// How a store entry is written.
struct store_write_options {
  /// Time to live; zero keeps the entry until it is deleted. Expiry is exact
  /// to within 100 ms.
  std::chrono::milliseconds ttl{0};
  /// An owned entry belongs to the calling node: if the storage node that
  /// holds it dies without handing it over, the calling node sets it again
  /// at the slot's new owner (user locations), and it goes when the calling
  /// node leaves the view.
  bool owned = false;
  caf::timespan timeout = default_request_timeout;
};

namespace detail {

inline uint32_t ttl_ms(std::chrono::milliseconds ttl) {
  return static_cast<uint32_t>(std::max<int64_t>(0, ttl.count()));
}

} // namespace detail

/// The value of `key`, nullopt if it has none.
template<class Self>
auto store_get(Self&& self, const node& n, std::string key,
               caf::timespan timeout = default_request_timeout) {
  return detail::ask<std::optional<std::string>>(self, n.store(), store_get_atom::value,
                                                 std::move(key), timeout);
}

/// Sets `key` to `value`.
template<class Self>
auto store_set(Self&& self, const node& n, std::string key, std::string value,
               store_write_options opts = {}) {
  return detail::ask<void>(self, n.store(), store_set_atom::value, std::move(key), std::move(value),
                           detail::ttl_ms(opts.ttl), opts.owned, opts.timeout);
}

/// Sets `key` to `value`: the value it replaced, nullopt if none (Redis's
/// SET ... GET).
template<class Self>
auto store_swap(Self&& self, const node& n, std::string key, std::string value,
                store_write_options opts = {}) {
  return detail::ask<std::optional<std::string>>(
    self, n.store(), store_swap_atom::value, std::move(key), std::move(value),
    detail::ttl_ms(opts.ttl), opts.owned, opts.timeout);
}

/// Removes `key`: true if it was there.
template<class Self>
auto store_del(Self&& self, const node& n, std::string key,
               caf::timespan timeout = default_request_timeout) {
  return detail::ask<bool>(self, n.store(), store_del_atom::value, std::move(key), timeout);
}

/// Removes `key` only while its value is `expected`: true if it did.
template<class Self>
auto store_del_if(Self&& self, const node& n, std::string key, std::string expected,
                  caf::timespan timeout = default_request_timeout) {
  return detail::ask<bool>(self, n.store(), store_del_if_atom::value, std::move(key),
                           std::move(expected), timeout);
}

/// Sets `key` unless it has a value: nullopt if it stored `value`, else the
/// value already there (which stays).
template<class Self>
auto store_set_if_absent(Self&& self, const node& n, std::string key, std::string value,
                         store_write_options opts = {}) {
  return detail::ask<std::optional<std::string>>(
    self, n.store(), store_set_nx_atom::value, std::move(key), std::move(value),
    detail::ttl_ms(opts.ttl), opts.owned, opts.timeout);
}

/// Adds `delta` to the int64 at `key` (0 if missing): the new value, or
/// not_an_integer.
template<class Self>
auto store_incr(Self&& self, const node& n, std::string key, int64_t delta = 1,
                caf::timespan timeout = default_request_timeout) {
  return detail::ask<int64_t>(self, n.store(), store_incr_atom::value, std::move(key), delta,
                              timeout);
}

/// The values of `keys`, in order; one message per owner.
template<class Self>
auto store_get_many(Self&& self, const node& n, std::vector<std::string> keys,
                    caf::timespan timeout = default_request_timeout) {
  return detail::ask<std::vector<std::optional<std::string>>>(
    self, n.store(), store_get_many_atom::value, std::move(keys), timeout);
}

/// Sets each of `keys` to the value at the same index; one message per
/// owner.
template<class Self>
auto store_set_many(Self&& self, const node& n, std::vector<std::string> keys,
                    std::vector<std::string> values, store_write_options opts = {}) {
  return detail::ask<void>(self, n.store(), store_set_many_atom::value, std::move(keys),
                           std::move(values), detail::ttl_ms(opts.ttl), opts.timeout);
}

/// This node's store as one JSON object: slots by mode, keys, bytes,
/// migrations in flight, the ring's members, counters (`shards_unanswered`:
/// shards that did not answer in 2 s, whose keys `keys` leaves out).
template<class Self>
auto store_stats(Self&& self, const node& n) {
  return detail::ask<std::string>(self, n.store(), store_stats_atom::value);
}

/// The same of the node at `mesh_address`, asked over the mesh.
template<class Self>
auto store_stats(Self&& self, const node& n, std::string mesh_address,
                 caf::timespan timeout = default_request_timeout) {
  return detail::ask<std::string>(self, n.store(), store_stats_atom::value, std::move(mesh_address),
                                  timeout);
}

/// `subscriber` gets this node's store_events of the kinds in `kinds`, every
/// kind when it is empty (a storage node emits one per slot it hands over
/// or takes over).
template<class Self>
void store_subscribe(Self&& self, const node& n, const caf::actor& subscriber,
                     std::initializer_list<store_event::kind> kinds = {}) {
  self->send(n.store(), store_subscribe_atom::value, subscriber, store_event_mask(kinds));
}

} // namespace meshrt
