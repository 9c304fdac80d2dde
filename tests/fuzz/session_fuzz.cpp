// libFuzzer target: the packet decoder and the session core.
//
// The input is a script. Each step takes an opcode byte, then:
//   0: a raw datagram of the next n bytes (n from one byte, times 6)
//   1: a well-formed packet with fuzzed epoch, sequence, flags and sizes
//   2: a well-formed ack with fuzzed cumulative point and ranges
//   3: time passes; the session sends a message and flushes
// Raw bytes reach the decoder's checks; well-formed packets reach deep into
// reassembly, windows, acks and timers. Nothing may crash, hang or grow
// beyond the documented limits.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "transport/session.hpp"
#include "transport/wire.hpp"

using namespace meshrt;
using namespace meshrt::transport;

namespace {

struct script {
  const uint8_t* data;
  size_t size;
  size_t pos = 0;

  bool done() const {
    return pos >= size;
  }
  uint8_t byte() {
    return pos < size ? data[pos++] : 0;
  }
  uint32_t u32() {
    uint32_t x = 0;
    for (int i = 0; i < 4; ++i)
      x = (x << 8) | byte();
    return x;
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  script in{data, size};
  session_options opts;
  opts.retry_timeout_us = 50'000;
  opts.retry_interval_us = 10'000;
  session s{opts, 1000};
  uint64_t now = 1;
  static uint8_t payload[max_segment_payload];
  auto sink = [](const uint8_t* p, size_t n) {
    packet_reader r;
    if (n > max_packet_size || r.parse(p, n) != decode_error::none)
      __builtin_trap(); // the session must only emit valid packets
  };
  int steps = 0;
  while (!in.done() && steps++ < 256) {
    switch (in.byte() % 4) {
      case 0: {
        size_t n = std::min<size_t>(static_cast<size_t>(in.byte()) * 6, in.size - in.pos);
        s.input(in.data + in.pos, n, now);
        in.pos += n;
        break;
      }
      case 1: {
        packet_builder pb;
        pb.begin(in.byte() % 4, in.u32() % 64);
        uint8_t count = in.byte() % 4 + 1;
        for (uint8_t i = 0; i < count; ++i) {
          size_t len = (static_cast<size_t>(in.byte()) * 11) % (max_segment_payload + 1);
          auto kind = in.byte();
          if (!pb.fits(segment_type::unreliable, len))
            break;
          if (kind % 2 == 0) {
            pb.put_reliable(in.u32() % 128, kind & segment_flag_more, payload, len);
          } else {
            uint16_t frags = in.byte() % 8 + 1;
            pb.put_unreliable(in.byte() % 4, in.byte() % frags, frags, payload, len);
          }
        }
        s.input(pb.data(), pb.size(), now);
        break;
      }
      case 2: {
        packet_builder pb;
        pb.begin(1, 0);
        ack_range ranges[8];
        uint8_t n = in.byte() % 8;
        uint32_t next = in.u32() % 64;
        uint32_t at = next;
        for (uint8_t i = 0; i < n; ++i) {
          at += in.byte() % 16 + 1;
          ranges[i] = {at, static_cast<uint16_t>(in.byte() % 8 + 1)};
          at += ranges[i].length;
        }
        pb.put_ack(in.byte() % 2 == 0 ? s.epoch() : 7, next, in.byte(), ranges, n);
        s.input(pb.data(), pb.size(), now);
        break;
      }
      case 3: {
        now += static_cast<uint64_t>(in.byte()) * 400;
        size_t len = static_cast<size_t>(in.byte()) * 40;
        s.send(byte_buffer(len, 0x5A),
               in.byte() % 2 ? reliability::reliable : reliability::unreliable, now, true);
        s.flush(now, sink);
        break;
      }
    }
    for (auto& m : s.take_received())
      if (m.data.size() > max_message_size)
        __builtin_trap();
    s.take_completions();
  }
  s.flush(now, sink);
  return 0;
}
