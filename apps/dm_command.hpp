#pragma once

#include <cstdint>
#include <string>

namespace meshrt::cli {

/// `meshrt dm send --node HOST:CLIENT_PORT --from A --to B --text T` and
/// `meshrt dm listen --node HOST:CLIENT_PORT --user B [--count N]
/// [--timeout S] [--json]`: a client of a node's gateway (dm/client.hpp).
struct dm_options {
  /// send or listen.
  std::string action;
  std::string node;
  std::string from;
  std::string to;
  std::string user;
  std::string text;
  /// The login token, for a gateway that requires one (clientTokenKeyFile).
  std::string token;
  int ver = 0;
  int cmd = 0;
  /// listen: stop after this many events (0: no limit).
  int count = 0;
  /// listen: stop after this many seconds (0: no limit); send: seconds to
  /// wait for the answer.
  double timeout_s = 0;
  bool json = false;
};

/// Both log in first (tried again for 5 s while the node cannot complete a
/// login yet). send prints `delivered` (exit 0), or the error kind (`user_not_found`,
/// `reliable_timeout`, ...) with the details on stderr (exit 1). listen
/// prints one line per event (a message: sender, ver, cmd, text; a peer's
/// disconnect: the peer and its message), as text or JSON, and exits 0 when
/// it has --count events or --timeout passes without a --count, 1 when the
/// connection fails or --timeout passes before --count events. Bad flags
/// throw std::invalid_argument.
int run_dm(const dm_options& opts);

} // namespace meshrt::cli
