#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

namespace caf {
class actor_system_config;
} // namespace caf

namespace meshrt {

/// Why a direct message was not delivered, carried in caf::error with
/// category "dm". The first four are exactly the reference's error cases of
/// SendMessageByUserID; bad_user_id is meshrt's answer to a login.
enum class dm_errc : uint8_t {
  /// "Reliable time out": no answer from the recipient's node (or the
  /// storage node asked for the recipient's location) in time.
  reliable_timeout = 1,
  /// "Message is nil": an empty message, not sent.
  message_nil = 2,
  /// "Nodes not found": no storage node in the cluster to look the user up.
  nodes_not_found = 3,
  /// "User not found": the user is not connected, or declined the message
  /// (an on_receive_message hook returned false: dm/README.md).
  user_not_found = 4,
  /// A login with a user id that is empty or over 256 bytes.
  bad_user_id = 5,
};

/// "reliable_timeout", ...
std::string to_string(dm_errc code);

/// A caf::error of category "dm" with a context line for humans.
caf::error make_error(dm_errc code, std::string context);

/// True if `err` is a DM error of kind `code`.
bool is(const caf::error& err, dm_errc code);

/// The dm_errc of `err`, or 0 if it is not a DM error.
uint8_t dm_code_of(const caf::error& err);

/// Lets CAF render DM errors as "dm.user_not_found: <context>".
void add_dm_error_category(caf::actor_system_config& cfg);

} // namespace meshrt
