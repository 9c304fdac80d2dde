#include "benchmarks/scenario_node.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <caf/all.hpp>

#include <nlohmann/json.hpp>

#include "runtime/meshrt.hpp"
#include "transport/peer_link.hpp"

namespace meshrt::bench {

namespace {

constexpr size_t stamp_size = 17;

/// The sink: reports each arrival to the message's sender.
caf::behavior sink(caf::event_based_actor* self, const node& n, const std::string& address) {
  return {
    [=](mesh_message_atom, uint16_t, const std::string& from, const byte_buffer& data) {
      auto s = read_stamp(data);
      if (!s)
        return;
      auto now = monotonic_us();
      arrival a{*s, now - std::min(now, s->sent_us), address};
      send(self, n, scenario_arrival, from, encode(a));
    },
  };
}

} // namespace

uint64_t monotonic_us() {
  // steady_clock is CLOCK_MONOTONIC on Linux: one clock for every process.
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

byte_buffer stamped(const message_stamp& s, size_t size) {
  byte_buffer out(std::max(size, stamp_size), 0);
  out[0] = s.op;
  std::memcpy(out.data() + 1, &s.seq, 8);
  std::memcpy(out.data() + 9, &s.sent_us, 8);
  return out;
}

std::optional<message_stamp> read_stamp(const byte_buffer& bytes) {
  if (bytes.size() < stamp_size)
    return std::nullopt;
  message_stamp s;
  s.op = bytes[0];
  std::memcpy(&s.seq, bytes.data() + 1, 8);
  std::memcpy(&s.sent_us, bytes.data() + 9, 8);
  return s;
}

byte_buffer encode(const arrival& a) {
  auto out = stamped(a.stamp, stamp_size);
  out.resize(stamp_size + 8);
  std::memcpy(out.data() + stamp_size, &a.latency_us, 8);
  out.insert(out.end(), a.at.begin(), a.at.end());
  return out;
}

std::optional<arrival> decode_arrival(const byte_buffer& bytes) {
  auto s = read_stamp(bytes);
  if (!s || bytes.size() < stamp_size + 8)
    return std::nullopt;
  arrival a;
  a.stamp = *s;
  std::memcpy(&a.latency_us, bytes.data() + stamp_size, 8);
  a.at.assign(bytes.begin() + stamp_size + 8, bytes.end());
  return a;
}

std::string probe_process(caf::actor_system& sys) {
  uint64_t rss_kb = 0;
  std::ifstream status{"/proc/self/status"};
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0)
      rss_kb = std::strtoull(line.c_str() + 6, nullptr, 10);
  size_t fds = 0;
  std::error_code ec;
  for (auto i = std::filesystem::directory_iterator{"/proc/self/fd", ec};
       !ec && i != std::filesystem::directory_iterator{}; i.increment(ec))
    ++fds;
  return nlohmann::json{{"rss_kb", rss_kb},
                        {"fds", fds},
                        {"actors", sys.registry().running()},
                        {"links", transport::peer_links_alive()}}
    .dump();
}

void install_scenario_handlers(caf::actor_system& sys, const node& n, const std::string& address) {
  caf::scoped_actor self{sys};
  handle(
    self, n, scenario_probe,
    handler_function{[&sys](const byte_buffer&, const std::string&) -> caf::expected<byte_buffer> {
      auto text = probe_process(sys);
      return byte_buffer{text.begin(), text.end()};
    }})
    .receive([] {}, [](caf::error&) {});
  handle(self, n, scenario_echo,
         handler_function{[](const byte_buffer& data,
                             const std::string&) -> caf::expected<byte_buffer> { return data; }})
    .receive([] {}, [](caf::error&) {});
  handle(self, n, scenario_sink, sys.spawn(sink, n, address)).receive([] {}, [](caf::error&) {});
}

} // namespace meshrt::bench
