#pragma once

// The DM hooks of dm-api.txt (SetOnMessage, SetOnReceiveMessage,
// SetOnUserDisconnect, SetOnClearCache). Each is a plain function or an
// actor; several of a kind run in the order they were registered. They run
// in the DM service of the node of the user they concern, where its session
// lives (dm/user_session.hpp): a function hook must return quickly, as the
// node's other users wait meanwhile; an actor hook is asked and its answer
// waited for without holding anyone up (hook_timeout; no answer counts as
// no opinion).
//
// An actor hook answers, per kind:
//   (dm_hook_message_atom, uint8_t ver, uint16_t cmd, byte_buffer message,
//    std::string sender, std::string receiver) -> (bool replace, byte_buffer)
//   (dm_hook_receive_atom, same arguments) -> bool accept
//   (dm_hook_disconnect_atom, std::string disconnected, std::string peer)
//    -> byte_buffer message
//   (dm_hook_clear_atom, std::string cleared, std::string stayed): no answer

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "transport/byte_buffer.hpp"

namespace meshrt {

/// SetOnMessage: runs just before a message goes to the receiving client.
/// nullopt leaves the message as it is; a value replaces it (the last
/// hook's non-nullopt value wins); an empty value drops the message (the
/// sender still hears that it was delivered: the application chose).
using on_message_fn = std::function<std::optional<byte_buffer>(
  uint8_t ver, uint16_t cmd, const byte_buffer& message, const std::string& sender,
  const std::string& receiver)>;

/// SetOnReceiveMessage: false declines the message; the sender hears
/// user_not_found, as for a user who is not there (dm/README.md).
using on_receive_message_fn
  = std::function<bool(uint8_t ver, uint16_t cmd, const byte_buffer& message,
                       const std::string& sender, const std::string& receiver)>;

/// SetOnUserDisconnect: the message each peer in the disconnecting user's
/// channel cache receives (empty: none; the last non-empty result wins).
using on_user_disconnect_fn
  = std::function<byte_buffer(const std::string& disconnected, const std::string& peer)>;

/// SetOnClearCache: runs on the user that stayed when a channel was closed
/// without a last message (ClearCacheByUserID without one, or a disconnect
/// that carried no message).
using on_clear_cache_fn
  = std::function<void(const std::string& cleared, const std::string& stayed)>;

/// How long an actor hook is waited for.
constexpr std::chrono::seconds hook_timeout{1};

/// One hook: a function, or an actor (invalid handle: the function).
template<class Fn>
struct dm_hook {
  Fn fn;
  caf::actor actor;
};

/// Every hook of a node's DM service, in registration order.
struct dm_hooks {
  std::vector<dm_hook<on_message_fn>> on_message;
  std::vector<dm_hook<on_receive_message_fn>> on_receive_message;
  std::vector<dm_hook<on_user_disconnect_fn>> on_user_disconnect;
  std::vector<dm_hook<on_clear_cache_fn>> on_clear_cache;
};

} // namespace meshrt
