#pragma once

// The client gateway's protocol (dm/client_gateway.hpp), between an end-user
// client and the node it connects to over TCP, top to bottom. Plain C++
// without CAF: the client library (dm/client.hpp) and the gateway share it.
// Integers are little-endian.
//
// Every frame is a header and a payload:
//   u32 length (of the payload) | u8 version (1) | u8 cmd | u16 flags
// flags are 0 but in a login frame (login_quiet).
//
// Client to gateway:
//   cmd 1, login:  str16 user id (1 to 256 bytes) | str16 token (may be
//     empty; a payload that ends after the user id has none). A gateway
//     with clientTokenKeyFile takes only a valid token of that user
//     (dm/login_token.hpp). Flag login_quiet (bit 0): the connection's
//     sends are answered only when they fail, as NATS's verbose:false.
//   cmd 2, send:   u32 seq | str16 to | u8 ver | u16 cmd | message (the rest)
//     SendMessageByUserID; answered by one send result with the same seq
//     (after a quiet login, only a failure's).
//   cmd 3, clear:  str16 peer | u8 ver | u16 cmd | message (the rest, may be
//     empty): ClearCacheByUserID; no answer.
//
// Gateway to client:
//   cmd 16, login ok:       (empty)
//   cmd 17, send result:    u32 seq | u8 code (0: delivered, else a dm_errc)
//                           | str16 text
//   cmd 18, message:        str16 from | u8 ver | u16 cmd | message (the rest)
//   cmd 19, peer gone:      str16 peer | message (the rest): a user this one
//                           talked with disconnected (its disconnect message)
//   cmd 20, error:          u8 code (gateway_errc) | str16 text; the gateway
//                           closes the connection after it
//   cmd 21, closed:         str16 why: the same user logged in elsewhere on
//                           this node; the gateway closes after it
//
// A client logs in once, first; then it sends and clears as it likes and
// reads pushes (message, peer gone) in between its send results.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "transport/byte_buffer.hpp"
#include "transport/byte_view.hpp"

namespace meshrt {

constexpr uint8_t client_protocol_version = 1;
constexpr size_t client_header_size = 8;

/// Login flag: answer this connection's sends only when they fail (a send
/// result with code 0 is not written). A client that does not wait for
/// each send saves a frame, a read and the gateway's write per message.
constexpr uint16_t login_quiet = 0x0001;

enum class client_cmd : uint8_t {
  login = 1,
  send = 2,
  clear = 3,
  login_ok = 16,
  send_result = 17,
  message = 18,
  peer_gone = 19,
  error = 20,
  closed = 21,
};

/// Why the gateway refused a frame (error frames); the connection closes.
enum class gateway_errc : uint8_t {
  /// A payload that does not decode as its cmd says.
  malformed = 1,
  /// A frame over clientMaxFrameSize.
  frame_too_large = 2,
  /// A cmd the gateway does not take (or exposeCommands is off).
  unknown_command = 3,
  /// A send or clear before the login.
  not_logged_in = 4,
  /// A login with an empty user id or one over 256 bytes.
  bad_user_id = 5,
  /// The login could not be completed (no storage node, a timeout).
  login_failed = 6,
  /// A second login on one connection.
  already_logged_in = 7,
  /// A header with another protocol version.
  bad_version = 8,
  /// No login within clientLoginTimeout.
  login_timeout = 9,
  /// A login without a valid token of that user (clientTokenKeyFile): none,
  /// forged, expired, or another user's.
  bad_token = 10,
  /// The gateway is at clientMaxConnections: a connection that had not
  /// logged in closed to make room, or a new one refused when every open
  /// connection is a logged-in user.
  too_many_connections = 11,
};

/// "malformed", ...
const char* to_string(gateway_errc code);

struct client_header {
  uint32_t length = 0;
  uint8_t version = client_protocol_version;
  client_cmd cmd = client_cmd::login;
  uint16_t flags = 0;
};

/// One decoded frame; which fields mean something depends on `cmd`.
struct client_frame {
  client_cmd cmd = client_cmd::login;
  /// The header's flags (login: login_quiet).
  uint16_t flags = 0;
  /// login: the user id; send: to; clear: the peer; message: from; peer
  /// gone: the peer; error, closed, send result: the text.
  std::string user;
  uint32_t seq = 0;
  /// send result: 0 or a dm_errc; error: a gateway_errc.
  uint8_t code = 0;
  uint8_t ver = 0;
  uint16_t dm_cmd = 0;
  byte_buffer message;
  /// login: the login token ("" for none).
  std::string token;
};

/// The wire bytes of `f` (header and payload).
byte_buffer encode(const client_frame& f);

/// The payload of `bytes` (a whole frame's payload) as a frame of `cmd`;
/// nullopt if it does not decode (or the cmd is unknown).
std::optional<client_frame> decode_client_payload(client_cmd cmd, byte_view payload);

/// Cuts a byte stream into frames, free of sockets: feed what arrives, take
/// frames while next() has one. A header that announces more than
/// `max_payload` bytes, an unknown cmd or another version is an error that
/// sticks (the connection is to be closed).
class frame_reader {
public:
  explicit frame_reader(size_t max_payload) : max_payload_(max_payload) {}

  void feed(const void* data, size_t size);

  /// The next whole frame, decoded; nullopt when none is complete or after
  /// an error.
  std::optional<client_frame> next();

  /// Set once the stream is broken: why (gateway_errc) and a text.
  std::optional<gateway_errc> error() const {
    return error_;
  }
  const std::string& error_text() const {
    return error_text_;
  }

  /// Gives the buffer's memory back when it holds no bytes and has room
  /// for more than `keep`.
  void release(size_t keep) {
    if (buffered() == 0 && buf_.capacity() > keep) {
      byte_buffer{}.swap(buf_);
      pos_ = 0;
    }
  }

  /// Bytes held, not yet a whole frame.
  size_t buffered() const {
    return buf_.size() - pos_;
  }

private:
  void fail(gateway_errc code, std::string text);

  size_t max_payload_;
  byte_buffer buf_;
  size_t pos_ = 0;
  std::optional<gateway_errc> error_;
  std::string error_text_;
};

} // namespace meshrt
