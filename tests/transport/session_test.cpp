#include "transport/session.hpp"

#include <malloc.h>

#include <algorithm>
#include <deque>
#include <random>

#include <doctest/doctest.h>

using namespace meshrt;
using namespace meshrt::transport;

namespace {

byte_buffer pattern(size_t size, uint32_t seed) {
  byte_buffer result(size);
  for (size_t i = 0; i < size; ++i)
    result[i] = static_cast<uint8_t>((i * 31 + seed * 17) >> 3);
  return result;
}

/// Two sessions joined by a simulated wire with a one-way delay, seeded
/// faults and virtual time: every run is the same run.
struct sim_link {
  struct in_flight {
    uint64_t arrives;
    bool to_b;
    byte_buffer bytes;
  };

  session a;
  session b;
  uint64_t now = 1'000'000;
  uint64_t delay_us = 50;
  double drop = 0;
  double duplicate = 0;
  double reorder = 0;
  bool a_to_b_cut = false;
  bool b_to_a_cut = false;
  std::mt19937_64 rng{42};
  std::deque<in_flight> wire;
  std::vector<received_message> at_a;
  std::vector<received_message> at_b;
  /// A's tracked messages as they completed, one entry per message.
  struct settled {
    uint64_t id;
    bool delivered;
  };
  std::vector<settled> done_at_a;
  size_t packets_a_to_b = 0;

  explicit sim_link(session_options opts = {}, uint64_t epoch_a = 100, uint64_t epoch_b = 200) :
    a(opts, epoch_a), b(opts, epoch_b) {
    // nop
  }

  bool chance(double p) {
    return p > 0 && std::uniform_real_distribution<double>{0, 1}(rng) < p;
  }

  void transmit(bool to_b, const uint8_t* data, size_t size) {
    if (to_b)
      ++packets_a_to_b;
    if ((to_b && a_to_b_cut) || (!to_b && b_to_a_cut) || chance(drop))
      return;
    uint64_t arrives = now + delay_us;
    if (chance(reorder))
      arrives += delay_us; // overtaken by the next packets
    wire.push_back({arrives, to_b, byte_buffer(data, data + size)});
    if (chance(duplicate))
      wire.push_back({arrives + 1, to_b, byte_buffer(data, data + size)});
  }

  void flush_both() {
    a.flush(now, [&](const uint8_t* d, size_t n) { transmit(true, d, n); });
    b.flush(now, [&](const uint8_t* d, size_t n) { transmit(false, d, n); });
  }

  /// Delivers what has arrived by `now`, then lets both sides answer.
  void step() {
    flush_both();
    std::stable_sort(wire.begin(), wire.end(),
                     [](const in_flight& x, const in_flight& y) { return x.arrives < y.arrives; });
    while (!wire.empty() && wire.front().arrives <= now) {
      auto pkt = std::move(wire.front());
      wire.pop_front();
      auto& dst = pkt.to_b ? b : a;
      REQUIRE(dst.input(pkt.bytes.data(), pkt.bytes.size(), now) == decode_error::none);
    }
    flush_both();
    for (auto& m : a.take_received())
      at_a.push_back(std::move(m));
    for (auto& m : b.take_received())
      at_b.push_back(std::move(m));
    for (auto& c : a.take_completions())
      for (auto id = c.first_id; id <= c.last_id; ++id)
        done_at_a.push_back({id, c.delivered});
  }

  /// Advances virtual time to the next event (packet arrival or timer).
  void advance() {
    uint64_t next = std::min(a.next_deadline(), b.next_deadline());
    if (!wire.empty())
      next = std::min(next, std::min_element(wire.begin(), wire.end(), [](auto& x, auto& y) {
                              return x.arrives < y.arrives;
                            })->arrives);
    now = std::max(now + 1, std::min(next, now + 1'000'000));
  }

  /// Runs until `done()` or `max_us` of virtual time passed; true if done.
  template<class Pred>
  bool run(Pred done, uint64_t max_us = 60'000'000) {
    uint64_t end = now + max_us;
    while (now < end) {
      step();
      if (done())
        return true;
      advance();
    }
    return false;
  }
};

/// A link whose direction from A to B is cut; retryTimeout 1 s, retries at
/// most 100 ms apart.
sim_link cut_link() {
  session_options opts;
  opts.retry_interval_us = 100'000;
  opts.retry_timeout_us = 1'000'000;
  sim_link link{opts};
  link.a_to_b_cut = true;
  return link;
}

} // namespace

TEST_SUITE("transport.session") {

  TEST_CASE("reliable messages arrive once and in order") {
    sim_link link;
    for (uint32_t i = 0; i < 100; ++i)
      REQUIRE(link.a.send(pattern(10 + i, i), reliability::reliable, link.now));
    REQUIRE(link.run([&] { return link.at_b.size() == 100 && link.a.pending_segments() == 0; }));
    for (uint32_t i = 0; i < 100; ++i)
      CHECK(link.at_b[i].data == pattern(10 + i, i));
    // 100 small messages (6.8 KB) coalesce into a few packets.
    CHECK(link.packets_a_to_b <= 8);
  }

  TEST_CASE("small messages queued together share bundles, one sent alone goes as itself") {
    sim_link link;
    std::vector<byte_buffer> payloads;
    for (uint32_t i = 0; i < 100; ++i)
      payloads.push_back(pattern(64, i));
    // A lone message: a plain segment, no bundle framing on the wire.
    REQUIRE(link.a.send(payloads[0], reliability::reliable, link.now));
    size_t lone_packet = 0;
    link.a.flush(link.now, [&](const uint8_t*, size_t n) { lone_packet = n; });
    CHECK(lone_packet == header_size + reliable_segment_header + 64);
    // 99 more, queued before a flush: 64 + 2 bytes each, 19 to a bundle.
    for (uint32_t i = 1; i < 100; ++i)
      REQUIRE(link.a.send(payloads[i], reliability::reliable, link.now));
    CHECK(link.a.pending_segments() == 1 + 6);
    REQUIRE(link.run([&] { return link.at_b.size() == 100 && link.a.pending_segments() == 0; }));
    for (uint32_t i = 0; i < 100; ++i)
      CHECK(link.at_b[i].data == payloads[i]);
  }

  TEST_CASE("bundles after acknowledged ones reuse their buffers and carry only their own bytes") {
    // Each round's bundles go out in buffers of the round before (kept by
    // the session once acknowledged); a kept buffer not emptied first would
    // put the old round's entries in front of the new ones.
    sim_link link;
    std::vector<byte_buffer> sent;
    for (uint32_t round = 0; round < 5; ++round) {
      for (uint32_t i = 0; i < 60; ++i) {
        sent.push_back(pattern(40 + (i + round) % 30, round * 100 + i));
        REQUIRE(link.a.send(sent.back(), reliability::reliable, link.now));
      }
      CHECK(link.a.pending_segments() > 1);
      REQUIRE(link.run(
        [&] { return link.at_b.size() == sent.size() && link.a.pending_segments() == 0; }));
    }
    REQUIRE(link.at_b.size() == sent.size());
    for (size_t i = 0; i < sent.size(); ++i)
      CHECK(link.at_b[i].data == sent[i]);
  }

  TEST_CASE("bundles keep order beside split and larger messages") {
    sim_link link;
    std::vector<size_t> sizes = {10, 20, 2000, 30, 0, 600, 40, 512, 513, 1, 1300, 5};
    for (uint32_t i = 0; i < sizes.size(); ++i)
      REQUIRE(link.a.send(pattern(sizes[i], i), reliability::reliable, link.now));
    // [10 20] [2000: two segments] [30 0] [600] [40 512] [513] [1] [1300] [5]
    CHECK(link.a.pending_segments() == 10);
    REQUIRE(link.run([&] { return link.at_b.size() == sizes.size(); }));
    for (uint32_t i = 0; i < sizes.size(); ++i)
      CHECK(link.at_b[i].data == pattern(sizes[i], i));
  }

  TEST_CASE("a message queued after its neighbour left starts a segment of its own") {
    sim_link link;
    link.a.send(pattern(10, 1), reliability::reliable, link.now);
    link.a.flush(link.now, [](const uint8_t*, size_t) {});
    link.a.send(pattern(10, 2), reliability::reliable, link.now);
    CHECK(link.a.pending_segments() == 2);
  }

  TEST_CASE("each tracked message of a bundle completes, and untracked ones stay apart") {
    sim_link link;
    std::vector<uint64_t> tracked;
    for (int i = 0; i < 3; ++i)
      tracked.push_back(*link.a.send(pattern(10, i), reliability::reliable, link.now, true));
    link.a.send(pattern(10, 3), reliability::reliable, link.now);
    link.a.send(pattern(10, 4), reliability::reliable, link.now);
    tracked.push_back(*link.a.send(pattern(10, 5), reliability::reliable, link.now, true));
    CHECK(link.a.pending_segments() == 3);
    REQUIRE(link.run([&] { return link.done_at_a.size() >= 4 && link.at_b.size() == 6; }));
    auto& done = link.done_at_a;
    REQUIRE(done.size() == 4);
    for (size_t i = 0; i < 4; ++i) {
      CHECK(done[i].id == tracked[i]);
      CHECK(done[i].delivered);
    }
  }

  TEST_CASE("a bundle that is never acknowledged fails every tracked message in it") {
    auto link = cut_link();
    std::vector<uint64_t> ids;
    for (int i = 0; i < 5; ++i)
      ids.push_back(*link.a.send(pattern(10, i), reliability::reliable, link.now, true));
    CHECK(link.a.pending_segments() == 1);
    REQUIRE(link.run([&] { return !link.done_at_a.empty(); }));
    auto& done = link.done_at_a;
    REQUIRE(done.size() == 5);
    for (size_t i = 0; i < 5; ++i) {
      CHECK(done[i].id == ids[i]);
      CHECK(!done[i].delivered);
    }
  }

  TEST_CASE("sending bytes the caller keeps: bundled, split or refused like owned ones") {
    sim_link link;
    auto small = pattern(64, 1);
    auto split = pattern(3000, 2);
    REQUIRE(link.a.send(small.data(), small.size(), reliability::reliable, link.now));
    REQUIRE(link.a.send(small.data(), small.size(), reliability::reliable, link.now));
    REQUIRE(link.a.send(split.data(), split.size(), reliability::reliable, link.now));
    REQUIRE(link.a.send(small.data(), small.size(), reliability::unreliable, link.now));
    CHECK(link.a.pending_segments() == 1 + 3);
    byte_buffer huge(max_message_size + 1);
    CHECK(!link.a.send(huge.data(), huge.size(), reliability::reliable, link.now));
    REQUIRE(link.run([&] { return link.at_b.size() == 4; }));
    CHECK(link.at_b[0].data == small);
    CHECK(link.at_b[1].data == small);
    bool split_arrived = false;
    for (auto& m : link.at_b)
      split_arrived = split_arrived || m.data == split;
    CHECK(split_arrived);
  }

  TEST_CASE("a bundle inside a split message drops the unfinished message") {
    session b{session_options{}, 2};
    const uint8_t part[max_segment_payload] = {};
    const uint8_t bundle[] = {2, 0, 'h', 'i'};
    packet_builder pb;
    pb.begin(1, 0);
    pb.put_reliable(0, segment_flag_more, part, sizeof(part));
    REQUIRE(b.input(pb.data(), pb.size(), 1000) == decode_error::none);
    pb.begin(1, 0);
    pb.put_reliable(1, segment_flag_bundle, bundle, sizeof(bundle));
    REQUIRE(b.input(pb.data(), pb.size(), 1000) == decode_error::none);
    auto got = b.take_received();
    REQUIRE(got.size() == 1);
    CHECK(got[0].data == byte_buffer{'h', 'i'});
    CHECK(b.stats().interrupted == 1);
  }

  TEST_CASE("delivery packs runs of one kind, a reassembled message keeps its own buffer") {
    session a{session_options{}, 1};
    session b{session_options{}, 2};
    for (uint32_t i = 0; i < 8; ++i)
      a.send(pattern(50, i), reliability::reliable, 10);
    a.send(pattern(20, 8), reliability::unreliable, 10);
    a.send(pattern(5000, 9), reliability::reliable, 10);
    a.send(pattern(30, 10), reliability::reliable, 10);
    a.send(pattern(30, 11), reliability::reliable, 10);
    a.flush(10,
            [&](const uint8_t* d, size_t n) { REQUIRE(b.input(d, n, 20) == decode_error::none); });
    auto batches = b.take_batches();
    // Reliable ones first (in order), the unreliable one after them.
    REQUIRE(batches.size() == 4);
    CHECK(batches[0].kind == reliability::reliable);
    CHECK(batches[0].messages.size() == 8);
    CHECK(batches[1].messages.size() == 1);
    CHECK(batches[1].messages.bytes() == 5000);
    CHECK(batches[2].messages.size() == 2);
    CHECK(batches[3].kind == reliability::unreliable);
    CHECK(batches[3].messages.unpack() == std::vector<byte_buffer>{pattern(20, 8)});
    auto first = batches[0].messages.unpack();
    for (uint32_t i = 0; i < 8; ++i)
      CHECK(first[i] == pattern(50, i));
    CHECK(batches[1].messages.unpack()[0] == pattern(5000, 9));
    CHECK(b.take_batches().empty());
  }

  TEST_CASE("both directions at once") {
    sim_link link;
    for (uint32_t i = 0; i < 50; ++i) {
      link.a.send(pattern(100, i), reliability::reliable, link.now);
      link.b.send(pattern(200, i), reliability::reliable, link.now);
    }
    REQUIRE(link.run([&] { return link.at_a.size() == 50 && link.at_b.size() == 50; }));
    CHECK(link.at_a[49].data == pattern(200, 49));
    CHECK(link.at_b[49].data == pattern(100, 49));
  }

  TEST_CASE("loss, duplication and reordering: still exactly once, in order") {
    sim_link link;
    link.drop = 0.2;
    link.duplicate = 0.05;
    link.reorder = 0.05;
    constexpr uint32_t n = 5000;
    for (uint32_t i = 0; i < n; ++i)
      link.a.send(pattern(1 + i % 3000, i), reliability::reliable, link.now);
    bool done = link.run([&] { return link.at_b.size() >= n && link.a.pending_segments() == 0; });
    MESSAGE("received " << link.at_b.size() << " pending " << link.a.pending_segments() << " t "
                        << link.now << " cwnd " << link.a.congestion_window() << " rtx "
                        << link.a.stats().retransmits << " timeouts " << link.a.stats().timeouts
                        << " giveups " << link.a.stats().give_ups << " dups "
                        << link.b.stats().duplicates << " oow " << link.b.stats().out_of_window);
    REQUIRE(done);
    REQUIRE(link.at_b.size() == n);
    for (uint32_t i = 0; i < n; ++i)
      REQUIRE(link.at_b[i].data == pattern(1 + i % 3000, i));
    CHECK(link.a.stats().retransmits > 0);
    CHECK(link.b.stats().duplicates > 0);
    CHECK(link.a.stats().give_ups == 0);
  }

  TEST_CASE("a lost packet is retransmitted after the timeout, capped by retryInterval") {
    session_options opts;
    opts.retry_interval_us = 50'000;
    sim_link link{opts};
    link.a_to_b_cut = true;
    link.a.send(pattern(10, 1), reliability::reliable, link.now);
    link.step(); // the only copy is lost
    CHECK(link.packets_a_to_b == 1);
    uint64_t sent = link.now;
    link.a_to_b_cut = false;
    REQUIRE(link.run([&] { return link.at_b.size() == 1; }));
    // No RTT sample yet: the initial RTO (200 ms) is capped at 50 ms.
    CHECK(link.now - sent >= 50'000);
    CHECK(link.now - sent <= 50'000 + 2 * link.delay_us + 10);
    CHECK(link.a.stats().timeouts == 1);
    CHECK(link.a.stats().retransmits == 1);
  }

  TEST_CASE("a first message lost is resent on the peer's round trip, not a blind timeout") {
    sim_link link;
    for (uint32_t i = 0; i < 10; ++i)
      link.a.send(pattern(100, i), reliability::reliable, link.now);
    REQUIRE(link.run([&] { return link.at_b.size() == 10 && link.a.pending_segments() == 0; }));
    REQUIRE(link.a.srtt_us() > 0);
    // A message that leaves after A has its estimate carries it to B.
    link.a.send(pattern(100, 10), reliability::reliable, link.now);
    REQUIRE(link.run([&] { return link.at_b.size() == 11; }));
    CHECK(link.b.srtt_us() == 0); // B has sent nothing: no sample of its own
    // B's first message is lost; it learnt A's round trip from A's packets.
    link.b_to_a_cut = true;
    link.b.send(pattern(10, 99), reliability::reliable, link.now);
    link.flush_both();
    link.b_to_a_cut = false;
    uint64_t start = link.now;
    REQUIRE(link.run([&] { return link.at_a.size() == 1; }));
    CHECK(link.now - start < 10'000); // the initial timeout would be 200 ms
  }

  TEST_CASE("a timeout caused by lost acks is undone, one caused by lost data is not") {
    for (bool acks_lost : {true, false}) {
      CAPTURE(acks_lost);
      sim_link link;
      for (uint32_t i = 0; i < 100; ++i)
        link.a.send(pattern(1000, i), reliability::reliable, link.now);
      REQUIRE(link.run([&] { return link.at_b.size() == 100; }));
      for (uint32_t i = 0; i < 100; ++i)
        link.a.send(pattern(1000, i), reliability::reliable, link.now);
      auto cwnd = link.a.congestion_window();
      // Everything in flight reaches B but no ack comes back, or nothing
      // reaches B at all, until A's timer fires.
      (acks_lost ? link.b_to_a_cut : link.a_to_b_cut) = true;
      REQUIRE(link.run([&] { return link.a.stats().timeouts == 1; }, 1'000'000));
      link.b_to_a_cut = link.a_to_b_cut = false;
      REQUIRE(link.run([&] { return link.at_b.size() == 200 && link.a.pending_segments() == 0; }));
      CHECK(link.a.stats().spurious_timeouts == (acks_lost ? 1 : 0));
      if (acks_lost)
        CHECK(link.a.congestion_window() >= cwnd);
      else
        CHECK(link.a.congestion_window() < cwnd);
    }
  }

  TEST_CASE("the RTO adapts to the measured round trip") {
    sim_link link;
    link.delay_us = 2'000;
    for (int i = 0; i < 20; ++i) {
      link.a.send(pattern(10, i), reliability::reliable, link.now);
      REQUIRE(link.run([&] { return link.at_b.size() == static_cast<size_t>(i + 1); }));
    }
    REQUIRE(link.run([&] { return link.a.pending_segments() == 0; }));
    CHECK(link.a.srtt_us() >= 3'900);
    CHECK(link.a.srtt_us() <= 4'200);
  }

  TEST_CASE("a gap is repaired by fast retransmit, well before the timeout") {
    sim_link link;
    link.a.send(pattern(1000, 0), reliability::reliable, link.now);
    link.run([&] { return link.at_b.size() == 1 && link.a.pending_segments() == 0; });
    // Lose exactly one packet among many.
    link.a_to_b_cut = true;
    link.a.send(pattern(1300, 1), reliability::reliable, link.now);
    link.step();
    link.a_to_b_cut = false;
    for (int i = 2; i < 10; ++i)
      link.a.send(pattern(1300, i), reliability::reliable, link.now);
    uint64_t start = link.now;
    REQUIRE(link.run([&] { return link.at_b.size() == 10; }));
    CHECK(link.a.stats().timeouts == 0);
    CHECK(link.now - start < 1'000);
  }

  TEST_CASE("an unacknowledged message fails after retryTimeout and the session recovers") {
    auto link = cut_link();
    auto id = link.a.send(pattern(10, 1), reliability::reliable, link.now, true);
    REQUIRE(id);
    uint64_t start = link.now;
    auto epoch = link.a.epoch();
    REQUIRE(link.run([&] { return !link.done_at_a.empty(); }));
    auto& done = link.done_at_a;
    REQUIRE(done.size() == 1);
    CHECK(done[0].id == *id);
    CHECK(!done[0].delivered);
    CHECK(link.now - start >= 1'000'000);
    CHECK(link.now - start <= 1'100'000);
    CHECK(link.a.stats().give_ups == 1);
    CHECK(link.a.epoch() == epoch + 1);
    // The link heals: later messages arrive, the failed one never does.
    link.a_to_b_cut = false;
    auto id2 = link.a.send(pattern(20, 2), reliability::reliable, link.now, true);
    REQUIRE(link.run([&] { return link.at_b.size() == 1; }));
    CHECK(link.at_b[0].data == pattern(20, 2));
    REQUIRE(link.run([&] { return done.size() == 2; }));
    CHECK(done[1].id == *id2);
    CHECK(done[1].delivered);
  }

  TEST_CASE("an abandoned session fails what is unacknowledged at once and goes on") {
    auto link = cut_link();
    std::vector<uint64_t> ids;
    for (uint32_t i = 0; i < 3; ++i)
      ids.push_back(*link.a.send(pattern(10, i), reliability::reliable, link.now, true));
    link.step(); // sent, lost on the cut
    auto epoch = link.a.epoch();
    link.a.abandon();
    link.step();
    auto& done = link.done_at_a;
    REQUIRE(done.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
      CHECK(done[i].id == ids[i]);
      CHECK_FALSE(done[i].delivered);
    }
    CHECK(link.a.stats().abandoned == 1);
    CHECK(link.a.stats().give_ups == 0);
    CHECK(link.a.epoch() == epoch + 1);
    CHECK(link.a.pending_segments() == 0);
    // What is sent next arrives, in the new epoch; the abandoned never do.
    link.a_to_b_cut = false;
    link.a.send(pattern(20, 9), reliability::reliable, link.now, true);
    REQUIRE(link.run([&] { return done.size() == 4; }));
    CHECK(done[3].delivered);
    REQUIRE(link.at_b.size() == 1);
    CHECK(link.at_b[0].data == pattern(20, 9));
  }

  TEST_CASE("messages split above 1300 bytes and reassemble") {
    for (size_t size : {0, 1, 1299, 1300, 1301, 2600, 2601}) {
      CAPTURE(size);
      sim_link link;
      link.a.send(pattern(size, 7), reliability::reliable, link.now);
      size_t expected_segments = size <= 1300 ? 1 : (size + 1299) / 1300;
      CHECK(link.a.pending_segments() == expected_segments);
      REQUIRE(link.run([&] { return link.at_b.size() == 1; }));
      CHECK(link.at_b[0].data == pattern(size, 7));
    }
  }

  TEST_CASE("10 MB is the largest message: it arrives, one byte more is refused") {
    sim_link link;
    CHECK(!link.a.send(byte_buffer(max_message_size + 1), reliability::reliable, link.now));
    CHECK(!link.a.send(byte_buffer(max_message_size + 1), reliability::unreliable, link.now));
    CHECK(link.a.pending_segments() == 0);
    auto big = pattern(max_message_size, 3);
    REQUIRE(link.a.send(big, reliability::reliable, link.now));
    CHECK(link.a.pending_segments() == max_fragments);
    REQUIRE(link.run([&] { return link.at_b.size() == 1; }));
    CHECK(link.at_b[0].data == big);
  }

  TEST_CASE("10 MB through 10% loss") {
    sim_link link;
    link.drop = 0.1;
    auto big = pattern(max_message_size, 5);
    link.a.send(big, reliability::reliable, link.now);
    REQUIRE(link.run([&] { return link.at_b.size() == 1; }));
    CHECK(link.at_b[0].data == big);
    CHECK(link.a.stats().give_ups == 0);
  }

  TEST_CASE("sequence numbers wrap around") {
    session_options opts;
    opts.initial_seq = 0xFFFFFFFF - 20;
    sim_link link{opts};
    link.drop = 0.1;
    for (uint32_t i = 0; i < 200; ++i)
      link.a.send(pattern(700, i), reliability::reliable, link.now);
    REQUIRE(link.run([&] { return link.at_b.size() == 200; }));
    for (uint32_t i = 0; i < 200; ++i)
      REQUIRE(link.at_b[i].data == pattern(700, i));
  }

  TEST_CASE("acks carry selective ranges for the holes") {
    sim_link link;
    // Build five single-segment packets at A, deliver 0, 2, 4 only to B.
    std::vector<byte_buffer> packets;
    for (int i = 0; i < 5; ++i) {
      link.a.send(pattern(1300, i), reliability::reliable, link.now);
      link.a.flush(link.now, [&](const uint8_t* d, size_t n) { packets.emplace_back(d, d + n); });
    }
    REQUIRE(packets.size() == 5);
    for (int i : {0, 2, 4})
      link.b.input(packets[i].data(), packets[i].size(), link.now);
    byte_buffer ack;
    link.b.flush(link.now, [&](const uint8_t* d, size_t n) { ack.assign(d, d + n); });
    packet_reader r;
    REQUIRE(r.parse(ack.data(), ack.size()) == decode_error::none);
    REQUIRE(r.header().has_ack);
    CHECK(r.ack().epoch == link.a.epoch());
    CHECK(r.ack().rcv_next == 1);
    REQUIRE(r.ack().range_count == 2);
    CHECK(r.ack().ranges[0].start == 2);
    CHECK(r.ack().ranges[0].length == 1);
    CHECK(r.ack().ranges[1].start == 4);
    CHECK(r.ack().ranges[1].length == 1);
    CHECK(link.b.take_received().size() == 1);
    // Feeding the holes completes the stream in order.
    for (int i : {3, 1})
      link.b.input(packets[i].data(), packets[i].size(), link.now);
    auto got = link.b.take_received();
    REQUIRE(got.size() == 4);
    for (int i = 0; i < 4; ++i)
      CHECK(got[i].data == pattern(1300, i + 1));
  }

  TEST_CASE("a full segment beside an ack with many ranges still fits one packet") {
    // Found by the fuzzer: a packet opened with a large piggybacked ack had no
    // room left for the full segment it was opened for.
    session b{{}, 1};
    std::vector<uint8_t> chunk(10, 1);
    for (uint32_t seq = 1; seq < 120; seq += 2) { // 60 holes: 60 ranges to report
      packet_builder pb;
      pb.begin(9, 0);
      REQUIRE(pb.put_reliable(seq, 0, chunk.data(), chunk.size()));
      REQUIRE(b.input(pb.data(), pb.size(), 0) == decode_error::none);
    }
    b.send(pattern(max_segment_payload, 1), reliability::reliable, 0);
    size_t packets = 0;
    bool saw_ack = false;
    bool saw_data = false;
    b.flush(0, [&](const uint8_t* d, size_t n) {
      ++packets;
      REQUIRE(n <= max_packet_size);
      packet_reader r;
      REQUIRE(r.parse(d, n) == decode_error::none);
      saw_ack |= r.header().has_ack;
      segment_view seg;
      while (r.next(seg))
        saw_data |= seg.size == max_segment_payload;
    });
    CHECK(saw_ack);
    CHECK(saw_data);
    CHECK(packets == 1);
  }

  TEST_CASE("a restarted peer picks up the stream where it stands") {
    sim_link link;
    for (uint32_t i = 0; i < 10; ++i)
      link.a.send(pattern(50, i), reliability::reliable, link.now);
    REQUIRE(link.run([&] { return link.at_b.size() == 10 && link.a.pending_segments() == 0; }));
    // B restarts: a new session with a larger epoch; A keeps sending.
    link.b = session{{}, 300};
    for (uint32_t i = 10; i < 20; ++i)
      link.a.send(pattern(50, i), reliability::reliable, link.now);
    REQUIRE(link.run([&] { return link.at_b.size() == 20; }));
    CHECK(link.at_b[19].data == pattern(50, 19));
    // B's replies reach A too, which sees a peer reset.
    link.b.send(pattern(5, 1), reliability::reliable, link.now);
    REQUIRE(link.run([&] { return link.at_a.size() == 1; }));
    CHECK(link.a.stats().peer_resets == 1);
  }

  TEST_CASE("a peer that restarts and speaks first gets none of what was sent to the one before: "
            "those messages fail, the stream starts over") {
    sim_link link;
    link.b.send(pattern(5, 1), reliability::reliable, link.now); // A knows B
    REQUIRE(link.run([&] { return link.at_a.size() == 1; }));
    // B's acks are lost: A still holds five messages when B restarts.
    link.b_to_a_cut = true;
    for (uint32_t i = 0; i < 5; ++i)
      link.a.send(pattern(50, i), reliability::reliable, link.now, true);
    REQUIRE(link.run([&] { return link.at_b.size() == 5; }));
    CHECK(link.a.pending_segments() > 0);
    // B restarts; what was on its way to the old one is lost with it, and
    // so is what A sends until the new one speaks (were it not, the new
    // one would take A's stream before it spoke: a race this cannot close).
    link.b = session{{}, 300};
    link.wire.clear();
    link.a_to_b_cut = true;
    link.b_to_a_cut = false;
    link.at_b.clear();
    // The new B speaks first (a request, say): it is fresh, A starts over.
    link.b.send(pattern(5, 9), reliability::reliable, link.now);
    REQUIRE(link.run([&] { return link.at_a.size() == 2 && link.done_at_a.size() == 5; }));
    CHECK(link.a.stats().peer_restarts == 1);
    for (const auto& d : link.done_at_a)
      CHECK_FALSE(d.delivered);
    link.a_to_b_cut = false;
    auto epoch_before = link.a.epoch();
    // What A sends now reaches the new B, and nothing from before does.
    link.a.send(pattern(50, 7), reliability::reliable, link.now);
    REQUIRE(link.run([&] { return !link.at_b.empty() && link.a.pending_segments() == 0; }));
    link.run([] { return false; }, 500'000); // any late retransmission arrives
    REQUIRE(link.at_b.size() == 1);
    CHECK(link.at_b[0].data == pattern(50, 7));
    CHECK(link.a.epoch() == epoch_before); // started over once
  }

  TEST_CASE("a peer that gives up its stream is no restart: what was sent to it goes on") {
    session_options opts;
    opts.retry_interval_us = 100'000;
    opts.retry_timeout_us = 1'000'000;
    sim_link link{opts};
    auto patient = opts; // A would give up only after 10 s
    patient.retry_timeout_us = 10'000'000;
    link.a = session{patient, 100};
    link.b.send(pattern(5, 1), reliability::reliable, link.now); // both know each other
    REQUIRE(link.run([&] { return link.at_a.size() == 1; }));
    link.a.send(pattern(5, 2), reliability::reliable, link.now);
    REQUIRE(link.run([&] { return link.at_b.size() == 1 && link.b.pending_segments() == 0; }));
    // B's way to A is cut: B gives up a message (a new epoch), while A's
    // three reach B, whose acks are lost.
    link.b_to_a_cut = true;
    link.b.send(pattern(5, 3), reliability::reliable, link.now);
    for (uint32_t i = 0; i < 3; ++i)
      link.a.send(pattern(50, i), reliability::reliable, link.now, true);
    REQUIRE(link.run([&] { return link.b.stats().give_ups == 1; }));
    link.b_to_a_cut = false;
    REQUIRE(link.run([&] { return link.done_at_a.size() == 3; }));
    CHECK(link.a.stats().peer_resets == 1);
    CHECK(link.a.stats().peer_restarts == 0);
    for (const auto& d : link.done_at_a)
      CHECK(d.delivered);
    CHECK(link.at_b.size() == 4); // once each
  }

  TEST_CASE("a fresh packet says so until its session has heard from the peer") {
    sim_link link;
    std::vector<bool> fresh;
    auto watch = [&](session& s) {
      s.flush(link.now, [&](const uint8_t* d, size_t n) {
        packet_reader r;
        REQUIRE(r.parse(d, n) == decode_error::none);
        fresh.push_back(r.header().fresh);
        link.transmit(&s == &link.a, d, n);
      });
    };
    link.a.send(pattern(5, 1), reliability::reliable, link.now);
    watch(link.a); // A has heard nothing from B
    REQUIRE(link.run([&] { return link.at_b.size() == 1; }));
    link.b.send(pattern(5, 2), reliability::reliable, link.now);
    watch(link.b); // B has heard from A
    REQUIRE(fresh.size() == 2);
    CHECK(fresh[0]);
    CHECK_FALSE(fresh[1]);
  }

  TEST_CASE("datagrams of an older incarnation are dropped as stale") {
    sim_link link;
    std::vector<byte_buffer> old_packets;
    link.a.send(pattern(10, 1), reliability::reliable, link.now);
    link.a.flush(link.now, [&](const uint8_t* d, size_t n) { old_packets.emplace_back(d, d + n); });
    link.b.input(old_packets[0].data(), old_packets[0].size(), link.now);
    CHECK(link.b.take_received().size() == 1);
    // A restarts with a larger epoch and sends; then the old packet is replayed.
    link.a = session{{}, 150};
    link.a.send(pattern(10, 2), reliability::reliable, link.now);
    link.a.flush(link.now, [&](const uint8_t* d, size_t n) { link.b.input(d, n, link.now); });
    CHECK(link.b.take_received().size() == 1);
    link.b.input(old_packets[0].data(), old_packets[0].size(), link.now);
    CHECK(link.b.take_received().empty());
    CHECK(link.b.stats().stale_epoch == 1);
    // A replay within the current incarnation is a duplicate.
    link.a.send(pattern(10, 3), reliability::reliable, link.now);
    byte_buffer current;
    link.a.flush(link.now, [&](const uint8_t* d, size_t n) { current.assign(d, d + n); });
    link.b.input(current.data(), current.size(), link.now);
    link.b.input(current.data(), current.size(), link.now);
    CHECK(link.b.take_received().size() == 1);
    CHECK(link.b.stats().duplicates == 1);
  }

  TEST_CASE("a fragment chain longer than 10 MB is dropped, the stream goes on") {
    session b{{}, 1};
    std::vector<uint8_t> chunk(max_segment_payload, 1);
    uint32_t seq = 0;
    auto feed = [&](uint8_t flags, size_t size) {
      packet_builder pb;
      pb.begin(9, 0);
      pb.put_reliable(seq++, flags, chunk.data(), size);
      REQUIRE(b.input(pb.data(), pb.size(), 0) == decode_error::none);
    };
    for (size_t i = 0; i < max_fragments + 5; ++i)
      feed(segment_flag_more, max_segment_payload);
    feed(0, 10);
    CHECK(b.take_received().empty());
    CHECK(b.stats().oversized == 1);
    feed(0, 3); // the next message is whole
    auto got = b.take_received();
    REQUIRE(got.size() == 1);
    CHECK(got[0].data.size() == 3);
  }

  TEST_CASE("unreliable messages: delivered when they arrive, never retransmitted") {
    sim_link link;
    link.a.send(pattern(100, 1), reliability::unreliable, link.now);
    link.a.send(pattern(5000, 2), reliability::unreliable, link.now); // 4 fragments
    REQUIRE(link.run([&] { return link.at_b.size() == 2; }));
    CHECK(link.at_b[0].kind == reliability::unreliable);
    CHECK(link.at_b[0].data == pattern(100, 1));
    CHECK(link.at_b[1].data == pattern(5000, 2));
    link.a_to_b_cut = true;
    link.a.send(pattern(100, 3), reliability::unreliable, link.now);
    link.step();
    link.a_to_b_cut = false;
    link.run([] { return false; }, 2'000'000);
    CHECK(link.at_b.size() == 2);
    CHECK(link.a.stats().retransmits == 0);
  }

  TEST_CASE("sendInterval holds new messages and sends them together") {
    session_options opts;
    opts.send_interval_us = 20'000;
    sim_link link{opts};
    link.a.send(pattern(10, 0), reliability::reliable, link.now);
    link.step(); // the first message leaves at once and opens the interval
    size_t before = link.packets_a_to_b;
    uint64_t start = link.now;
    for (int i = 1; i <= 30; ++i) {
      link.a.send(pattern(10, i), reliability::reliable, link.now);
      link.now += 100;
      link.step();
    }
    REQUIRE(link.run([&] { return link.at_b.size() == 31; }));
    CHECK(link.now - start >= 20'000 - 1'000);
    CHECK(link.packets_a_to_b - before <= 2); // the 30 left together
  }

  TEST_CASE("an ack for sequences never sent is ignored") {
    session a{{}, 1};
    a.send(pattern(10, 1), reliability::reliable, 0);
    a.flush(0, [](const uint8_t*, size_t) {});
    packet_builder pb;
    pb.begin(5, 0);
    pb.put_ack(1, 1000, 100, nullptr, 0);
    a.input(pb.data(), pb.size(), 10);
    CHECK(a.stats().bad_acks == 1);
    CHECK(a.pending_segments() == 1);
  }

  TEST_CASE("at 40% loss request and answer get through, seldom giving up") {
    // Timeouts back off by half again, not double: at 40% loss a message
    // and its ack get through together a third of the time, and doubling
    // from a LAN's few ms to retryInterval leaves only ten tries in
    // retryTimeout (3 s), so about one message in 450 gave up (55 of
    // 24,000 here, against 8 now) and failed every request in flight to
    // the peer.
    uint64_t give_ups = 0;
    uint64_t worst_us = 0;
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      sim_link link;
      link.rng.seed(seed);
      link.drop = 0.4;
      link.delay_us = 100;
      for (uint32_t i = 0; i < 300; ++i) {
        auto t0 = link.now;
        link.a.send(pattern(40, i), reliability::reliable, link.now);
        auto want_b = link.at_b.size() + 1;
        if (!link.run([&] { return link.at_b.size() >= want_b; }, 4'000'000))
          continue;
        link.b.send(pattern(40, i), reliability::reliable, link.now);
        auto want_a = link.at_a.size() + 1;
        if (link.run([&] { return link.at_a.size() >= want_a; }, 4'000'000))
          worst_us = std::max(worst_us, link.now - t0);
      }
      give_ups += link.a.stats().give_ups + link.b.stats().give_ups;
    }
    MESSAGE("24,000 messages at 40% loss: " << give_ups << " gave up; slowest exchange "
                                            << worst_us / 1000 << " ms");
    CHECK(give_ups <= 12);
  }

  TEST_CASE("an idle session is small") {
    constexpr int n = 1000;
    auto before = mallinfo2().uordblks;
    std::vector<session> sessions;
    sessions.reserve(n);
    auto reserved = mallinfo2().uordblks;
    for (int i = 0; i < n; ++i)
      sessions.emplace_back(session_options{}, i);
    auto per_session = (mallinfo2().uordblks - reserved) / n + sizeof(session);
    MESSAGE("idle session: " << sizeof(session) << " bytes inline, " << per_session
                             << " bytes with its heap (" << (reserved - before) / n
                             << " reserved)");
    CHECK(per_session < 4096);
  }

} // TEST_SUITE
