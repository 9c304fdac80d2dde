#include "transport/session.hpp"

#include <algorithm>

namespace meshrt::transport {

namespace {

constexpr double segment_bytes = max_segment_payload;
constexpr double min_cwnd = 4 * segment_bytes;
constexpr double initial_cwnd = 32 * segment_bytes;
constexpr double loss_backoff = 0.7;            // multiplicative decrease on congestion
constexpr uint32_t congestion_loss_divisor = 3; // a round losing > 1/3 is congested
constexpr uint64_t initial_rto_us = 200'000;
constexpr uint64_t reorder_threshold = 3; // later segments acked before a loss
constexpr size_t max_partial_unreliable = 32;
constexpr uint64_t min_probe_timeout_us = 500;
constexpr uint64_t hystart_margin_us = 1000;
// What a delivery reserves ahead at most (the size of the last burst).
constexpr size_t max_reserved_messages = 4096;
constexpr size_t max_reserved_bytes = size_t{256} * 1024;

} // namespace

session::session(session_options opts, uint64_t epoch) :
  opts_(opts), epoch_(epoch), snd_una_(opts.initial_seq), snd_nxt_(opts.initial_seq),
  peer_window_(opts.window), cwnd_(initial_cwnd), ssthresh_(opts.window * segment_bytes),
  rto_us_(base_rto()) {
  // nop
}

uint64_t session::unwrap(uint32_t wire, uint64_t reference) {
  auto delta = static_cast<int32_t>(wire - static_cast<uint32_t>(reference));
  auto result = static_cast<int64_t>(reference) + delta;
  return result < 0 ? 0 : static_cast<uint64_t>(result);
}

// ---- sending -------------------------------------------------------------------

std::optional<uint64_t> session::send(byte_buffer data, reliability kind, uint64_t now_us,
                                      bool track) {
  if (auto id = bundle_into_tail(kind, data.data(), data.size(), track))
    return id;
  return queue(std::move(data), kind, now_us, track);
}

std::optional<uint64_t> session::send(const uint8_t* data, size_t size, reliability kind,
                                      uint64_t now_us, bool track) {
  if (auto id = bundle_into_tail(kind, data, size, track))
    return id; // copied into the bundle: no buffer of its own
  if (size > max_message_size)
    return std::nullopt; // refused before it is copied
  return queue(byte_buffer(data, data + size), kind, now_us, track);
}

std::optional<uint64_t> session::queue(byte_buffer data, reliability kind, uint64_t now_us,
                                       bool track) {
  if (data.size() > max_message_size)
    return std::nullopt;
  size_t size = data.size();
  // A message of up to max_segment_payload bytes is one segment; larger ones
  // are split into full segments and a remainder.
  size_t count = size == 0 ? 1 : (size + max_segment_payload - 1) / max_segment_payload;
  // A single segment keeps the buffer itself; split segments share it.
  std::shared_ptr<const byte_buffer> shared;
  byte_buffer single;
  if (count > 1)
    shared = std::make_shared<const byte_buffer>(std::move(data));
  else
    single = std::move(data);
  auto body = [&](size_t i) {
    payload p;
    p.shared = shared;
    p.offset = static_cast<uint32_t>(i * max_segment_payload);
    if (!shared)
      p.own.swap(single);
    return p;
  };
  auto segment_size = [&](size_t i) {
    return static_cast<uint16_t>(std::min(max_segment_payload, size - i * max_segment_payload));
  };
  if (kind == reliability::unreliable) {
    uint32_t id = next_message_id_++;
    for (size_t i = 0; i < count; ++i)
      utx_.push_back(
        {body(i), segment_size(i), id, static_cast<uint16_t>(i), static_cast<uint16_t>(count)});
    return id;
  }
  uint64_t id = next_track_id_++;
  for (size_t i = 0; i < count; ++i) {
    tx_segment seg;
    seg.body = body(i);
    seg.size = segment_size(i);
    seg.flags = i + 1 < count ? segment_flag_more : 0;
    seg.track_id = (track && i + 1 == count) ? id : 0;
    seg.queued_us = now_us;
    tx_.push_back(std::move(seg));
  }
  return id;
}

std::optional<uint64_t> session::bundle_into_tail(reliability kind, const uint8_t* data,
                                                  size_t size, bool track) {
  // Only a small reliable message joins; only a segment that has not left
  // yet can grow, and only one that holds small whole messages tracked the
  // same way as this one.
  if (kind != reliability::reliable || size > max_bundled_message
      || snd_nxt_ - snd_una_ >= tx_.size())
    return std::nullopt;
  auto& tail = tx_.back();
  bool bundled = (tail.flags & segment_flag_bundle) != 0;
  if (tail.body.shared || (tail.flags & segment_flag_more) != 0
      || (!bundled && tail.size > max_bundled_message) || (tail.track_id != 0) != track)
    return std::nullopt;
  size_t grown
    = (bundled ? tail.size : bundle_entry_header + tail.size) + bundle_entry_header + size;
  if (grown > max_segment_payload)
    return std::nullopt;
  if (!bundled) {
    byte_buffer bundle;
    if (!spare_bundles_.empty()) {
      bundle.swap(spare_bundles_.back());
      spare_bundles_.pop_back();
    } else {
      bundle.reserve(max_segment_payload);
    }
    append_bundle_entry(bundle, tail.body.own.data(), tail.size);
    tail.body.own.swap(bundle);
    tail.flags |= segment_flag_bundle;
  }
  append_bundle_entry(tail.body.own, data, size);
  tail.size = static_cast<uint16_t>(grown);
  ++tail.messages;
  uint64_t id = next_track_id_++;
  if (track)
    tail.track_id = id;
  return id;
}

void session::complete(const tx_segment& seg, bool delivered) {
  if (seg.track_id == 0)
    return;
  completions_.push_back({seg.track_id + 1 - seg.messages, seg.track_id, delivered});
}

void session::keep_bundle_buffer(tx_segment& seg) {
  // Enough for the bundles of one burst; a peer that went quiet holds at
  // most these few kilobytes.
  constexpr size_t spare_limit = 8;
  if ((seg.flags & segment_flag_bundle) == 0 || spare_bundles_.size() >= spare_limit
      || seg.body.own.capacity() != max_segment_payload)
    return;
  seg.body.own.clear();
  spare_bundles_.push_back(std::move(seg.body.own));
}

uint32_t session::send_window() const {
  // In segments: the receiver's free slots bound how far ahead we may go.
  return std::max<uint32_t>(1, std::min(peer_window_, opts_.window));
}

void session::flush(uint64_t now_us, const std::function<void(const uint8_t*, size_t)>& emit) {
  check_timers(now_us);
  packet_builder pb;
  bool open = false;
  auto ship = [&] {
    if (open && pb.has_content()) {
      emit(pb.data(), pb.size());
      ++stats_.datagrams_out;
      stats_.bytes_out += pb.size();
    }
    open = false;
  };
  // Opens a packet; a pending ack rides along with as many ranges as leave
  // `reserve` bytes for the segment the packet is opened for.
  auto start = [&](size_t reserve) {
    pb.begin(epoch_, static_cast<uint32_t>(snd_una_), srtt_us_, !have_remote_);
    if (ack_pending_ && have_remote_) {
      auto ranges
        = std::min(build_ack_ranges(), (pb.room() - ack_fixed_size - reserve) / ack_range_size);
      auto free_slots
        = opts_.window > out_of_order_.size() ? opts_.window - out_of_order_.size() : 0;
      pb.put_ack(remote_epoch_, static_cast<uint32_t>(rcv_next_),
                 static_cast<uint16_t>(std::min<size_t>(free_slots, UINT16_MAX)),
                 ack_scratch_.data(), ranges);
      ack_pending_ = false;
    }
    open = true;
  };
  auto room_for = [&](segment_type type, size_t size) {
    if (open && !pb.fits(type, size))
      ship();
    if (!open)
      start(packet_builder::segment_header_size(type) + size);
  };
  auto put = [&](tx_segment& seg, uint64_t seq) {
    room_for(segment_type::reliable, seg.size);
    if (!pb.put_reliable(static_cast<uint32_t>(seq), seg.flags, seg.body.data(), seg.size))
      return; // unreachable: room_for opened a packet with room for it
    if (seg.transmits++ == 0) {
      seg.first_sent_us = now_us;
      inflight_bytes_ += seg.size;
      ++round_sent_;
    }
    seg.last_sent_us = now_us;
    seg.lost = false;
  };
  bool was_idle = snd_nxt_ == snd_una_;
  size_t budget = opts_.flush_budget;
  size_t emitted_before = stats_.datagrams_out;
  auto within_budget = [&] { return stats_.datagrams_out - emitted_before < budget; };
  // 1. Retransmissions of segments known lost, lowest sequence first.
  if (!retransmit_.empty()) {
    std::sort(retransmit_.begin(), retransmit_.end());
    for (auto seq : retransmit_) {
      if (seq < snd_una_ || seq >= snd_nxt_)
        continue;
      auto& seg = tx_[seq - snd_una_];
      if (seg.acked || !seg.lost)
        continue;
      put(seg, seq);
      ++stats_.retransmits;
    }
    retransmit_.clear();
  }
  // 2. New data, unless sendInterval holds it back.
  if (opts_.send_interval_us == 0 || now_us >= next_send_due_) {
    bool sent_any = false;
    while (window_open() && within_budget()) {
      put(tx_[snd_nxt_ - snd_una_], snd_nxt_);
      ++snd_nxt_;
      sent_any = true;
    }
    while (!utx_.empty() && within_budget()) {
      auto& f = utx_.front();
      room_for(segment_type::unreliable, f.size);
      // Cannot fail: room_for opened a packet with room for it.
      [[maybe_unused]] bool added
        = pb.put_unreliable(f.message_id, f.index, f.count, f.body.data(), f.size);
      utx_.pop_front();
      sent_any = true;
    }
    if (sent_any && opts_.send_interval_us > 0)
      next_send_due_ = now_us + opts_.send_interval_us;
  }
  // 3. An acknowledgement that no data packet carried.
  if (ack_pending_ && have_remote_ && !open)
    start(0);
  ship();
  if (was_idle && snd_nxt_ != snd_una_)
    arm_timers(now_us);
}

bool session::window_open() const {
  return snd_nxt_ - snd_una_ < tx_.size() && snd_nxt_ < snd_una_ + send_window()
         && static_cast<double>(inflight_bytes_) < cwnd_;
}

bool session::has_sendable() const {
  return window_open() || !utx_.empty();
}

void session::arm_timers(uint64_t now_us) {
  if (snd_nxt_ == snd_una_) {
    rto_deadline_ = UINT64_MAX;
    probe_deadline_ = UINT64_MAX;
    return;
  }
  rto_deadline_ = now_us + rto_us_;
  probe_deadline_ = now_us + probe_timeout();
  probed_ = false;
}

uint64_t session::probe_timeout() const {
  if (srtt_us_ == 0)
    return rto_us_;
  return std::min(std::max(2 * srtt_us_, min_probe_timeout_us), rto_us_);
}

uint64_t session::next_deadline() const {
  if (ack_pending_ || !retransmit_.empty())
    return 0;
  uint64_t result = UINT64_MAX;
  if (snd_nxt_ != snd_una_) {
    result = std::min(result, rto_deadline_);
    if (!probed_)
      result = std::min(result, probe_deadline_);
    const auto& front = tx_.front();
    result = std::min(result, front.first_sent_us + opts_.retry_timeout_us);
  }
  bool waiting = snd_nxt_ - snd_una_ < tx_.size() || !utx_.empty();
  if (waiting) {
    if (opts_.send_interval_us > 0)
      result = std::min(result, next_send_due_);
    // Queued but never sent (zero window): give up on time all the same.
    result
      = std::min(result, tx_.empty() ? UINT64_MAX : tx_.front().queued_us + opts_.retry_timeout_us);
  }
  return result;
}

void session::check_timers(uint64_t now_us) {
  if (!tx_.empty()) {
    const auto& front = tx_.front();
    uint64_t since = front.transmits > 0 ? front.first_sent_us : front.queued_us;
    if (now_us >= since + opts_.retry_timeout_us) {
      give_up();
      return;
    }
  }
  if (snd_nxt_ == snd_una_)
    return;
  if (!probed_ && now_us >= probe_deadline_ && now_us < rto_deadline_) {
    // Silence for two round trips: resend the newest unacknowledged segment.
    // Its ack (with selective ranges) reveals any other loss, so a lost ack
    // or a lost tail costs one probe instead of a timeout.
    probed_ = true;
    for (uint64_t seq = snd_nxt_; seq-- > snd_una_;) {
      auto& seg = tx_[seq - snd_una_];
      if (!seg.acked) {
        if (!seg.lost) {
          seg.lost = true;
          retransmit_.push_back(seq);
        }
        ++stats_.probes;
        break;
      }
    }
    return;
  }
  if (now_us < rto_deadline_)
    return;
  // The retransmission timer expired: resend the oldest unacknowledged
  // segment only (RFC 6298 5.4). The ack it draws, with its selective ranges,
  // lets loss detection find whatever else is missing; marking everything in
  // flight would resend what a deep queue merely delays.
  ++stats_.timeouts;
  for (uint64_t seq = snd_una_; seq < snd_nxt_; ++seq) {
    auto& seg = tx_[seq - snd_una_];
    if (!seg.acked) {
      if (!seg.lost) {
        seg.lost = true;
        retransmit_.push_back(seq);
      }
      break;
    }
  }
  // Remember what the timeout takes away: the acks it draws may show it
  // was spurious (see on_ack).
  if (!timeout_undo_) {
    timeout_undo_ = true;
    undo_cwnd_ = cwnd_;
    undo_ssthresh_ = ssthresh_;
  }
  timeout_seq_ = snd_una_;
  ssthresh_ = std::max(min_cwnd, cwnd_ / 2);
  cwnd_ = ssthresh_;
  // Half again, not double (KCP's nodelay): loss on a LAN is seldom
  // congestion, and doubling from a few ms reaches retryInterval after ten
  // tries, too few for retryTimeout under heavy loss.
  rto_us_ = std::min(rto_us_ + rto_us_ / 2, opts_.retry_interval_us);
  rto_deadline_ = now_us + rto_us_;
  probed_ = true; // no probe before the backed-off timer
}

void session::give_up() {
  ++stats_.give_ups;
  start_over();
}

void session::abandon() {
  ++stats_.abandoned;
  start_over();
}

void session::start_over() {
  for (auto& seg : tx_)
    complete(seg, false);
  // The peer may hold part of the stream; a new epoch tells it to start over
  // at the next sequence instead of waiting for what will never come.
  tx_.clear();
  retransmit_.clear();
  snd_una_ = snd_nxt_;
  ++epoch_;
  cwnd_ = initial_cwnd;
  ssthresh_ = opts_.window * segment_bytes;
  inflight_bytes_ = 0;
  round_end_ = snd_nxt_;
  round_sent_ = 0;
  round_lost_ = 0;
  rto_us_ = base_rto();
  timeout_undo_ = false; // nothing of the old stream is left to judge
  arm_timers(0);
}

// ---- receiving -----------------------------------------------------------------

decode_error session::input(const uint8_t* data, size_t size, uint64_t now_us) {
  packet_reader reader;
  auto err = reader.parse(data, size);
  if (err != decode_error::none) {
    ++stats_.rejected;
    ++stats_.rejected_by[static_cast<size_t>(err)];
    return err;
  }
  const auto& hdr = reader.header();
  if (have_remote_ && hdr.epoch < remote_epoch_) {
    ++stats_.stale_epoch;
    return decode_error::none;
  }
  ++stats_.datagrams_in;
  stats_.bytes_in += size;
  if (have_remote_ && hdr.epoch > remote_epoch_ && hdr.fresh) {
    // A new session at the peer's address that has heard nothing from this
    // one (its process restarted): what is unacknowledged here was sent to
    // the one before, and the new one would take it as its own (an answer
    // to a request it never made). It fails here instead, and this stream
    // starts over in a new epoch, which the peer adopts.
    ++stats_.peer_restarts;
    if (!tx_.empty())
      start_over();
  }
  if (!have_remote_ || hdr.epoch > remote_epoch_)
    adopt_epoch(hdr.epoch, hdr.snd_una);
  if (hdr.rtt_hint_us != 0 && srtt_us_ == 0 && rtt_hint_us_ == 0)
    use_rtt_hint(hdr.rtt_hint_us, now_us);
  if (hdr.has_ack)
    on_ack(reader.ack(), now_us);
  segment_view seg;
  while (reader.next(seg)) {
    if (seg.type == segment_type::reliable)
      on_reliable(seg);
    else
      on_unreliable(seg, now_us);
  }
  return decode_error::none;
}

void session::adopt_epoch(uint64_t epoch, uint32_t snd_una) {
  if (have_remote_)
    ++stats_.peer_resets;
  have_remote_ = true;
  remote_epoch_ = epoch;
  // Whatever the peer's previous incarnation left half-delivered is gone; its
  // new stream starts at its lowest unacknowledged sequence.
  rcv_next_ = snd_una;
  out_of_order_.clear();
  ranges_.clear();
  assembling_.clear();
  discarding_ = false;
  partial_.clear();
}

void session::on_reliable(const segment_view& seg) {
  ack_pending_ = true;
  uint64_t seq = unwrap(seg.seq, rcv_next_);
  if (seq < rcv_next_) {
    ++stats_.duplicates;
    return;
  }
  if (seq >= rcv_next_ + opts_.window) {
    ++stats_.out_of_window;
    return;
  }
  if (seq > rcv_next_) {
    auto [pos, added] = out_of_order_.try_emplace(seq);
    if (!added) {
      ++stats_.duplicates;
      return;
    }
    pos->second.first = seg.flags;
    pos->second.second.assign(seg.data, seg.data + seg.size);
    // Merge [seq, seq + 1) into the received ranges.
    auto next = ranges_.lower_bound(seq + 1);
    uint64_t start = seq;
    uint64_t end = seq + 1;
    if (next != ranges_.end() && next->first == seq + 1) {
      end = next->second;
      next = ranges_.erase(next);
    }
    if (next != ranges_.begin()) {
      auto prev = std::prev(next);
      if (prev->second == seq) {
        prev->second = end;
        return;
      }
    }
    ranges_.emplace(start, end);
    return;
  }
  deliver(seg.flags, seg.data, seg.size);
  ++rcv_next_;
  // Pull in what had arrived early and is now in order.
  while (!out_of_order_.empty() && out_of_order_.begin()->first == rcv_next_) {
    auto node = out_of_order_.extract(out_of_order_.begin());
    const auto& [flags, data] = node.mapped();
    deliver(flags, data.data(), data.size());
    ++rcv_next_;
  }
  while (!ranges_.empty() && ranges_.begin()->second <= rcv_next_)
    ranges_.erase(ranges_.begin());
}

void session::deliver(uint8_t flags, const uint8_t* data, size_t size) {
  if ((flags & segment_flag_bundle) != 0) {
    // A bundle holds whole messages; a sender never puts one inside a split
    // message, so what was being assembled cannot be completed: drop it.
    if (!assembling_.empty() || discarding_)
      ++stats_.interrupted;
    assembling_ = byte_buffer{};
    discarding_ = false;
    for_each_bundled(data, size, [this](const uint8_t* message, size_t n) {
      deliver_copy(reliability::reliable, message, n);
    });
    return;
  }
  if (assembling_.empty() && !discarding_ && (flags & segment_flag_more) == 0) {
    deliver_copy(reliability::reliable, data, size);
    return;
  }
  if (!discarding_) {
    if (assembling_.size() + size > max_message_size) {
      discarding_ = true;
      assembling_ = byte_buffer{};
    } else {
      assembling_.insert(assembling_.end(), data, data + size);
    }
  }
  if ((flags & segment_flag_more) == 0) {
    if (discarding_)
      ++stats_.oversized;
    else
      deliver_adopted(reliability::reliable, std::move(assembling_));
    assembling_ = byte_buffer{};
    discarding_ = false;
  }
}

void session::on_unreliable(const segment_view& seg, uint64_t now_us) {
  if (seg.count == 1) {
    deliver_copy(reliability::unreliable, seg.data, seg.size);
    return;
  }
  // Every fragment but the last is full, so each one's place is known.
  bool last = seg.index + 1 == seg.count;
  if (last ? seg.size == 0 : seg.size != max_segment_payload)
    return;
  // Expire fragments that waited longer than a reliable message may.
  for (auto i = partial_.begin(); i != partial_.end();) {
    if (i->second.started_us + opts_.retry_timeout_us <= now_us) {
      ++stats_.unreliable_dropped;
      i = partial_.erase(i);
    } else {
      ++i;
    }
  }
  auto pos = partial_.find(seg.message_id);
  if (pos == partial_.end()) {
    if (partial_.size() >= max_partial_unreliable) {
      auto oldest = std::min_element(partial_.begin(), partial_.end(), [](auto& a, auto& b) {
        return a.second.started_us < b.second.started_us;
      });
      ++stats_.unreliable_dropped;
      partial_.erase(oldest);
    }
    partial_unreliable fresh;
    fresh.data.resize(static_cast<size_t>(seg.count) * max_segment_payload);
    fresh.have.assign(seg.count, false);
    fresh.missing = seg.count;
    fresh.started_us = now_us;
    pos = partial_.emplace(seg.message_id, std::move(fresh)).first;
  }
  auto& msg = pos->second;
  if (msg.have.size() != seg.count || msg.have[seg.index])
    return; // inconsistent count or duplicate fragment
  std::copy(seg.data, seg.data + seg.size,
            msg.data.begin() + static_cast<std::ptrdiff_t>(seg.index * max_segment_payload));
  msg.have[seg.index] = true;
  if (last)
    msg.data.resize((seg.count - 1) * max_segment_payload + seg.size);
  if (--msg.missing == 0) {
    deliver_adopted(reliability::unreliable, std::move(msg.data));
    partial_.erase(pos);
  }
}

size_t session::build_ack_ranges() {
  ack_scratch_.clear();
  for (const auto& [start, end] : ranges_) {
    if (ack_scratch_.size() == max_ack_ranges)
      break;
    ack_scratch_.push_back({static_cast<uint32_t>(start), static_cast<uint16_t>(end - start)});
  }
  return ack_scratch_.size();
}

// ---- acknowledgements ------------------------------------------------------------

void session::on_ack(const ack_block& ack, uint64_t now_us) {
  if (ack.epoch != epoch_)
    return; // for an incarnation of ours that is gone
  uint64_t una = unwrap(ack.rcv_next, snd_una_);
  if (una > snd_nxt_) {
    ++stats_.bad_acks;
    return;
  }
  peer_window_ = ack.window;
  if (timeout_undo_ && una > snd_una_) {
    // The first progress after a timeout, which resent only snd_una: if the
    // peer had the segments after it too, they arrived before the timeout
    // and only acks (or that one segment) were lost, not the path's
    // capacity. Undo the reduction (as F-RTO, RFC 5682, would).
    if (una > timeout_seq_ + 1) {
      cwnd_ = std::max(cwnd_, undo_cwnd_);
      ssthresh_ = std::max(ssthresh_, undo_ssthresh_);
      ++stats_.spurious_timeouts;
    }
    timeout_undo_ = false;
  }
  uint64_t newest_sent_us = 0;
  uint64_t highest_acked = 0;
  uint32_t newly = 0; // bytes
  for (uint64_t seq = snd_una_; seq < una; ++seq)
    mark_acked(seq, now_us, newest_sent_us, highest_acked, newly);
  for (size_t i = 0; i < ack.range_count; ++i) {
    uint64_t start = std::max(unwrap(ack.ranges[i].start, snd_una_), snd_una_);
    uint64_t end
      = std::min<uint64_t>(unwrap(ack.ranges[i].start, snd_una_) + ack.ranges[i].length, snd_nxt_);
    for (uint64_t seq = start; seq < end; ++seq)
      mark_acked(seq, now_us, newest_sent_us, highest_acked, newly);
  }
  // Retire the acknowledged prefix.
  while (!tx_.empty() && snd_una_ < snd_nxt_ && tx_.front().acked) {
    complete(tx_.front(), true);
    keep_bundle_buffer(tx_.front());
    tx_.pop_front();
    ++snd_una_;
  }
  if (newly == 0)
    return;
  // Slow start below ssthresh, then one segment's worth per window.
  if (cwnd_ < ssthresh_)
    cwnd_ += newly;
  else
    cwnd_ += segment_bytes * newly / cwnd_;
  cwnd_ = std::min(cwnd_, opts_.window * segment_bytes);
  detect_losses(newest_sent_us, highest_acked);
  end_round_if_due();
  // Progress ends any backoff (RFC 6298 5.7 keeps it until a fresh sample,
  // but retransmitted segments give none under heavy loss).
  rto_us_ = base_rto();
  arm_timers(now_us);
}

void session::mark_acked(uint64_t seq, uint64_t now_us, uint64_t& newest_sent_us,
                         uint64_t& highest_acked, uint32_t& newly) {
  auto& seg = tx_[seq - snd_una_];
  if (seg.acked)
    return;
  seg.acked = true;
  inflight_bytes_ -= seg.size;
  newly += std::max<uint32_t>(seg.size, 1);
  highest_acked = std::max(highest_acked, seq);
  if (seg.last_sent_us >= newest_sent_us) {
    newest_sent_us = seg.last_sent_us;
    // Karn: only segments sent once give an unambiguous RTT sample.
    if (seg.transmits == 1)
      update_rtt(now_us - seg.last_sent_us);
  }
}

void session::detect_losses(uint64_t newest_sent_us, uint64_t highest_acked) {
  // A segment is lost if one sent later was acknowledged while it was not
  // (allowing a quarter RTT for reordering), or if three segments sent no
  // earlier and with higher sequence numbers were.
  uint64_t reorder_window = srtt_us_ / 4;
  for (uint64_t seq = snd_una_; seq < highest_acked; ++seq) {
    auto& seg = tx_[seq - snd_una_];
    if (seg.acked || seg.lost)
      continue;
    bool later_acked = seg.last_sent_us + reorder_window < newest_sent_us;
    bool skipped = seg.last_sent_us <= newest_sent_us && seq + reorder_threshold <= highest_acked;
    if (later_acked || skipped) {
      seg.lost = true;
      retransmit_.push_back(seq);
      ++round_lost_;
    }
  }
}

void session::end_round_if_due() {
  if (snd_una_ < round_end_)
    return;
  // Random loss scatters a few segments per round; a queue that overflows
  // drops a large share of one. Only the latter means "slow down".
  if (round_lost_ * congestion_loss_divisor > round_sent_) {
    ssthresh_ = std::max(min_cwnd, cwnd_ * loss_backoff);
    cwnd_ = ssthresh_;
  }
  round_end_ = snd_nxt_;
  round_sent_ = 0;
  round_lost_ = 0;
}

void session::update_rtt(uint64_t sample_us) {
  min_rtt_us_ = std::min(min_rtt_us_, sample_us);
  // Leave slow start once queueing shows: the round trip grew well past its
  // floor (HyStart's delay signal), before a burst fills every buffer.
  if (cwnd_ < ssthresh_ && sample_us > 2 * min_rtt_us_ + hystart_margin_us)
    ssthresh_ = cwnd_;
  if (srtt_us_ == 0) {
    srtt_us_ = sample_us;
    rttvar_us_ = sample_us / 2;
  } else {
    uint64_t err = sample_us > srtt_us_ ? sample_us - srtt_us_ : srtt_us_ - sample_us;
    rttvar_us_ = (3 * rttvar_us_ + err) / 4;
    srtt_us_ = (7 * srtt_us_ + sample_us) / 8;
  }
  rto_us_ = base_rto();
}

uint64_t session::base_rto() const {
  if (srtt_us_ != 0)
    return rto_for(srtt_us_, rttvar_us_);
  if (rtt_hint_us_ != 0)
    return rto_for(rtt_hint_us_, rtt_hint_us_ / 2);
  return std::min(initial_rto_us, opts_.retry_interval_us);
}

uint64_t session::rto_for(uint64_t srtt_us, uint64_t rttvar_us) const {
  return std::clamp(srtt_us + std::max<uint64_t>(4 * rttvar_us, 1000), opts_.min_rto_us,
                    opts_.retry_interval_us);
}

void session::use_rtt_hint(uint64_t hint_us, uint64_t now_us) {
  // Nothing we sent has been acknowledged yet, so we have no sample; the
  // peer's estimate times a lost first message far better than the blind
  // initial timeout (200 ms), as a first sample would (RFC 6298 2.2). Once.
  rtt_hint_us_ = hint_us;
  rto_us_ = base_rto();
  if (rto_deadline_ != UINT64_MAX)
    rto_deadline_ = std::min(rto_deadline_, now_us + rto_us_);
  if (probe_deadline_ != UINT64_MAX)
    probe_deadline_ = std::min(probe_deadline_, now_us + probe_timeout());
}

// ---- results ---------------------------------------------------------------------

void session::deliver_copy(reliability kind, const uint8_t* data, size_t size) {
  // Runs of one kind share a buffer; a run ends at a message of the other
  // kind and at an adopted one.
  if (received_.empty() || received_.back().kind != kind || last_adopted_) {
    received_.push_back({packed_messages{}, kind});
    // The next burst is likely as large as the last: one allocation (up to
    // a bound, so that one huge burst does not make every later one huge).
    received_.back().messages.reserve(std::min(last_batch_messages_, max_reserved_messages),
                                      std::min(last_batch_bytes_, max_reserved_bytes));
    last_adopted_ = false;
  }
  received_.back().messages.add({data, size});
}

void session::deliver_adopted(reliability kind, byte_buffer&& data) {
  received_.push_back({packed_messages{std::move(data)}, kind});
  last_adopted_ = true;
}

std::vector<received_batch> session::take_batches() {
  std::vector<received_batch> result;
  result.swap(received_);
  last_adopted_ = false;
  if (!result.empty() && result.back().messages.size() > 1) {
    last_batch_messages_ = result.back().messages.size();
    last_batch_bytes_ = result.back().messages.bytes();
  }
  return result;
}

std::vector<received_message> session::take_received() {
  std::vector<received_message> result;
  for (auto& batch : take_batches())
    for (auto message : batch.messages.views())
      result.push_back({message.to_buffer(), batch.kind});
  return result;
}

std::vector<completion> session::take_completions() {
  std::vector<completion> result;
  result.swap(completions_);
  completions_.reserve(result.size()); // as for received messages
  return result;
}

} // namespace meshrt::transport
