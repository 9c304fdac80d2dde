#include "transport/packet_guard.hpp"

#include <vector>

#include <doctest/doctest.h>

#include "support/test_key.hpp"

#include "transport/wire.hpp"

using namespace meshrt;
using namespace meshrt::transport;

namespace {

/// A packet as the session writes one: a header and some bytes, with room
/// for the trailer.
std::vector<uint8_t> packet(uint8_t fill = 0x55, size_t size = 100) {
  std::vector<uint8_t> p(size + packet_guard::trailer_size, fill);
  p[0] = wire_magic;
  p[1] = protocol_version;
  p[2] = 0;
  return p;
}

struct sealed {
  std::vector<uint8_t> bytes;
};

const endpoint alice{0x7f000001, 7000};
const endpoint bob{0x7f000001, 7001};
/// The receiver in most cases.
const endpoint carol{0x7f000001, 7002};

/// A packet sealed by `g` for `to` (carol unless told).
sealed seal(packet_guard& g, size_t size = 100, const endpoint& to = carol) {
  auto p = packet(0x55, size);
  g.seal(p.data(), size, to);
  return {p};
}

/// What `g` makes of `bytes` from `from`.
guard_verdict open(packet_guard& g, const endpoint& from, const std::vector<uint8_t>& bytes,
                   size_t* body = nullptr) {
  size_t size = bytes.size();
  auto v = g.open(from, bytes.data(), size);
  if (body)
    *body = size;
  return v;
}

} // namespace

TEST_SUITE("transport.packet_guard") {

  TEST_CASE("a sealed packet passes once, its trailer cut off") {
    packet_guard tx{test::test_key(1), 100, alice};
    packet_guard rx{test::test_key(1), 200, carol};
    auto p = seal(tx);
    CHECK((p.bytes[2] & header_flag_authenticated) != 0);
    size_t body = 0;
    CHECK(open(rx, alice, p.bytes, &body) == guard_verdict::pass);
    CHECK(body == 100);
    CHECK(open(rx, alice, p.bytes) == guard_verdict::replayed);
    CHECK(rx.count(guard_verdict::pass) == 1);
    CHECK(rx.count(guard_verdict::replayed) == 1);
  }

  TEST_CASE("a packet counts only from its sender, to its receiver") {
    packet_guard tx{test::test_key(1), 100, alice};
    packet_guard rx{test::test_key(1), 200, carol};
    // replayed to carol under bob's address
    CHECK(open(rx, bob, seal(tx).bytes) == guard_verdict::bad_mac);
    // sealed for bob, replayed to carol under alice's own address
    CHECK(open(rx, alice, seal(tx, 100, bob).bytes) == guard_verdict::bad_mac);
    // reflected back to alice by carol
    packet_guard at_alice{test::test_key(1), 300, alice};
    CHECK(open(at_alice, carol, seal(tx).bytes) == guard_verdict::bad_mac);
    CHECK(open(rx, alice, seal(tx).bytes) == guard_verdict::pass);
  }

  TEST_CASE("ChaCha20-Poly1305 seals where AES is missing, and is checked the same") {
    packet_guard tx{test::test_key(1), 100, alice, packet_cipher::chacha};
    packet_guard rx{test::test_key(1), 200, carol};
    auto p = seal(tx);
    CHECK((p.bytes[2] & header_flag_chacha) != 0);
    CHECK(open(rx, alice, p.bytes) == guard_verdict::pass);
    CHECK(open(rx, alice, p.bytes) == guard_verdict::replayed);
    auto altered = seal(tx);
    altered.bytes[40] ^= 1;
    CHECK(open(rx, alice, altered.bytes) == guard_verdict::bad_mac);
    // the flag names the cipher: flipping it fails the tag
    auto flipped = seal(tx);
    flipped.bytes[2] &= static_cast<uint8_t>(~header_flag_chacha);
    CHECK(open(rx, alice, flipped.bytes) == guard_verdict::bad_mac);
  }

  TEST_CASE("packets may come out of order within the window, not below it") {
    packet_guard tx{test::test_key(1), 100, alice};
    packet_guard rx{test::test_key(1), 200, carol};
    std::vector<sealed> ps;
    for (int i = 0; i < 2000; ++i)
      ps.push_back(seal(tx));
    CHECK(open(rx, alice, ps[10].bytes) == guard_verdict::pass);
    CHECK(open(rx, alice, ps[3].bytes) == guard_verdict::pass);
    CHECK(open(rx, alice, ps[1500].bytes) == guard_verdict::pass);
    CHECK(open(rx, alice, ps[1500 - 1000].bytes) == guard_verdict::pass); // within 1024
    CHECK(open(rx, alice, ps[1500 - 1000].bytes) == guard_verdict::replayed);
    CHECK(open(rx, alice, ps[100].bytes) == guard_verdict::replayed); // below the window
    CHECK(open(rx, alice, ps[1999].bytes) == guard_verdict::pass);
    for (int i = 1000; i < 1999; ++i)
      if (i != 1500)
        CHECK(open(rx, alice, ps[i].bytes) == guard_verdict::pass);
    for (int i = 1000; i < 2000; ++i)
      CHECK(open(rx, alice, ps[i].bytes) == guard_verdict::replayed);
  }

  TEST_CASE("altered packets and other keys fail the tag") {
    packet_guard tx{test::test_key(1), 100, alice};
    packet_guard rx{test::test_key(1), 200, carol};
    packet_guard other{test::test_key(2), 300, alice};
    auto p = seal(tx);
    for (size_t i = 0; i < p.bytes.size(); ++i) {
      if (i == 0 || i == 2)
        continue; // the magic and the flags decide whether it is judged at all
      auto altered = p.bytes;
      altered[i] ^= 0x01;
      CAPTURE(i);
      CHECK(open(rx, alice, altered) == guard_verdict::bad_mac);
    }
    CHECK(open(rx, alice, seal(other).bytes) == guard_verdict::bad_mac);
    // the genuine one still passes: refused packets leave no trace
    CHECK(open(rx, alice, p.bytes) == guard_verdict::pass);
  }

  TEST_CASE("with a key and without one the two sides refuse each other") {
    packet_guard keyed{test::test_key(1), 100, carol};
    packet_guard open_guard{std::nullopt, 100, carol};
    auto plain = packet();
    plain.resize(100);
    CHECK(open(keyed, alice, plain) == guard_verdict::unauthenticated);
    CHECK(open(open_guard, alice, plain) == guard_verdict::pass);
    CHECK(open(open_guard, alice, seal(keyed).bytes) == guard_verdict::unexpected_mac);
    // a sealed flag on a packet too short for a trailer
    auto stub = packet();
    stub.resize(20);
    stub[2] = header_flag_authenticated;
    CHECK(open(keyed, alice, stub) == guard_verdict::unauthenticated);
    // bytes that are no packet at all
    std::vector<uint8_t> junk{1, 2, 3};
    CHECK(open(keyed, alice, junk) == guard_verdict::unauthenticated);
    CHECK(open(open_guard, alice, junk) == guard_verdict::pass); // the decoder says why
  }

  TEST_CASE("a restarted sender's new epoch resets its window, and its old epoch is stale") {
    packet_guard rx{test::test_key(1), 1, carol};
    packet_guard first{test::test_key(1), 100, alice};
    auto old = seal(first);
    auto old2 = seal(first);
    CHECK(open(rx, alice, old.bytes) == guard_verdict::pass);
    packet_guard restarted{test::test_key(1), 200, alice}; // numbers start at 1 again
    CHECK(open(rx, alice, seal(restarted).bytes) == guard_verdict::pass);
    CHECK(open(rx, alice, old2.bytes) == guard_verdict::stale_epoch);
  }

  TEST_CASE("refusal notices: recognised, and sent at most once a second per sender") {
    packet_guard keyed{test::test_key(1), 100, carol};
    packet_guard open_guard{std::nullopt, 100, carol};
    auto notice = packet_guard::refusal_notice();
    std::vector<uint8_t> bytes(notice.begin(), notice.end());
    CHECK(open(open_guard, alice, bytes) == guard_verdict::refused_by_peer);
    CHECK(open(keyed, alice, bytes) == guard_verdict::refused_by_peer);
    CHECK(keyed.should_refuse(alice, 5000));
    CHECK_FALSE(keyed.should_refuse(alice, 5500));
    CHECK(keyed.should_refuse(bob, 5500));
    CHECK(keyed.should_refuse(alice, 6000));
    CHECK_FALSE(open_guard.should_refuse(alice, 5000)); // without a key it does not judge
    CHECK(std::string{to_string(guard_verdict::bad_mac)} == "bad_mac");
  }

} // TEST_SUITE
