#include "actors/cluster_view.hpp"

#include <algorithm>
#include <set>

namespace meshrt {

namespace {

std::string host_of(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  return colon == std::string::npos ? endpoint : endpoint.substr(0, colon);
}

/// Erases the entries of `map` whose key is not in `keep`, reporting each.
template<class Map>
void drop_missing(Map& map, const std::set<std::string>& keep, node_event::kind what,
                  std::vector<node_event>& events) {
  for (auto i = map.begin(); i != map.end();) {
    if (keep.count(i->first) == 0) {
      events.push_back({what, i->first});
      i = map.erase(i);
    } else {
      ++i;
    }
  }
}

} // namespace

std::vector<node_event> cluster_view::apply(const view_delta& delta) {
  using kind = node_event::kind;
  std::vector<node_event> events;
  if (!delta.full && (delta.epoch != epoch_ || delta.version < version_))
    return events; // not a continuation of this view
  auto upsert = [&](const node_record& rec) {
    auto i = nodes_.find(rec.mesh_address);
    if (i == nodes_.end()) {
      events.push_back({kind::node_joined, rec.mesh_address});
      nodes_.emplace(rec.mesh_address, rec);
      return;
    }
    if (i->second.status != rec.status)
      events.push_back({kind::node_status, rec.mesh_address, rec.status});
    auto before = i->second;
    before.status = rec.status;
    if (before != rec)
      events.push_back({kind::node_changed, rec.mesh_address});
    i->second = rec;
  };
  auto set_shared = [&](const std::string& key, int16_t value) {
    auto i = shared_.find(key);
    if (i != shared_.end() && i->second == value)
      return;
    shared_[key] = value;
    events.push_back({kind::shared_updated, key, node_status::online, value});
  };
  if (delta.full) {
    // Whatever the full view lacks is gone.
    std::set<std::string> addresses;
    for (const auto& rec : delta.upserts)
      addresses.insert(rec.mesh_address);
    drop_missing(nodes_, addresses, kind::node_left, events);
    std::set<std::string> keys;
    for (const auto& kv : delta.shared_set)
      keys.insert(kv.first);
    drop_missing(shared_, keys, kind::shared_removed, events);
  }
  for (const auto& rec : delta.upserts)
    upsert(rec);
  for (const auto& addr : delta.removed)
    if (nodes_.erase(addr) > 0)
      events.push_back({kind::node_left, addr});
  for (const auto& [key, value] : delta.shared_set)
    set_shared(key, value);
  for (const auto& key : delta.shared_removed)
    if (shared_.erase(key) > 0)
      events.push_back({kind::shared_removed, key});
  epoch_ = delta.epoch;
  version_ = delta.version;
  return events;
}

const node_record* cluster_view::find(const std::string& mesh_address) const {
  auto i = nodes_.find(mesh_address);
  return i == nodes_.end() ? nullptr : &i->second;
}

const node_record* cluster_view::find_by_public_endpoint(const std::string& endpoint) const {
  for (const auto& [addr, rec] : nodes_)
    if (!endpoint.empty() && rec.public_endpoint == endpoint)
      return &rec;
  return nullptr;
}

template<class Predicate>
std::vector<std::string> cluster_view::addresses_where(Predicate pred) const {
  std::vector<std::string> result;
  for (const auto& [addr, rec] : nodes_)
    if (pred(rec))
      result.push_back(addr);
  return result;
}

std::vector<std::string> cluster_view::addresses(const std::vector<std::string>& ignore) const {
  return addresses_where([&](const node_record& rec) {
    return std::find(ignore.begin(), ignore.end(), rec.mesh_address) == ignore.end();
  });
}

std::vector<std::string> cluster_view::addresses_by_type(const std::string& type) const {
  return addresses_where([&](const node_record& rec) { return rec.type == type; });
}

std::vector<std::string> cluster_view::addresses_by_role(const std::string& role) const {
  return addresses_where([&](const node_record& rec) { return rec.role == role; });
}

std::vector<std::string> cluster_view::types() const {
  std::set<std::string> result;
  for (const auto& [addr, rec] : nodes_)
    result.insert(rec.type);
  return {result.begin(), result.end()};
}

std::string cluster_view::role_of_type(const std::string& type) const {
  for (const auto& [addr, rec] : nodes_)
    if (rec.type == type)
      return rec.role;
  return {};
}

std::string cluster_view::random_online(const std::string& type, uint64_t random,
                                        const std::string& except) const {
  std::vector<const std::string*> candidates;
  for (const auto& [addr, rec] : nodes_)
    if (rec.type == type && rec.status == node_status::online && addr != except)
      candidates.push_back(&addr);
  if (candidates.empty())
    return {};
  return *candidates[random % candidates.size()];
}

std::vector<std::string>
cluster_view::with_different_public_host(const std::string& public_endpoint) const {
  std::vector<std::string> result;
  auto mine = host_of(public_endpoint);
  for (const auto& [addr, rec] : nodes_)
    if (!rec.public_endpoint.empty() && host_of(rec.public_endpoint) != mine)
      result.push_back(addr);
  return result;
}

std::optional<int16_t> cluster_view::shared(const std::string& key) const {
  auto i = shared_.find(key);
  if (i == shared_.end())
    return std::nullopt;
  return i->second;
}

} // namespace meshrt
