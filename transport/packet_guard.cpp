#include "transport/packet_guard.hpp"

#include <cstring>

#include <sodium.h>

#include "transport/byte_order.hpp"
#include "transport/wire.hpp"

namespace meshrt::transport {

namespace {

/// Senders remembered for refusal notices before the memory is cleared (a
/// flood from spoofed addresses must not grow it without bound).
constexpr size_t max_refused_senders = 4096;

/// The tag of `size` bytes at `data` sent from `from` to `to`.
void tag_of(const endpoint& from, const endpoint& to, const uint8_t* data, size_t size,
            const secret_key& key, uint8_t* out) {
  uint8_t ends[12];
  store32(ends, from.address);
  store16(ends + 4, from.port);
  store32(ends + 6, to.address);
  store16(ends + 10, to.port);
  crypto_generichash_state st;
  crypto_generichash_init(&st, key.bytes.data(), key.bytes.size(), packet_guard::tag_size);
  crypto_generichash_update(&st, ends, sizeof(ends));
  crypto_generichash_update(&st, data, size);
  crypto_generichash_final(&st, out, packet_guard::tag_size);
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
    case guard_verdict::refused_by_peer:
      return "refused_by_peer";
  }
  return "unknown";
}

packet_guard::packet_guard(std::optional<secret_key> key, uint64_t epoch) :
  key_(std::move(key)), epoch_(epoch) {
  if (key_)
    init_sodium();
}

void packet_guard::seal(uint8_t* packet, size_t size, const endpoint& self, const endpoint& to) {
  packet[2] |= header_flag_authenticated;
  uint8_t* t = packet + size;
  store64(t, epoch_);
  store64(t + 8, next_number_.fetch_add(1, std::memory_order_relaxed));
  tag_of(self, to, packet, size + 16, *key_, t + 16);
}

guard_verdict packet_guard::open(const endpoint& from, const endpoint& self, const uint8_t* data,
                                 size_t& size) {
  auto v = judge(from, self, data, size);
  counts_[static_cast<size_t>(v)].fetch_add(1, std::memory_order_relaxed);
  return v;
}

guard_verdict packet_guard::judge(const endpoint& from, const endpoint& self, const uint8_t* data,
                                  size_t& size) {
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
  auto body = size - trailer_size;
  const uint8_t* t = data + body;
  uint8_t expected[tag_size];
  tag_of(from, self, data, body + 16, *key_, expected);
  if (sodium_memcmp(expected, t + 16, tag_size) != 0)
    return guard_verdict::bad_mac;
  // Authentic: now the numbers can be believed.
  auto epoch = load64(t);
  auto number = load64(t + 8);
  auto& w = windows_[from];
  if (epoch < w.epoch)
    return guard_verdict::stale_epoch;
  if (epoch > w.epoch)
    w = window{epoch, 0, {}};
  if (number == 0 || number + replay_window <= w.top)
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
