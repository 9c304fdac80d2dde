// The wires `meshrt bench dm` drives NATS, Redis pub/sub, meshrt's
// gateways and the floor servers with (benchmarks/pubsub_codecs.cpp): what
// each codec writes, and what it makes of the server's bytes, whole or cut
// anywhere.

#include "benchmarks/pubsub_driver.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dm/client_protocol.hpp"

using namespace meshrt;
using namespace meshrt::bench;

namespace {

/// Everything a codec reported, as lines ("ready", "msg 5", ...).
struct recording_sink : pubsub_sink {
  std::vector<std::string> events;
  void on_ready() override {
    events.push_back("ready");
  }
  void on_message(uint64_t seq) override {
    events.push_back("msg " + std::to_string(seq));
  }
  void on_refused(uint64_t seq, const std::string& why) override {
    events.push_back("refused " + std::to_string(seq) + " " + why);
  }
  void on_error(const std::string& why) override {
    events.push_back("error " + why);
  }
};

/// Feeds `bytes` one byte at a time: a codec must not care where reads cut.
std::vector<std::string> feed_bytewise(pubsub_codec& c, const std::string& bytes,
                                       std::string* reply = nullptr) {
  recording_sink sink;
  std::string ignored;
  for (char ch : bytes)
    c.feed(&ch, 1, sink, reply ? *reply : ignored);
  return sink.events;
}

std::string seq_bytes(uint64_t seq, size_t size) {
  std::string s;
  for (int i = 0; i < 8; ++i)
    s.push_back(static_cast<char>((seq >> (8 * i)) & 0xff));
  s.append(size - 8, 'x');
  return s;
}

} // namespace

TEST_SUITE("benchmarks.pubsub_codecs") {

  TEST_CASE("nats: CONNECT, SUB and PING, PUB, then MSG, PING and PONG read across cuts") {
    auto c = make_nats_codec();
    std::string out;
    c->hello(out, "u7");
    CHECK(out.find("CONNECT {") == 0);
    CHECK(out.find("\r\nSUB u7 1\r\nPING\r\n") != std::string::npos);
    out.clear();
    c->publish(out, "u9", 5, 16);
    CHECK(out == "PUB u9 16\r\n" + seq_bytes(5, 16) + "\r\n");
    std::string reply;
    auto events
      = feed_bytewise(*c,
                      "INFO {\"server_id\":\"x\"}\r\nPONG\r\nMSG u7 1 16\r\n" + seq_bytes(5, 16)
                        + "\r\nPING\r\nMSG u7 1 reply.to 16\r\n" + seq_bytes(300, 16) + "\r\n",
                      &reply);
    CHECK(events == std::vector<std::string>{"ready", "msg 5", "msg 300"});
    CHECK(reply == "PONG\r\n");
    auto err = feed_bytewise(*c, "-ERR 'Authorization Violation'\r\n");
    REQUIRE(err.size() == 1);
    CHECK(err[0].find("error -ERR") == 0);
  }

  TEST_CASE(
    "redis: HELLO 3 and SUBSCRIBE, then the subscribe and message pushes read across cuts") {
    auto c = make_redis_codec();
    std::string out;
    c->hello(out, "u7");
    CHECK(out == "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nu7\r\n");
    out.clear();
    c->publish(out, "u9", 42, 16);
    CHECK(out == "*3\r\n$7\r\nPUBLISH\r\n$2\r\nu9\r\n$16\r\n" + seq_bytes(42, 16) + "\r\n");
    // HELLO's map (nested, with an array), the subscribe push, a PUBLISH
    // count, a message push whose payload holds "\r\n"
    auto payload = seq_bytes(13, 16);
    payload[9] = '\r';
    payload[10] = '\n';
    auto events = feed_bytewise(
      *c, "%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n"
          ">3\r\n$9\r\nsubscribe\r\n$2\r\nu7\r\n:1\r\n"
          ":1\r\n"
          ">3\r\n$7\r\nmessage\r\n$2\r\nu7\r\n$16\r\n"
            + payload + "\r\n");
    CHECK(events == std::vector<std::string>{"ready", "msg 13"});
    auto err = feed_bytewise(*c, "-ERR max number of clients reached\r\n");
    CHECK(err == std::vector<std::string>{"error ERR max number of clients reached"});
  }

  TEST_CASE("meshrt: login and send frames, then login ok, messages and refusals") {
    auto c = make_meshrt_codec();
    std::string out;
    c->hello(out, "u7");
    frame_reader r{1 << 20};
    r.feed(out.data(), out.size());
    auto login = r.next();
    REQUIRE(login);
    CHECK(login->cmd == client_cmd::login);
    CHECK(login->user == "u7");
    CHECK(login->flags == 0);
    // the quiet codec asks for results of failed sends only
    std::string quiet;
    make_meshrt_codec(true)->hello(quiet, "u7");
    frame_reader q{1 << 20};
    q.feed(quiet.data(), quiet.size());
    auto quiet_login = q.next();
    REQUIRE(quiet_login);
    CHECK(quiet_login->flags == login_quiet);
    out.clear();
    c->publish(out, "u9", 77, 32);
    r.feed(out.data(), out.size());
    auto send = r.next();
    REQUIRE(send);
    CHECK(send->cmd == client_cmd::send);
    CHECK(send->seq == 77);
    CHECK(send->user == "u9");
    CHECK(std::string(send->message.begin(), send->message.end()) == seq_bytes(77, 32));
    // what the gateway sends back
    std::string in;
    auto append = [&](const client_frame& f) {
      auto b = encode(f);
      in.append(b.begin(), b.end());
    };
    client_frame ok;
    ok.cmd = client_cmd::login_ok;
    append(ok);
    client_frame msg;
    msg.cmd = client_cmd::message;
    msg.user = "u3";
    auto body = seq_bytes(8, 32);
    msg.message.assign(body.begin(), body.end());
    append(msg);
    client_frame delivered;
    delivered.cmd = client_cmd::send_result;
    delivered.seq = 77;
    append(delivered); // delivered: nothing to report
    client_frame refused;
    refused.cmd = client_cmd::send_result;
    refused.seq = 78;
    refused.code = 4;
    refused.user = "user u9 is not connected to the cluster";
    append(refused);
    auto events = feed_bytewise(*c, in);
    CHECK(events
          == std::vector<std::string>{"ready", "msg 8",
                                      "refused 78 user u9 is not connected to the cluster"});
  }

  TEST_CASE("floor: H and P frames, then R and M frames read across cuts") {
    auto c = make_floor_codec();
    std::string out;
    c->hello(out, "u7");
    CHECK(out == std::string{"H\x02u7", 4});
    out.clear();
    c->publish(out, "u9", 5, 16);
    CHECK(out == std::string{"P\x02u9\x10\x00", 6} + seq_bytes(5, 16));
    auto events = feed_bytewise(*c, std::string{"RM\x10\x00", 4} + seq_bytes(5, 16)
                                      + std::string{"M\x08\x00", 3} + seq_bytes(300, 8));
    CHECK(events == std::vector<std::string>{"ready", "msg 5", "msg 300"});
    auto err = feed_bytewise(*make_floor_codec(), "X");
    REQUIRE(err.size() == 1);
    CHECK(err[0].find("error ") == 0);
  }
}
