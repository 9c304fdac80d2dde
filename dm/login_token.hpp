#pragma once

// Login tokens: how a client gateway knows that a connection logging in as
// a user is that user. The application's auth server issues a token (the
// user id and an expiry, with a MAC under the key both share: config key
// clientTokenKeyFile); the client presents it in its login frame; the
// gateway checks it and refuses a forged, expired or other user's token.
// Free of sockets and clocks: the caller passes the time.
//
// A token is text: "mt1." base64url(payload) "." base64url(mac), where the
// payload is u64 expiry (Unix seconds, little-endian) and the user id, and
// the mac is HMAC-SHA-512-256 (libsodium's crypto_auth) of the text before
// the second dot.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "transport/secret_key.hpp"

namespace meshrt {

/// What a token check found.
enum class token_check : uint8_t {
  valid = 0,
  /// No token, or not a meshrt login token at all.
  malformed,
  /// A MAC that does not match: forged, altered, or made with another key.
  forged,
  /// Past its expiry.
  expired,
  /// A genuine token of another user.
  other_user,
};

/// "valid", "malformed", ...
const char* to_string(token_check x);

/// A token for `user` (1 to 256 bytes) valid until `expires`.
std::string issue_login_token(const std::string& user,
                              std::chrono::system_clock::time_point expires, const secret_key& key);

/// Checks `token` for a login as `user` at time `now`.
token_check check_login_token(std::string_view token, const std::string& user,
                              std::chrono::system_clock::time_point now, const secret_key& key);

} // namespace meshrt
