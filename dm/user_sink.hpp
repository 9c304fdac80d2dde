#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "transport/byte_buffer.hpp"

namespace meshrt {

/// Where a connected user's messages go when no actor receives them: a
/// client gateway connection (dm/client_gateway.hpp), which costs a user
/// far less than an actor would. A session calls it from its DM service's
/// thread, one call at a time; an implementation hands the calls on to its
/// own thread and never blocks. The session ends when told
/// (dm_disconnect_atom), not when the sink goes away.
class user_sink {
public:
  virtual ~user_sink() = default;

  /// A direct message for the user (after the hooks).
  virtual void message(const std::string& from, uint8_t ver, uint16_t cmd, byte_buffer message) = 0;

  /// A peer the user talked with disconnected; `message` is its
  /// on_user_disconnect message (maybe empty).
  virtual void peer_gone(const std::string& peer, byte_buffer message) = 0;

  /// The session ended from the server's side (the same user logged in
  /// again on this node): `why`.
  virtual void closed(const std::string& why) = 0;

  /// The outcome of the user's send `seq` (dm_client_send_atom): `code` 0
  /// when delivered, else a dm_errc, with a text. `bytes` are the send's
  /// recipient id and message together (what the sink counted it by).
  virtual void send_result(uint32_t seq, uint8_t code, const std::string& text, size_t bytes) = 0;

  /// A clear of the user's (dm_client_clear_atom) left its session's queue,
  /// gone or failed (a clear is not answered to the client). `bytes` are
  /// its peer id and message together.
  virtual void cleared(size_t bytes) = 0;
};

} // namespace meshrt
