#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "transport/byte_buffer.hpp"
#include "transport/packed_messages.hpp"
#include "transport/wire.hpp"

namespace meshrt::transport {

/// Tunables of one session. Times are microseconds.
struct session_options {
  /// retryInterval: upper bound of the retransmission timeout.
  uint64_t retry_interval_us = 1'000'000;
  /// retryTimeout: a reliable message unacknowledged this long fails and the
  /// session resets (new epoch).
  uint64_t retry_timeout_us = 3'000'000;
  /// sendInterval: 0 sends at once; otherwise new messages leave at most
  /// once per interval (acks and retransmissions are never held back).
  uint64_t send_interval_us = 0;
  /// Lower bound of the retransmission timeout.
  uint64_t min_rto_us = 3'000;
  /// Segments the receiver holds out of order; also the largest send window.
  uint32_t window = 8192;
  /// First reliable sequence number (tests use it to exercise wrap-around).
  uint32_t initial_seq = 0;
  /// Most packets of new data one flush() emits; the caller flushes again
  /// while has_sendable() says so. Bounds how long one flush holds the
  /// thread, so acknowledgements are not left waiting behind a large burst.
  size_t flush_budget = SIZE_MAX;
};

enum class reliability : uint8_t { reliable, unreliable };

/// A message delivered by the session, in order for reliable ones.
struct received_message {
  byte_buffer data;
  reliability kind = reliability::reliable;
};

/// Messages delivered by the session, packed together, all of one kind.
struct received_batch {
  packed_messages messages;
  reliability kind = reliability::reliable;
};

/// The outcome of reliable messages sent with `track`: those with ids
/// first_id .. last_id, one message or several that shared a bundle.
struct completion {
  uint64_t first_id = 0;
  uint64_t last_id = 0;
  bool delivered = false; // false: failed after retryTimeout
};

/// Counters for metrics and tests; they only grow.
struct session_stats {
  uint64_t datagrams_in = 0;
  uint64_t datagrams_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t rejected = 0;      // malformed datagrams (see rejected_by)
  uint64_t stale_epoch = 0;   // datagrams of an older incarnation of the peer
  uint64_t duplicates = 0;    // reliable segments received twice
  uint64_t out_of_window = 0; // reliable segments too far ahead
  uint64_t bad_acks = 0;      // acks of sequences never sent
  uint64_t retransmits = 0;
  uint64_t timeouts = 0;           // retransmission timer expiries
  uint64_t spurious_timeouts = 0;  // of them, undone: the peer had what followed
  uint64_t probes = 0;             // tail-loss probes sent
  uint64_t give_ups = 0;           // session resets after retryTimeout
  uint64_t abandoned = 0;          // session resets by abandon(): the peer is gone
  uint64_t oversized = 0;          // received messages over max_message_size, dropped
  uint64_t interrupted = 0;        // split messages cut short by a bundle, dropped
  uint64_t peer_resets = 0;        // the peer came back with a new epoch
  uint64_t peer_restarts = 0;      // of them, as a new session (fresh): a restart
  uint64_t unreliable_dropped = 0; // partial unreliable messages evicted
  std::array<uint64_t, decode_error_count> rejected_by{}; // indexed by decode_error
};

/// One end of a reliable-UDP conversation with one peer, free of sockets and
/// clocks: the caller passes received datagrams and the current time in, and
/// takes packets, messages and completions out. Single-threaded.
///
/// Reliability works per segment: every reliable segment has a sequence
/// number; the receiver acknowledges cumulatively plus selective ranges. A
/// segment is retransmitted when a segment sent after it (by time, or three
/// sequence numbers later) is acknowledged while it is not, when a tail-loss
/// probe (after two round trips of silence) reveals it, or when the
/// retransmission timeout (RFC 6298, capped by retryInterval) expires.
///
/// Small reliable messages queued while an unsent segment holds small whole
/// messages join that segment as a bundle (up to max_segment_payload bytes):
/// a burst of 64-byte messages costs one sequence number, one ack and one
/// retransmission record per ~19 messages. A message sent alone keeps its
/// own buffer and goes unchanged.
///
/// The congestion window counts bytes, so small messages are not held back
/// by a segment count. It grows per acknowledged byte and shrinks when a
/// round of data loses more than a third of its segments (the burst loss of
/// an overflowing queue) or when the retransmission timer expires; scattered
/// random loss alone does not shrink it, so a large transfer over a lossy
/// link keeps its pace.
class session {
public:
  /// `epoch` identifies this incarnation; it must grow across restarts of the
  /// process (the caller uses wall-clock microseconds).
  session(session_options opts, uint64_t epoch);

  /// Queues a message. Returns its id, or nullopt if it is larger than
  /// max_message_size (nothing is queued then). With `track`, the message's
  /// completion is reported by take_completions().
  std::optional<uint64_t> send(byte_buffer data, reliability kind, uint64_t now_us,
                               bool track = false);

  /// The same for bytes the caller keeps: a small reliable message that
  /// joins a bundle is copied there without an allocation of its own.
  std::optional<uint64_t> send(const uint8_t* data, size_t size, reliability kind, uint64_t now_us,
                               bool track = false);

  /// Feeds one received datagram. A malformed or stale datagram is counted
  /// and dropped whole; the return value says why (none if accepted).
  decode_error input(const uint8_t* data, size_t size, uint64_t now_us);

  /// The peer is known to be gone for good (its process died): fails every
  /// reliable message not acknowledged yet, as retryTimeout would but at
  /// once (their completions report them not delivered), and starts the
  /// stream over in a new epoch for whatever is sent next.
  void abandon();

  /// Calls `emit` for every packet that is due: acknowledgements,
  /// retransmissions, and new data within the send window.
  void flush(uint64_t now_us, const std::function<void(const uint8_t*, size_t)>& emit);

  /// True if new data is queued and the window would let some of it go.
  bool has_sendable() const;

  /// The time at which flush() has work again if nothing else happens;
  /// UINT64_MAX if none.
  uint64_t next_deadline() const;

  /// Messages received since the last call, in delivery order.
  std::vector<received_message> take_received();

  /// The same, packed: runs of messages of one kind share a buffer (one
  /// allocation per run, not per message); a message reassembled from
  /// fragments keeps its own buffer in a batch of its own, so a large
  /// message is never copied. Reliable batches are in delivery order.
  std::vector<received_batch> take_batches();

  /// Completions of tracked messages since the last call.
  std::vector<completion> take_completions();

  const session_stats& stats() const {
    return stats_;
  }

  uint64_t epoch() const {
    return epoch_;
  }

  /// Reliable segments queued or in flight.
  size_t pending_segments() const {
    return tx_.size();
  }

  /// Nothing to send, resend or acknowledge: the session can end without
  /// losing anything of its own.
  bool quiet() const {
    return tx_.empty() && utx_.empty() && retransmit_.empty() && !ack_pending_;
  }

  /// Smoothed round-trip time in microseconds (0 before the first sample).
  uint64_t srtt_us() const {
    return srtt_us_;
  }

  /// The congestion window in bytes.
  uint32_t congestion_window() const {
    return static_cast<uint32_t>(cwnd_);
  }

private:
  /// The bytes of one segment: a message that fits one segment keeps its own
  /// buffer (no extra allocation); a split message's segments share one.
  struct payload {
    std::shared_ptr<const byte_buffer> shared;
    byte_buffer own;
    uint32_t offset = 0;

    const uint8_t* data() const {
      return shared ? shared->data() + offset : own.data();
    }
  };

  struct tx_segment {
    payload body;
    uint16_t size = 0;
    uint8_t flags = 0;
    bool acked = false;
    bool lost = false;
    uint16_t transmits = 0;
    uint16_t messages = 1; // whole messages in a bundle
    uint64_t track_id = 0; // on a tracked message's last segment; a tracked
                           // bundle's messages are track_id - messages + 1 ..
                           // track_id, all tracked
    uint64_t queued_us = 0;
    uint64_t first_sent_us = 0;
    uint64_t last_sent_us = 0;
  };

  struct utx_fragment {
    payload body;
    uint16_t size = 0;
    uint32_t message_id = 0;
    uint16_t index = 0;
    uint16_t count = 0;
  };

  struct partial_unreliable {
    byte_buffer data;
    std::vector<bool> have;
    uint16_t missing = 0;
    uint64_t started_us = 0;
  };

  // Sequences are unwrapped to 64 bits inside; the wire carries the low 32.
  static uint64_t unwrap(uint32_t wire, uint64_t reference);

  /// Appends a small reliable message to the unsent tail segment; its id,
  /// or nullopt if it does not join (then it needs a segment of its own).
  std::optional<uint64_t> bundle_into_tail(reliability kind, const uint8_t* data, size_t size,
                                           bool track);
  /// Queues a message in segments of its own.
  std::optional<uint64_t> queue(byte_buffer data, reliability kind, uint64_t now_us, bool track);
  void complete(const tx_segment& seg, bool delivered);
  /// An acknowledged bundle's buffer goes to spare_bundles_ (a few).
  void keep_bundle_buffer(tx_segment& seg);
  void on_ack(const ack_block& ack, uint64_t now_us);
  void mark_acked(uint64_t seq, uint64_t now_us, uint64_t& newest_sent_us, uint64_t& highest_acked,
                  uint32_t& newly);
  void detect_losses(uint64_t newest_sent_us, uint64_t highest_acked);
  void end_round_if_due();
  void update_rtt(uint64_t sample_us);
  uint64_t base_rto() const;
  uint64_t rto_for(uint64_t srtt_us, uint64_t rttvar_us) const;
  void use_rtt_hint(uint64_t hint_us, uint64_t now_us);
  uint64_t probe_timeout() const;
  void arm_timers(uint64_t now_us);
  void on_reliable(const segment_view& seg);
  void on_unreliable(const segment_view& seg, uint64_t now_us);
  void deliver(uint8_t flags, const uint8_t* data, size_t size);
  void deliver_copy(reliability kind, const uint8_t* data, size_t size);
  void deliver_adopted(reliability kind, byte_buffer&& data);
  void adopt_epoch(uint64_t epoch, uint32_t snd_una);
  void check_timers(uint64_t now_us);
  void give_up();
  /// Fails every segment not acknowledged yet and starts the stream over
  /// at the next sequence in a new epoch.
  void start_over();
  uint32_t send_window() const;
  /// A queued reliable segment may go: receive window and cwnd allow it.
  bool window_open() const;
  size_t build_ack_ranges();

  session_options opts_;
  uint64_t epoch_;
  session_stats stats_;

  // ---- sending: tx_[i] holds sequence snd_una_ + i; the first
  // (snd_nxt_ - snd_una_) entries are in flight, the rest wait for the window.
  std::deque<tx_segment> tx_;
  /// Buffers of acknowledged bundles, kept for the next bundles: each is a
  /// full segment's size, and glibc's malloc takes a slow path (it merges
  /// its free small chunks first) for every request of that size.
  std::vector<byte_buffer> spare_bundles_;
  uint64_t snd_una_;
  uint64_t snd_nxt_;
  std::vector<uint64_t> retransmit_; // sequences marked lost
  std::deque<utx_fragment> utx_;
  uint32_t next_message_id_ = 1;
  uint64_t next_track_id_ = 1;
  uint32_t peer_window_;
  double cwnd_;     // bytes
  double ssthresh_; // bytes
  uint64_t inflight_bytes_ = 0;
  uint64_t round_end_ = 0; // a round ends when snd_una_ passes this
  uint32_t round_sent_ = 0;
  uint32_t round_lost_ = 0;
  uint64_t srtt_us_ = 0;
  uint64_t min_rtt_us_ = UINT64_MAX;
  uint64_t rttvar_us_ = 0;
  uint64_t rtt_hint_us_ = 0;  // the peer's estimate, while we have none
  bool timeout_undo_ = false; // a timeout's reduction may still be undone
  uint64_t timeout_seq_ = 0;  // the segment the last timeout resent
  double undo_cwnd_ = 0;
  double undo_ssthresh_ = 0;
  uint64_t rto_us_;
  uint64_t rto_deadline_ = UINT64_MAX;
  uint64_t probe_deadline_ = UINT64_MAX; // tail-loss probe, once per silence
  bool probed_ = false;
  uint64_t next_send_due_ = 0;

  // ---- receiving
  bool have_remote_ = false;
  uint64_t remote_epoch_ = 0;
  uint64_t rcv_next_ = 0;
  std::map<uint64_t, std::pair<uint8_t, byte_buffer>> out_of_order_;
  std::map<uint64_t, uint64_t> ranges_; // received [start, end) above rcv_next_
  byte_buffer assembling_;              // fragments of the current message
  bool discarding_ = false;             // current message exceeded the limit
  bool ack_pending_ = false;
  std::map<uint32_t, partial_unreliable> partial_;
  std::vector<ack_range> ack_scratch_;
  std::vector<received_batch> received_;
  bool last_adopted_ = false; // the last batch holds one adopted message
  size_t last_batch_messages_ = 0;
  size_t last_batch_bytes_ = 0;
  std::vector<completion> completions_;
};

} // namespace meshrt::transport
