#include "transport/wire.hpp"

#include <algorithm>
#include <cstring>

#include "transport/byte_order.hpp"

namespace meshrt::transport {

const char* to_string(decode_error err) {
  switch (err) {
    case decode_error::none:
      return "none";
    case decode_error::too_short:
      return "too_short";
    case decode_error::too_long:
      return "too_long";
    case decode_error::bad_magic:
      return "bad_magic";
    case decode_error::bad_version:
      return "bad_version";
    case decode_error::bad_flags:
      return "bad_flags";
    case decode_error::bad_ack:
      return "bad_ack";
    case decode_error::bad_segment_type:
      return "bad_segment_type";
    case decode_error::truncated_segment:
      return "truncated_segment";
    case decode_error::bad_segment_size:
      return "bad_segment_size";
    case decode_error::bad_fragment:
      return "bad_fragment";
    case decode_error::bad_bundle:
      return "bad_bundle";
  }
  return "unknown";
}

// ---- packet_reader -----------------------------------------------------------------

decode_error packet_reader::parse(const uint8_t* data, size_t size) {
  data_ = data;
  size_ = size;
  pos_ = 0;
  validated_ = false;
  if (size < header_size)
    return decode_error::too_short;
  if (size > max_packet_size)
    return decode_error::too_long;
  if (data[0] != wire_magic)
    return decode_error::bad_magic;
  if (data[1] != protocol_version)
    return decode_error::bad_version;
  uint8_t flags = data[2];
  if ((flags
       & ~(header_flag_has_ack | header_flag_authenticated | header_flag_chacha
           | header_flag_fresh))
      != 0)
    return decode_error::bad_flags;
  header_.rtt_hint_us = decode_rtt_hint(data[3]);
  header_.epoch = load64(data + 4);
  header_.snd_una = load32(data + 12);
  header_.has_ack = (flags & header_flag_has_ack) != 0;
  header_.fresh = (flags & header_flag_fresh) != 0;
  pos_ = header_size;
  if (header_.has_ack) {
    if (size - pos_ < ack_fixed_size)
      return decode_error::bad_ack;
    const uint8_t* p = data + pos_;
    ack_.epoch = load64(p);
    ack_.rcv_next = load32(p + 8);
    ack_.window = load16(p + 12);
    ack_.range_count = p[14];
    pos_ += ack_fixed_size;
    if (ack_.range_count > max_ack_ranges || size - pos_ < ack_.range_count * ack_range_size)
      return decode_error::bad_ack;
    // Ranges ascend above rcv_next without overlapping (serial arithmetic).
    uint32_t floor = ack_.rcv_next;
    for (size_t i = 0; i < ack_.range_count; ++i) {
      auto& r = ack_.ranges[i];
      r.start = load32(data + pos_);
      r.length = load16(data + pos_ + 4);
      pos_ += ack_range_size;
      if (r.length == 0 || static_cast<int32_t>(r.start - floor) <= 0)
        return decode_error::bad_ack;
      floor = r.start + r.length;
    }
  }
  segments_begin_ = pos_;
  // Validate every segment now, so that a packet is used whole or not at all.
  segment_view seg;
  while (pos_ < size_)
    if (auto err = read_segment(seg); err != decode_error::none)
      return err;
  pos_ = segments_begin_;
  validated_ = true;
  return decode_error::none;
}

bool packet_reader::next(segment_view& out) {
  if (pos_ >= size_)
    return false;
  return read_segment(out) == decode_error::none;
}

namespace {

/// At least one entry, and entries that end exactly where the payload ends.
bool valid_bundle(const uint8_t* data, size_t size) {
  size_t pos = 0;
  size_t entries = 0;
  while (pos < size) {
    if (size - pos < bundle_entry_header)
      return false;
    size_t n = load16(data + pos);
    pos += bundle_entry_header;
    if (n > size - pos)
      return false;
    pos += n;
    ++entries;
  }
  return entries > 0;
}

} // namespace

decode_error packet_reader::read_segment(segment_view& out) {
  size_t left = size_ - pos_;
  const uint8_t* p = data_ + pos_;
  if (left < 4)
    return decode_error::truncated_segment;
  uint8_t type = p[0];
  out.flags = p[1];
  out.size = load16(p + 2);
  size_t hdr = 0;
  if (type == static_cast<uint8_t>(segment_type::reliable)) {
    hdr = reliable_segment_header;
    if (left < hdr)
      return decode_error::truncated_segment;
    if ((out.flags & ~(segment_flag_more | segment_flag_bundle)) != 0
        || out.flags == (segment_flag_more | segment_flag_bundle))
      return decode_error::bad_flags;
    out.type = segment_type::reliable;
    out.seq = load32(p + 4);
  } else if (type == static_cast<uint8_t>(segment_type::unreliable)) {
    hdr = unreliable_segment_header;
    if (left < hdr)
      return decode_error::truncated_segment;
    if (out.flags != 0)
      return decode_error::bad_flags;
    out.type = segment_type::unreliable;
    out.message_id = load32(p + 4);
    out.index = load16(p + 8);
    out.count = load16(p + 10);
    if (out.count == 0 || out.count > max_fragments || out.index >= out.count)
      return decode_error::bad_fragment;
  } else {
    return decode_error::bad_segment_type;
  }
  if (out.size > max_segment_payload)
    return decode_error::bad_segment_size;
  if (left - hdr < out.size)
    return decode_error::truncated_segment;
  out.data = p + hdr;
  if (!validated_ && (out.flags & segment_flag_bundle) != 0 && !valid_bundle(out.data, out.size))
    return decode_error::bad_bundle;
  pos_ += hdr + out.size;
  return decode_error::none;
}

void append_bundle_entry(byte_buffer& bundle, const uint8_t* data, size_t size) {
  auto at = bundle.size();
  bundle.resize(at + bundle_entry_header);
  store16(bundle.data() + at, static_cast<uint16_t>(size));
  bundle.insert(bundle.end(), data, data + size);
}

// ---- packet_builder ----------------------------------------------------------------

uint8_t encode_rtt_hint(uint64_t srtt_us) {
  if (srtt_us == 0)
    return 0;
  uint8_t n = 1;
  while (n < 31 && (uint64_t{1} << n) < srtt_us)
    ++n;
  return n;
}

uint64_t decode_rtt_hint(uint8_t hint) {
  return hint == 0 ? 0 : uint64_t{1} << std::min<uint8_t>(hint, 31);
}

void packet_builder::begin(uint64_t epoch, uint32_t snd_una, uint64_t srtt_us, bool fresh) {
  buf_[0] = wire_magic;
  buf_[1] = protocol_version;
  buf_[2] = fresh ? header_flag_fresh : 0;
  buf_[3] = encode_rtt_hint(srtt_us);
  store64(buf_ + 4, epoch);
  store32(buf_ + 12, snd_una);
  size_ = header_size;
}

void packet_builder::put_ack(uint64_t epoch, uint32_t rcv_next, uint16_t window,
                             const ack_range* ranges, size_t count) {
  if (size_ + ack_fixed_size > max_packet_size)
    return;
  size_t fit = (max_packet_size - size_ - ack_fixed_size) / ack_range_size;
  if (count > fit)
    count = fit;
  if (count > max_ack_ranges)
    count = max_ack_ranges;
  buf_[2] |= header_flag_has_ack;
  uint8_t* p = buf_ + size_;
  store64(p, epoch);
  store32(p + 8, rcv_next);
  store16(p + 12, window);
  p[14] = static_cast<uint8_t>(count);
  p += ack_fixed_size;
  for (size_t i = 0; i < count; ++i, p += ack_range_size) {
    store32(p, ranges[i].start);
    store16(p + 4, ranges[i].length);
  }
  size_ = static_cast<size_t>(p - buf_);
}

bool packet_builder::put_reliable(uint32_t seq, uint8_t flags, const uint8_t* data, size_t size) {
  if (size > max_segment_payload || !fits(segment_type::reliable, size))
    return false;
  uint8_t* p = buf_ + size_;
  p[0] = static_cast<uint8_t>(segment_type::reliable);
  p[1] = flags;
  store16(p + 2, static_cast<uint16_t>(size));
  store32(p + 4, seq);
  if (size > 0)
    std::memcpy(p + reliable_segment_header, data, size);
  size_ += reliable_segment_header + size;
  return true;
}

bool packet_builder::put_unreliable(uint32_t message_id, uint16_t index, uint16_t count,
                                    const uint8_t* data, size_t size) {
  if (size > max_segment_payload || !fits(segment_type::unreliable, size))
    return false;
  uint8_t* p = buf_ + size_;
  p[0] = static_cast<uint8_t>(segment_type::unreliable);
  p[1] = 0;
  store16(p + 2, static_cast<uint16_t>(size));
  store32(p + 4, message_id);
  store16(p + 8, index);
  store16(p + 10, count);
  if (size > 0)
    std::memcpy(p + unreliable_segment_header, data, size);
  size_ += unreliable_segment_header + size;
  return true;
}

} // namespace meshrt::transport
