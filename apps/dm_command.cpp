#include "apps/dm_command.hpp"

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "apps/guest_join.hpp"
#include "dm/client.hpp"
#include "runtime/meshrt.hpp"

namespace meshrt::cli {

namespace {

using std::chrono::milliseconds;

/// HOST:PORT of --node.
std::pair<std::string, uint16_t> endpoint_of(const std::string& value) {
  auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::invalid_argument("--node: expected HOST:CLIENT_PORT, got '" + value + "'");
  int port = 0;
  try {
    port = std::stoi(value.substr(colon + 1));
  } catch (const std::exception&) {
    port = 0;
  }
  if (port < 1 || port > 65535)
    throw std::invalid_argument("--node: expected a port from 1 to 65535 in '" + value + "'");
  return {value.substr(0, colon), static_cast<uint16_t>(port)};
}

int fail(const char* what, const client_error& err) {
  std::fprintf(stderr, "meshrt: dm %s: %s: %s\n", what, err.kind().c_str(), err.text.c_str());
  return 1;
}

/// Connects and logs in as `user` (a login the node cannot complete yet is
/// tried again for 5 s).
client_error open_session(dm_client& c, const dm_options& opts, const std::string& user) {
  auto [host, port] = endpoint_of(opts.node);
  return c.open(host, port, user, opts.token);
}

int run_send(const dm_options& opts) {
  if (opts.from.empty() || opts.to.empty())
    throw std::invalid_argument("dm send needs --from and --to");
  dm_client c;
  if (auto err = open_session(c, opts, opts.from))
    return fail("send", err);
  auto timeout
    = milliseconds{static_cast<int64_t>((opts.timeout_s > 0 ? opts.timeout_s : 5) * 1000)};
  auto err = c.send(opts.to, static_cast<uint8_t>(opts.ver), static_cast<uint16_t>(opts.cmd),
                    opts.text, timeout);
  if (err) {
    std::printf("%s\n", err.kind().c_str());
    return fail("send", err);
  }
  std::printf("delivered\n");
  return 0;
}

void print(const client_event& e, bool json) {
  bool gone = e.what == client_event::kind::peer_gone;
  if (e.what == client_event::kind::closed) {
    if (json)
      std::printf("%s\n", nlohmann::json{{"event", "closed"}, {"why", e.message}}.dump().c_str());
    else
      std::printf("closed: %s\n", e.message.c_str());
  } else if (json) {
    nlohmann::json j{{"event", gone ? "peer_gone" : "message"}, {"from", e.from}};
    if (!gone) {
      j["ver"] = e.ver;
      j["cmd"] = e.cmd;
    }
    // Messages are bytes: invalid UTF-8 is replaced in the JSON text.
    j["text"] = e.message;
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else if (gone) {
    std::printf("peer_gone %s: %s\n", e.from.c_str(), e.message.c_str());
  } else {
    std::printf("message %s ver=%u cmd=%u: %s\n", e.from.c_str(), e.ver, e.cmd, e.message.c_str());
  }
  std::fflush(stdout);
}

int run_listen(const dm_options& opts) {
  if (opts.user.empty())
    throw std::invalid_argument("dm listen needs --user");
  dm_client c;
  if (auto err = open_session(c, opts, opts.user))
    return fail("listen", err);
  std::fprintf(stderr, "meshrt: listening as %s on %s\n", opts.user.c_str(), opts.node.c_str());
  using clock = std::chrono::steady_clock;
  auto deadline = opts.timeout_s > 0
                    ? clock::now() + milliseconds{static_cast<int64_t>(opts.timeout_s * 1000)}
                    : clock::time_point::max();
  int seen = 0;
  while (opts.count == 0 || seen < opts.count) {
    auto now = clock::now();
    if (now >= deadline)
      break;
    auto wait
      = deadline == clock::time_point::max()
          ? milliseconds{1000}
          : std::min(milliseconds{1000}, std::chrono::duration_cast<milliseconds>(deadline - now));
    client_error err;
    auto e = c.receive(wait, &err);
    if (!e) {
      if (err.code == client_errc::timeout)
        continue;
      return fail("listen", err);
    }
    print(*e, opts.json);
    ++seen;
    if (e->what == client_event::kind::closed)
      return 1;
  }
  if (opts.count > 0 && seen < opts.count) {
    std::fprintf(stderr, "meshrt: dm listen: timeout: %d of %d events\n", seen, opts.count);
    return 1;
  }
  return 0;
}

int run_where(const dm_options& opts) {
  if (!valid_user_id(opts.user))
    throw std::invalid_argument("dm where needs --user, a user id of 1 to 256 bytes");
  auto timeout = opts.timeout_s > 0 ? opts.timeout_s : 3.0;
  guest_node guest{load_config(opts.config_path), opts.mars, opts.cluster_key_file, opts.app};
  auto& sys = guest.system();
  caf::scoped_actor self{sys};
  int rc = 0;
  if (!guest.member()) {
    std::fprintf(stderr, "meshrt: MARS at %s did not answer within 2 s\n", opts.mars.c_str());
    rc = 1;
  } else {
    std::optional<std::string> where;
    caf::error err;
    dm_locate(self, guest.get(), opts.user,
              caf::timespan{milliseconds{static_cast<int64_t>(timeout * 1000)}})
      .receive([&](std::optional<std::string>& w) { where = std::move(w); },
               [&](caf::error& e) { err = std::move(e); });
    if (err) {
      std::fprintf(stderr, "meshrt: dm where: %s\n", sys.render(err).c_str());
      rc = 1;
    } else {
      if (opts.json)
        std::printf("%s\n", nlohmann::json{{"user", opts.user},
                                           {"node", where ? nlohmann::json(*where) : nullptr}}
                              .dump()
                              .c_str());
      else if (where)
        std::printf("%s\n", where->c_str());
      if (!where)
        std::fprintf(stderr, "meshrt: dm where: %s is not connected\n", opts.user.c_str());
      rc = where ? 0 : 1;
    }
  }
  return rc;
}

} // namespace

int run_dm(const dm_options& opts) {
  if (opts.action == "where")
    return run_where(opts);
  if (opts.node.empty())
    throw std::invalid_argument("dm " + opts.action + " needs --node HOST:CLIENT_PORT");
  if (opts.ver < 0 || opts.ver > 255 || opts.cmd < 0 || opts.cmd > 65535)
    throw std::invalid_argument("--ver takes 0 to 255, --cmd 0 to 65535");
  if (opts.action == "send")
    return run_send(opts);
  if (opts.action == "listen")
    return run_listen(opts);
  throw std::invalid_argument("dm: expected send, listen or where, got '" + opts.action + "'");
}

} // namespace meshrt::cli
