#include "transport/packet_guard.hpp"

#include <optional>

#include <sodium.h>

#include "transport/byte_order.hpp"
#include "transport/wire.hpp"

namespace meshrt::transport {

namespace {

/// Senders remembered for refusal notices before the memory is cleared (a
/// flood from spoofed addresses must not grow it without bound).
constexpr size_t max_refused_senders = 4096;

constexpr size_t nonce_size = 12;
static_assert(crypto_aead_aes256gcm_NPUBBYTES == nonce_size
                && crypto_aead_chacha20poly1305_IETF_NPUBBYTES == nonce_size,
              "both ciphers take 96-bit nonces");
static_assert(crypto_aead_aes256gcm_ABYTES == packet_guard::tag_size
                && crypto_aead_chacha20poly1305_IETF_ABYTES == packet_guard::tag_size,
              "both ciphers make 128-bit tags");

/// The nonce of packet `number` to `to`: unique under a sender's key as
/// long as its numbers are (48 bits of them).
std::array<uint8_t, nonce_size> nonce_of(uint64_t number, const endpoint& to) {
  std::array<uint8_t, nonce_size> n{};
  store32(n.data(), static_cast<uint32_t>(number));
  store16(n.data() + 4, static_cast<uint16_t>(number >> 32));
  store32(n.data() + 6, to.address);
  store16(n.data() + 10, to.port);
  return n;
}

static_assert(sizeof(crypto_aead_aes256gcm_state) == 512, "the AES state fits aead_key::aes");

const crypto_aead_aes256gcm_state* aes_state(const uint8_t* bytes) {
  return reinterpret_cast<const crypto_aead_aes256gcm_state*>(bytes);
}

/// The tag of `ad` (associated data only: nothing is encrypted) under a
/// sender's key (its 32 bytes for ChaCha, its AES state for AES). The
/// message pointers lead nowhere (length 0) but must not be null: libsodium
/// declares them so.
void tag_of(bool chacha, const uint8_t* ad, size_t size, const uint8_t* nonce, const uint8_t* key,
            const uint8_t* aes, uint8_t* tag) {
  unsigned char none[1] = {0};
  unsigned long long tag_len = 0;
  if (chacha)
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(none, tag, &tag_len, none, 0, ad, size,
                                                       nullptr, nonce, key);
  else
    crypto_aead_aes256gcm_encrypt_detached_afternm(none, tag, &tag_len, none, 0, ad, size, nullptr,
                                                   nonce, aes_state(aes));
}

bool tag_matches(bool chacha, const uint8_t* ad, size_t size, const uint8_t* nonce,
                 const uint8_t* key, const uint8_t* aes, const uint8_t* tag) {
  unsigned char none[1] = {0};
  if (chacha)
    return crypto_aead_chacha20poly1305_ietf_decrypt_detached(none, nullptr, none, 0, tag, ad, size,
                                                              nonce, key)
           == 0;
  return crypto_aead_aes256gcm_decrypt_detached_afternm(none, nullptr, none, 0, tag, ad, size,
                                                        nonce, aes_state(aes))
         == 0;
}

} // namespace

const char* to_string(guard_verdict x) {
  switch (x) {
    case guard_verdict::pass:
      return "pass";
    case guard_verdict::unauthenticated:
      return "unauthenticated";
    case guard_verdict::bad_mac:
      return "bad_mac";
    case guard_verdict::replayed:
      return "replayed";
    case guard_verdict::stale_epoch:
      return "stale_epoch";
    case guard_verdict::unexpected_mac:
      return "unexpected_mac";
    case guard_verdict::unsupported_cipher:
      return "unsupported_cipher";
    case guard_verdict::refused_by_peer:
      return "refused_by_peer";
  }
  return "unknown";
}

packet_guard::packet_guard(std::optional<secret_key> key, uint64_t epoch, const endpoint& self,
                           packet_cipher cipher) :
  key_(key),
  epoch_(epoch), self_(self), aes_(false), seal_aes_(false) {
  if (!key_)
    return;
  init_sodium();
  aes_ = crypto_aead_aes256gcm_is_available() == 1;
  seal_aes_ = aes_ && cipher == packet_cipher::best;
  tx_key_ = key_of(self_, epoch_);
}

packet_guard::aead_key packet_guard::key_of(const endpoint& sender, uint64_t epoch) const {
  uint8_t input[6 + 8];
  store32(input, sender.address);
  store16(input + 4, sender.port);
  store64(input + 6, epoch);
  aead_key out;
  crypto_generichash(out.bytes.data(), out.bytes.size(), input, sizeof(input), key_->bytes.data(),
                     key_->bytes.size());
  if (aes_)
    crypto_aead_aes256gcm_beforenm(reinterpret_cast<crypto_aead_aes256gcm_state*>(out.aes.data()),
                                   out.bytes.data());
  return out;
}

void packet_guard::seal(uint8_t* packet, size_t size, const endpoint& to) {
  packet[2] |= header_flag_authenticated | (seal_aes_ ? 0 : header_flag_chacha);
  uint8_t* t = packet + size;
  auto number = next_number_.fetch_add(1, std::memory_order_relaxed);
  store64(t, epoch_);
  store64(t + 8, number);
  auto nonce = nonce_of(number, to);
  tag_of(!seal_aes_, packet, size + 16, nonce.data(), tx_key_.bytes.data(), tx_key_.aes.data(),
         t + 16);
}

guard_verdict packet_guard::open(const endpoint& from, const uint8_t* data, size_t& size) {
  auto v = judge(from, data, size);
  counts_[static_cast<size_t>(v)].fetch_add(1, std::memory_order_relaxed);
  return v;
}

guard_verdict packet_guard::judge(const endpoint& from, const uint8_t* data, size_t& size) {
  // What is not a meshrt header goes on to the decoder, which says why.
  if (size < header_size || data[0] != wire_magic)
    return key_ ? guard_verdict::unauthenticated : guard_verdict::pass;
  auto flags = data[2];
  if ((flags & header_flag_refused) != 0)
    return guard_verdict::refused_by_peer;
  bool sealed = (flags & header_flag_authenticated) != 0;
  if (!key_)
    return sealed ? guard_verdict::unexpected_mac : guard_verdict::pass;
  if (!sealed || size < header_size + trailer_size)
    return guard_verdict::unauthenticated;
  bool chacha = (flags & header_flag_chacha) != 0;
  if (!chacha && !aes_)
    return guard_verdict::unsupported_cipher;
  auto body = size - trailer_size;
  const uint8_t* t = data + body;
  auto epoch = load64(t);
  auto number = load64(t + 8);
  if (number == 0 || number >= (uint64_t{1} << 48))
    return guard_verdict::bad_mac; // never sealed so: no tag can match
  auto nonce = nonce_of(number, self_);
  auto i = windows_.find(from);
  bool known = i != windows_.end() && i->second.epoch == epoch;
  // A sender's key is derived once per epoch, and kept only once a packet
  // of that epoch proved it.
  // (Not default-constructed: that would zero 544 bytes per packet.)
  std::optional<aead_key> derived;
  if (!known)
    derived = key_of(from, epoch);
  const auto& key = known ? i->second.key : *derived;
  if (!tag_matches(chacha, data, body + 16, nonce.data(), key.bytes.data(), key.aes.data(), t + 16))
    return guard_verdict::bad_mac;
  // Authentic: now the numbers can be believed.
  auto& w = i != windows_.end() ? i->second : windows_[from];
  if (epoch < w.epoch)
    return guard_verdict::stale_epoch;
  if (epoch > w.epoch)
    w = window{epoch, 0, *derived, {}};
  if (number + replay_window <= w.top)
    return guard_verdict::replayed;
  if (number > w.top) {
    // Slide: forget the numbers that fall out of the window.
    auto shift = number - w.top;
    if (shift >= replay_window) {
      w.seen.fill(0);
    } else {
      for (auto n = w.top + 1; n <= number; ++n)
        w.seen[(n / 64) % w.seen.size()] &= ~(uint64_t{1} << (n % 64));
    }
    w.top = number;
  }
  auto& word = w.seen[(number / 64) % w.seen.size()];
  auto bit = uint64_t{1} << (number % 64);
  if ((word & bit) != 0)
    return guard_verdict::replayed;
  word |= bit;
  size = body;
  return guard_verdict::pass;
}

bool packet_guard::should_refuse(const endpoint& to, uint64_t now_ms) {
  if (!key_)
    return false;
  if (refused_at_.size() >= max_refused_senders)
    refused_at_.clear();
  auto [i, fresh] = refused_at_.emplace(to, now_ms);
  if (!fresh && now_ms < i->second + 1000)
    return false;
  i->second = now_ms;
  return true;
}

std::array<uint8_t, 16> packet_guard::refusal_notice() {
  std::array<uint8_t, 16> out{};
  out[0] = wire_magic;
  out[1] = protocol_version;
  out[2] = header_flag_refused;
  return out;
}

} // namespace meshrt::transport
