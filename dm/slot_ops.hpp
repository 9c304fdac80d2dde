#pragma once

// The store's operations on one slot's entries, free of actors and clocks:
// what a location shard does with a request it answers, and with the
// records a migration brings.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dm/entry_table.hpp"
#include "dm/store_wire.hpp"

namespace meshrt {

/// Owner node addresses as the small ids an entry keeps (0 is "nobody").
class owner_names {
public:
  owner_names() : names_{""} {}

  /// The id of `address`, new if it has none yet ("" is 0).
  uint16_t id(const std::string& address);

  /// The id of `address` if it has one, else 0.
  uint16_t find(const std::string& address) const;

  const std::string& name(uint16_t id) const;

private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint16_t> ids_;
};

/// Why a request's arguments are refused ("" if they are fine), with the
/// store_errc code in `code`: empty or over-long keys, values over 64 KB.
std::string check_request(const store_request& req, uint8_t& code);

/// Answers `req` from `table` at `now_ms` (writes change it). `touched`
/// gets every key the request wrote or removed (a handoff sends them
/// again).
store_response apply_request(entry_table& table, owner_names& owners, const store_request& req,
                             int64_t now_ms, std::vector<std::string>* touched = nullptr);

/// Whether `req` reads a key `table` lacks at `now_ms` (get, get_many): a
/// slot taken over from a node that is gone lets such a read wait while
/// the keys' owners set them again.
bool reads_missing_key(const entry_table& table, const store_request& req, int64_t now_ms);

/// The current state of `key` as a migration record (present or gone; the
/// TTL as what is left of it).
store_record record_of(const entry_table& table, const owner_names& owners, std::string_view key,
                       int64_t now_ms);

/// Applies a migration record: sets the entry, or removes it.
void apply_record(entry_table& table, owner_names& owners, const store_record& rec, int64_t now_ms);

} // namespace meshrt
