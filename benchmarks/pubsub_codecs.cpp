// The wires of the systems `meshrt bench dm` compares (declared in
// pubsub_driver.hpp): meshrt's client protocol, NATS's text protocol,
// Redis's RESP3 (in which one connection both subscribes and publishes) and
// the floor servers' (benchmarks/floor_server.hpp).

#include <cstring>
#include <string>

#include "benchmarks/pubsub_driver.hpp"
#include "dm/client_protocol.hpp"

namespace meshrt::bench {

namespace {

/// The payload of message `seq`: the seq (8 bytes, little-endian), then
/// filler up to `size` bytes.
void append_payload(std::string& out, uint64_t seq, size_t size) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((seq >> (8 * i)) & 0xff));
  out.append(size - 8, 'x');
}

/// The seq of a payload; none (max) if it is too short.
uint64_t payload_seq(const char* data, size_t size) {
  if (size < 8)
    return UINT64_MAX;
  uint64_t seq = 0;
  for (int i = 7; i >= 0; --i)
    seq = (seq << 8) | static_cast<uint8_t>(data[i]);
  return seq;
}

/// meshrt: a login frame, then send frames; each send is answered by a
/// send result (after a quiet login only when it fails), which only
/// matters when it is an error.
class meshrt_codec final : public pubsub_codec {
public:
  explicit meshrt_codec(bool quiet) : quiet_(quiet) {}

  void hello(std::string& out, const std::string& user) override {
    client_frame f;
    f.cmd = client_cmd::login;
    f.flags = quiet_ ? login_quiet : 0;
    f.user = user;
    append(out, f);
  }

  void publish(std::string& out, const std::string& to, uint64_t seq, size_t size) override {
    client_frame f;
    f.cmd = client_cmd::send;
    f.seq = static_cast<uint32_t>(seq);
    f.user = to;
    std::string payload;
    append_payload(payload, seq, size);
    f.message.assign(payload.begin(), payload.end());
    append(out, f);
  }

  void feed(const char* data, size_t size, pubsub_sink& sink, std::string&) override {
    reader_.feed(data, size);
    while (auto f = reader_.next()) {
      switch (f->cmd) {
        case client_cmd::login_ok:
          sink.on_ready();
          break;
        case client_cmd::message:
          sink.on_message(
            payload_seq(reinterpret_cast<const char*>(f->message.data()), f->message.size()));
          break;
        case client_cmd::send_result:
          if (f->code != 0)
            sink.on_refused(f->seq, f->user);
          break;
        case client_cmd::error:
        case client_cmd::closed:
          sink.on_error(f->user);
          return;
        default:
          break;
      }
    }
    if (reader_.error())
      sink.on_error(reader_.error_text());
  }

private:
  static void append(std::string& out, const client_frame& f) {
    auto bytes = encode(f);
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

  bool quiet_;
  frame_reader reader_{1 << 20};
};

/// NATS: CONNECT, SUB to the user's own subject and a PING whose PONG
/// confirms both; PUB to the recipient's subject; MSG for each arrival;
/// the server's PINGs answered.
class nats_codec final : public pubsub_codec {
public:
  void hello(std::string& out, const std::string& user) override {
    out += "CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":false}\r\nSUB ";
    out += user;
    out += " 1\r\nPING\r\n";
  }

  void publish(std::string& out, const std::string& to, uint64_t seq, size_t size) override {
    out += "PUB ";
    out += to;
    out += ' ';
    out += std::to_string(size);
    out += "\r\n";
    append_payload(out, seq, size);
    out += "\r\n";
  }

  void feed(const char* data, size_t size, pubsub_sink& sink, std::string& reply) override {
    buf_.append(data, size);
    size_t pos = 0;
    for (;;) {
      auto eol = buf_.find("\r\n", pos);
      if (eol == std::string::npos)
        break;
      auto line = std::string_view{buf_}.substr(pos, eol - pos);
      if (line.substr(0, 4) == "MSG ") {
        // MSG <subject> <sid> [reply-to] <#bytes>
        auto n = std::stoul(std::string{line.substr(line.rfind(' ') + 1)});
        if (eol + 2 + n + 2 > buf_.size())
          break;
        sink.on_message(payload_seq(buf_.data() + eol + 2, n));
        pos = eol + 2 + n + 2;
        continue;
      }
      if (line == "PING") {
        reply += "PONG\r\n";
      } else if (line == "PONG") {
        sink.on_ready();
      } else if (line.substr(0, 4) == "-ERR") {
        sink.on_error(std::string{line});
        return;
      }
      pos = eol + 2;
    }
    buf_.erase(0, pos);
  }

private:
  std::string buf_;
};

/// Redis: HELLO 3 (RESP3, in which a subscribed connection may publish)
/// and SUBSCRIBE to the user's own channel, confirmed by a subscribe push;
/// PUBLISH to the recipient's channel; a message push for each arrival.
class redis_codec final : public pubsub_codec {
public:
  void hello(std::string& out, const std::string& user) override {
    command(out, {"HELLO", "3"});
    command(out, {"SUBSCRIBE", user});
  }

  void publish(std::string& out, const std::string& to, uint64_t seq, size_t size) override {
    std::string payload;
    append_payload(payload, seq, size);
    command(out, {"PUBLISH", to, payload});
  }

  void feed(const char* data, size_t size, pubsub_sink& sink, std::string&) override {
    buf_.append(data, size);
    size_t pos = 0;
    std::vector<std::string> items;
    for (;;) {
      items.clear();
      auto type = pos < buf_.size() ? buf_[pos] : '\0';
      auto end = value(pos, &items);
      if (end == std::string::npos)
        break;
      pos = end;
      if (type == '-') {
        sink.on_error(items.empty() ? "error" : items[0]);
        return;
      }
      if (type != '>' || items.size() < 3)
        continue; // HELLO's map, PUBLISH's count
      if (items[0] == "subscribe")
        sink.on_ready();
      else if (items[0] == "message")
        sink.on_message(payload_seq(items[2].data(), items[2].size()));
    }
    buf_.erase(0, pos);
  }

private:
  static void command(std::string& out, std::initializer_list<std::string> args) {
    out += '*' + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args) {
      out += '$' + std::to_string(a.size()) + "\r\n";
      out += a;
      out += "\r\n";
    }
  }

  /// Parses the RESP3 value at `pos`: the position after it, npos if it is
  /// not complete yet. Scalars go to `items` (the elements of a push).
  size_t value(size_t pos, std::vector<std::string>* items) {
    if (pos >= buf_.size())
      return std::string::npos;
    auto eol = buf_.find("\r\n", pos);
    if (eol == std::string::npos)
      return std::string::npos;
    auto type = buf_[pos];
    auto head = buf_.substr(pos + 1, eol - pos - 1);
    auto next = eol + 2;
    switch (type) {
      case '$':   // blob string
      case '=':   // verbatim string
      case '!': { // blob error
        auto n = std::stoll(head);
        if (n < 0)
          return next;
        if (next + static_cast<size_t>(n) + 2 > buf_.size())
          return std::string::npos;
        if (items)
          items->push_back(buf_.substr(next, static_cast<size_t>(n)));
        return next + static_cast<size_t>(n) + 2;
      }
      case '*':   // array
      case '~':   // set
      case '>':   // push
      case '%':   // map
      case '|': { // attribute
        auto n = std::stoll(head);
        if (type == '%' || type == '|')
          n *= 2;
        for (long long i = 0; i < n && next != std::string::npos; ++i)
          next = value(next, items);
        return next;
      }
      default: // simple string, error, number, null, double, boolean, big number
        if (items)
          items->push_back(head);
        return next;
    }
  }

  std::string buf_;
};

/// The floor servers (benchmarks/floor_server.hpp): 'H' and the user id,
/// confirmed by 'R'; 'P', the recipient and the payload; 'M' and the
/// payload for each arrival.
class floor_codec final : public pubsub_codec {
public:
  void hello(std::string& out, const std::string& user) override {
    out += 'H';
    out += static_cast<char>(user.size());
    out += user;
  }

  void publish(std::string& out, const std::string& to, uint64_t seq, size_t size) override {
    out += 'P';
    out += static_cast<char>(to.size());
    out += to;
    out += static_cast<char>(size & 0xff);
    out += static_cast<char>(size >> 8);
    append_payload(out, seq, size);
  }

  void feed(const char* data, size_t size, pubsub_sink& sink, std::string&) override {
    buf_.append(data, size);
    size_t pos = 0;
    while (pos < buf_.size()) {
      if (buf_[pos] == 'R') {
        sink.on_ready();
        ++pos;
        continue;
      }
      if (buf_[pos] != 'M') {
        sink.on_error("not the floor server's wire");
        return;
      }
      if (pos + 3 > buf_.size())
        break;
      size_t n = static_cast<uint8_t>(buf_[pos + 1])
                 | static_cast<size_t>(static_cast<uint8_t>(buf_[pos + 2])) << 8;
      if (pos + 3 + n > buf_.size())
        break;
      sink.on_message(payload_seq(buf_.data() + pos + 3, n));
      pos += 3 + n;
    }
    buf_.erase(0, pos);
  }

private:
  std::string buf_;
};

} // namespace

std::unique_ptr<pubsub_codec> make_meshrt_codec(bool quiet) {
  return std::make_unique<meshrt_codec>(quiet);
}

std::unique_ptr<pubsub_codec> make_nats_codec() {
  return std::make_unique<nats_codec>();
}

std::unique_ptr<pubsub_codec> make_redis_codec() {
  return std::make_unique<redis_codec>();
}

std::unique_ptr<pubsub_codec> make_floor_codec() {
  return std::make_unique<floor_codec>();
}

} // namespace meshrt::bench
