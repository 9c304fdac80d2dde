#include "dm/slot_ops.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include "dm/store_error.hpp"

namespace meshrt {

uint16_t owner_names::id(const std::string& address) {
  if (address.empty())
    return 0;
  auto i = ids_.find(address);
  if (i != ids_.end())
    return i->second;
  if (names_.size() > UINT16_MAX)
    return 0; // 65,535 owner nodes: more than any cluster; such entries are not owned
  auto id = static_cast<uint16_t>(names_.size());
  names_.push_back(address);
  ids_.emplace(address, id);
  return id;
}

uint16_t owner_names::find(const std::string& address) const {
  auto i = ids_.find(address);
  return i == ids_.end() ? 0 : i->second;
}

const std::string& owner_names::name(uint16_t id) const {
  return id < names_.size() ? names_[id] : names_[0];
}

namespace {

int64_t deadline_of(uint32_t ttl_ms, int64_t now_ms) {
  return ttl_ms == 0 ? 0 : now_ms + ttl_ms;
}

store_response error_response(const store_request& req, store_errc code, std::string text) {
  store_response resp;
  resp.id = req.id;
  resp.status = static_cast<uint8_t>(code);
  resp.error = std::move(text);
  return resp;
}

store_record found(std::string_view key, const std::optional<entry_value>& e) {
  store_record rec;
  rec.key = std::string{key};
  if (e)
    rec.value = std::string{e->value};
  else
    rec.present = false;
  return rec;
}

store_record found(const entry_table& table, std::string_view key, int64_t now_ms) {
  return found(key, table.find(key, now_ms));
}

/// Stores `rec` over `before` (the key's entry, if any). An owned entry's
/// version only grows while the key is there: the writer's version, or one
/// more than the entry's it replaces. Answers the version stored.
uint64_t put_record(entry_table& table, owner_names& owners, const store_record& rec,
                    const std::optional<entry_value>& before, int64_t now_ms) {
  auto owner = owners.id(rec.owner);
  uint64_t version = 0;
  if (owner != 0)
    version = std::max(rec.version, before ? before->version + 1 : uint64_t{1});
  table.put(rec.key, rec.value, deadline_of(rec.ttl_ms, now_ms), owner, version);
  return version;
}

} // namespace

std::string check_request(const store_request& req, uint8_t& code) {
  if (req.op == store_op::stats)
    return {};
  bool needs_record = req.op != store_op::get_many && req.op != store_op::set_many;
  if (needs_record && req.records.size() != 1) {
    code = static_cast<uint8_t>(store_errc::malformed);
    return std::string{to_string(req.op)} + " carries " + std::to_string(req.records.size())
           + " records, not 1";
  }
  for (const auto& rec : req.records) {
    if (rec.key.empty() || rec.key.size() > max_key_size_of(rec.key)) {
      code = static_cast<uint8_t>(store_errc::key_too_long);
      return "key of " + std::to_string(rec.key.size()) + " bytes: a key has 1 to "
             + std::to_string(max_store_key_size) + " bytes";
    }
    if (rec.value.size() > max_store_value_size) {
      code = static_cast<uint8_t>(store_errc::value_too_large);
      return "value of " + std::to_string(rec.value.size()) + " bytes for key '"
             + rec.key.substr(0, 64) + "': at most " + std::to_string(max_store_value_size);
    }
  }
  return {};
}

store_response apply_request(entry_table& table, owner_names& owners, const store_request& req,
                             int64_t now_ms, std::vector<std::string>* touched) {
  uint8_t code = 0;
  if (auto problem = check_request(req, code); !problem.empty())
    return error_response(req, static_cast<store_errc>(code), std::move(problem));
  auto wrote = [&](const std::string& key) {
    if (touched != nullptr)
      touched->push_back(key);
  };
  store_response resp;
  resp.id = req.id;
  switch (req.op) {
    case store_op::get:
      resp.records.push_back(found(table, req.records[0].key, now_ms));
      break;
    case store_op::get_many:
      for (const auto& rec : req.records)
        resp.records.push_back(found(table, rec.key, now_ms));
      break;
    case store_op::swap:
    case store_op::set:
    case store_op::set_many:
      if (req.op == store_op::swap) // the value it replaces
        resp.records.push_back(found(table, req.records[0].key, now_ms));
      for (const auto& rec : req.records) {
        resp.version = put_record(table, owners, rec, table.find(rec.key, now_ms), now_ms);
        wrote(rec.key);
      }
      if (req.records.size() != 1)
        resp.version = 0;
      break;
    case store_op::del:
      resp.number = table.erase(req.records[0].key, now_ms) ? 1 : 0;
      wrote(req.records[0].key);
      break;
    case store_op::del_if_equal: {
      const auto& rec = req.records[0];
      auto e = table.find(rec.key, now_ms);
      if (e && e->value == rec.value) {
        table.erase(rec.key, now_ms);
        resp.number = 1;
        wrote(rec.key);
      }
      break;
    }
    case store_op::set_if_absent: {
      const auto& rec = req.records[0];
      if (auto e = table.find(rec.key, now_ms)) {
        resp.records.push_back(found(rec.key, e));
      } else {
        resp.version = put_record(table, owners, rec, std::nullopt, now_ms);
        resp.number = 1;
        wrote(rec.key);
      }
      break;
    }
    case store_op::reassert: {
      const auto& rec = req.records[0];
      auto e = table.find(rec.key, now_ms);
      bool same_owner = e && owners.name(e->owner) == rec.owner;
      // Another owner's claim stands unless it is older: set over a key
      // whose holder had lost it, or set again from an older claim, while
      // this one's write had replaced that claim's before it was lost.
      if (e && !same_owner && (e->owner == 0 || rec.version <= e->version)) {
        resp.records.push_back(found(rec.key, e));
        resp.records.back().owner = owners.name(e->owner);
        resp.records.back().version = e->version;
        break;
      }
      auto version = same_owner ? std::max(rec.version, e->version) : rec.version;
      table.put(rec.key, rec.value, deadline_of(rec.ttl_ms, now_ms), owners.id(rec.owner), version);
      resp.version = version;
      resp.number = 1;
      wrote(rec.key);
      break;
    }
    case store_op::incr: {
      const auto& key = req.records[0].key;
      int64_t value = 0;
      int64_t expires = 0;
      uint16_t owner = 0;
      uint64_t version = 0;
      if (auto e = table.find(key, now_ms)) {
        auto text = e->value;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
          return error_response(req, store_errc::not_an_integer,
                                "incr on key '" + key.substr(0, 64)
                                  + "', whose value is not a decimal int64");
        expires = e->expires_ms; // incr keeps the TTL, as Redis's INCRBY does
        owner = e->owner;
        version = e->version;
      }
      if ((req.delta > 0 && value > INT64_MAX - req.delta)
          || (req.delta < 0 && value < INT64_MIN - req.delta))
        return error_response(req, store_errc::not_an_integer,
                              "incr on key '" + key.substr(0, 64) + "' would overflow int64");
      value += req.delta;
      auto text = std::to_string(value);
      table.put(key, text, expires, owner, version);
      resp.number = value;
      wrote(key);
      break;
    }
    case store_op::stats:
      break; // the store service answers these, not a slot
  }
  return resp;
}

bool reads_missing_key(const entry_table& table, const store_request& req, int64_t now_ms) {
  if (req.op != store_op::get && req.op != store_op::get_many)
    return false;
  return std::any_of(req.records.begin(), req.records.end(),
                     [&](const store_record& rec) { return !table.find(rec.key, now_ms); });
}

store_record record_of(const entry_table& table, const owner_names& owners, std::string_view key,
                       int64_t now_ms) {
  store_record rec;
  rec.key = std::string{key};
  auto e = table.find(key, now_ms);
  if (!e) {
    rec.present = false;
    return rec;
  }
  rec.value = std::string{e->value};
  if (e->expires_ms != 0)
    rec.ttl_ms = static_cast<uint32_t>(std::max<int64_t>(1, e->expires_ms - now_ms));
  rec.owner = owners.name(e->owner);
  rec.version = e->version;
  return rec;
}

void apply_record(entry_table& table, owner_names& owners, const store_record& rec,
                  int64_t now_ms) {
  if (rec.present)
    table.put(rec.key, rec.value, deadline_of(rec.ttl_ms, now_ms), owners.id(rec.owner),
              rec.version);
  else
    table.erase(rec.key, now_ms);
}

} // namespace meshrt
