#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>

namespace caf {
class actor_system_config;
} // namespace caf

namespace meshrt {

/// Why a store operation failed, carried in caf::error with category
/// "store".
enum class store_errc : uint8_t {
  /// No node of storageTargetNodeType is in the view (the reference's
  /// "Nodes not found").
  no_storage_nodes = 1,
  /// A key over 256 bytes, or an empty one.
  key_too_long = 2,
  /// A value over 64 KB.
  value_too_large = 3,
  /// incr on a value that is not a decimal int64.
  not_an_integer = 4,
  /// No answer within the operation's timeout (the storage node is slow,
  /// unreachable or gone).
  timeout = 5,
  /// storageRingSize is not greater than the number of storage nodes.
  ring_too_small = 6,
  /// A message that does not decode (a peer of another version, a bug).
  malformed = 7,
};

/// The largest key and value the store takes.
constexpr size_t max_store_key_size = 256;
constexpr size_t max_store_value_size = size_t{64} * 1024;

/// Keys that start with a zero byte are meshrt's own namespaces (the DM
/// service's user locations: "\0dm.loc:" + a user id of up to 256
/// bytes); such a key may be that much longer than an application's.
constexpr size_t internal_key_prefix_size = 16;

/// The longest `key` may be: max_store_key_size, plus the prefix for an
/// internal key.
constexpr size_t max_key_size_of(std::string_view key) {
  return !key.empty() && key.front() == '\0' ? max_store_key_size + internal_key_prefix_size
                                             : max_store_key_size;
}

/// "no_storage_nodes", ...
std::string to_string(store_errc code);

/// A caf::error of category "store" with a context line for humans.
caf::error make_error(store_errc code, std::string context);

/// True if `err` is a store error of kind `code`.
bool is(const caf::error& err, store_errc code);

/// Lets CAF render store errors as "store.key_too_long: <context>".
void add_store_error_category(caf::actor_system_config& cfg);

} // namespace meshrt
