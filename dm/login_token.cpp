#include "dm/login_token.hpp"

#include <array>
#include <optional>

#include <sodium.h>

#include "transport/byte_order.hpp"

namespace meshrt {

namespace {

constexpr std::string_view prefix = "mt1.";
constexpr int b64_variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

std::string to_base64(const uint8_t* data, size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, b64_variant), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, b64_variant);
  out.resize(out.size() - 1); // the terminating NUL
  return out;
}

std::optional<std::string> from_base64(std::string_view text, size_t max_size) {
  std::string out(max_size, '\0');
  size_t size = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &size, nullptr, b64_variant)
      != 0)
    return std::nullopt;
  out.resize(size);
  return out;
}

std::array<uint8_t, crypto_auth_BYTES> mac_of(std::string_view signed_part, const secret_key& key) {
  std::array<uint8_t, crypto_auth_BYTES> mac;
  crypto_auth(mac.data(), reinterpret_cast<const unsigned char*>(signed_part.data()),
              signed_part.size(), key.bytes.data());
  return mac;
}

int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

/// The largest payload: the expiry and a user id of 256 bytes.
constexpr size_t max_payload = 8 + 256;

} // namespace

const char* to_string(token_check x) {
  switch (x) {
    case token_check::valid:
      return "valid";
    case token_check::malformed:
      return "malformed";
    case token_check::forged:
      return "forged";
    case token_check::expired:
      return "expired";
    case token_check::other_user:
      return "other_user";
  }
  return "unknown";
}

std::string issue_login_token(const std::string& user,
                              std::chrono::system_clock::time_point expires,
                              const secret_key& key) {
  init_sodium();
  std::string payload(8, '\0');
  transport::store64(reinterpret_cast<uint8_t*>(payload.data()),
                     static_cast<uint64_t>(unix_seconds(expires)));
  payload += user;
  auto text = std::string{prefix}
              + to_base64(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  auto mac = mac_of(text, key);
  return text + "." + to_base64(mac.data(), mac.size());
}

token_check check_login_token(std::string_view token, const std::string& user,
                              std::chrono::system_clock::time_point now, const secret_key& key) {
  init_sodium();
  if (token.substr(0, prefix.size()) != prefix)
    return token_check::malformed;
  auto dot = token.rfind('.');
  if (dot < prefix.size())
    return token_check::malformed;
  auto signed_part = token.substr(0, dot);
  auto payload = from_base64(signed_part.substr(prefix.size()), max_payload);
  auto mac = from_base64(token.substr(dot + 1), crypto_auth_BYTES);
  if (!payload || payload->size() < 8 || !mac || mac->size() != crypto_auth_BYTES)
    return token_check::malformed;
  // The MAC first, in constant time: nothing of a forged token is believed.
  if (crypto_auth_verify(reinterpret_cast<const unsigned char*>(mac->data()),
                         reinterpret_cast<const unsigned char*>(signed_part.data()),
                         signed_part.size(), key.bytes.data())
      != 0)
    return token_check::forged;
  auto expiry
    = static_cast<int64_t>(transport::load64(reinterpret_cast<const uint8_t*>(payload->data())));
  if (std::string_view{*payload}.substr(8) != user)
    return token_check::other_user;
  if (unix_seconds(now) >= expiry)
    return token_check::expired;
  return token_check::valid;
}

} // namespace meshrt
