#include "transport/wire.hpp"

#include <cstring>
#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace meshrt::transport;

namespace {

std::vector<uint8_t> bytes_of(const packet_builder& pb) {
  return {pb.data(), pb.data() + pb.size()};
}

decode_error parse(std::vector<uint8_t> buf) {
  packet_reader r;
  return r.parse(buf.data(), buf.size());
}

} // namespace

TEST_SUITE("transport.wire") {

  TEST_CASE("limits are those of mesh-api.txt") {
    CHECK(max_packet_size == 1400);
    CHECK(max_segment_payload == 1300);
    CHECK(max_message_size == 10'000'000);
    CHECK(max_fragments == 7693);
  }

  TEST_CASE("a packet with ack and segments round-trips") {
    packet_builder pb;
    pb.begin(0x0102030405060708ULL, 0xFFFFFFFE);
    ack_range ranges[] = {{10, 2}, {20, 5}};
    pb.put_ack(77, 5, 1000, ranges, 2);
    const uint8_t payload[] = {1, 2, 3};
    REQUIRE(pb.fits(segment_type::reliable, 3));
    pb.put_reliable(0xFFFFFFFF, segment_flag_more, payload, 3);
    pb.put_unreliable(9, 1, 3, payload, 2);
    pb.put_reliable(0, 0, nullptr, 0);
    auto buf = bytes_of(pb);
    packet_reader r;
    REQUIRE(r.parse(buf.data(), buf.size()) == decode_error::none);
    CHECK(r.header().epoch == 0x0102030405060708ULL);
    CHECK(r.header().snd_una == 0xFFFFFFFE);
    REQUIRE(r.header().has_ack);
    CHECK(r.ack().epoch == 77);
    CHECK(r.ack().rcv_next == 5);
    CHECK(r.ack().window == 1000);
    REQUIRE(r.ack().range_count == 2);
    CHECK(r.ack().ranges[1].start == 20);
    CHECK(r.ack().ranges[1].length == 5);
    segment_view s;
    REQUIRE(r.next(s));
    CHECK(s.type == segment_type::reliable);
    CHECK(s.seq == 0xFFFFFFFF);
    CHECK(s.flags == segment_flag_more);
    CHECK(std::memcmp(s.data, payload, 3) == 0);
    REQUIRE(r.next(s));
    CHECK(s.type == segment_type::unreliable);
    CHECK(s.message_id == 9);
    CHECK(s.index == 1);
    CHECK(s.count == 3);
    CHECK(s.size == 2);
    REQUIRE(r.next(s));
    CHECK(s.size == 0);
    CHECK(!r.next(s));
  }

  TEST_CASE("a full segment and a piggybacked ack fit in one packet") {
    std::vector<uint8_t> payload(max_segment_payload, 0xAB);
    std::vector<ack_range> ranges;
    for (uint32_t i = 0; i < ack_ranges_beside_data; ++i)
      ranges.push_back({100 + 3 * i, 1});
    packet_builder pb;
    pb.begin(1, 0);
    pb.put_ack(1, 0, 10, ranges.data(), ranges.size());
    CHECK(pb.fits(segment_type::unreliable, max_segment_payload));
    CHECK(pb.fits(segment_type::reliable, max_segment_payload));
    pb.put_reliable(1, 0, payload.data(), payload.size());
    CHECK(pb.size() <= max_packet_size);
    CHECK(parse(bytes_of(pb)) == decode_error::none);
  }

  TEST_CASE("an ack with more ranges than fit is cut to the room left") {
    std::vector<ack_range> ranges;
    for (uint32_t i = 0; i < 1000; ++i)
      ranges.push_back({10 + 2 * i, 1});
    packet_builder pb;
    pb.begin(1, 0);
    pb.put_ack(1, 0, 10, ranges.data(), ranges.size());
    CHECK(pb.size() <= max_packet_size);
    packet_reader r;
    auto buf = bytes_of(pb);
    REQUIRE(r.parse(buf.data(), buf.size()) == decode_error::none);
    CHECK(r.ack().range_count == max_ack_ranges);
  }

  TEST_CASE("every malformed shape is rejected with its reason") {
    packet_builder pb;
    pb.begin(5, 0);
    const uint8_t payload[4] = {9, 9, 9, 9};
    pb.put_reliable(3, 0, payload, 4);
    auto good = bytes_of(pb);
    REQUIRE(parse(good) == decode_error::none);

    CHECK(parse({}) == decode_error::too_short);
    CHECK(parse({good.begin(), good.begin() + 15}) == decode_error::too_short);
    CHECK(parse(std::vector<uint8_t>(max_packet_size + 1, 0)) == decode_error::too_long);
    auto b = good;
    b[0] = 0x00;
    CHECK(parse(b) == decode_error::bad_magic);
    for (uint8_t version : {1, 2, 4}) { // earlier formats, and one to come
      b = good;
      b[1] = version;
      CHECK(parse(b) == decode_error::bad_version);
    }
    b = good;
    b[2] = 0x80;
    CHECK(parse(b) == decode_error::bad_flags);
    b = good;
    b[header_size] = 7; // segment type
    CHECK(parse(b) == decode_error::bad_segment_type);
    b = good;
    b[header_size + 1] = 0x04; // unknown segment flag
    CHECK(parse(b) == decode_error::bad_flags);
    b = good;
    b[header_size + 1] = segment_flag_more | segment_flag_bundle; // a bundle is never split
    CHECK(parse(b) == decode_error::bad_flags);
    b = good;
    b[header_size + 1] = segment_flag_bundle; // entry of 0x0909 bytes in a 4-byte payload
    CHECK(parse(b) == decode_error::bad_bundle);
    b = good;
    b[header_size + 2] = 5; // payload size 5 > 4 present
    CHECK(parse(b) == decode_error::truncated_segment);
    b = good;
    b.pop_back();
    CHECK(parse(b) == decode_error::truncated_segment);
    b = good;
    b.push_back(1); // a trailing partial segment header
    CHECK(parse(b) == decode_error::truncated_segment);
    b = good;
    b[header_size + 2] = 0x15; // size 0x0515 = 1301 > max_segment_payload
    b[header_size + 3] = 0x05;
    b.resize(header_size + reliable_segment_header + 1301, 0);
    CHECK(parse(b) == decode_error::bad_segment_size);
  }

  TEST_CASE("a bundle's entries are read back, and only exactly filled bundles pass") {
    auto bundle_packet = [](std::vector<uint8_t> payload) {
      packet_builder pb;
      pb.begin(1, 0);
      pb.put_reliable(0, segment_flag_bundle, payload.data(), payload.size());
      return bytes_of(pb);
    };
    // Entries of 3, 0 and 1 bytes.
    auto good = bundle_packet({3, 0, 'a', 'b', 'c', 0, 0, 1, 0, 'z'});
    packet_reader r;
    REQUIRE(r.parse(good.data(), good.size()) == decode_error::none);
    segment_view seg;
    REQUIRE(r.next(seg));
    CHECK(seg.flags == segment_flag_bundle);
    std::vector<std::string> entries;
    for_each_bundled(seg.data, seg.size, [&](const uint8_t* data, size_t size) {
      entries.emplace_back(reinterpret_cast<const char*>(data), size);
    });
    CHECK(entries == std::vector<std::string>{"abc", "", "z"});
    CHECK(parse(bundle_packet({})) == decode_error::bad_bundle);               // no entry
    CHECK(parse(bundle_packet({3, 0, 'a', 'b'})) == decode_error::bad_bundle); // entry cut short
    CHECK(parse(bundle_packet({1, 0, 'a', 7})) == decode_error::bad_bundle);   // stray byte
    CHECK(std::string{to_string(decode_error::bad_bundle)} == "bad_bundle");
  }

  TEST_CASE("the rtt hint rounds up to a power of two and any byte decodes") {
    CHECK(encode_rtt_hint(0) == 0);
    CHECK(encode_rtt_hint(1) == 1);
    CHECK(encode_rtt_hint(2) == 1);
    CHECK(encode_rtt_hint(3) == 2);
    CHECK(encode_rtt_hint(300) == 9); // 512 us
    CHECK(encode_rtt_hint(UINT64_MAX) == 31);
    CHECK(decode_rtt_hint(0) == 0);
    CHECK(decode_rtt_hint(9) == 512);
    CHECK(decode_rtt_hint(255) == uint64_t{1} << 31);
    packet_builder pb;
    pb.begin(1, 0, 300);
    packet_reader r;
    REQUIRE(r.parse(pb.data(), pb.size()) == decode_error::none);
    CHECK(r.header().rtt_hint_us == 512);
    auto b = bytes_of(pb);
    b[3] = 200; // any byte is a valid hint
    REQUIRE(r.parse(b.data(), b.size()) == decode_error::none);
    CHECK(r.header().rtt_hint_us == uint64_t{1} << 31);
  }

  TEST_CASE("malformed acks and fragments are rejected") {
    packet_builder pb;
    pb.begin(1, 0);
    ack_range ranges[] = {{10, 2}, {20, 1}};
    pb.put_ack(1, 5, 10, ranges, 2);
    auto good = bytes_of(pb);
    REQUIRE(parse(good) == decode_error::none);
    auto b = good;
    b.resize(header_size + 10);
    CHECK(parse(b) == decode_error::bad_ack); // truncated ack block
    b = good;
    b[header_size + 14] = 3; // three ranges announced, two present
    CHECK(parse(b) == decode_error::bad_ack);
    b = good;
    b[header_size + 14] = static_cast<uint8_t>(max_ack_ranges + 1);
    CHECK(parse(b) == decode_error::bad_ack);
    b = good;
    b[header_size + ack_fixed_size + 4] = 0; // first range of length 0
    b[header_size + ack_fixed_size + 5] = 0;
    CHECK(parse(b) == decode_error::bad_ack);
    b = good;
    b[header_size + ack_fixed_size] = 4; // range starts below rcv_next
    CHECK(parse(b) == decode_error::bad_ack);
    b = good;
    b[header_size + ack_fixed_size + 6] = 11; // second range overlaps the first
    CHECK(parse(b) == decode_error::bad_ack);

    const uint8_t payload[2] = {1, 2};
    for (auto [index, count] : {std::pair<uint16_t, uint16_t>{3, 3}, {0, 0}, {0, 8000}}) {
      packet_builder u;
      u.begin(1, 0);
      u.put_unreliable(1, index, count, payload, 2);
      CHECK(parse(bytes_of(u)) == decode_error::bad_fragment);
    }
  }

} // TEST_SUITE
