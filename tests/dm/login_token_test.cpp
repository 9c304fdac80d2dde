#include "dm/login_token.hpp"

#include <doctest/doctest.h>

#include "support/test_key.hpp"

using namespace meshrt;
using namespace std::chrono_literals;

TEST_SUITE("dm.login_token") {

  TEST_CASE("a token logs in its user until it expires") {
    auto key = test::test_key(1);
    auto now = std::chrono::system_clock::now();
    auto token = issue_login_token("ann", now + 60s, key);
    CHECK(token.rfind("mt1.", 0) == 0);
    CHECK(check_login_token(token, "ann", now, key) == token_check::valid);
    CHECK(check_login_token(token, "ann", now + 59s, key) == token_check::valid);
    CHECK(check_login_token(token, "ann", now + 61s, key) == token_check::expired);
    // user ids of every size, any bytes
    std::string long_id(256, '\xff');
    auto t2 = issue_login_token(long_id, now + 60s, key);
    CHECK(check_login_token(t2, long_id, now, key) == token_check::valid);
  }

  TEST_CASE("other users, other keys and altered tokens are refused") {
    auto key = test::test_key(1);
    auto now = std::chrono::system_clock::now();
    auto token = issue_login_token("ann", now + 60s, key);
    CHECK(check_login_token(token, "bob", now, key) == token_check::other_user);
    CHECK(check_login_token(token, "an", now, key) == token_check::other_user);
    CHECK(check_login_token(token, "ann", now, test::test_key(2)) == token_check::forged);
    // any one character changed anywhere after the prefix
    for (size_t i = 4; i < token.size(); ++i) {
      if (token[i] == '.')
        continue;
      auto altered = token;
      altered[i] = altered[i] == 'A' ? 'B' : 'A';
      CAPTURE(i);
      auto check = check_login_token(altered, "ann", now, key);
      CHECK((check == token_check::forged || check == token_check::malformed));
    }
    // an expired token made valid again by rewriting its expiry: the MAC
    // no longer matches
    auto old = issue_login_token("ann", now - 1s, key);
    auto fresh = issue_login_token("ann", now + 3600s, key);
    auto spliced = fresh.substr(0, fresh.rfind('.')) + old.substr(old.rfind('.'));
    CHECK(check_login_token(spliced, "ann", now, key) == token_check::forged);
  }

  TEST_CASE("what is not a token is malformed") {
    auto key = test::test_key(1);
    auto now = std::chrono::system_clock::now();
    for (const char* text : {"", "mt1.", "mt1..", "mt1.AAAA", "mt2.AAAA.AAAA", "mt1.!!!.AAAA",
                             "mt1.AAAAAAAAAAA.AAAA", "hello"}) {
      CAPTURE(text);
      CHECK(check_login_token(text, "ann", now, key) == token_check::malformed);
    }
    CHECK(std::string{to_string(token_check::other_user)} == "other_user");
  }

} // TEST_SUITE
