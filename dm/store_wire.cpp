#include "dm/store_wire.hpp"

#include <algorithm>

#include "transport/byte_codec.hpp"

namespace meshrt {

namespace {

using transport::byte_reader;
using transport::byte_writer;

size_t records_size(const std::vector<store_record>& records) {
  size_t n = 2;
  for (const auto& r : records)
    n += 2 + r.key.size() + 1 + 4 + r.value.size() + 4 + 1 + r.owner.size()
         + (r.owner.empty() ? 0 : 8);
  return n;
}

void write_records(byte_writer& w, const std::vector<store_record>& records) {
  w.u16(static_cast<uint16_t>(records.size()));
  for (const auto& r : records) {
    w.str16(r.key);
    w.u8(r.present ? 1 : 0);
    w.str32(r.value);
    w.u32(r.ttl_ms);
    w.str8(r.owner, "record owner");
    if (!r.owner.empty())
      w.u64(r.version);
  }
}

std::vector<store_record> read_records(byte_reader& r) {
  std::vector<store_record> result;
  auto n = r.u16();
  result.reserve(std::min<size_t>(n, 1024));
  for (size_t i = 0; i < n && r.ok(); ++i) {
    store_record rec;
    rec.key = r.str16();
    rec.present = r.u8() != 0;
    rec.value = r.str32();
    rec.ttl_ms = r.u32();
    rec.owner = r.str8();
    if (!rec.owner.empty())
      rec.version = r.u64();
    result.push_back(std::move(rec));
  }
  return result;
}

} // namespace

const char* to_string(store_op op) {
  switch (op) {
    case store_op::get:
      return "get";
    case store_op::set:
      return "set";
    case store_op::del:
      return "del";
    case store_op::set_if_absent:
      return "set_if_absent";
    case store_op::incr:
      return "incr";
    case store_op::get_many:
      return "get_many";
    case store_op::set_many:
      return "set_many";
    case store_op::stats:
      return "stats";
    case store_op::del_if_equal:
      return "del_if_equal";
    case store_op::swap:
      return "swap";
    case store_op::reassert:
      return "reassert";
  }
  return "unknown";
}

byte_buffer encode(const store_request& x) {
  byte_writer w{request_hops_offset + 1 + 1 + x.origin.size() + 1 + x.gone.size() + 8
                + records_size(x.records)};
  w.u8(static_cast<uint8_t>(store_kind::request));
  w.u8(static_cast<uint8_t>(x.op));
  w.u64(x.id);
  w.u32(x.timeout_ms);
  w.u16(x.slot);
  w.u8(x.hops);
  w.str8(x.origin, "mesh address");
  w.str8(x.gone, "mesh address");
  w.u64(static_cast<uint64_t>(x.delta));
  write_records(w, x.records);
  return w.take();
}

byte_buffer encode(const store_response& x) {
  byte_writer w{1 + 1 + 8 + 8 + 8 + records_size(x.records) + x.error.size()};
  w.u8(static_cast<uint8_t>(store_kind::response));
  w.u8(x.status);
  w.u64(x.id);
  if (x.status == 0) {
    w.u64(static_cast<uint64_t>(x.number));
    w.u64(x.version);
    write_records(w, x.records);
  } else {
    w.str32(x.error);
  }
  return w.take();
}

byte_buffer encode(const migration_message& x) {
  byte_writer w{1 + 1 + 2 + 1 + x.address.size() + records_size(x.records)};
  w.u8(static_cast<uint8_t>(store_kind::migration));
  w.u8(static_cast<uint8_t>(x.step));
  w.u16(x.slot);
  w.str8(x.address, "mesh address");
  write_records(w, x.records);
  return w.take();
}

std::optional<store_kind> store_kind_of(byte_view bytes) {
  if (bytes.empty())
    return std::nullopt;
  auto k = bytes[0];
  if (k < static_cast<uint8_t>(store_kind::request)
      || k > static_cast<uint8_t>(store_kind::migration))
    return std::nullopt;
  return static_cast<store_kind>(k);
}

std::optional<store_request> decode_store_request(byte_view bytes) {
  byte_reader r{bytes};
  if (r.u8() != static_cast<uint8_t>(store_kind::request))
    return std::nullopt;
  store_request x;
  auto op = r.u8();
  if (op < static_cast<uint8_t>(store_op::get) || op > static_cast<uint8_t>(store_op::reassert))
    return std::nullopt;
  x.op = static_cast<store_op>(op);
  x.id = r.u64();
  x.timeout_ms = r.u32();
  x.slot = r.u16();
  x.hops = r.u8();
  x.origin = r.str8();
  x.gone = r.str8();
  x.delta = static_cast<int64_t>(r.u64());
  x.records = read_records(r);
  if (!r.ok() || !r.at_end())
    return std::nullopt;
  return x;
}

std::optional<store_response> decode_store_response(byte_view bytes) {
  byte_reader r{bytes};
  if (r.u8() != static_cast<uint8_t>(store_kind::response))
    return std::nullopt;
  store_response x;
  x.status = r.u8();
  x.id = r.u64();
  if (x.status == 0) {
    x.number = static_cast<int64_t>(r.u64());
    x.version = r.u64();
    x.records = read_records(r);
  } else {
    x.error = r.str32();
  }
  if (!r.ok() || !r.at_end())
    return std::nullopt;
  return x;
}

std::optional<migration_message> decode_migration(byte_view bytes) {
  byte_reader r{bytes};
  if (r.u8() != static_cast<uint8_t>(store_kind::migration))
    return std::nullopt;
  migration_message x;
  auto step = r.u8();
  if (step < static_cast<uint8_t>(migration_step::pull)
      || step > static_cast<uint8_t>(migration_step::leaving))
    return std::nullopt;
  x.step = static_cast<migration_step>(step);
  x.slot = r.u16();
  x.address = r.str8();
  x.records = read_records(r);
  if (!r.ok() || !r.at_end())
    return std::nullopt;
  return x;
}

uint16_t request_slot(byte_view bytes) {
  if (bytes.size() < request_slot_offset + 2)
    return 0;
  return transport::load16(bytes.data() + request_slot_offset);
}

uint8_t request_hops(byte_view bytes) {
  return bytes.size() > request_hops_offset ? bytes[request_hops_offset] : 0;
}

std::string request_gone(byte_view bytes) {
  auto origin_at = request_hops_offset + 1;
  if (bytes.size() <= origin_at)
    return {};
  auto gone_at = origin_at + 1 + bytes[origin_at];
  if (bytes.size() <= gone_at || bytes.size() - gone_at - 1 < bytes[gone_at])
    return {};
  auto first = reinterpret_cast<const char*>(bytes.data()) + gone_at + 1;
  return std::string{first, bytes[gone_at]};
}

bool migration_head(byte_view bytes, migration_step& step, uint16_t& slot) {
  if (bytes.size() < 4 || bytes[0] != static_cast<uint8_t>(store_kind::migration) || bytes[1] == 0
      || bytes[1] > static_cast<uint8_t>(migration_step::leaving))
    return false;
  step = static_cast<migration_step>(bytes[1]);
  slot = transport::load16(bytes.data() + 2);
  return true;
}

bool add_hop(byte_buffer& request) {
  if (request.size() <= request_hops_offset || request[request_hops_offset] + 1 >= max_store_hops)
    return false;
  ++request[request_hops_offset];
  return true;
}

} // namespace meshrt
