#include "dm/client_protocol.hpp"

#include <doctest/doctest.h>

using namespace meshrt;

namespace {

client_frame send_frame(uint32_t seq, std::string to, std::string text) {
  client_frame f;
  f.cmd = client_cmd::send;
  f.seq = seq;
  f.user = std::move(to);
  f.ver = 3;
  f.dm_cmd = 700;
  f.message.assign(text.begin(), text.end());
  return f;
}

} // namespace

TEST_CASE("client protocol: frames round-trip, cut anywhere in the stream") {
  std::vector<client_frame> frames;
  client_frame login;
  login.cmd = client_cmd::login;
  login.user = "ann";
  login.flags = login_quiet;
  frames.push_back(login);
  frames.push_back(send_frame(1, "bob", "hello"));
  frames.push_back(send_frame(2, "bob", std::string(100000, 'x')));
  client_frame result;
  result.cmd = client_cmd::send_result;
  result.seq = 2;
  result.code = 4;
  result.user = "dm.user_not_found: bob";
  frames.push_back(result);
  client_frame gone;
  gone.cmd = client_cmd::peer_gone;
  gone.user = "bob";
  frames.push_back(gone);
  byte_buffer stream;
  for (const auto& f : frames) {
    auto b = encode(f);
    stream.insert(stream.end(), b.begin(), b.end());
  }
  // Fed in pieces of every size from 1 to 13 bytes, the same frames come out.
  for (size_t piece = 1; piece <= 13; ++piece) {
    frame_reader r{1024 * 1024};
    std::vector<client_frame> out;
    for (size_t i = 0; i < stream.size(); i += piece) {
      r.feed(stream.data() + i, std::min(piece, stream.size() - i));
      while (auto f = r.next())
        out.push_back(std::move(*f));
    }
    REQUIRE(!r.error());
    REQUIRE(out.size() == frames.size());
    CHECK(out[0].user == "ann");
    CHECK(out[0].flags == login_quiet);
    CHECK(out[1].flags == 0);
    CHECK(out[1].seq == 1);
    CHECK(out[1].ver == 3);
    CHECK(out[1].dm_cmd == 700);
    CHECK(std::string(out[1].message.begin(), out[1].message.end()) == "hello");
    CHECK(out[2].message.size() == 100000);
    CHECK(out[3].code == 4);
    CHECK(out[3].user == "dm.user_not_found: bob");
    CHECK(out[4].cmd == client_cmd::peer_gone);
    CHECK(r.buffered() == 0);
  }
}

TEST_CASE(
  "client protocol: oversized, unknown, other-version and malformed frames stop the stream") {
  auto big = encode(send_frame(1, "bob", std::string(2000, 'x')));
  frame_reader small{1000};
  small.feed(big.data(), 8); // the header alone tells
  CHECK_FALSE(small.next());
  REQUIRE(small.error());
  CHECK(*small.error() == gateway_errc::frame_too_large);
  CHECK(small.error_text().find("2") != std::string::npos);

  auto unknown = encode(send_frame(1, "bob", "x"));
  unknown[5] = 99;
  frame_reader r1{1 << 20};
  r1.feed(unknown.data(), unknown.size());
  CHECK_FALSE(r1.next());
  CHECK(r1.error() == gateway_errc::unknown_command);

  auto version = encode(send_frame(1, "bob", "x"));
  version[4] = 2;
  frame_reader r2{1 << 20};
  r2.feed(version.data(), version.size());
  CHECK_FALSE(r2.next());
  CHECK(r2.error() == gateway_errc::bad_version);

  // a login whose str16 claims more bytes than the frame has
  client_frame login;
  login.cmd = client_cmd::login;
  login.user = "ann";
  auto bad = encode(login);
  bad[8] = 200;
  frame_reader r3{1 << 20};
  r3.feed(bad.data(), bad.size());
  CHECK_FALSE(r3.next());
  CHECK(r3.error() == gateway_errc::malformed);
  // and after an error, nothing more
  auto good = encode(login);
  r3.feed(good.data(), good.size());
  CHECK_FALSE(r3.next());
}
