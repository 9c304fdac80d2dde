#pragma once

// The meshrt RUDP wire format, top to bottom. All integers are little-endian.
//
// A datagram is one packet of at most max_packet_size bytes:
//
//   header          16 bytes, always
//   ack block       15 + 6 * range_count bytes, when header.flags has has_ack
//   segment*        until the end of the datagram
//
// header
//   0   u8   magic             0xA7
//   1   u8   version           protocol_version
//   2   u8   flags             has_ack = 0x01; authenticated = 0x02: the
//                              datagram ends in the cluster key's trailer
//                              (transport/packet_guard.hpp), checked and cut
//                              off before the packet is decoded; refused =
//                              0x04: a refusal notice, a bare header saying
//                              the sender refused our packets (wrong cluster
//                              key, or one of us has none); chacha = 0x08:
//                              the trailer's tag is ChaCha20-Poly1305's, not
//                              AES-256-GCM's; fresh = 0x10: the sender's
//                              session has heard nothing yet from the
//                              receiver (a new process at its address, or a
//                              link made anew), so a receiver holding
//                              unacknowledged segments sent to an earlier
//                              session there fails them and starts its
//                              stream over (a new epoch) instead of handing
//                              them to a stranger; other bits must be zero
//   3   u8   rtt_hint          the sender's smoothed round-trip time, about
//                              2^n microseconds (rounded up, n <= 31); 0: no
//                              estimate yet. A peer that has sent nothing yet
//                              has no sample of its own: it times its first
//                              retransmission from this instead of a blind
//                              initial timeout
//   4   u64  epoch             the sender's incarnation: a new process or a
//                              reset session sends a larger epoch
//   12  u32  snd_una           the sender's lowest unacknowledged reliable
//                              sequence; a receiver that adopts a new epoch
//                              starts expecting this sequence
//
// ack block (acknowledges what the sender of this packet has received)
//   0   u64  epoch             the epoch being acknowledged; an ack for any
//                              other epoch than the receiver's own is ignored
//   8   u32  rcv_next          cumulative: every sequence below it arrived
//   12  u16  window            free receive slots, in segments
//   14  u8   range_count       selective ranges that follow (<= max_ack_ranges)
//   15  { u32 start, u16 length } * range_count
//                              sequences [start, start + length) arrived;
//                              ranges ascend, lie above rcv_next, length >= 1
//
// reliable segment: ordered, retransmitted until acknowledged
//   0   u8   type              segment_type::reliable
//   1   u8   flags             more = 0x01: the next sequence continues this
//                              message (messages over max_segment_payload
//                              bytes are split into consecutive segments)
//                              bundle = 0x02: the payload is several whole
//                              small messages (never together with more)
//   2   u16  size              payload bytes, 0 .. max_segment_payload
//   4   u32  seq               sequence number, wraps around
//   8   payload
//
// bundle payload: small reliable messages queued back to back share one
// sequence number, so acks, retransmission and bookkeeping cost once per
// bundle rather than once per message
//   { u16 size, size bytes } * n    n >= 1, exactly filling the payload
//
// unreliable segment: no order, no retransmission
//   0   u8   type              segment_type::unreliable
//   1   u8   flags             zero
//   2   u16  size              payload bytes, 0 .. max_segment_payload
//   4   u32  message_id        the same for every fragment of one message
//   8   u16  index             this fragment's position, < count
//   10  u16  count             fragments of the message, >= 1
//   12  payload

#include <cstddef>
#include <cstdint>

#include "transport/byte_buffer.hpp"

namespace meshrt::transport {

// ---- limits (mesh-api.txt constants) ----------------------------------------

/// MaxPacketSize: no datagram is larger.
constexpr size_t max_packet_size = 1400;
/// MaxSize: a message larger than this is split into segments of this size.
constexpr size_t max_segment_payload = 1300;
/// MaxMessageSize: the largest message that is sent and reassembled.
constexpr size_t max_message_size = 10'000'000;

// ---- constants of the format ---------------------------------------------------

constexpr uint8_t wire_magic = 0xA7;
constexpr uint8_t protocol_version = 3; // 2: bundles, rtt_hint; 3: fresh

constexpr uint8_t header_flag_has_ack = 0x01;
constexpr uint8_t header_flag_authenticated = 0x02;
constexpr uint8_t header_flag_refused = 0x04;
constexpr uint8_t header_flag_chacha = 0x08;
constexpr uint8_t header_flag_fresh = 0x10;
constexpr uint8_t segment_flag_more = 0x01;
constexpr uint8_t segment_flag_bundle = 0x02;

enum class segment_type : uint8_t { reliable = 1, unreliable = 2 };

constexpr size_t header_size = 16;
constexpr size_t ack_fixed_size = 15;
constexpr size_t ack_range_size = 6;
constexpr size_t max_ack_ranges = 200;
constexpr size_t reliable_segment_header = 8;
constexpr size_t unreliable_segment_header = 12;
constexpr size_t bundle_entry_header = 2;
/// The largest message a sender puts into a bundle; larger ones keep a
/// segment of their own.
constexpr size_t max_bundled_message = 512;

/// The most fragments a message can have (10 MB / 1300 B rounds up to 7693).
constexpr size_t max_fragments = (max_message_size + max_segment_payload - 1) / max_segment_payload;

/// A full segment and a header always fit beside an ack of this many ranges.
constexpr size_t ack_ranges_beside_data = (max_packet_size - header_size - ack_fixed_size
                                           - unreliable_segment_header - max_segment_payload)
                                          / ack_range_size;

static_assert(max_fragments <= UINT16_MAX, "fragment index must fit in u16");
static_assert(header_size + ack_fixed_size + max_ack_ranges * ack_range_size <= max_packet_size,
              "an ack of max_ack_ranges ranges must fit in a packet");
static_assert(ack_ranges_beside_data >= 8, "piggybacked acks need room for some ranges");

// ---- decoded views -------------------------------------------------------------

struct ack_range {
  uint32_t start = 0;
  uint16_t length = 0;
};

struct ack_block {
  uint64_t epoch = 0;
  uint32_t rcv_next = 0;
  uint16_t window = 0;
  uint8_t range_count = 0;
  ack_range ranges[max_ack_ranges];
};

struct packet_header {
  uint64_t epoch = 0;
  uint32_t snd_una = 0;
  bool has_ack = false;
  bool fresh = false;       // header_flag_fresh
  uint64_t rtt_hint_us = 0; // decoded rtt_hint; 0: none
};

/// The rtt_hint byte for a smoothed round trip of `srtt_us` (0: none).
uint8_t encode_rtt_hint(uint64_t srtt_us);

/// Microseconds for an rtt_hint byte (0: none); values above 31 count as 31.
uint64_t decode_rtt_hint(uint8_t hint);

/// One segment inside a received datagram; `data` points into that datagram.
struct segment_view {
  segment_type type = segment_type::reliable;
  uint8_t flags = 0;
  uint32_t seq = 0;        // reliable only
  uint32_t message_id = 0; // unreliable only
  uint16_t index = 0;      // unreliable only
  uint16_t count = 1;      // unreliable only
  const uint8_t* data = nullptr;
  uint16_t size = 0;
};

/// Why a datagram was rejected. Every value but `none` drops the datagram.
enum class decode_error : uint8_t {
  none,
  too_short,         // shorter than a header
  too_long,          // longer than max_packet_size
  bad_magic,         // not a meshrt packet
  bad_version,       // another protocol version
  bad_flags,         // unknown header or segment flag bits
  bad_ack,           // truncated ack block, too many or malformed ranges
  bad_segment_type,  // unknown segment type
  truncated_segment, // a segment header or payload runs past the datagram
  bad_segment_size,  // payload larger than max_segment_payload
  bad_fragment,      // unreliable index >= count, count 0 or > max_fragments
  bad_bundle,        // a bundle's entries do not exactly fill its payload
};

/// How many decode_error values there are (for per-reason counters).
constexpr size_t decode_error_count = static_cast<size_t>(decode_error::bad_bundle) + 1;

/// A short name for logs and counters, e.g. "bad_magic".
const char* to_string(decode_error err);

// ---- decoding --------------------------------------------------------------------

/// Validates and walks one datagram. Every read is bounds-checked; nothing is
/// copied. A packet is accepted only if the whole datagram parses, so the
/// session never acts on half of a malformed packet.
class packet_reader {
public:
  /// Parses and validates the whole datagram. On success, header(), ack()
  /// and the segments are available.
  decode_error parse(const uint8_t* data, size_t size);

  const packet_header& header() const {
    return header_;
  }

  /// Valid when header().has_ack.
  const ack_block& ack() const {
    return ack_;
  }

  /// Iterates the segments of a successfully parsed datagram.
  bool next(segment_view& out);

private:
  decode_error read_segment(segment_view& out);

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t pos_ = 0;
  size_t segments_begin_ = 0;
  bool validated_ = false; // parse() checked every segment: next() need not
  packet_header header_;
  ack_block ack_;
};

/// Appends one entry (u16 size, then the bytes) to a bundle payload.
void append_bundle_entry(byte_buffer& bundle, const uint8_t* data, size_t size);

/// Calls f(data, size) for each message of a bundle payload, in order. The
/// payload must have been validated (packet_reader does).
template<class F>
void for_each_bundled(const uint8_t* data, size_t size, F&& f) {
  for (size_t pos = 0; pos + bundle_entry_header <= size;) {
    size_t n = static_cast<size_t>(data[pos]) | (static_cast<size_t>(data[pos + 1]) << 8);
    f(data + pos + bundle_entry_header, n);
    pos += bundle_entry_header + n;
  }
}

// ---- encoding --------------------------------------------------------------------

/// Builds one packet in a fixed buffer. Callers check fits() before each
/// put; a put that would not fit writes nothing and returns false, so the
/// builder never writes past max_packet_size.
class packet_builder {
public:
  /// Starts a packet; `srtt_us` (0: none) becomes its rtt_hint; `fresh`
  /// sets header_flag_fresh.
  void begin(uint64_t epoch, uint32_t snd_una, uint64_t srtt_us = 0, bool fresh = false);

  /// Writes the ack block; must directly follow begin(). Writes at most
  /// `max_ranges` ranges of the `count` given.
  void put_ack(uint64_t epoch, uint32_t rcv_next, uint16_t window, const ack_range* ranges,
               size_t count);

  /// True if a segment of this type and payload size still fits.
  bool fits(segment_type type, size_t payload_size) const {
    return size_ + segment_header_size(type) + payload_size <= max_packet_size;
  }

  bool put_reliable(uint32_t seq, uint8_t flags, const uint8_t* data, size_t size);

  bool put_unreliable(uint32_t message_id, uint16_t index, uint16_t count, const uint8_t* data,
                      size_t size);

  /// Bytes that are free for segments.
  size_t room() const {
    return max_packet_size - size_;
  }

  /// True if the packet carries anything beyond its header.
  bool has_content() const {
    return size_ > header_size;
  }

  const uint8_t* data() const {
    return buf_;
  }

  size_t size() const {
    return size_;
  }

  static constexpr size_t segment_header_size(segment_type type) {
    return type == segment_type::reliable ? reliable_segment_header : unreliable_segment_header;
  }

private:
  uint8_t buf_[max_packet_size];
  size_t size_ = 0;
};

} // namespace meshrt::transport
