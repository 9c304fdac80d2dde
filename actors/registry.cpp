#include "actors/registry.hpp"

#include <stdexcept>

namespace meshrt {

registry::registry(options opts) : opts_(opts) {
  // nop
}

bool registry::announce(const std::string& app, node_record record, uint64_t now_us) {
  auto& st = apps_[app];
  auto key = record.mesh_address;
  auto i = st.nodes.find(key);
  if (i != st.nodes.end()) {
    i->second.last_seen_us = now_us;
    if (i->second.record == record)
      return false; // a heartbeat: nothing new to tell anyone
    i->second.record = std::move(record);
    i->second.changed_at = ++st.version;
    return true;
  }
  st.removed_nodes.erase(key);
  st.nodes.emplace(key, stamped_record{std::move(record), ++st.version, now_us});
  return true;
}

bool registry::remove(const std::string& app, const std::string& mesh_address, uint64_t now_us) {
  auto a = apps_.find(app);
  if (a == apps_.end() || a->second.nodes.erase(mesh_address) == 0)
    return false;
  bury(a->second, a->second.removed_nodes, mesh_address, now_us);
  return true;
}

void registry::bury(app_state& st, std::map<std::string, tombstone>& graves,
                    const std::string& name, uint64_t now_us) {
  graves[name] = tombstone{++st.version, now_us};
}

std::vector<std::pair<std::string, std::string>> registry::expire(uint64_t now_us) {
  std::vector<std::pair<std::string, std::string>> gone;
  for (auto& [app, st] : apps_) {
    for (auto i = st.nodes.begin(); i != st.nodes.end();) {
      if (i->second.last_seen_us + opts_.expiry_us < now_us) {
        gone.emplace_back(app, i->first);
        bury(st, st.removed_nodes, i->first, now_us);
        i = st.nodes.erase(i);
      } else {
        ++i;
      }
    }
    // Forget old tombstones; a delta from before them must be sent full.
    for (auto* graves : {&st.removed_nodes, &st.removed_shared}) {
      for (auto i = graves->begin(); i != graves->end();) {
        if (i->second.at_us + opts_.tombstone_us < now_us) {
          st.floor = std::max(st.floor, i->second.version);
          i = graves->erase(i);
        } else {
          ++i;
        }
      }
    }
  }
  return gone;
}

bool registry::set_shared(const std::string& app, const std::string& key, int16_t value) {
  if (key.empty() || key.size() > max_shared_key_length)
    throw std::invalid_argument("shared data key '" + key + "' must have 1 to "
                                + std::to_string(max_shared_key_length) + " characters, not "
                                + std::to_string(key.size()));
  auto& st = apps_[app];
  auto i = st.shared.find(key);
  if (i != st.shared.end() && i->second.value == value)
    return false;
  st.removed_shared.erase(key);
  st.shared[key] = stamped_value{value, ++st.version};
  return true;
}

bool registry::remove_shared(const std::string& app, const std::string& key, uint64_t now_us) {
  auto a = apps_.find(app);
  if (a == apps_.end() || a->second.shared.erase(key) == 0)
    return false;
  bury(a->second, a->second.removed_shared, key, now_us);
  return true;
}

view_delta registry::delta_since(const std::string& app, uint64_t epoch, uint64_t since) const {
  view_delta result;
  result.epoch = opts_.epoch;
  result.full = true;
  auto a = apps_.find(app);
  if (a == apps_.end())
    return result;
  const auto& st = a->second;
  result.version = st.version;
  result.full = epoch != opts_.epoch || since == 0 || since < st.floor || since > st.version;
  for (const auto& [addr, entry] : st.nodes)
    if (result.full || entry.changed_at > since)
      result.upserts.push_back(entry.record);
  for (const auto& [key, entry] : st.shared)
    if (result.full || entry.changed_at > since)
      result.shared_set.emplace_back(key, entry.value);
  if (!result.full) {
    for (const auto& [addr, grave] : st.removed_nodes)
      if (grave.version > since)
        result.removed.push_back(addr);
    for (const auto& [key, grave] : st.removed_shared)
      if (grave.version > since)
        result.shared_removed.push_back(key);
  }
  return result;
}

view_delta registry::answer(const std::string& app, uint64_t epoch, uint64_t since,
                            uint64_t now_us) const {
  if (warming_up(now_us) && epoch != 0 && epoch != opts_.epoch) {
    view_delta keep_yours;
    keep_yours.epoch = opts_.epoch;
    return keep_yours;
  }
  return delta_since(app, epoch, since);
}

size_t registry::restore_shared(const std::string& app,
                                const std::vector<std::pair<std::string, int16_t>>& values,
                                uint64_t now_us) {
  if (!warming_up(now_us))
    return 0;
  size_t taken = 0;
  auto& st = apps_[app];
  for (const auto& [key, value] : values) {
    if (key.empty() || key.size() > max_shared_key_length || st.shared.count(key) > 0
        || st.removed_shared.count(key) > 0)
      continue;
    st.shared[key] = stamped_value{value, ++st.version};
    ++taken;
  }
  return taken;
}

uint64_t registry::version(const std::string& app) const {
  auto a = apps_.find(app);
  return a == apps_.end() ? 0 : a->second.version;
}

bool registry::has(const std::string& app, const std::string& mesh_address) const {
  auto a = apps_.find(app);
  return a != apps_.end() && a->second.nodes.count(mesh_address) > 0;
}

std::vector<registry::node_entry> registry::nodes(const std::string& app) const {
  std::vector<node_entry> result;
  auto a = apps_.find(app);
  if (a != apps_.end())
    for (const auto& [addr, entry] : a->second.nodes)
      result.push_back({entry.record, entry.last_seen_us});
  return result;
}

std::vector<std::pair<std::string, int16_t>> registry::shared(const std::string& app) const {
  std::vector<std::pair<std::string, int16_t>> result;
  auto a = apps_.find(app);
  if (a != apps_.end())
    for (const auto& [key, entry] : a->second.shared)
      result.emplace_back(key, entry.value);
  return result;
}

std::vector<std::string> registry::apps() const {
  std::vector<std::string> result;
  for (const auto& [app, st] : apps_)
    if (!st.nodes.empty() || !st.shared.empty())
      result.push_back(app);
  return result;
}

} // namespace meshrt
