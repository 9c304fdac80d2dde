#include "actors/mars_protocol.hpp"

#include <map>
#include <tuple>
#include <vector>

#include <msgpack.hpp>

#include "actors/mesh_envelope.hpp"
#include "actors/msgpack_codec.hpp"

namespace meshrt {

namespace {

enum class kind : uint8_t {
  announce = 1,
  leave = 2,
  shared = 3,
  view = 4,
  status_request = 5,
  status = 6,
  suspect = 7,
  probe = 8,
};

// The wire shapes, as msgpack arrays.
using record_t = std::tuple<std::string, std::string, std::string, std::string, uint8_t,
                            std::map<std::string, byte_buffer>>;
using shared_list_t = std::vector<std::pair<std::string, int16_t>>;
using announce_t
  = std::tuple<uint8_t, std::string, record_t, uint64_t, uint64_t, bool, shared_list_t>;
using leave_t = std::tuple<uint8_t, std::string, std::string>;
using shared_t = std::tuple<uint8_t, std::string, std::string, int16_t, bool>;
using view_t
  = std::tuple<uint8_t, uint64_t, uint64_t, bool, std::vector<record_t>, std::vector<std::string>,
               std::vector<std::pair<std::string, int16_t>>, std::vector<std::string>>;
using status_request_t = std::tuple<uint8_t, std::string>;
using suspect_t = std::tuple<uint8_t, std::string, std::string, uint64_t, uint64_t>;
using probe_t = std::tuple<uint8_t>;
using status_t = std::tuple<uint8_t, std::vector<std::pair<record_t, uint64_t>>, shared_list_t,
                            uint64_t, uint64_t, uint64_t, uint64_t>;

record_t to_tuple(const node_record& r) {
  return {r.mesh_address, r.public_endpoint, r.type, r.role, static_cast<uint8_t>(r.status),
          r.values};
}

std::optional<node_record> from_tuple(record_t&& t) {
  auto status = std::get<4>(t);
  if (status > static_cast<uint8_t>(node_status::offline))
    return std::nullopt;
  node_record r;
  r.mesh_address = std::move(std::get<0>(t));
  r.public_endpoint = std::move(std::get<1>(t));
  r.type = std::move(std::get<2>(t));
  r.role = std::move(std::get<3>(t));
  r.status = static_cast<node_status>(status);
  r.values = std::move(std::get<5>(t));
  return r;
}

/// The wire bytes of a record: the mesh layer's kind byte for MARS
/// (mesh_envelope.hpp), then the msgpack array.
template<class T>
byte_buffer record(const T& x) {
  msgpack::sbuffer buf;
  auto tag = static_cast<char>(envelope_kind::mars);
  buf.write(&tag, 1);
  pack_stream out{buf};
  msgpack::pack(out, x);
  return byte_buffer(buf.data(), buf.data() + buf.size());
}

struct encoder {
  byte_buffer operator()(const mars_announce& m) const {
    return record(announce_t{static_cast<uint8_t>(kind::announce), m.app, to_tuple(m.record),
                             m.epoch, m.version, m.guest, m.restore_shared});
  }
  byte_buffer operator()(const mars_leave& m) const {
    return record(leave_t{static_cast<uint8_t>(kind::leave), m.app, m.mesh_address});
  }
  byte_buffer operator()(const mars_shared& m) const {
    return record(shared_t{static_cast<uint8_t>(kind::shared), m.app, m.key, m.value, m.remove});
  }
  byte_buffer operator()(const view_delta& d) const {
    std::vector<record_t> upserts;
    upserts.reserve(d.upserts.size());
    for (const auto& r : d.upserts)
      upserts.push_back(to_tuple(r));
    return record(view_t{static_cast<uint8_t>(kind::view), d.epoch, d.version, d.full, upserts,
                         d.removed, d.shared_set, d.shared_removed});
  }
  byte_buffer operator()(const mars_status_request& m) const {
    return record(status_request_t{static_cast<uint8_t>(kind::status_request), m.app});
  }
  byte_buffer operator()(const mars_status& m) const {
    std::vector<std::pair<record_t, uint64_t>> nodes;
    nodes.reserve(m.nodes.size());
    for (const auto& e : m.nodes)
      nodes.emplace_back(to_tuple(e.record), e.last_seen_ms);
    return record(status_t{static_cast<uint8_t>(kind::status), nodes, m.shared, m.uptime_ms,
                           m.messages_in, m.bytes_in, m.bytes_out});
  }
  byte_buffer operator()(const mars_suspect& m) const {
    return record(
      suspect_t{static_cast<uint8_t>(kind::suspect), m.app, m.mesh_address, m.epoch, m.version});
  }
  byte_buffer operator()(const mars_probe&) const {
    return record(probe_t{static_cast<uint8_t>(kind::probe)});
  }
};

std::optional<mars_message> decode(const msgpack::object& obj, std::string& error) {
  if (obj.type != msgpack::type::ARRAY || obj.via.array.size == 0
      || obj.via.array.ptr[0].type != msgpack::type::POSITIVE_INTEGER) {
    error = "not a MARS message (expected an array starting with a kind)";
    return std::nullopt;
  }
  switch (static_cast<kind>(obj.via.array.ptr[0].via.u64)) {
    case kind::announce: {
      auto t = obj.as<announce_t>();
      auto rec = from_tuple(std::move(std::get<2>(t)));
      if (!rec) {
        error = "announce with an unknown node status";
        return std::nullopt;
      }
      return mars_announce{
        std::move(std::get<1>(t)), std::move(*rec), std::get<3>(t), std::get<4>(t), std::get<5>(t),
        std::move(std::get<6>(t))};
    }
    case kind::leave: {
      auto t = obj.as<leave_t>();
      return mars_leave{std::move(std::get<1>(t)), std::move(std::get<2>(t))};
    }
    case kind::shared: {
      auto t = obj.as<shared_t>();
      return mars_shared{std::move(std::get<1>(t)), std::move(std::get<2>(t)), std::get<3>(t),
                         std::get<4>(t)};
    }
    case kind::view: {
      auto t = obj.as<view_t>();
      view_delta d;
      d.epoch = std::get<1>(t);
      d.version = std::get<2>(t);
      d.full = std::get<3>(t);
      for (auto& r : std::get<4>(t)) {
        auto rec = from_tuple(std::move(r));
        if (!rec) {
          error = "view with an unknown node status";
          return std::nullopt;
        }
        d.upserts.push_back(std::move(*rec));
      }
      d.removed = std::move(std::get<5>(t));
      d.shared_set = std::move(std::get<6>(t));
      d.shared_removed = std::move(std::get<7>(t));
      return d;
    }
    case kind::status_request: {
      auto t = obj.as<status_request_t>();
      return mars_status_request{std::move(std::get<1>(t))};
    }
    case kind::status: {
      auto t = obj.as<status_t>();
      mars_status st;
      for (auto& [rec_t, age] : std::get<1>(t)) {
        auto rec = from_tuple(std::move(rec_t));
        if (!rec) {
          error = "status with an unknown node status";
          return std::nullopt;
        }
        st.nodes.push_back({std::move(*rec), age});
      }
      st.shared = std::move(std::get<2>(t));
      st.uptime_ms = std::get<3>(t);
      st.messages_in = std::get<4>(t);
      st.bytes_in = std::get<5>(t);
      st.bytes_out = std::get<6>(t);
      return st;
    }
    case kind::suspect: {
      auto t = obj.as<suspect_t>();
      return mars_suspect{std::move(std::get<1>(t)), std::move(std::get<2>(t)), std::get<3>(t),
                          std::get<4>(t)};
    }
    case kind::probe:
      obj.as<probe_t>();
      return mars_probe{};
  }
  error = "unknown MARS message kind " + std::to_string(obj.via.array.ptr[0].via.u64);
  return std::nullopt;
}

} // namespace

byte_buffer encode(const mars_message& msg) {
  return std::visit(encoder{}, msg);
}

std::optional<mars_message> decode_mars(byte_view bytes, std::string& error) {
  if (kind_of(bytes) != envelope_kind::mars) {
    error = bytes.empty() ? "empty MARS message"
                          : "not a MARS record (kind byte " + std::to_string(bytes[0]) + ")";
    return std::nullopt;
  }
  try {
    auto handle = unpack_untrusted(bytes.data() + 1, bytes.size() - 1);
    return decode(handle.get(), error);
  } catch (const std::exception& e) {
    // msgpack throws on truncated input and on shapes that do not convert.
    error = std::string{"malformed MARS message: "} + e.what();
    return std::nullopt;
  }
}

} // namespace meshrt
