#pragma once

// The cluster key's guard on every datagram (config key clusterKeyFile):
// with a key, each packet leaves with a trailer that authenticates it and
// numbers it, and a packet that arrives without a valid trailer, or a second
// time, is dropped and counted by reason. Free of sockets and clocks: the
// caller passes the bytes and its start time (the epoch).
//
// A sealed datagram is the RUDP packet (transport/wire.hpp) with
// header_flag_authenticated set in its header, then the trailer:
//
//   0   u64  epoch      the sender's start, larger for each new process
//   8   u64  number     the sender's packet count in that epoch, from 1
//   16  16B  tag        an AEAD tag over everything before it (the packet,
//                       epoch and number as associated data, nothing
//                       encrypted): AES-256-GCM, or ChaCha20-Poly1305 (IETF)
//                       where the CPU has no AES instructions, which the
//                       sender marks with header_flag_chacha
//
// The AEAD key is the sender's own for the epoch: keyed BLAKE2b-256, under
// the cluster key, of the sender's address, port and epoch; the nonce is
// the number (48 bits) and the receiver's address and port. Nonces never
// repeat under a key (the number does not), and neither end's address is
// sent, each side knows them (a keyed transport binds a specific address,
// never the wildcard): a packet counts only from the address that sealed
// it, to the one it was sealed for. One reflected back to its sender, or
// replayed to another node under its sender's address, fails the tag.
//
// Replay protection: per sender address, the newest epoch seen and a window
// over the last replay_window numbers of that epoch; an older epoch, a
// number below the window or one already seen is a replay.
//
// A guard without a key passes packets without a trailer and drops sealed
// ones (it cannot check them). A keyed guard answers a packet it refuses
// with a refusal notice (a bare header with header_flag_refused), at most
// once a second per sender, so that a node or a CLI with a wrong key or
// none learns why nobody answers.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "transport/endpoint.hpp"
#include "transport/secret_key.hpp"

namespace meshrt::transport {

/// What the guard made of one received datagram.
enum class guard_verdict : uint8_t {
  /// Take it (trailer checked and cut off, or no key and no trailer).
  pass = 0,
  /// No trailer at a keyed node: the sender has no cluster key.
  unauthenticated,
  /// A trailer whose tag does not match: another key, or altered.
  bad_mac,
  /// A number seen before in this epoch, or below the window.
  replayed,
  /// An epoch older than one already seen from that sender.
  stale_epoch,
  /// A sealed packet at a node without a key.
  unexpected_mac,
  /// Sealed with AES-256-GCM at a node whose CPU cannot check it.
  unsupported_cipher,
  /// A refusal notice from the sender: it refused our packets.
  refused_by_peer,
};

/// "pass", "unauthenticated", ...
const char* to_string(guard_verdict x);

/// Which AEAD seals: AES-256-GCM where the CPU runs it, else (or when told)
/// ChaCha20-Poly1305. A receiver checks either.
enum class packet_cipher : uint8_t { best, chacha };

/// Numbers a sender may deliver out of order and still be taken.
constexpr uint64_t replay_window = 1024;

class packet_guard {
public:
  static constexpr size_t trailer_size = 32;
  static constexpr size_t tag_size = 16;

  /// A guard for the transport bound to `self`; `epoch`: this process's
  /// start (e.g. Unix nanoseconds), larger than any earlier start of the
  /// same address.
  packet_guard(std::optional<secret_key> key, uint64_t epoch, const endpoint& self,
               packet_cipher cipher = packet_cipher::best);

  bool keyed() const {
    return key_.has_value();
  }

  /// Seals the packet at `packet` (`size` bytes, followed by trailer_size
  /// bytes of room) for `to`: sets its authenticated flag and writes the
  /// trailer. Any thread.
  void seal(uint8_t* packet, size_t size, const endpoint& to);

  /// Judges one datagram received from `from`; on pass, `size` becomes the
  /// packet's size without the trailer. One thread only (the receiver's).
  guard_verdict open(const endpoint& from, const uint8_t* data, size_t& size);

  /// Whether to send `to` a refusal notice now for a packet refused at
  /// `now_ms` (at most once a second per sender; a keyed guard only).
  bool should_refuse(const endpoint& to, uint64_t now_ms);

  /// The refusal notice's bytes.
  static std::array<uint8_t, 16> refusal_notice();

  /// Datagrams dropped, by verdict (pass counts those taken).
  uint64_t count(guard_verdict v) const {
    return counts_[static_cast<size_t>(v)].load(std::memory_order_relaxed);
  }

private:
  /// A sender's AEAD key and, where the CPU runs AES, its expanded form
  /// (libsodium's crypto_aead_aes256gcm_state), made once per epoch.
  struct aead_key {
    std::array<uint8_t, 32> bytes{};
    alignas(16) std::array<uint8_t, 512> aes{};
  };

  struct window {
    uint64_t epoch = 0;
    uint64_t top = 0;
    /// The sender's AEAD key for `epoch`.
    aead_key key{};
    std::array<uint64_t, replay_window / 64> seen{};
  };

  guard_verdict judge(const endpoint& from, const uint8_t* data, size_t& size);

  /// The AEAD key of `sender` in `epoch`.
  aead_key key_of(const endpoint& sender, uint64_t epoch) const;

  std::optional<secret_key> key_;
  uint64_t epoch_;
  endpoint self_;
  /// Whether this CPU runs AES-256-GCM (checking it needs it too).
  bool aes_;
  /// Whether this guard seals with AES-256-GCM (else ChaCha20-Poly1305).
  bool seal_aes_;
  /// This sender's AEAD key.
  aead_key tx_key_{};
  std::atomic<uint64_t> next_number_{1};
  std::unordered_map<endpoint, window> windows_;
  std::unordered_map<endpoint, uint64_t> refused_at_;
  std::array<std::atomic<uint64_t>, 8> counts_{};
};

} // namespace meshrt::transport
