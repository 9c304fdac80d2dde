// `meshrt demo`, the quick start's main job, as `make demo` runs it.

#include "apps/demo_command.hpp"

#include <doctest/doctest.h>

#include "support/command.hpp"

using namespace meshrt::test;

TEST_SUITE("apps.demo") {

  TEST_CASE("meshrt demo runs every step on an embedded cluster and exits 0") {
    auto r = run_command(std::string{"timeout 60 "} + MESHRT_CLI
                         + " demo --port 46300 --log-level warn");
    CHECK(r.exit_code == 0);
    for (const char* line :
         {"MARS 127.0.0.1:46300; nodes 127.0.0.1:46301, 127.0.0.1:46302, 127.0.0.1:46303, "
          "127.0.0.1:46304, 127.0.0.1:46305\n",
          "hello, demo (asked by 127.0.0.1:46301)",
          "command 42 on 127.0.0.1:46302: no_handler (no handler registered (command 42 on "
          "127.0.0.1:46302))\n",
          "127.0.0.1:46302 heard from 127.0.0.1:46301: the arena opens in 5 minutes\n",
          "127.0.0.1:46303 heard from 127.0.0.1:46301: the arena opens in 5 minutes\n",
          "127.0.0.1:46304 heard from 127.0.0.1:46301: the arena opens in 5 minutes\n",
          "rooms_open on 127.0.0.1:46304 = 12\n",
          // direct messages through two client gateways, logins with tokens
          "ann and bob log in with their tokens; a login as bob with ann's token: bad_token: "
          "login token refused: other_user\n",
          "bob got from ann: 'gg! rematch?' -- first message",
          "five more over the cached channel, median", "bob's last: 'round 6'\n",
          "ann sent 'nice try, noob'; bob got 'nice try, ****'\n",
          "== a storage node dies without a word (127.0.0.1:46305)\n", "the cluster noticed after",
          "ann's and bob's locations resolve",
          // at once, not after retryTimeout
          "a request to it fails after",
          "127.0.0.1:46305 is gone: its port is closed (ICMP port unreachable) and the cluster's "
          "view lost it",
          "cat, new at 127.0.0.1:46302, reaches bob: 'hi bob, I'm new here'\n",
          "bob: ann is gone: 'ann has left the lobby'\n",
          "127.0.0.1:46303 is offline in the view of",
          "127.0.0.1:46303 is gone; the view holds 127.0.0.1:46301, 127.0.0.1:46302, "
          "127.0.0.1:46304\n",
          "== what the demo measured\n", "  DM, first message to a user",
          "  users' locations back after the kill", "demo: every step worked\n"}) {
      CAPTURE(line);
      CHECK(r.out.find(line) != std::string::npos);
    }
    CHECK(r.out.find("FAILED") == std::string::npos);
    // the gateways check tokens: none of them warns that it runs open
    CHECK(r.err.find("runs open") == std::string::npos);
  }

  TEST_CASE("meshrt demo --processes runs the same steps with MARS and four nodes as processes") {
    auto r = run_command(std::string{"timeout 90 "} + MESHRT_CLI
                         + " demo --processes --port 46500 --log-level warn");
    INFO(r.out);
    CHECK(r.exit_code == 0);
    for (const char* line :
         {"four of them child processes",
          "MARS 127.0.0.1:46500; nodes 127.0.0.1:46501, 127.0.0.1:46502, 127.0.0.1:46503, "
          "127.0.0.1:46504, 127.0.0.1:46505 (logs in /tmp/meshrt-demo-",
          "hello, demo (asked by 127.0.0.1:46501)",
          "127.0.0.1:46503 heard from 127.0.0.1:46501: the arena opens in 5 minutes\n",
          "rooms_open on 127.0.0.1:46504 = 12\n", "bob's last: 'round 6'\n",
          "ann sent 'nice try, noob'; bob got 'nice try, ****'\n",
          "== a storage node dies without a word (127.0.0.1:46505)\n",
          "ann's and bob's locations resolve",
          "127.0.0.1:46505 is gone: its port is closed (ICMP port unreachable) and the cluster's "
          "view lost it",
          "cat, new at 127.0.0.1:46502, reaches bob: 'hi bob, I'm new here'\n",
          "bob: ann is gone: 'ann has left the lobby'\n",
          "127.0.0.1:46503 is gone; the view holds 127.0.0.1:46501, 127.0.0.1:46502, "
          "127.0.0.1:46504\n",
          "demo: every step worked\n"}) {
      CAPTURE(line);
      CHECK(r.out.find(line) != std::string::npos);
    }
    // Its children's logs go once every step worked.
    auto at = r.out.find("(logs in ");
    REQUIRE(at != std::string::npos);
    auto dir = r.out.substr(at + 9, r.out.find(')', at) - at - 9);
    CHECK(run_command("test -e " + dir).exit_code != 0);
  }
}
