#include "dm/dm_wire.hpp"

#include <algorithm>

#include "transport/byte_codec.hpp"

namespace meshrt {

using transport::byte_reader;
using transport::byte_writer;

namespace {

/// A deliver's flags: the message is the first of its stream out.
constexpr uint8_t first_flag = 0x01;
/// ClearCacheByUserID: the channel closes after the message (empty: the clear alone).
constexpr uint8_t closes_flag = 0x02;

// Deliver and channel-closed messages end alike: from, to, ver, cmd,
// message.

size_t tail_size(const std::string& from, const std::string& to, const byte_buffer& message) {
  return 2 + from.size() + 2 + to.size() + 1 + 2 + 4 + message.size();
}

void write_tail(byte_writer& w, const std::string& from, const std::string& to, uint8_t ver,
                uint16_t cmd, const byte_buffer& message) {
  w.str16(from);
  w.str16(to);
  w.u8(ver);
  w.u16(cmd);
  w.blob32(message);
}

/// False for a truncated or padded message, or a bad user id.
bool read_tail(byte_reader& r, std::string& from, std::string& to, uint8_t& ver, uint16_t& cmd,
               byte_buffer& message) {
  from = r.str16();
  to = r.str16();
  ver = r.u8();
  cmd = r.u16();
  message = r.blob32();
  return r.ok() && r.at_end() && valid_user_id(from) && valid_user_id(to);
}

/// The kinds with a deliver's fields.
bool has_deliver_fields(uint8_t kind) {
  switch (static_cast<dm_kind>(kind)) {
    case dm_kind::deliver:
    case dm_kind::find:
    case dm_kind::find_again:
    case dm_kind::deliver_again:
      return true;
    default:
      return false;
  }
}

} // namespace

bool is_again(dm_kind kind) {
  return kind == dm_kind::find_again || kind == dm_kind::deliver_again;
}

byte_buffer encode(const dm_deliver& x) {
  byte_writer w{1 + 8 + 4 + 2 + x.reply_to.size() + 17 + tail_size(x.from, x.to, x.message)};
  auto kind = static_cast<uint8_t>(x.kind);
  w.u8(has_deliver_fields(kind) ? kind : static_cast<uint8_t>(dm_kind::deliver));
  w.u64(x.id);
  w.u32(x.timeout_ms);
  w.str16(x.reply_to);
  w.u64(x.pos.stream);
  w.u32(x.pos.seq);
  w.u32(x.pos.prev);
  w.u8(static_cast<uint8_t>((x.pos.first ? first_flag : 0) | (x.pos.closes ? closes_flag : 0)));
  write_tail(w, x.from, x.to, x.ver, x.cmd, x.message);
  return w.take();
}

byte_buffer encode(const dm_answer& x) {
  byte_writer w{10 + 2 + x.at.size()};
  w.u8(static_cast<uint8_t>(dm_kind::answer));
  w.u64(x.id);
  w.u8(static_cast<uint8_t>(x.outcome));
  w.str16(x.at);
  return w.take();
}

byte_buffer encode(const dm_closed& x) {
  byte_writer w{1 + 1 + tail_size(x.from, x.to, x.message)};
  w.u8(static_cast<uint8_t>(dm_kind::closed));
  w.u8(static_cast<uint8_t>(x.reason));
  write_tail(w, x.from, x.to, x.ver, x.cmd, x.message);
  return w.take();
}

byte_buffer encode(const dm_locations& x) {
  size_t size = 1 + 1 + 2;
  for (const auto& uid : x.users)
    size += 2 + uid.size();
  byte_writer w{size};
  w.u8(static_cast<uint8_t>(dm_kind::locations));
  w.u8(static_cast<uint8_t>(x.op));
  w.u16(static_cast<uint16_t>(x.users.size()));
  for (const auto& uid : x.users)
    w.str16(uid);
  return w.take();
}

byte_buffer encode_locations_wanted(uint64_t incarnation) {
  byte_writer w{1 + 8};
  w.u8(static_cast<uint8_t>(dm_kind::locations_wanted));
  w.u64(incarnation);
  return w.take();
}

std::optional<dm_deliver> decode_dm_deliver(byte_view bytes) {
  byte_reader r{bytes};
  auto kind = r.u8();
  if (!has_deliver_fields(kind))
    return std::nullopt;
  dm_deliver x;
  x.kind = static_cast<dm_kind>(kind);
  x.id = r.u64();
  x.timeout_ms = r.u32();
  x.reply_to = r.str16();
  x.pos.stream = r.u64();
  x.pos.seq = r.u32();
  x.pos.prev = r.u32();
  auto flags = r.u8();
  x.pos.first = (flags & first_flag) != 0;
  x.pos.closes = (flags & closes_flag) != 0;
  if (!read_tail(r, x.from, x.to, x.ver, x.cmd, x.message)
      || (flags & ~(first_flag | closes_flag)) != 0)
    return std::nullopt;
  if (x.message.empty() && !x.pos.closes)
    return std::nullopt; // an empty message is not sent; only a clear alone has none
  return x;
}

std::optional<dm_answer> decode_dm_answer(byte_view bytes) {
  byte_reader r{bytes};
  if (r.u8() != static_cast<uint8_t>(dm_kind::answer))
    return std::nullopt;
  dm_answer x;
  x.id = r.u64();
  auto outcome = r.u8();
  x.at = r.str16();
  if (!r.ok() || !r.at_end() || outcome < static_cast<uint8_t>(dm_outcome::delivered)
      || outcome > static_cast<uint8_t>(dm_outcome::out_of_order))
    return std::nullopt;
  x.outcome = static_cast<dm_outcome>(outcome);
  return x;
}

std::optional<dm_closed> decode_dm_closed(byte_view bytes) {
  byte_reader r{bytes};
  if (r.u8() != static_cast<uint8_t>(dm_kind::closed))
    return std::nullopt;
  dm_closed x;
  auto reason = r.u8();
  if (!read_tail(r, x.from, x.to, x.ver, x.cmd, x.message)
      || reason < static_cast<uint8_t>(close_reason::disconnect)
      || reason > static_cast<uint8_t>(close_reason::replaced))
    return std::nullopt; // reason 1 was a clear, which goes in its stream now
  x.reason = static_cast<close_reason>(reason);
  return x;
}

std::optional<dm_locations> decode_dm_locations(byte_view bytes) {
  byte_reader r{bytes};
  if (r.u8() != static_cast<uint8_t>(dm_kind::locations))
    return std::nullopt;
  dm_locations x;
  auto op = r.u8();
  if (op < static_cast<uint8_t>(locations_op::here) || op > static_cast<uint8_t>(locations_op::all))
    return std::nullopt;
  x.op = static_cast<locations_op>(op);
  auto count = r.u16();
  // no more ids than the bytes could hold: a bad count reserves nothing
  x.users.reserve(std::min<size_t>(count, bytes.size() / 3));
  for (uint16_t i = 0; i < count && r.ok(); ++i) {
    x.users.push_back(r.str16());
    if (!valid_user_id(x.users.back()))
      return std::nullopt;
  }
  if (!r.ok() || !r.at_end())
    return std::nullopt;
  return x;
}

std::optional<uint64_t> decode_locations_wanted(byte_view bytes) {
  byte_reader r{bytes};
  if (r.u8() != static_cast<uint8_t>(dm_kind::locations_wanted))
    return std::nullopt;
  auto incarnation = r.u64();
  if (!r.ok() || !r.at_end())
    return std::nullopt;
  return incarnation;
}

const char* to_string(dm_outcome x) {
  switch (x) {
    case dm_outcome::delivered:
      return "delivered";
    case dm_outcome::not_here:
      return "not_here";
    case dm_outcome::declined:
      return "declined";
    case dm_outcome::dropped:
      return "dropped";
    case dm_outcome::unknown_user:
      return "unknown_user";
    case dm_outcome::lookup_failed:
      return "lookup_failed";
    case dm_outcome::out_of_order:
      return "out_of_order";
  }
  return "unknown";
}

} // namespace meshrt
