#include "apps/status_command.hpp"

#include <cstdio>
#include <iostream>
#include <stdexcept>

#include <caf/all.hpp>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "actors/mars_client.hpp"
#include "actors/mars_protocol.hpp"
#include "apps/guest_join.hpp"
#include "runtime/system_config.hpp"

namespace meshrt::cli {

namespace {

using json = nlohmann::json;

json to_json(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return nullptr;
    case msgpack::type::BOOLEAN:
      return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
      return o.via.u64;
    case msgpack::type::NEGATIVE_INTEGER:
      return o.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return o.via.f64;
    case msgpack::type::STR:
      return std::string{o.via.str.ptr, o.via.str.size};
    case msgpack::type::BIN:
      return json::binary(std::vector<uint8_t>(o.via.bin.ptr, o.via.bin.ptr + o.via.bin.size));
    case msgpack::type::ARRAY: {
      auto out = json::array();
      for (uint32_t i = 0; i < o.via.array.size; ++i)
        out.push_back(to_json(o.via.array.ptr[i]));
      return out;
    }
    case msgpack::type::MAP: {
      auto out = json::object();
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        auto key = kv.key.type == msgpack::type::STR
                     ? std::string{kv.key.via.str.ptr, kv.key.via.str.size}
                     : to_json(kv.key).dump();
        out[key] = to_json(kv.val);
      }
      return out;
    }
    default:
      return "<ext>";
  }
}

/// A node's values: each is one msgpack object; one that does not decode is
/// shown as its size.
json values_json(const node_record& rec) {
  auto out = json::object();
  for (const auto& [key, bytes] : rec.values) {
    try {
      auto handle = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      out[key] = to_json(handle.get());
    } catch (const std::exception&) {
      out[key] = "<" + std::to_string(bytes.size()) + " undecodable bytes>";
    }
  }
  return out;
}

void print_json(const mars_status& st) {
  json doc;
  doc["nodes"] = json::array();
  for (const auto& e : st.nodes)
    doc["nodes"].push_back({{"mesh_address", e.record.mesh_address},
                            {"public_endpoint", e.record.public_endpoint},
                            {"type", e.record.type},
                            {"role", e.record.role},
                            {"status", to_string(e.record.status)},
                            {"values", values_json(e.record)},
                            {"last_seen_ms", e.last_seen_ms}});
  doc["shared_data"] = json::object();
  for (const auto& [key, value] : st.shared)
    doc["shared_data"][key] = value;
  doc["mars"] = {{"uptime_ms", st.uptime_ms},
                 {"messages_in", st.messages_in},
                 {"bytes_in", st.bytes_in},
                 {"bytes_out", st.bytes_out}};
  std::cout << doc.dump(2) << '\n';
}

void print_table(const mars_status& st, const std::string& app) {
  std::printf("app '%s': %zu node(s)\n", app.c_str(), st.nodes.size());
  if (!st.nodes.empty())
    std::printf("%-22s %-22s %-8s %-6s %-8s %9s  %s\n", "MESH ADDRESS", "PUBLIC ENDPOINT", "TYPE",
                "ROLE", "STATUS", "LAST SEEN", "VALUES");
  for (const auto& e : st.nodes) {
    auto pub = e.record.public_endpoint.empty() ? "-" : e.record.public_endpoint;
    std::printf("%-22s %-22s %-8s %-6s %-8s %6llu ms  %s\n", e.record.mesh_address.c_str(),
                pub.c_str(), e.record.type.c_str(), e.record.role.c_str(),
                to_string(e.record.status), static_cast<unsigned long long>(e.last_seen_ms),
                values_json(e.record).dump().c_str());
  }
  std::printf("shared data:");
  if (st.shared.empty())
    std::printf(" none");
  for (const auto& [key, value] : st.shared)
    std::printf(" %s=%d", key.c_str(), value);
  std::printf("\nMARS: up %llu s, %llu messages in, %llu bytes in, %llu bytes out (all apps)\n",
              static_cast<unsigned long long>(st.uptime_ms / 1000),
              static_cast<unsigned long long>(st.messages_in),
              static_cast<unsigned long long>(st.bytes_in),
              static_cast<unsigned long long>(st.bytes_out));
}

} // namespace

int run_status(const status_options& opts) {
  caf::actor_system_config cfg;
  apply_meshrt_defaults(cfg);
  caf::actor_system sys{cfg};
  auto st = query_mars_status(sys, opts.mars, opts.app, std::chrono::seconds{3},
                              cluster_key_flag(opts.cluster_key_file));
  opts.json ? print_json(st) : print_table(st, opts.app);
  return 0;
}

} // namespace meshrt::cli
